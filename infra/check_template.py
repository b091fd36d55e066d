#!/usr/bin/env python3
"""Checks the stack's safety rules on infra/template.yaml, beyond what cfn-lint knows.

- No IAM Allow statement grants a mutating action (anything but Describe*, Get*,
  List*, BatchGet*, Search*) on Resource "*", nor uses NotAction or NotResource.
- The trigger functions' roles touch S3 only under the ledger prefix (read and
  write) and the monitoring-report prefix (read only): every object ARN they
  name lies under one of the two, and every ListBucket is limited by an
  s3:prefix condition to one of the two. The monitor function also reads the
  capture and ground-truth prefixes, and alone may write under the reports
  prefix (its statistics.json and quality.json). The one exception is the policy
  object (RetrainPolicyUri), which they may only GetObject, on exactly the
  object ARN derived from that parameter, without a wildcard. SageMaker they use only through
  StartPipelineExecution, ListPipelineExecutions and DescribePipeline on
  pipeline ARNs.
- No event is lost: every function has an on-failure destination for its
  asynchronous invocations; every SNS subscription, EventBridge rule target and
  Scheduler target has a dead-letter queue; every queue has an alarm on depth > 0.
- Every function's log group has a metric filter counting InvalidEvent errors.
- Every trigger binary of the workspace (TRIGGER_BINARIES) is deployed, and a
  function URL, if any, uses AWS_IAM auth (never NONE).

It reads the template with cfn-lint's decoder (cfn-lint is required by
validate.sh anyway), which understands the !Ref / !Sub short forms.
Usage: check_template.py [TEMPLATE]. Exits 1 on any problem.
"""

import json
import os
import sys

from cfnlint.decode import decode

