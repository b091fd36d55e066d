#!/usr/bin/env python3
"""Checks the SageMaker pipeline definitions in infra/pipeline/ (standard library only).

For each definition it checks that:
- it parses as JSON and has the 2020-12-01 shape (Version, Parameters, Steps);
- it declares, with a default, every parameter a trigger function may pass, so a
  start never fails on an undeclared or missing parameter;
- every {"Get": "Parameters.X"} names a declared parameter, every "Steps.X..."
  names a step (and the property file or output it reads exists on that step),
  and every "Execution.X" is a real execution variable;
- parameter types, defaults and step names are well formed.

The template deploys a definition as the body of an Fn::Sub, between
"# BEGIN pipeline/<file>" and "# END pipeline/<file>" comments. For each such
block it checks that the body is exactly the file, and that every ${Name} in the
file is a template parameter or resource. --write-template copies the files into
their blocks instead.

Usage: check_definition.py [--template infra/template.yaml] [--write-template] [FILE ...]
(no FILE: every infra/pipeline/*.json). Exits 1 on any problem.
"""

import argparse
import glob
import json
import os
import re
import sys

PIPELINE_DIR = os.path.dirname(os.path.abspath(__file__))
INFRA_DIR = os.path.dirname(PIPELINE_DIR)

# Every parameter a trigger function may pass to StartPipelineExecution. The
# functions pass only what the definition declares, so a missing one would be
# silently dropped: the pipeline would never see it.
TRIGGER_PARAMETERS = [
    "TriggerType",
    "TriggerReason",
    "TriggerId",
    "ModelApprovalStatus",
    "TrainingMode",
    "RehearsalFraction",
    "DataWindowDays",
    "DriftScore",
    "DriftedFeatures",
]

PARAMETER_TYPES = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}
STEP_TYPES = {
    "Processing", "Training", "Tuning", "Transform", "Condition", "RegisterModel", "Model",
    "CreateModel", "Fail", "Lambda", "Callback", "QualityCheck", "ClarifyCheck", "EMR",
    "AutoML", "Emr",
}
EXECUTION_VARIABLES = {
    "PipelineName", "PipelineArn", "PipelineExecutionId", "PipelineExecutionArn",
    "StartDateTime", "CurrentDateTime",
}
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]+$")
STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)(.*)$")
OUTPUT_REFERENCE = re.compile(r"Outputs\['([^']+)'\]")
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
BLOCK_BEGIN = re.compile(r"^\s*# BEGIN (pipeline/[\w.-]+\.json)\b")
BLOCK_END = "# END {name}"
BODY_KEY = "PipelineDefinitionBody: !Sub |"


def all_steps(steps, found=None):
    """Every step, including those nested in a Condition step's IfSteps and ElseSteps."""
    found = [] if found is None else found
    for step in steps:
        if not isinstance(step, dict):
            continue
        found.append(step)
        arguments = step.get("Arguments") or {}
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            all_steps(arguments.get("IfSteps") or [], found)
            all_steps(arguments.get("ElseSteps") or [], found)
    return found


