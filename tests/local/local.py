#!/usr/bin/env python3
"""Runs the trigger functions locally, the way Lambda would, against moto.

It starts a moto server on a free loopback port, creates the ledger bucket
and the pipelines there, serves the functions with `cargo lambda watch`, and
sends events with `cargo lambda invoke`.

    local.py demo            the scripted scenario from the README, as a table
    local.py fixtures        every event fixture through the function it is for
    local.py watch           start the background stack (or keep the running one), print its environment
    local.py invoke FIXTURE  one event, its times re-stamped, through the background stack (started if needed)
    local.py stop            stop the background stack

`demo` and `fixtures` start a stack of their own and stop it when they end; either exits
non-zero when an answer is not the expected one. The background stack outlives the command
that started it, so a second `invoke` of the same event reaches the same ledger and answers
`already-started`: its pids, ports, logs and re-stamped fixtures are in --stack-dir.
"""

import argparse
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import monitor_story  # noqa: E402  (the folder is not a package)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "events"
HERE = Path(__file__).resolve().parent
BUCKET = "retrain-ledger"
REPORTS = "monitoring-reports"
STATISTICS = ROOT / "tests" / "fixtures" / "statistics"
REPORT_OBJECTS = {
    "baseline/statistics.json": "baseline-statistics.json",
    "baseline/constraints.json": "constraints.json",
    "rent-price/2026-11-27/statistics.json": "current-mild.json",
    "land-value/2026-11-27/statistics.json": "current-severe.json",
    # Where the drift event fixtures point.
    "housing-price/baseline/statistics.json": "baseline-statistics.json",
    "housing-price/baseline/constraints.json": "constraints.json",
    "housing-price/reports/2023/08/05/01/statistics.json": "current-mild.json",
}
PARAMETERS = ["TriggerType", "TriggerReason", "TriggerId", "ModelApprovalStatus", "DataWindowDays", "TrainingMode",
              "RehearsalFraction", "DriftScore", "DriftedFeatures"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, what, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{what} did not listen on port {port} within {seconds} s")


# What a function needs besides the endpoint, as the README's "invoke one by hand" recipe sets it.
REGION = "us-east-1"
LEDGER = f"s3://{BUCKET}/ledger"


def stack_environment(policy):
    """The functions' environment: fake credentials, a region, the ledger and the policy file. Another
    policy source the caller may have exported is dropped, since exactly one of the three may be set."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        RETRAIN_POLICY_FILE=str(policy),
        RETRAIN_LEDGER=LEDGER,
        RUST_LOG=os.environ.get("RUST_LOG", "warn"),
    )
    for name in ("RETRAIN_POLICY", "RETRAIN_POLICY_URI", "RETRAIN_DRY_RUN"):
        env.pop(name, None)
    return env


class LocalStack:
    """moto plus `cargo lambda watch`. As a context manager it is a stack of its own, logging to a
    temporary folder and stopped on exit; BackgroundStack starts one that outlives this process."""

    def __init__(self, policy, log_dir=None, invoke_port=None):
        self.processes = []
        self.invoke_port = invoke_port or free_port()
        self.env = stack_environment(policy)
        self.pipelines = [model["pipeline"] for model in tomllib.loads(policy.read_text())["model"]]
        self.temporary_logs = None if log_dir else tempfile.TemporaryDirectory(prefix="retrain-local-")
        self.log_dir = Path(log_dir or self.temporary_logs.name)

    def __enter__(self):
        self.start_services()
        return self

    def __exit__(self, *exc):
        self.stop_services()
        self.temporary_logs.cleanup()

    def stop_services(self):
        """Stops the processes this object started, each with its process group."""
        for _, process in reversed(self.processes):
            signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            signal_group(process.pid, signal.SIGKILL)

    def start_services(self):
        # moto binds a port the kernel picks and names it in its banner.
        self.start("moto", ["moto_server", "-H", "127.0.0.1", "-p", "0"])
        self.set_endpoint(f"http://127.0.0.1:{self.wait_for_banner('moto', 60)}")
        self.create_resources()
        self.start("watch", ["cargo", "lambda", "watch", "--invoke-port", str(self.invoke_port), "--ignore-changes"])
        wait_for_port(self.invoke_port, self.processes[-1][1], "cargo lambda watch", 300)

    def set_endpoint(self, endpoint):
        self.endpoint = endpoint
        self.env["AWS_ENDPOINT_URL"] = endpoint
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=REGION)
        self.sagemaker = session.client("sagemaker", endpoint_url=endpoint)
        self.s3 = session.client("s3", endpoint_url=endpoint)

    def wait_for_banner(self, name, seconds):
        log = self.log_dir / f"{name}.log"
        process = dict(self.processes)[name]
        deadline = time.time() + seconds
        while time.time() < deadline:
            match = re.search(r"Running on http://127\.0\.0\.1:(\d+)", log.read_text())
            if match:
                return int(match.group(1))
            if process.poll() is not None:
                sys.exit(f"{name} exited with {process.returncode}: {log.read_text()}")
            time.sleep(0.1)
        sys.exit(f"{name} did not say where it listens within {seconds} s")

    def start(self, name, command):
        # Its own session, so stopping the stack stops the process group (cargo, cargo-lambda, the
        # functions) and a Ctrl-C in the terminal that started a background stack does not.
        with open(self.log_dir / f"{name}.log", "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((name, process))

    def create_resources(self):
        self.s3.create_bucket(Bucket=BUCKET)
        # Monitoring reports for the drift cases: a baseline and two current statistics.json.
        self.s3.create_bucket(Bucket=REPORTS)
        for key, name in REPORT_OBJECTS.items():
            self.s3.put_object(Bucket=REPORTS, Key=key, Body=(STATISTICS / name).read_bytes())
        definition = {"Version": "2020-12-01", "Steps": [],
                      "Parameters": [{"Name": name, "Type": "String"} for name in PARAMETERS]}
        for pipeline in self.pipelines:
            self.sagemaker.create_pipeline(PipelineName=pipeline, PipelineDefinition=json.dumps(definition),
                                           RoleArn="arn:aws:iam::123456789012:role/retrain-pipeline")

    def training_mode(self, execution_arn):
        """The TrainingMode the execution was started with, as SageMaker lists it."""
        listed = self.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
        parameters = {p["Name"]: p["Value"] for p in listed["PipelineParameters"]}
        mode = parameters.get("TrainingMode", "-")
        if "RehearsalFraction" in parameters:
            mode += f" (rehearsal {parameters['RehearsalFraction']})"
        return mode

    def execution_count(self, pipeline):
        listed = self.sagemaker.list_pipeline_executions(PipelineName=pipeline)
        return len(listed["PipelineExecutionSummaries"])

    def invoke(self, function, event):
        """Returns ("ok", response) or (errorType, message)."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data:
            json.dump(event, data)
        try:
            # The first invocation of each function compiles it; later ones take milliseconds.
            result = subprocess.run(
                ["cargo", "lambda", "invoke", function, "--invoke-port", str(self.invoke_port),
                 "--data-file", data.name, "--output-format", "json"],
                cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900)
        finally:
            os.unlink(data.name)
        if result.returncode == 0:
            return "ok", json.loads(result.stdout)
        return error_of(result.stdout + result.stderr)


def error_of(text):
    """(errorType, message) of a function error as cargo lambda reports it: `Error: <errorType>`, then
    the message on lines starting with `×` or `│`, wrapped at 80 columns. The wrap breaks lines at
    spaces, and inside a word after a hyphen (`2023-08-` then `04T12:36:15Z`), so a line that ends
    in a hyphen joins the next without a space."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Error: "):
            message = ""
            for part in lines[index + 1:]:
                part = part.strip()
                if not part.startswith(("×", "│")):
                    if message:
                        break
                    continue
                piece = part.lstrip("×│ ").strip()
                if piece:
                    message += piece if not message or message.endswith("-") else " " + piece
            return line[len("Error: "):].strip(), message
    return "InvokeFailed", text.strip()


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


# An event's own time, the one its dedupe key and the stale check read, as "<offset><ms>".
TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$")


def parse_time(text):
    """The instant of an RFC 3339 or CloudWatch (`+0000`) timestamp, or None (no offset, a placeholder...)."""
    match = TIMESTAMP.match(text) if isinstance(text, str) else None
    if not match:
        return None
    base, fraction, offset = match.groups()
    try:
        instant = datetime.strptime(base + offset.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return instant + timedelta(milliseconds=int((fraction or "0")[:3].ljust(3, "0")))


def event_time_slots(event):
    """(object, key) of every field holding an event's own time: the alarm state timestamp of every
    envelope, SNS `StateChangeTime`, a scheduled rule's `time`, a Scheduler input's `scheduled_time`.
    SNS messages are JSON inside a string; they are parsed and yielded as (record["Sns"], None)."""
    if not isinstance(event, dict):
        return
    for envelope in ("alarmData", "detail"):
        state = event.get(envelope, {}).get("state") if isinstance(event.get(envelope), dict) else None
        if isinstance(state, dict) and "timestamp" in state:
            yield state, "timestamp"
    if "StateChangeTime" in event:
        yield event, "StateChangeTime"
    if event.get("detail-type") == "Scheduled Event" and "time" in event:
        yield event, "time"
    if "scheduled_time" in event:
        yield event, "scheduled_time"


def freshen(events, now=None):
    """The events with their own times moved to the last minutes before now, keeping their order and
    which of them are equal, so one state change sent three ways still shares one dedupe key.

    The fixtures carry 2023 and 2024 times, which the functions ignore as stale beyond the policy's
    `max_event_age` (24h by default). Times that do not parse (no offset, a placeholder) are left as
    they are, so an invalid fixture stays invalid."""
    now = now or datetime.now(timezone.utc)
    events = json.loads(json.dumps(events))
    messages = []  # (sns object, parsed message) for every SNS record carrying JSON
    slots = []
    for event in events:
        slots.extend(event_time_slots(event))
        for record in event.get("Records", []) if isinstance(event, dict) else []:
            sns = record.get("Sns") if isinstance(record, dict) else None
            if isinstance(sns, dict) and isinstance(sns.get("Message"), str):
                try:
                    message = json.loads(sns["Message"])
                except ValueError:
                    continue
                messages.append((sns, message))
                slots.extend(event_time_slots(message))
    instants = sorted({instant for slot in slots if (instant := parse_time(slot[0][slot[1]])) is not None})
    moved = {instant: now - timedelta(minutes=len(instants) - rank) for rank, instant in enumerate(instants)}
    for container, key in slots:
        old = container[key]
        instant = parse_time(old)
        if instant is None:
            continue
        new = moved[instant].astimezone(timezone.utc)
        suffix = "+0000" if re.search(r"[+-]\d{4}$", old) else "Z"
        container[key] = new.strftime("%Y-%m-%dT%H:%M:%S.") + f"{new.microsecond // 1000:03d}" + suffix
    for sns, message in messages:
        sns["Message"] = json.dumps(message)
    return events


def function_for(path):
    """The function an event fixture is for, told by its file name; None when the name does not tell.
    Invalid fixtures are named by what they break, and go to the function whose events they imitate."""
    name = Path(path).name
    if name.startswith(("example-sagemaker-processing-job", "example-eventbridge-s3", "example-s3-", "example-drift")):
        return "drift-trigger"
    if name.startswith(("example-cloudwatch-alarm", "example-eventbridge-alarm")):
        return "alarm-trigger"
    if name.startswith("example-sns"):
        return "sns-trigger"
    if name.startswith(("example-eventbridge-scheduled", "example-scheduler")):
        return "schedule-trigger"
    if name.startswith(("example-manual", "example-function-url")):
        return "manual-trigger"
    if Path(path).parent.name == "invalid":
        return ("sns-trigger" if name.startswith("sns") else
                "schedule-trigger" if name.startswith(("schedule", "scheduler")) else "alarm-trigger")
    return None


def decisions_of(answer):
    """The decisions of a function's answer; a function URL answers with them in an HTTP body."""
    if "statusCode" in answer:
        return json.loads(answer.get("body") or "{}").get("decisions", [])
    return answer["decisions"]


def print_table(headers, rows):
    widths = [max(len(str(row[i])) for row in [headers] + rows) for i in range(len(headers))]
    widths[-1] = min(widths[-1], 100)
    line = lambda row: "  ".join(str(cell)[:widths[i]].ljust(widths[i]) for i, cell in enumerate(row))
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def demo(stack):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The fixtures' 2023 state changes, moved to the last minutes: older ones would be ignored as stale.
    metric, sns, eventbridge, ok = freshen([
        fixture("example-cloudwatch-alarm-metric.json"), fixture("example-sns-cloudwatch-alarm.json"),
        fixture("example-eventbridge-alarm-state-change.json"), fixture("example-cloudwatch-alarm-ok.json")])
    steps = [
        ("alarm fires (alarm action)", "alarm-trigger", metric, "started"),
        ("same change via SNS", "sns-trigger", sns, "already-started"),
        ("same change via EventBridge", "alarm-trigger", eventbridge, "already-started"),
        ("alarm returns to OK", "alarm-trigger", ok, "ignored"),
        ("on-demand, forced", "manual-trigger", manual_request("demo-manual-1"), "started"),
        ("on-demand again, over budget", "manual-trigger", manual_request("demo-manual-2"), "deferred"),
        ("churn schedule, no evidence", "schedule-trigger", {"schedule": "churn-weekly", "scheduled_time": now},
         "skipped"),
        ("mild drift report", "drift-trigger", drift_request("rent-price"), "started"),
        ("severe drift report", "drift-trigger", drift_request("land-value"), "started"),
    ]
    rows, failures = [], 0
    for title, function, event, expected in steps:
        status, answer = stack.invoke(function, event)
        if status != "ok":
            rows.append([title, function, status, "", "", "", answer])
            failures += 1
            continue
        for decision in decisions_of(answer):
            outcome = decision["outcome"]
            failures += outcome != expected
            training = stack.training_mode(decision["execution_arn"]) if outcome == "started" else "-"
            rows.append([title, function, outcome, decision["reason"], decision["model"] or "-", training,
                         decision["detail"]])
    print_table(["step", "function", "outcome", "reason", "model", "training", "why"], rows)
    executions = stack.execution_count("housing-price-retrain")
    print(f"\nhousing-price-retrain executions in SageMaker: {executions} (expected 2)")
    failures += executions != 2
    # What an operator sees afterwards: the audit trail, through the CLI. `--bin`, not `-p retrain-cli`:
    # with the whole workspace selected, as `make build` and `cargo lambda watch` select it, cargo
    # resolves the same dependency features and reuses what `make build` built.
    print("\n$ retrain decisions --model housing-price --since 1d")
    listed = subprocess.run(["cargo", "run", "-q", "--bin", "retrain", "--", "decisions", "--model", "housing-price",
                             "--since", "1d", "--quiet"], cwd=ROOT, env=stack.env, text=True, timeout=900)
    failures += listed.returncode != 0
    return failures


def no_model_monitor():
    """The second story, on a stack of its own: monitoring from Data Capture, without Model Monitor."""
    print("\nNo Model Monitor: Data Capture -> partial profiles -> window close -> mae and statistics.json "
          "-> drift-trigger; then the alarm on that mae")
    alarm = freshen([fixture("example-cloudwatch-alarm-metric.json")])[0]
    # The alarm watches the monitor function's own mae, not Model Monitor's.
    alarm["alarmData"]["configuration"]["description"] = "Housing-price model MAE above 15,000 (monitor-trigger)"
    alarm["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
        namespace="RetrainTriggers/ModelQuality", dimensions={"Model": "housing-price", "Endpoint": "housing-price-prod"})
    with LocalStack(HERE / "monitor-policy.toml") as stack:
        rows, failures = monitor_story.run(stack, alarm)
    print_table(["step", "function", "outcome", "what"], rows)
    return failures


# The backtest at the end of the demo: the tool writes its own synthetic inputs (90 days of MAE with a
# slow rise, one flapping week and one sudden jump) and replays the housing-price model over them.
# The page goes to target/backtest.html under the repository, whatever CARGO_TARGET_DIR says, so a
# person finds it where the README says.
BACKTEST_INPUTS = ROOT / "target" / "backtest-demo"
BACKTEST_PAGE = ROOT / "target" / "backtest.html"


def backtest_demo():
    """`retrain synthetic`, then `retrain backtest` over its output; returns the number of failures."""
    retrain = ["cargo", "run", "-q", "--bin", "retrain", "--"]
    made = subprocess.run(retrain + ["synthetic", str(BACKTEST_INPUTS)], cwd=ROOT, timeout=900)
    if made.returncode != 0:
        return 1
    inputs = BACKTEST_INPUTS.relative_to(ROOT)
    args = ["backtest", "--policy", "tests/fixtures/policies/housing-price.toml",
            "--alarms", str(inputs / "alarms.json"),
            "--series", f"housing-price-mae-high={inputs / 'housing-price-mae.csv'}",
            "--schedule", "housing-price-weekly=cron(0 6 ? * MON *)",
            "--run-duration", "3h", "--run-cost", "25", "--html", str(BACKTEST_PAGE.relative_to(ROOT))]
    print("\n$ retrain " + " ".join(shlex.quote(arg) for arg in args))
    replayed = subprocess.run(retrain + args, cwd=ROOT, timeout=900)
    return int(replayed.returncode != 0)


def manual_request(request_id):
    """An on-demand request that skips the cooldown; the budget (2/7d) still applies."""
    return {"model": "housing-price", "reason": "regulator asked for a retrain on the Q4 data",
            "requested_by": "ana@example.com", "force": True, "parameters": {"DataWindowDays": "90"},
            "request_id": request_id}


def drift_request(model):
    return {"model": model, "current": f"s3://{REPORTS}/{model}/2026-11-27/statistics.json",
            "report_id": f"{model}-2026-11-27"}


def fixture_paths():
    return (sorted(FIXTURES.glob("*.json")) + sorted((FIXTURES / "drift").glob("*.json"))
            + sorted((FIXTURES / "manual").glob("*.json")) + sorted((FIXTURES / "invalid").glob("*.json")))


def fixtures(stack):
    rows, failures = [], 0
    paths = fixture_paths()
    # Fresh times show real decisions rather than `ignored/stale`; equal times stay equal across fixtures.
    events = freshen([json.loads(path.read_text()) for path in paths])
    for path, event in zip(paths, events):
        name = path.relative_to(FIXTURES).as_posix()
        function = function_for(path)
        if function is None:
            rows.append([name, "-", "UNEXPECTED", "no function takes this name; see function_for()"])
            failures += 1
            continue
        expect_error = name.startswith("invalid/") or "one-bad" in name
        status, answer = stack.invoke(function, event)
        if status == "ok":
            summary = ", ".join(f"{d['model'] or '-'}: {d['outcome']}/{d['reason']}" for d in decisions_of(answer))
        else:
            summary = f"{status}: {answer}"
        good = (status == "InvalidEvent") if expect_error else (status == "ok")
        failures += not good
        rows.append([name, function, "ok" if good else "UNEXPECTED", summary])
    print_table(["fixture", "function", "check", "answer"], rows)
    return failures


# The background stack re-stamps every event to the minutes before its own start, so an event sent
# twice is the same event twice (same dedupe key: `already-started`). One older than this is started
# anew: its events would soon pass the policy's `max_event_age` (24h by default) and be `ignored/stale`.
STACK_MAX_AGE = timedelta(hours=12)
# `cargo lambda invoke`'s default port, so a person's own invoke needs no --invoke-port; any free one if taken.
DEFAULT_INVOKE_PORT = 9000
# What each background process's command line contains, to tell it from an unrelated process that
# got the same pid after a reboot.
MARKERS = {"moto": b"moto_server", "watch": b"lambda"}


class BackgroundStack:
    """The stack `watch` and `invoke` share, kept in a folder: stack.json (pids, endpoint, invoke port,
    policy, start time), moto.log and watch.log, env (the exports), events/ (the fixtures re-stamped)."""

    def __init__(self, folder):
        self.folder = Path(folder).resolve()
        self.state_file = self.folder / "stack.json"

    def lock(self):
        """Held while the stack is checked, started or stopped, so two commands never start two stacks."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = open(self.folder / "lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def state(self):
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def running(self):
        """The state of the stack in the folder when both of its processes still run, else None."""
        state = self.state()
        if state and all(process_runs(state.get(name), marker) for name, marker in MARKERS.items()):
            return state
        return None

    def stop(self):
        """Stops the stack's processes (those still running) and forgets it; False when there was none."""
        state = self.state()
        if state is None:
            return False
        for name, marker in MARKERS.items():
            stop_process_group(state.get(name), marker)
        self.state_file.unlink(missing_ok=True)
        return True

    def ensure(self, policy):
        """The running stack, or a new one when there is none, it serves another policy, or it is old."""
        with self.lock():
            state = self.running()
            why = None
            if state is None and self.state() is not None:
                why = "its processes are gone"
            elif state is not None and state["policy"] != str(policy):
                why = f"it serves {state['policy']}"
            elif state is not None and datetime.now(timezone.utc) - started_at(state) > STACK_MAX_AGE:
                why = f"it started at {state['started']}, and its events would soon be stale"
            if why is not None:
                print(f"Starting a new local stack: {why}.", file=sys.stderr)
                self.stop()
                state = None
            if state is None:
                state = self.start(policy)
        return attach(state, self.folder)

    def start(self, policy):
        print(f"Starting the local stack in {self.folder} (moto, then cargo lambda watch)...", file=sys.stderr)
        port = DEFAULT_INVOKE_PORT if port_is_free(DEFAULT_INVOKE_PORT) else free_port()
        stack = LocalStack(policy, log_dir=self.folder, invoke_port=port)
        try:
            stack.start_services()
        except BaseException:
            stack.stop_services()
            raise
        pids = dict((name, process.pid) for name, process in stack.processes)
        state = {"moto": pids["moto"], "watch": pids["watch"], "endpoint": stack.endpoint, "invoke_port": port,
                 "policy": str(policy), "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")
        (self.folder / "env").write_text("".join(f"export {name}={value}\n"
                                                 for name, value in exports(state).items()))
        events = self.folder / "events"
        for path, event in zip(fixture_paths(), freshen([read_event(path) for path in fixture_paths()],
                                                        started_at(state))):
            target = events / path.relative_to(FIXTURES)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(event, indent=2) + "\n")
        return state


