#!/usr/bin/env bash
# Lints every CloudFormation/SAM template under infra/, then checks the
# reference pipeline in infra/pipeline/.
#
# cfn-lint and `sam validate --lint` each catch things the other misses, so
# both run. cfn-lint is required. sam is optional unless REQUIRE_SAM=1 (set it
# in CI once requirements-tools.txt is installed there).
#
# check_template.py then checks the stack's own rules on template.yaml: no
# mutating IAM action on "*", the functions' S3 access scoped to the ledger
# prefix, (read only) the monitoring-report prefix and (GetObject only) the
# policy object of RetrainPolicyUri, their SageMaker access scoped to pipeline
# ARNs, a dead-letter queue or on-failure destination on every asynchronous
# path, an alarm on every queue, an InvalidEvent metric filter on every
# function's log group, all six trigger functions deployed, and AWS_IAM auth
# on any function URL.
#
# The pipeline checks need only python3 and its standard library:
# check_definition.py (every trigger parameter declared, every reference
# resolves, the template's embedded copy matches the file), a compile of the
# processing scripts, and their tests on small local data.
#
# Exits non-zero on any failure, after running every check.
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# sam refuses to validate without a region; none is needed for linting, so any
# region will do when the caller has not set one.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"

mapfile -t templates < <(find "$infra_dir" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) \
    -not -path '*/.aws-sam/*' -print0 | xargs -0 -r grep -l -E 'AWSTemplateFormatVersion|AWS::Serverless' | sort)

if [[ ${#templates[@]} -eq 0 ]]; then
    echo "validate.sh: no templates found under $infra_dir" >&2
    exit 1
fi

if ! command -v cfn-lint >/dev/null 2>&1; then
    echo "validate.sh: cfn-lint is not on PATH; run it through make (make validate), which installs it into .venv/" >&2
    exit 1
fi

run_sam=1
if ! command -v sam >/dev/null 2>&1; then
    if [[ "${REQUIRE_SAM:-0}" == "1" ]]; then
        echo "validate.sh: sam is not on PATH and REQUIRE_SAM=1; run it through make (make validate), which installs it into .venv/" >&2
        exit 1
    fi
    echo "validate.sh: sam is not on PATH; skipping 'sam validate --lint' (set REQUIRE_SAM=1 to make this an error)" >&2
    run_sam=0
fi

failures=0
for template in "${templates[@]}"; do
    echo "== cfn-lint $template"
    if ! cfn-lint -- "$template"; then
        failures=$((failures + 1))
    fi
    if [[ $run_sam -eq 1 ]]; then
        echo "== sam validate --lint $template"
        if ! sam validate --lint --template-file "$template"; then
            failures=$((failures + 1))
        fi
    fi
done

echo "== check_template.py (least privilege, no lost events)"
if ! python3 -B "$infra_dir/check_template.py" "$infra_dir/template.yaml"; then
    failures=$((failures + 1))
fi

pipeline_dir="$infra_dir/pipeline"
echo "== check_definition.py (pipeline definitions)"
if ! python3 "$pipeline_dir/check_definition.py" --template "$infra_dir/template.yaml"; then
    failures=$((failures + 1))
fi
# compile() rather than py_compile, so no __pycache__ lands in code/, which is
# uploaded to S3 as it is.
echo "== compile pipeline/code/*.py"
if ! python3 -c 'import sys
for path in sys.argv[1:]:
    with open(path) as handle:
        compile(handle.read(), path, "exec")' "$pipeline_dir"/code/*.py; then
    failures=$((failures + 1))
fi
echo "== test_code.py (processing scripts on local data)"
if ! python3 -B "$pipeline_dir/test_code.py"; then
    failures=$((failures + 1))
fi

if [[ $failures -gt 0 ]]; then
    echo "validate.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "validate.sh: ${#templates[@]} template(s) and the reference pipeline passed"