def get_references(node, where="$"):
    """Yields (path in the document, reference) for every {"Get": "..."} in node."""
    if isinstance(node, dict):
        if isinstance(node.get("Get"), str):
            yield where, node["Get"]
        for key, value in node.items():
            # A Condition step's nested steps are walked as steps of their own.
            if key in ("IfSteps", "ElseSteps"):
                continue
            yield from get_references(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from get_references(value, f"{where}[{index}]")


def check_parameters(parameters):
    errors = []
    declared = {}
    if not isinstance(parameters, list):
        return ["Parameters must be a list"], declared
    for index, parameter in enumerate(parameters):
        name = parameter.get("Name") if isinstance(parameter, dict) else None
        if not isinstance(name, str) or not PARAMETER_NAME.match(name):
            errors.append(f"Parameters[{index}]: Name {name!r} must match [A-Za-z0-9-_]+")
            continue
        if name in declared:
            errors.append(f"parameter {name} is declared twice")
        declared[name] = parameter
        kind = parameter.get("Type", "String")
        if kind not in PARAMETER_TYPES:
            errors.append(f"parameter {name}: Type {kind!r} is not one of {sorted(PARAMETER_TYPES)}")
            continue
        if "DefaultValue" in parameter:
            default = parameter["DefaultValue"]
            wrong_bool = isinstance(default, bool) and kind != "Boolean"
            if wrong_bool or not isinstance(default, PARAMETER_TYPES[kind]):
                errors.append(f"parameter {name}: DefaultValue {default!r} is not a {kind}")
            enum = parameter.get("EnumValues")
            if enum is not None and default not in enum:
                errors.append(f"parameter {name}: DefaultValue {default!r} is not one of EnumValues {enum}")
    for name in TRIGGER_PARAMETERS:
        if name not in declared:
            errors.append(
                f"parameter {name} is not declared; the trigger functions pass it, and drop it "
                f"unless the definition declares it. Add it to Parameters with a DefaultValue"
            )
        elif "DefaultValue" not in declared[name]:
            errors.append(f"parameter {name} has no DefaultValue; a trigger that does not pass it could not start the pipeline")
    return errors, declared


def check_definition(definition):
    """Returns a list of problems with one parsed pipeline definition."""
    if not isinstance(definition, dict):
        return ["the definition must be a JSON object"]
    errors = []
    if definition.get("Version") != "2020-12-01":
        errors.append(f"Version is {definition.get('Version')!r}; the pipeline definition schema is \"2020-12-01\"")
    parameter_errors, declared = check_parameters(definition.get("Parameters", []))
    errors += parameter_errors

    top_steps = definition.get("Steps")
    if not isinstance(top_steps, list) or not top_steps:
        return errors + ["Steps must be a non-empty list"]
    steps = {}
    for step in all_steps(top_steps):
        name = step.get("Name")
        if not isinstance(name, str) or not STEP_NAME.match(name):
            errors.append(f"step name {name!r} must match [A-Za-z0-9-_]{{1,64}}")
            continue
        if name in steps:
            errors.append(f"step {name} is defined twice")
        steps[name] = step
        if step.get("Type") not in STEP_TYPES:
            errors.append(f"step {name}: Type {step.get('Type')!r} is not a pipeline step type")
        if not isinstance(step.get("Arguments"), dict):
            errors.append(f"step {name}: Arguments must be an object")

    def outputs_of(step):
        config = (step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}
        return {output.get("OutputName") for output in config.get("Outputs") or []}

    def property_files_of(step):
        return {entry.get("PropertyFileName") for entry in step.get("PropertyFiles") or []}

    for name, step in steps.items():
        for entry in step.get("PropertyFiles") or []:
            if entry.get("OutputName") not in outputs_of(step):
                errors.append(f"step {name}: property file {entry.get('PropertyFileName')} reads output {entry.get('OutputName')!r}, which the step does not have")
        for dependency in step.get("DependsOn") or []:
            if dependency not in steps:
                errors.append(f"step {name}: DependsOn names {dependency!r}, which is not a step")

    references = list(get_references({key: value for key, value in definition.items() if key != "Steps"}))
    for name, step in steps.items():
        references += [(f"step {name}{where[1:]}", reference) for where, reference in get_references(step)]
    for where, reference in references:
        if reference.startswith("Parameters."):
            parameter = reference[len("Parameters."):]
            if parameter not in declared:
                errors.append(f"{where}: {reference} names an undeclared parameter")
        elif reference.startswith("Execution."):
            if reference[len("Execution."):] not in EXECUTION_VARIABLES:
                errors.append(f"{where}: {reference} is not an execution variable ({sorted(EXECUTION_VARIABLES)})")
        elif reference.startswith("Steps."):
            match = STEP_REFERENCE.match(reference)
            target = steps.get(match.group(1)) if match else None
            if target is None:
                errors.append(f"{where}: {reference} names a step that does not exist")
                continue
            rest = match.group(2)
            if rest.startswith(".PropertyFiles."):
                property_file = rest[len(".PropertyFiles."):].split(".")[0]
                if property_file not in property_files_of(target):
                    errors.append(f"{where}: {reference}: step {match.group(1)} declares no property file {property_file}")
            for output in OUTPUT_REFERENCE.findall(rest):
                if rest.startswith(".ProcessingOutputConfig") and output not in outputs_of(target):
                    errors.append(f"{where}: {reference}: step {match.group(1)} has no output {output!r}")
        else:
            errors.append(f"{where}: {reference!r} is not a Parameters., Steps. or Execution. reference")
    return errors


def template_names(template_text):
    """The Parameters and Resources logical ids of a template (top-level keys indented two spaces)."""
    names, section = set(), None
    for line in template_text.splitlines():
        top = re.match(r"^(\w+):", line)
        if top:
            section = top.group(1)
            continue
        key = re.match(r"^  (\w+):\s*(#.*)?$", line)
        if key and section in ("Parameters", "Resources"):
            names.add(key.group(1))
    return names


def find_blocks(lines):
    """Yields (definition name, index of the first body line, index of the END line, indent) per block."""
    for begin, line in enumerate(lines):
        match = BLOCK_BEGIN.match(line)
        if not match:
            continue
        name = match.group(1)
        end_marker = BLOCK_END.format(name=name)
        end = next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == end_marker), None)
        key = next((i for i in range(begin + 1, end or len(lines)) if lines[i].strip() == BODY_KEY), None)
        if end is None or key is None:
            yield name, None, None, None
            continue
        indent = " " * (len(lines[key]) - len(lines[key].lstrip()) + 2)
        yield name, key + 1, end, indent