READ_ONLY_VERBS = ("Describe", "Get", "List", "BatchGet", "Search")
# The key prefixes under which the function roles may use S3, as the template
# writes them (before !Sub fills in parameters), each with the S3 actions
# allowed there. The ledger is read and written; the monitoring reports (the
# drift function's statistics, baselines and constraints) are only read.
FUNCTION_S3_PREFIXES = {
    "ledger/": {"s3:GetObject", "s3:PutObject", "s3:ListBucket"},
    "${MonitoringReportsPrefix}": {"s3:GetObject", "s3:ListBucket"},
    "${CapturePrefix}": {"s3:GetObject", "s3:ListBucket"},
    "${GroundTruthPrefix}": {"s3:GetObject", "s3:ListBucket"},
}
# The one role that may also write under a read-only prefix: the monitor
# function writes each window's statistics.json and quality.json beside the
# reports the drift function reads.
ROLE_S3_WRITES = {"MonitorTriggerRole": {"${MonitoringReportsPrefix}": {"s3:PutObject"}}}
# The policy object (RetrainPolicyUri=s3://bucket/key): exactly one object, read
# only. Its ARN must be this !Sub template, with RetrainPolicyObject taken from
# the URI by POLICY_OBJECT_FROM_URI; the parameter's AllowedPattern keeps "*"
# and "?" out of the key.
POLICY_OBJECT_ARN = "arn:${AWS::Partition}:s3:::${RetrainPolicyObject}"
POLICY_OBJECT_FROM_URI = {"Fn::Select": [1, {"Fn::Split": ["s3://", {"Ref": "RetrainPolicyUri"}]}]}
POLICY_OBJECT_ACTIONS = {"s3:GetObject"}
# Every trigger function of the workspace, by its cargo binary (BuildProperties.Binary).
TRIGGER_BINARIES = {"alarm-trigger", "sns-trigger", "schedule-trigger", "drift-trigger", "manual-trigger", "monitor-trigger"}
FUNCTION_SAGEMAKER_ACTIONS = {
    "sagemaker:StartPipelineExecution",
    "sagemaker:ListPipelineExecutions",
    "sagemaker:DescribePipeline",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def branches(node):
    """Both branches of an Fn::If (dropping AWS::NoValue), or the node itself."""
    if isinstance(node, dict) and "Fn::If" in node:
        found = []
        for branch in node["Fn::If"][1:]:
            found += branches(branch)
        return found
    if isinstance(node, dict) and node.get("Ref") == "AWS::NoValue":
        return []
    return [node]


def text_of(node):
    """A resource or condition value as text: the string, the !Sub template, or its JSON."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Sub" in node:
        template = node["Fn::Sub"]
        return template if isinstance(template, str) else text_of(template[0])
    return json.dumps(node)


def is_policy_object(target):
    """Whether a resource is exactly the policy object's ARN, derived from RetrainPolicyUri."""
    if not isinstance(target, dict) or not isinstance(target.get("Fn::Sub"), list):
        return False
    template, variables = (target["Fn::Sub"] + [{}])[:2]
    return template == POLICY_OBJECT_ARN and (variables or {}).get("RetrainPolicyObject") == POLICY_OBJECT_FROM_URI


def s3_scope_problem(action, targets, condition, roles=()):
    """Why a function's S3 statement is not limited to FUNCTION_S3_PREFIXES, or None.

    Object actions must name object ARNs under an allowed prefix. ListBucket
    names a bucket, so it must carry an s3:prefix condition whose every value
    starts with an allowed prefix.
    """
    if action == "s3:ListBucket":
        scopes = [
            text_of(value)
            for operator in ("StringLike", "StringEquals")
            for value in as_list(((condition or {}).get(operator) or {}).get("s3:prefix", []))
        ]
        if not scopes:
            return "has no s3:prefix condition (StringLike or StringEquals)"
        under = [(scope, [p for p in FUNCTION_S3_PREFIXES if scope.startswith(p)]) for scope in scopes]
    else:
        if not targets:
            return "names no resource"
        policy_objects = [target for target in targets if is_policy_object(target)]
        if policy_objects and action not in POLICY_OBJECT_ACTIONS:
            return f"is not allowed on the policy object (only {sorted(POLICY_OBJECT_ACTIONS)})"
        targets = [target for target in targets if not is_policy_object(target)]
        under = [(text_of(target), [p for p in FUNCTION_S3_PREFIXES if "/" + p in text_of(target)]) for target in targets]
    for scope, prefixes in under:
        if not prefixes:
            return f"reaches {scope}, outside {tuple(FUNCTION_S3_PREFIXES)}"
        allowed = lambda prefix: FUNCTION_S3_PREFIXES[prefix] | set().union(
            *(ROLE_S3_WRITES.get(role, {}).get(prefix, set()) for role in roles)
        )
        if not any(action in allowed(prefix) for prefix in prefixes):
            return f"is not allowed under {prefixes[0]} (only {sorted(FUNCTION_S3_PREFIXES[prefixes[0]])})"
    return None


def statements(document):
    for statement in as_list((document or {}).get("Statement", [])):
        yield from branches(statement)


def policy_documents(resources):
    """Yields (where, role logical ids the policy applies to, policy document)."""
    for logical_id, resource in resources.items():
        kind, properties = resource.get("Type"), resource.get("Properties") or {}
        if kind == "AWS::IAM::Role":
            # An inline policy may itself sit in an Fn::If; check every branch.
            for entry in properties.get("Policies") or []:
                for policy in branches(entry):
                    yield f"{logical_id}/{policy.get('PolicyName')}", [logical_id], policy.get("PolicyDocument")
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = [role.get("Ref") for role in properties.get("Roles") or [] if isinstance(role, dict)]
            yield logical_id, roles, properties.get("PolicyDocument")


def is_mutating(action):
    if not isinstance(action, str) or ":" not in action:
        return True
    verb = action.split(":", 1)[1]
    return not verb.startswith(READ_ONLY_VERBS) or "*" in verb


def check_iam(resources):
    problems = []
    function_roles = {
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::IAM::Role"
        and "lambda.amazonaws.com" in json.dumps(resource.get("Properties", {}).get("AssumeRolePolicyDocument"))
    }
    for where, roles, document in policy_documents(resources):
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{where}: an Allow statement uses NotAction or NotResource")
                continue
            actions = as_list(statement.get("Action", []))
            targets = [target for resource in as_list(statement.get("Resource", [])) for target in branches(resource)]
            if "*" in targets:
                for action in actions:
                    if is_mutating(action):
                        problems.append(f"{where}: mutating action {action} is allowed on Resource \"*\"")
            if not function_roles.intersection(roles):
                continue
            for action in actions:
                if action.startswith("s3:"):
                    problem = s3_scope_problem(action, targets, statement.get("Condition"), roles)
                    if problem:
                        problems.append(f"{where}: {action} for a trigger function {problem}")
                if action.startswith("sagemaker:"):
                    if action not in FUNCTION_SAGEMAKER_ACTIONS:
                        problems.append(f"{where}: a trigger function may not use {action}")
                    if ":pipeline/" not in json.dumps(targets):
                        problems.append(f"{where}: {action} for a trigger function is not limited to pipeline ARNs")
    return problems


def check_delivery(template):
    problems = []
    resources = template.get("Resources", {})
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    functions = {k: r for k, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    for logical_id, function in functions.items():
        properties = function.get("Properties") or {}
        config = properties.get("EventInvokeConfig", globals_function.get("EventInvokeConfig")) or {}
        on_failure = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
        if not on_failure.get("Destination") and not properties.get("DeadLetterQueue"):
            problems.append(f"{logical_id}: no on-failure destination or dead-letter queue for asynchronous invocations")
        for event_id, event in (properties.get("Events") or {}).items():
            if event.get("Type") == "SNS" and not (event.get("Properties") or {}).get("RedrivePolicy"):
                problems.append(f"{logical_id}/{event_id}: the SNS subscription has no RedrivePolicy (dead-letter queue)")
            if event.get("Type") in ("EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2") and not (
                event.get("Properties") or {}
            ).get("DeadLetterConfig"):
                problems.append(f"{logical_id}/{event_id}: the {event.get('Type')} event has no DeadLetterConfig")
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Events::Rule":
            for target in properties.get("Targets") or []:
                if not target.get("DeadLetterConfig"):
                    problems.append(f"{logical_id}: target {target.get('Id')} has no DeadLetterConfig")
        if resource.get("Type") == "AWS::Scheduler::Schedule" and not (properties.get("Target") or {}).get("DeadLetterConfig"):
            problems.append(f"{logical_id}: the schedule's target has no DeadLetterConfig")

    alarmed_queues = set()
    for resource in resources.values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") != "AWS::CloudWatch::Alarm" or properties.get("Namespace") != "AWS/SQS":
            continue
        if properties.get("ComparisonOperator") == "GreaterThanThreshold" and properties.get("Threshold") == 0:
            for dimension in properties.get("Dimensions") or []:
                value = dimension.get("Value")
                if isinstance(value, dict) and "Fn::GetAtt" in value:
                    alarmed_queues.add(value["Fn::GetAtt"][0])
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::SQS::Queue" and logical_id not in alarmed_queues:
            problems.append(f"{logical_id}: no alarm fires when the queue holds a message (depth > 0)")

    filtered_groups = {
        (resource.get("Properties") or {}).get("LogGroupName", {}).get("Ref")
        for resource in resources.values()
        if resource.get("Type") == "AWS::Logs::MetricFilter"
        and "InvalidEvent" in str((resource.get("Properties") or {}).get("FilterPattern"))
        and isinstance((resource.get("Properties") or {}).get("LogGroupName"), dict)
    }
    for logical_id, function in functions.items():
        logging = (function.get("Properties") or {}).get("LoggingConfig") or {}
        group = logging.get("LogGroup")
        if not isinstance(group, dict) or group.get("Ref") not in filtered_groups:
            problems.append(f"{logical_id}: its log group has no metric filter counting InvalidEvent errors")
    return problems


def check_functions(template):
    problems = []
    functions = {
        k: r for k, r in template.get("Resources", {}).items() if r.get("Type") == "AWS::Serverless::Function"
    }
    binaries = {((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary") for r in functions.values()}
    for binary in sorted(TRIGGER_BINARIES - binaries):
        problems.append(f"no function is built from the trigger binary {binary}")
    for logical_id, function in functions.items():
        url = (function.get("Properties") or {}).get("FunctionUrlConfig")
        if url is not None and (url or {}).get("AuthType") != "AWS_IAM":
            problems.append(f"{logical_id}: its function URL must use AuthType AWS_IAM")
    return problems


def main(argv):
    path = argv[0] if argv else os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.yaml")
    template, matches = decode(path)
    if matches or template is None:
        for match in matches:
            print(f"{path}: {match}", file=sys.stderr)
        return 1
    problems = check_iam(template.get("Resources", {})) + check_delivery(template) + check_functions(template)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        print(f"check_template: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_template: {path}: least privilege and dead-letter rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
