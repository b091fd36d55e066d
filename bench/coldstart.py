#!/usr/bin/env python3
"""The cold-start harness: each function's release binary, and the Python/boto3 reference,
started as fresh processes against a local Lambda Runtime API and a moto server.

    coldstart.py [--rounds 20] [--bin-dir DIR] [--json OUT]

It starts a moto server (`moto_server`, or `$MOTO_SERVER`) and a minimal Lambda Runtime
API of its own (below; the endpoints `lambda_runtime` and the Python runtime use) on free
loopback ports. Each round, for each runtime, it creates a fresh pipeline and a policy
naming it, so nothing is ever deduped, starts the process with the environment Lambda
gives it, feeds it one event that leads to a real `started` decision, and records:

- init: process start to its first `GET /runtime/invocation/next`;
- first invocation: that GET to the `POST .../response`;
- total cold invocation: the sum, process start to response;
- peak RSS: `VmHWM` from /proc/<pid>/status right before the kill (`ru_maxrss` from
  wait4 when /proc is not readable).

The runtimes are interleaved within each round, after one unrecorded warm-up round, so
that page cache, bytecode caches and the noise of a shared machine fall on all of them
alike. `alarm-trigger` and the Python reference (`bench/reference/`) get the same alarm
event and do the same calls; `sns-trigger` gets it through SNS, `schedule-trigger` a
scheduled event under `schedule = "always"`, for the same number of calls.

Only loopback traffic. Every wait has a deadline and every loop a bound, so the harness
stops by itself; it exits non-zero if any round did not end in `started`.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "events"
REFERENCE = ROOT / "bench" / "reference"
BUCKET = "bench-ledger"
REGION = "us-east-1"
ACCOUNT = "123456789012"
# What the pipelines declare: every parameter the triggers pass.
PARAMETERS = ["TriggerType", "TriggerReason", "TriggerId", "ModelApprovalStatus", "DataWindowDays"]
# A function's deadline, as Lambda would give it (the template's timeout is 30 s).
FUNCTION_TIMEOUT_S = 30
RUNTIME_API_PREFIX = "/2018-06-01/runtime"
# moto's request log line, e.g. `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`.
REQUEST_LOG_LINE = re.compile(r'"(GET|HEAD|POST|PUT|DELETE|PATCH) \S+ HTTP/')
SYSTEM_CA_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]


class Runtime:
    """One thing to cold-start: a command and the event it is fed."""

    def __init__(self, label, command, fixture, handler):
        self.label = label
        self.command = command
        self.fixture = fixture
        self.handler = handler


def runtimes(bin_dir, python):
    alarm = "example-cloudwatch-alarm-metric.json"
    return [
        Runtime("alarm-trigger", [str(bin_dir / "alarm-trigger")], alarm, "bootstrap"),
        Runtime("sns-trigger", [str(bin_dir / "sns-trigger")], "example-sns-cloudwatch-alarm.json", "bootstrap"),
        Runtime("schedule-trigger", [str(bin_dir / "schedule-trigger")], "example-eventbridge-scheduled-event.json",
                "bootstrap"),
        # -I isolates the interpreter from the caller's PYTHON* variables and user site, as Lambda's is.
        Runtime("python-boto3", [python, "-I", str(REFERENCE / "bootstrap.py")], alarm, "handler.handler"),
    ]


# ---------------------------------------------------------------------------------------------
# The local Lambda Runtime API: one invocation per process, one process at a time.
# ---------------------------------------------------------------------------------------------

class Invocation:
    """The state of the one invocation in progress, shared with the server's threads."""

    def __init__(self, event, function_arn):
        self.event = event
        self.function_arn = function_arn
        self.request_id = str(uuid.uuid4())
        self.first_next_at = None
        self.answered_at = None
        self.answer = None  # ("response" | "error" | "init-error", body bytes)
        self.answered = threading.Event()
        self.over = threading.Event()
        self.lock = threading.Lock()


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.invocation = None

    def handle_error(self, request, client_address):
        # A process killed mid-request (the benchmark's normal end of a round) is not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class RuntimeApiHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length on every response, so clients keep one connection, as on Lambda.
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        now = time.perf_counter()
        invocation = self.server.invocation
        if self.path != f"{RUNTIME_API_PREFIX}/invocation/next" or invocation is None:
            return self.reply(404, b'{"errorMessage": "unknown path"}')
        with invocation.lock:
            first = invocation.first_next_at is None
            if first:
                invocation.first_next_at = now
        if not first:
            # The next event after the measured one: hold the request, as a frozen sandbox
            # would, until the harness kills the process (bounded by the round's end).
            invocation.over.wait(FUNCTION_TIMEOUT_S)
            self.close_connection = True
            return
        deadline_ms = int(time.time() * 1000) + FUNCTION_TIMEOUT_S * 1000
        self.reply(200, invocation.event, {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent="
                                       f"{uuid.uuid4().hex[:16]};Sampled=0",
        })

    def do_POST(self):
        now = time.perf_counter()
        body = self.read_body()
        invocation = self.server.invocation
        match = re.fullmatch(rf"{RUNTIME_API_PREFIX}/invocation/([^/]+)/(response|error)", self.path)
        if self.path == f"{RUNTIME_API_PREFIX}/init/error":
            kind = "init-error"
        elif match and invocation is not None and match.group(1) == invocation.request_id:
            kind = match.group(2)
        else:
            return self.reply(404, b'{"errorMessage": "unknown path or request id"}')
        if invocation is not None and not invocation.answered.is_set():
            invocation.answer = (kind, body)
            invocation.answered_at = now
            invocation.answered.set()
        self.reply(202, b'{"status": "OK"}')

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            for _ in range(1_000_000):
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, then the empty line that ends the body.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