def check_template(template_path, write):
    """Checks (or, with write, refreshes) every embedded definition block. Returns problems."""
    with open(template_path) as handle:
        text = handle.read()
    lines = text.split("\n")
    names = template_names(text)
    errors = []
    blocks = list(find_blocks(lines))
    if not blocks:
        return [f"{template_path}: no '# BEGIN pipeline/<file>.json' block; the reference pipeline is not embedded"]
    # Work from the last block back so earlier indices stay valid while writing.
    for name, first, end, indent in reversed(blocks):
        if first is None:
            errors.append(f"{template_path}: block {name} needs a '{BODY_KEY}' line and a '# END {name}' line")
            continue
        path = os.path.join(INFRA_DIR, name)
        if not os.path.exists(path):
            errors.append(f"{template_path}: block {name} names a file that does not exist")
            continue
        with open(path) as handle:
            wanted = handle.read().rstrip("\n").split("\n")
        for variable in sorted(set(SUB_VARIABLE.findall("\n".join(wanted)))):
            logical_id = variable.split(".")[0]
            if not variable.startswith("AWS::") and logical_id not in names:
                errors.append(f"{name}: ${{{variable}}} is not a parameter or resource of {os.path.basename(template_path)}")
        body = [line[len(indent):] if line.startswith(indent) else line.strip() for line in lines[first:end]]
        if write:
            lines[first:end] = [indent + line if line else line for line in wanted]
        elif body != wanted:
            errors.append(
                f"{template_path}: the embedded copy of {name} differs from the file; "
                f"run: python3 infra/pipeline/check_definition.py --write-template"
            )
    if write and not errors:
        with open(template_path, "w") as handle:
            handle.write("\n".join(lines))
    return errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="definitions to check (default: infra/pipeline/*.json)")
    parser.add_argument("--template", default=os.path.join(INFRA_DIR, "template.yaml"))
    parser.add_argument("--write-template", action="store_true", help="copy the definitions into the template's blocks")
    args = parser.parse_args(argv)

    files = args.files or sorted(glob.glob(os.path.join(PIPELINE_DIR, "*.json")))
    if not files:
        print(f"check_definition: no pipeline definitions in {PIPELINE_DIR}", file=sys.stderr)
        return 1
    failures = 0
    for path in files:
        try:
            with open(path) as handle:
                definition = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            problems = [f"cannot read it as JSON: {error}"]
        else:
            problems = check_definition(definition)
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        failures += len(problems)
        if not problems:
            print(f"check_definition: {path}: ok ({len(TRIGGER_PARAMETERS)} trigger parameters declared)")

    template_problems = check_template(args.template, args.write_template)
    for problem in template_problems:
        print(problem, file=sys.stderr)
    failures += len(template_problems)
    if not template_problems:
        verb = "refreshed" if args.write_template else "match their files"
        print(f"check_definition: the definitions embedded in {args.template} {verb}")
    if failures:
        print(f"check_definition: {failures} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