def started_at(state):
    return datetime.fromisoformat(state["started"])


def attach(state, folder):
    """A LocalStack for a running background stack: its environment, endpoint, invoke port and start."""
    stack = LocalStack(Path(state["policy"]), log_dir=folder, invoke_port=state["invoke_port"])
    stack.set_endpoint(state["endpoint"])
    stack.started = started_at(state)
    return stack


def exports(state):
    """What a person exports to reach the background stack with the CLI, aws or their own function runs:
    the stack's environment, and first on PATH the tools of the interpreter running this (.venv/bin)."""
    return {"PATH": f"{Path(sys.executable).parent}:$PATH", "AWS_ENDPOINT_URL": state["endpoint"],
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "RETRAIN_LEDGER": LEDGER, "RETRAIN_POLICY_FILE": state["policy"]}


def process_runs(pid, marker):
    """Whether pid is a live process whose command line contains marker."""
    if not isinstance(pid, int):
        return False
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def signal_group(pid, signal_number):
    """Signals the process group that pid leads (each stack process leads its own session): cargo,
    cargo-lambda and the functions it runs go together."""
    try:
        os.killpg(pid, signal_number)
    except ProcessLookupError:
        pass


def stop_process_group(pid, marker):
    """SIGTERM to a background process's group, SIGKILL to what is left 10 s later; nothing when pid is
    no longer the process that was started."""
    if not process_runs(pid, marker):
        return
    signal_group(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and process_runs(pid, marker):
        time.sleep(0.1)
    signal_group(pid, signal.SIGKILL)


def port_is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def read_event(path):
    try:
        return json.loads(Path(path).read_text())
    except OSError as error:
        sys.exit(f"cannot read the event {path}: {error.strerror}")
    except ValueError as error:
        sys.exit(f"the event {path} is not JSON: {error}")


def restamped(path, anchor):
    """The event at path with its times moved as the background stack moved every fixture's when it
    started (freshen() of all of them, anchored at its start): the same state change seen in two
    fixtures keeps one time, so one dedupe key, across calls."""
    events = freshen([read_event(fixture) for fixture in fixture_paths()] + [read_event(path)], anchor)
    return events[-1]


def invoke_one(stack, folder, path, function):
    """Sends one event, re-stamped, to the background stack and prints the answer; 0 when it is one."""
    path = Path(path).resolve()
    function = function or function_for(path)
    if function is None:
        sys.exit(f"cannot tell which function {path.name} is for; name it with FUNCTION=alarm-trigger (or sns-, "
                 "schedule-, drift-, manual-trigger)")
    event = restamped(path, stack.started)
    sent = folder / "events" / (path.relative_to(FIXTURES) if path.is_relative_to(FIXTURES) else path.name)
    sent.parent.mkdir(parents=True, exist_ok=True)
    sent.write_text(json.dumps(event, indent=2) + "\n")
    print(f"Re-stamped {relative(path)}: its times moved to the minutes before the stack started "
          f"({stack.started:%H:%M} UTC), since an event older than the policy's max_event_age (24h by default) "
          "is ignored as stale.")
    print(f"$ cargo lambda invoke {function} --invoke-port {stack.invoke_port} --data-file {relative(sent)}")
    status, answer = stack.invoke(function, event)
    if status != "ok":
        print(f"{status}: {answer}")
        return 1
    print(json.dumps(answer, indent=2))
    for decision in decisions_of(answer):
        print(f"answer: {decision['model'] or '-'}: {decision['outcome']}/{decision['reason']}")
    return 0


def relative(path):
    path = Path(path)
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def print_watch(state, folder):
    names = {"moto": "moto (S3, SageMaker)", "watch": "cargo lambda watch"}
    print(f"The local stack runs until `make stop` (started {state['started']}, policy {relative(state['policy'])}):")
    print(f"  {names['moto']:<22} {state['endpoint']:<28} log {relative(folder / 'moto.log')}")
    print(f"  {names['watch']:<22} {'invoke port ' + str(state['invoke_port']):<28} log {relative(folder / 'watch.log')}")
    print(f"It has the buckets {BUCKET} (the ledger) and {REPORTS}, and the policy's pipelines. The functions run "
          "what `make build` built; after changing the code, `make stop` and start it again.\n")
    print(f"For your own commands (the retrain CLI, aws, cargo lambda invoke), `source {relative(folder / 'env')}`:")
    for name, value in exports(state).items():
        print(f"export {name}={value}")
    example = folder / "events" / "example-cloudwatch-alarm-metric.json"
    port = "" if state["invoke_port"] == DEFAULT_INVOKE_PORT else f" --invoke-port {state['invoke_port']}"
    print(f"\n{relative(folder / 'events')}/ holds every fixture re-stamped to the stack's start (the originals are "
          "from 2023 and 2024, older than max_event_age, so they would be ignored as stale):")
    print(f"cargo lambda invoke alarm-trigger{port} --data-file {relative(example)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-dir", type=Path, default=ROOT / ".demo",
                        help="where the background stack keeps its state (default: .demo)")
    parser.add_argument("--policy", type=Path, default=HERE / "fixtures-policy.toml",
                        help="the background stack's policy file (default: tests/local/fixtures-policy.toml)")
    parser.add_argument("--function", help="invoke: the function to send the event to (default: told by its name)")
    parser.add_argument("mode", choices=["demo", "fixtures", "watch", "invoke", "stop"])
    parser.add_argument("fixture", nargs="?", help="invoke: the event file")
    args = parser.parse_intermixed_args()
    if args.mode == "stop":
        stack = BackgroundStack(args.stack_dir)
        with stack.lock():
            print("Stopped the local stack." if stack.stop() else "No local stack was running.")
        return
    for tool in ("moto_server", "cargo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH; run `make setup` first")
    if args.mode in ("watch", "invoke"):
        if args.mode == "invoke" and not args.fixture:
            parser.error("invoke needs the event file")
        background = BackgroundStack(args.stack_dir)
        stack = background.ensure(args.policy.resolve())
        if args.mode == "watch":
            print_watch(background.state(), background.folder)
            return
        sys.exit(invoke_one(stack, background.folder, args.fixture, args.function))
    mode = args.mode
    policy = HERE / ("policy.toml" if mode == "demo" else "fixtures-policy.toml")
    with LocalStack(policy) as stack:
        failures = demo(stack) if mode == "demo" else fixtures(stack)
    if mode == "demo":
        failures += no_model_monitor()
        failures += backtest_demo()
    print(f"\n{mode}: {'all answers as expected' if failures == 0 else f'{failures} unexpected answer(s)'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
