"""The Python/boto3 reference for the cold-start benchmark: alarm-trigger's work, written as
a Python Lambda developer would write it.

It does what `alarm-trigger` does for an alarm that moves into ALARM, call for call, so the
cold-start harness (`bench/coldstart.py`) compares like with like:

1. decode the alarm (the Lambda alarm action, or EventBridge's "CloudWatch Alarm State
   Change"), route it to the models that list it;
2. read the model's ledger object from S3 (absent on a first start);
3. list the pipeline's executions of the last 30 days (paginated);
4. decide: already started, in flight, inside the cooldown, or start;
5. read the pipeline's declared parameters (DescribePipeline, cached per process);
6. claim the trigger in the ledger with a conditional put (`IfNoneMatch='*'` or `IfMatch`);
7. start the pipeline with a `ClientRequestToken` derived from the dedupe key;
8. record the execution ARN in the ledger (a conditional read-change-write);
9. print one JSON decision line and return `{"decisions": [...]}`.

As in any well-written Python Lambda, the expensive set-up happens at import, which is the
init phase: boto3, the clients and the policy (tomllib, from `RETRAIN_POLICY` or
`RETRAIN_POLICY_FILE`). It is a benchmark reference, not a second implementation: it
handles the happy path and the outcomes the benchmark meets, and raises on anything else.
"""

import hashlib
import json
import os
import time
import tomllib
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

COOLDOWN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOOKBACK = timedelta(days=30)
CLAIM_LEASE_MS = 90_000


def _load_policy():
    text = os.environ.get("RETRAIN_POLICY")
    if not text:
        with open(os.environ["RETRAIN_POLICY_FILE"], encoding="utf-8") as policy_file:
            text = policy_file.read()
    raw = tomllib.loads(text)
    defaults = raw.get("defaults", {})
    models = []
    for model in raw["model"]:
        cooldown = model.get("cooldown", defaults.get("cooldown", "6h"))
        models.append({
            "name": model["name"],
            "pipeline": model["pipeline"],
            "alarms": model.get("alarms", []),
            "cooldown_ms": int(cooldown[:-1]) * COOLDOWN_UNITS[cooldown[-1]] * 1000,
            "approval": model.get("approval", defaults.get("approval", "manual")),
            "parameters": model.get("parameters", {}),
        })
    return models


def _ledger_location():
    bucket, _, prefix = os.environ["RETRAIN_LEDGER"].removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


# Init: the policy and the clients, once per process. boto3 honours AWS_ENDPOINT_URL;
# path-style addressing is what a local S3 (moto) needs, as in the Rust functions.
POLICY = _load_policy()
LEDGER_BUCKET, LEDGER_PREFIX = _ledger_location()
_CLIENT_CONFIG = dict(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
SAGEMAKER = boto3.client("sagemaker", config=Config(**_CLIENT_CONFIG))
S3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}, **_CLIENT_CONFIG))
_DECLARED_PARAMETERS = {}