# ---------------------------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------------------------

class Moto:
    """A moto server on a port it binds itself, over HTTPS when given a certificate, stopped on exit."""

    def __init__(self, certificate=None, key=None):
        self.tls = ["-c", str(certificate), "-k", str(key)] if certificate else []
        # Requests moto has logged; the difference across a cold start is that runtime's AWS calls.
        self.requests = 0

    def __enter__(self):
        program = os.environ.get("MOTO_SERVER", "moto_server")
        self.process = subprocess.Popen([program, "-H", "127.0.0.1", "-p", "0", *self.tls], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)
        found = threading.Event()

        def drain():
            # Read the banner for the port, then keep draining the request log so moto never blocks.
            for line in self.process.stderr:
                if REQUEST_LOG_LINE.search(line):
                    self.requests += 1
                port = re.search(r"Running on (https?)://127\.0\.0\.1:(\d+)", line)
                if port and not found.is_set():
                    self.endpoint = f"{port.group(1)}://127.0.0.1:{port.group(2)}"
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(60):
            self.__exit__()
            sys.exit(f"{program} did not say where it listens within 60 s")
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def tls_material(folder):
    """A CA and a certificate for 127.0.0.1 signed by it, for moto's HTTPS.

    Returns (certificate, key, bundle). The bundle is the system's CA bundle plus this CA,
    so both runtimes parse a full trust store at their first connection, as on Lambda.
    """
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)

    def build(subject, issuer, public_key, signing_key, is_ca, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "retrain-triggers cold-start bench CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True, [])
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, leaf_key.public_key(),
                 ca_key, False, [x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))])])
    certificate, key, bundle = folder / "moto.pem", folder / "moto-key.pem", folder / "ca-bundle.pem"
    certificate.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    system = next((Path(path) for path in SYSTEM_CA_BUNDLES if Path(path).is_file()), None)
    bundle.write_bytes((system.read_bytes() if system else b"") + ca.public_bytes(serialization.Encoding.PEM))
    return certificate, key, bundle


