"""A minimal Python Lambda runtime for the cold-start benchmark: it does what the managed
Python runtime does, with nothing extra.

Init is importing the handler module named by `_HANDLER` (`module.function`) from the
folder of this file (Lambda's `LAMBDA_TASK_ROOT`); an import failure is posted to
`/runtime/init/error`. Then it loops: GET `/runtime/invocation/next`, call the handler,
POST the result to `.../response` (or the exception to `.../error`). It keeps one HTTP/1.1
connection to the Runtime API, as the managed runtime's client does. The managed runtime
does more (logging set-up, X-Ray, the awslambdaric C client), so this is if anything a
little faster than the real thing, which keeps the comparison fair to Python.
"""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

# The managed runtime loops until Lambda freezes or ends the sandbox; the benchmark kills
# the process after one invocation. The bound only keeps a stray process from living forever.
MAX_INVOCATIONS = int(os.environ.get("BOOTSTRAP_MAX_INVOCATIONS", "1000"))


class Context:
    """The parts of Lambda's context object a handler commonly reads."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error_body(error):
    return json.dumps({
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }).encode()


def _post(connection, path, body, headers=None):
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    connection.getresponse().read()


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    connection = http.client.HTTPConnection(host, int(port or 80))
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.path.dirname(os.path.abspath(__file__))))
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 - any import failure is an init error, as in Lambda
        _post(connection, "/2018-06-01/runtime/init/error", _error_body(error),
              {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        return 1
    for _ in range(MAX_INVOCATIONS):
        connection.request("GET", "/2018-06-01/runtime/invocation/next")
        response = connection.getresponse()
        event = json.loads(response.read())
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        context = Context(request_id, int(response.getheader("Lambda-Runtime-Deadline-Ms", "0")),
                          response.getheader("Lambda-Runtime-Invoked-Function-Arn", ""))
        try:
            result = json.dumps(handler(event, context)).encode()
        except Exception as error:  # noqa: BLE001 - a failed invocation is reported, not fatal
            _post(connection, f"/2018-06-01/runtime/invocation/{request_id}/error", _error_body(error),
                  {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue
        _post(connection, f"/2018-06-01/runtime/invocation/{request_id}/response", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