def _sha256_hex(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _millis(text):
    # CloudWatch writes `2023-08-04T12:36:15.490+0000`; EventBridge may write `...Z`.
    return int(datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def decode_alarm(event):
    """The alarm's name, ARN, state, state time (ms) and a one-line summary."""
    data = event.get("alarmData") or event["detail"]
    arn = event.get("alarmArn") or (event.get("resources") or [None])[0]
    state = data["state"]
    summary = f"alarm {data['alarmName']} moved to {state['value']}"
    try:
        reason_data = json.loads(state.get("reasonData") or "{}")
        metric = data["configuration"]["metrics"][0]["metricStat"]["metric"]["name"]
        summary += f": {metric} {reason_data['recentDatapoints'][-1]} > {reason_data['threshold']}"
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    return {
        "name": data["alarmName"],
        "arn": arn,
        "state": state["value"],
        "at": _millis(state["timestamp"]),
        "summary": summary,
    }


def _ledger_key(model):
    return f"{LEDGER_PREFIX}/state/{model}.json" if LEDGER_PREFIX else f"state/{model}.json"


def _load_ledger(model):
    try:
        response = S3.get_object(Bucket=LEDGER_BUCKET, Key=_ledger_key(model))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return {"triggers": {}, "evidence": []}, None
        raise
    return json.loads(response["Body"].read()), response["ETag"]


def _store_ledger(model, state, etag):
    """Writes the state if nobody else did since `etag` was read; False on a lost race."""
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        S3.put_object(Bucket=LEDGER_BUCKET, Key=_ledger_key(model), Body=json.dumps(state, indent=2).encode(),
                      ContentType="application/json", **condition)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            return False
        raise
    return True


def _recent_executions(pipeline, since):
    executions = []
    paginator = SAGEMAKER.get_paginator("list_pipeline_executions")
    pages = paginator.paginate(PipelineName=pipeline, CreatedAfter=since, SortBy="CreationTime",
                               SortOrder="Descending", PaginationConfig={"MaxItems": 1000, "PageSize": 100})
    for page in pages:
        executions.extend(page["PipelineExecutionSummaries"])
    return executions


def _declared_parameters(pipeline):
    if pipeline not in _DECLARED_PARAMETERS:
        definition = json.loads(SAGEMAKER.describe_pipeline(PipelineName=pipeline).get("PipelineDefinition") or "{}")
        _DECLARED_PARAMETERS[pipeline] = {parameter["Name"] for parameter in definition.get("Parameters", [])}
    return _DECLARED_PARAMETERS[pipeline]


def _decide_and_apply(alarm, model):
    key = f"alarm/{alarm['name']}/{alarm['at']}"
    trigger_id = _sha256_hex(key)[:20]
    token = _sha256_hex(model["pipeline"], key)
    display_name = f"{model['name']}-metric-{token[:12]}"
    decision = {"model": model["name"], "trigger_id": trigger_id, "execution_arn": None}
    now = datetime.now(timezone.utc)
    now_ms = int(now.timestamp() * 1000)

    state, etag = _load_ledger(model["name"])
    recorded = state["triggers"].get(key)
    if recorded and recorded.get("execution_arn"):
        return dict(decision, outcome="already-started", reason="already-started",
                    execution_arn=recorded["execution_arn"])
    if recorded and recorded["claimed_at"] > now_ms - CLAIM_LEASE_MS:
        raise RuntimeError(f"another invocation holds a fresh claim on {key}")

    executions = _recent_executions(model["pipeline"], now - LOOKBACK)
    for execution in executions:
        if execution.get("PipelineExecutionDisplayName") == display_name:
            return dict(decision, outcome="already-started", reason="already-started",
                        execution_arn=execution["PipelineExecutionArn"])
    if any(execution.get("PipelineExecutionStatus") in ("Executing", "Stopping") for execution in executions):
        return dict(decision, outcome="deferred", reason="in-flight")
    starts = [execution["StartTime"] for execution in executions if "StartTime" in execution]
    if starts and max(starts) > now - timedelta(milliseconds=model["cooldown_ms"]):
        return dict(decision, outcome="deferred", reason="cooldown")

    approval = "Approved" if model["approval"] == "auto" else "PendingManualApproval"
    parameters = dict(model["parameters"], TriggerType="metric", TriggerReason=alarm["summary"][:1024],
                      TriggerId=trigger_id, ModelApprovalStatus=approval)
    declared = _declared_parameters(model["pipeline"])
    state["triggers"][key] = {"trigger_id": trigger_id, "client_request_token": token, "claimed_at": now_ms}
    if not _store_ledger(model["name"], state, etag):
        raise RuntimeError(f"lost the race to claim {key}; a retry will redecide")
    started = SAGEMAKER.start_pipeline_execution(
        PipelineName=model["pipeline"],
        ClientRequestToken=token,
        PipelineExecutionDisplayName=display_name,
        PipelineExecutionDescription=f"Retraining {model['name']}: {alarm['summary']}"[:3072],
        PipelineParameters=[{"Name": name, "Value": value} for name, value in parameters.items() if name in declared],
    )
    execution_arn = started["PipelineExecutionArn"]
    for _ in range(25):
        state, etag = _load_ledger(model["name"])
        state["triggers"].setdefault(key, {"trigger_id": trigger_id, "client_request_token": token,
                                           "claimed_at": now_ms})["execution_arn"] = execution_arn
        state["evidence"] = [evidence for evidence in state["evidence"] if evidence["at"] > now_ms]
        if _store_ledger(model["name"], state, etag):
            return dict(decision, outcome="started", reason="alarm", execution_arn=execution_arn)
    raise RuntimeError(f"could not record the start of {execution_arn} in the ledger")


def handler(event, context):
    alarm = decode_alarm(event)
    models = [model for model in POLICY if alarm["name"] in model["alarms"] or alarm["arn"] in model["alarms"]]
    decisions = []
    for model in models:
        if alarm["state"] != "ALARM":
            decision = {"model": model["name"], "outcome": "ignored", "reason": "not-alarm-state"}
        else:
            decision = _decide_and_apply(alarm, model)
        print(json.dumps(dict(decision, message="retrain decision", at=int(time.time() * 1000))))
        decisions.append(decision)
    return {"decisions": decisions}