def fresh_event(fixture, now):
    """The fixture with its event time set to `now`, as a prompt delivery would carry it.

    The triggers ignore events older than the policy's maximum event age, and a fresh
    time also gives every round its own dedupe key.
    """
    event = json.loads((FIXTURES / fixture).read_text())
    cloudwatch_time = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    eventbridge_time = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "alarmData" in event:
        event["alarmData"]["state"]["timestamp"] = cloudwatch_time
        event["time"] = cloudwatch_time
    if isinstance(event.get("detail"), dict) and "state" in event["detail"]:
        event["detail"]["state"]["timestamp"] = cloudwatch_time
    if event.get("detail-type"):
        event["time"] = eventbridge_time
    for record in event.get("Records", []):
        message = json.loads(record["Sns"]["Message"])
        message["StateChangeTime"] = cloudwatch_time
        record["Sns"]["Message"] = json.dumps(message)
        record["Sns"]["Timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return json.dumps(event).encode()


def policy_for(model, pipeline):
    return f"""
[defaults]
cooldown = "6h"
schedule = "always"
approval = "manual"

[[model]]
name = "{model}"
pipeline = "{pipeline}"
alarms = ["housing-price-mae-high"]
schedules = ["housing-price-weekly"]
[model.parameters]
DataWindowDays = "30"
"""


# ---------------------------------------------------------------------------------------------
# One cold start
# ---------------------------------------------------------------------------------------------

def peak_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def cold_start(runtime, round_label, api, sagemaker, moto, ca_bundle, scratch, log):
    model = f"bench-{runtime.label}-{round_label}"
    pipeline = f"{model}-retrain"
    definition = {"Version": "2020-12-01", "Parameters": [{"Name": name, "Type": "String"} for name in PARAMETERS],
                  "Steps": []}
    sagemaker.create_pipeline(PipelineName=pipeline, PipelineDefinition=json.dumps(definition),
                              RoleArn=f"arn:aws:iam::{ACCOUNT}:role/retrain-pipeline")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        # An empty home: neither runtime may pick up the developer's ~/.aws files.
        "HOME": str(scratch),
        "TZ": "UTC",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": runtime.label,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{runtime.label}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"2024/01/01/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(REFERENCE),
        "_HANDLER": runtime.handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto.endpoint,
        "RETRAIN_POLICY": policy_for(model, pipeline),
        "RETRAIN_LEDGER": f"s3://{BUCKET}/{model}",
    }
    if ca_bundle:
        # The trust store: rustls-native-certs reads SSL_CERT_FILE, botocore AWS_CA_BUNDLE.
        env.update(SSL_CERT_FILE=str(ca_bundle), AWS_CA_BUNDLE=str(ca_bundle))
    invocation = Invocation(fresh_event(runtime.fixture, datetime.now(timezone.utc)),
                            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{runtime.label}")
    api.invocation = invocation
    requests_before = moto.requests
    started_at = time.perf_counter()
    process = subprocess.Popen(runtime.command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               cwd=scratch)
    deadline = started_at + FUNCTION_TIMEOUT_S + 30
    exited = None  # (wait status, rusage) once the process is reaped
    rss_kib = None
    try:
        while not invocation.answered.wait(0.005):
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                exited = (status, usage)
                break
            if time.perf_counter() > deadline:
                break
        if exited is None:
            rss_kib = peak_rss_kib(process.pid)
    finally:
        # Always reap the process, even when the harness itself is being stopped.
        if exited is None:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            exited = (status, usage)
        process.returncode = os.waitstatus_to_exitcode(exited[0])
        invocation.over.set()
        api.invocation = None
    usage = exited[1]
    time.sleep(0.05)  # lets moto's log of the last request reach the counter

    sample = {"round": round_label, "pipeline": pipeline, "rss_kib": rss_kib or usage.ru_maxrss,
              "aws_calls": moto.requests - requests_before}
    kind, body = invocation.answer or ("none", b"")
    if kind != "response":
        sample["failure"] = f"{kind}: {body.decode(errors='replace')[:500]}" if kind != "none" else (
            f"no answer (exit code {process.returncode})")
        return sample
    decisions = json.loads(body).get("decisions", [])
    outcomes = [(decision.get("outcome"), bool(decision.get("execution_arn"))) for decision in decisions]
    if outcomes != [("started", True)]:
        sample["failure"] = f"expected one started decision with an execution ARN, got {body.decode()[:500]}"
        return sample
    sample["init_ms"] = (invocation.first_next_at - started_at) * 1000
    sample["invoke_ms"] = (invocation.answered_at - invocation.first_next_at) * 1000
    sample["total_ms"] = (invocation.answered_at - started_at) * 1000
    return sample


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def summarise(samples):
    good = [sample for sample in samples if "failure" not in sample]
    summary = {"rounds": len(samples), "failures": len(samples) - len(good)}
    for field in ("init_ms", "invoke_ms", "total_ms", "rss_kib", "aws_calls"):
        values = [sample[field] for sample in good if sample.get(field) is not None]
        if values:
            summary[field] = {"min": min(values), "median": statistics.median(values), "max": max(values)}
    return summary


def table(results, reference="python-boto3"):
    """The harness's own table (`make bench-coldstart`); `bench/report.py` prints the combined one."""
    header = ["runtime", "init ms (min/med/max)", "1st invoke ms", "total cold ms", "peak RSS MiB",
              "AWS calls", "init ×", "total ×", "RSS ÷"]
    rows = []
    python = results.get(reference, {})

    def triple(summary, field, scale=1.0):
        if field not in summary:
            return "n/a"
        value = summary[field]
        return f"{value['min'] / scale:.1f} / {value['median'] / scale:.1f} / {value['max'] / scale:.1f}"

    def ratio(summary, field, invert=False):
        if field not in summary or field not in python:
            return ""
        ours, theirs = summary[field]["median"], python[field]["median"]
        return f"{(ours / theirs if invert else theirs / ours):.1f}"

    for label, summary in results.items():
        rows.append([label, triple(summary, "init_ms"), triple(summary, "invoke_ms"), triple(summary, "total_ms"),
                     triple(summary, "rss_kib", 1024.0),
                     f"{summary['aws_calls']['median']:g}" if "aws_calls" in summary else "n/a",
                     "" if label == reference else ratio(summary, "init_ms"),
                     "" if label == reference else ratio(summary, "total_ms"),
                     "" if label == reference else ratio(summary, "rss_kib", invert=True)])
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, ["-" * width for width in widths], *rows]]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds per runtime (default 20)")
    parser.add_argument("--bin-dir", type=Path,
                        default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release",
                        help="where the release binaries are (default $CARGO_TARGET_DIR/release)")
    parser.add_argument("--only", action="append", help="run only these runtimes (repeatable)")
    parser.add_argument("--json", type=Path, help="also write every sample and the summary here")
    parser.add_argument("--http", action="store_true",
                        help="serve moto over plain HTTP (default HTTPS, as AWS is: TLS set-up is part of a cold start)")
    args = parser.parse_args()
    # Turn SIGTERM into an ordinary exit, so the `with` blocks stop moto and the process under test.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if not 1 <= args.rounds <= 500:
        sys.exit("--rounds must be between 1 and 500")

    chosen = [runtime for runtime in runtimes(args.bin_dir, sys.executable)
              if not args.only or runtime.label in args.only]
    for runtime in chosen:
        if not Path(runtime.command[0]).is_file():
            sys.exit(f"{runtime.command[0]} is missing; build it with "
                     "`cargo build --release -p alarm-trigger -p sns-trigger -p schedule-trigger`")

    samples = {runtime.label: [] for runtime in chosen}
    failures = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="retrain-coldstart-") as scratch:
        scratch = Path(scratch)
        certificate, key, ca_bundle = (None, None, None) if args.http else tls_material(scratch)
        with Moto(certificate, key) as moto:
            run_rounds(args, chosen, samples, failures, moto, ca_bundle, scratch)

    results = {label: summarise(runtime_samples) for label, runtime_samples in samples.items()}
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        # The load average says how busy the (shared) machine was while the clocks ran.
        load = {"before": load_before, "after": os.getloadavg()[0]}
        summary = {"summary": results, "transport": "http" if args.http else "https", "loadavg": load,
                   "samples": samples}
        args.json.write_text(json.dumps(summary, indent=2))
    return 1 if failures else 0


