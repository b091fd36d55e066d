#!/usr/bin/env python3
"""Runs the trigger functions locally, the way Lambda would, against moto.

It starts a moto server on a free loopback port, creates the ledger bucket
and the pipelines there, serves the functions with `cargo lambda watch`, and
sends events with `cargo lambda invoke`.

    local.py demo       the scripted scenario from the README, as a table
    local.py fixtures   every event fixture through the function it is for

Either exits non-zero when an answer is not the expected one.
"""

import argparse
import json
import os
import re
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


class LocalStack:
    """moto plus `cargo lambda watch`, stopped on exit."""

    def __init__(self, policy):
        self.processes = []
        self.invoke_port = free_port()
        self.env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            RETRAIN_POLICY_FILE=str(policy),
            RETRAIN_LEDGER=f"s3://{BUCKET}/ledger",
            RUST_LOG="warn",
        )
        self.env.pop("RETRAIN_POLICY", None)
        self.pipelines = [model["pipeline"] for model in tomllib.loads(policy.read_text())["model"]]
        self.logs = tempfile.TemporaryDirectory(prefix="retrain-local-")

    def __enter__(self):
        # moto binds a port the kernel picks and names it in its banner.
        self.start("moto", ["moto_server", "-H", "127.0.0.1", "-p", "0"])
        self.endpoint = f"http://127.0.0.1:{self.wait_for_banner('moto', 60)}"
        self.env["AWS_ENDPOINT_URL"] = self.endpoint
        self.create_resources()
        self.start("watch", ["cargo", "lambda", "watch", "--invoke-port", str(self.invoke_port), "--ignore-changes"])
        wait_for_port(self.invoke_port, self.processes[-1][1], "cargo lambda watch", 300)
        return self

    def __exit__(self, *exc):
        for _, process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
        self.logs.cleanup()

    def wait_for_banner(self, name, seconds):
        log = Path(self.logs.name) / f"{name}.log"
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
        log = open(Path(self.logs.name) / f"{name}.log", "w")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append((name, process))

    def create_resources(self):
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name="us-east-1")
        s3 = session.client("s3", endpoint_url=self.endpoint)
        s3.create_bucket(Bucket=BUCKET)
        # Monitoring reports for the drift cases: a baseline and two current statistics.json.
        s3.create_bucket(Bucket=REPORTS)
        for key, name in REPORT_OBJECTS.items():
            s3.put_object(Bucket=REPORTS, Key=key, Body=(STATISTICS / name).read_bytes())
        sagemaker = session.client("sagemaker", endpoint_url=self.endpoint)
        definition = {"Version": "2020-12-01", "Steps": [],
                      "Parameters": [{"Name": name, "Type": "String"} for name in PARAMETERS]}
        for pipeline in self.pipelines:
            sagemaker.create_pipeline(PipelineName=pipeline, PipelineDefinition=json.dumps(definition),
                                      RoleArn="arn:aws:iam::123456789012:role/retrain-pipeline")
        self.sagemaker = sagemaker

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
    """cargo lambda reports a function error as `Error: <errorType>` then the wrapped message."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Error: "):
            message = []
            for part in lines[index + 1:]:
                part = part.strip()
                if part.startswith(("×", "│")):
                    message.append(part.lstrip("×│ ").strip())
                elif message:
                    break
            return line[len("Error: "):].strip(), " ".join(message)
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


def function_for(name):
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
    # What an operator sees afterwards: the audit trail, through the CLI.
    print("\n$ retrain decisions --model housing-price --since 1d")
    listed = subprocess.run(["cargo", "run", "-q", "-p", "retrain-cli", "--", "decisions", "--model", "housing-price",
                             "--since", "1d", "--quiet"], cwd=ROOT, env=stack.env, text=True, timeout=900)
    failures += listed.returncode != 0
    return failures


def manual_request(request_id):
    """An on-demand request that skips the cooldown; the budget (2/7d) still applies."""
    return {"model": "housing-price", "reason": "regulator asked for a retrain on the Q4 data",
            "requested_by": "ana@example.com", "force": True, "parameters": {"DataWindowDays": "90"},
            "request_id": request_id}


def drift_request(model):
    return {"model": model, "current": f"s3://{REPORTS}/{model}/2026-11-27/statistics.json",
            "report_id": f"{model}-2026-11-27"}


def fixtures(stack):
    rows, failures = [], 0
    paths = (sorted(FIXTURES.glob("*.json")) + sorted((FIXTURES / "drift").glob("*.json"))
             + sorted((FIXTURES / "manual").glob("*.json")) + sorted((FIXTURES / "invalid").glob("*.json")))
    # Fresh times show real decisions rather than `ignored/stale`; equal times stay equal across fixtures.
    events = freshen([json.loads(path.read_text()) for path in paths])
    for path, event in zip(paths, events):
        name = path.relative_to(FIXTURES).as_posix()
        function = function_for(path.name)
        if function is None:
            # Invalid fixtures are named by what they break; send each to the function it imitates.
            function = ("sns-trigger" if path.name.startswith("sns") else
                        "schedule-trigger" if path.name.startswith(("schedule", "scheduler")) else "alarm-trigger")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["demo", "fixtures"])
    mode = parser.parse_args().mode
    for tool in ("moto_server", "cargo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH; run `make setup` first")
    policy = HERE / ("policy.toml" if mode == "demo" else "fixtures-policy.toml")
    with LocalStack(policy) as stack:
        failures = demo(stack) if mode == "demo" else fixtures(stack)
    print(f"\n{mode}: {'all answers as expected' if failures == 0 else f'{failures} unexpected answer(s)'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