def run_rounds(args, chosen, samples, failures, moto, ca_bundle, scratch):
    """The warm-up round and the measured rounds, all runtimes interleaved."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    verify = str(ca_bundle) if ca_bundle else None
    session.client("s3", endpoint_url=moto.endpoint, verify=verify).create_bucket(Bucket=BUCKET)
    sagemaker = session.client("sagemaker", endpoint_url=moto.endpoint, verify=verify)
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    logs = {runtime.label: open(scratch / f"{runtime.label}.log", "ab") for runtime in chosen}
    try:
        for round_index in range(args.rounds + 1):
            warm_up = round_index == 0
            round_label = "warmup" if warm_up else f"r{round_index:03d}"
            # Rotate the order each round so no runtime always goes first after moto was idle.
            order = chosen[round_index % len(chosen):] + chosen[:round_index % len(chosen)]
            for runtime in order:
                sample = cold_start(runtime, round_label, api, sagemaker, moto, ca_bundle, scratch,
                                    logs[runtime.label])
                if "failure" in sample:
                    failures.append((runtime.label, sample))
                if not warm_up:
                    samples[runtime.label].append(sample)
            print(f"\rround {round_index}/{args.rounds}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    finally:
        api.shutdown()
        for log in logs.values():
            log.close()
    if failures:
        for label, sample in failures[:5]:
            print(f"{label} {sample['round']}: {sample['failure']}", file=sys.stderr)
        tail = (scratch / f"{failures[0][0]}.log").read_text(errors="replace")[-3000:]
        print(f"--- end of the {failures[0][0]} log ---\n{tail}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
