# The Makefile mirrors CI: `.ci/run` calls `make test`, and the README names
# `make demo` and `make test` as the two commands a fresh machine needs.

CARGO ?= cargo

# The pinned tools (requirements-tools.txt) live in a virtual environment of
# the project's own, .venv/, so `make setup` never changes the machine's Python:
# BOOTSTRAP_PYTHON only creates it. Every target runs the venv's interpreter and
# finds the tools (moto_server, cargo-lambda, cfn-lint, sam, aws) first on PATH.
BOOTSTRAP_PYTHON ?= python3
VENV := $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
# Written once the tools are installed; newer than requirements-tools.txt means nothing to do.
TOOLS_STAMP := $(VENV)/.tools-installed
export PATH := $(VENV)/bin:$(PATH)
# The integration tests start this moto server rather than whichever is first on PATH.
export MOTO_SERVER := $(VENV)/bin/moto_server
export AWS_EC2_METADATA_DISABLED := true
export CARGO_TERM_COLOR ?= never

.PHONY: setup build fmt-check clippy cargo-test validate invoke-fixtures local-tests test demo invoke watch stop \
	release sizes

## setup: the pinned tools (moto, cargo-lambda, ziglang, cfn-lint, sam, awscli) in .venv/; quick when present.
setup: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "cannot create .venv/ with $(BOOTSTRAP_PYTHON) -m venv (on Debian or Ubuntu: apt-get install python3-venv)" >&2; \
		exit 1; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

## build: the function binaries and the CLI, exactly as `cargo lambda watch` and `cargo run --bin` build them.
## Only the workspace's binaries, and no -p: the same dependency features, so the demo compiles nothing again.
build:
	$(CARGO) build --workspace --bins

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## cargo-test: unit tests and the integration tests, which start their own moto servers.
cargo-test: setup
	$(CARGO) test --workspace

## validate: cfn-lint and sam validate --lint on every template under infra/.
validate: setup
	REQUIRE_SAM=1 AWS_DEFAULT_REGION=us-east-1 bash infra/validate.sh

## invoke-fixtures: every event fixture through `cargo lambda watch` + `cargo lambda invoke`.
invoke-fixtures: setup
	$(PYTHON) tests/local/local.py fixtures

## local-tests: tests/local's own tests, `make invoke` twice on one fixture among them.
local-tests: setup
	$(PYTHON) -m unittest discover --start-directory tests/local --pattern 'test_*.py' --verbose

## test: everything CI checks.
test: setup fmt-check clippy cargo-test validate invoke-fixtures local-tests

## demo: moto + cargo lambda watch + a scripted scenario, printed as a table.
demo: setup build
	$(PYTHON) tests/local/local.py demo

# A stack that outlives one make call: moto and `cargo lambda watch` in the
# background, their pids, ports and logs in STACK_DIR, so a second
# `make invoke` reaches the same ledger (and answers `already-started`).
STACK_DIR ?= $(CURDIR)/.demo
# The fixture check's policy: every alarm, schedule and report the fixtures name belongs to a model.
POLICY ?= tests/local/fixtures-policy.toml
STACK := $(PYTHON) tests/local/local.py --stack-dir $(STACK_DIR)

## invoke: FIXTURE=path [FUNCTION=name] [POLICY=path]: one event, its times re-stamped, through the stack (started if needed).
invoke: setup build
	@test -n "$(FIXTURE)" || { echo "usage: make invoke FIXTURE=tests/fixtures/events/<name>.json [FUNCTION=alarm-trigger]" >&2; exit 2; }
	$(STACK) invoke --policy $(POLICY) $(if $(FUNCTION),--function $(FUNCTION)) $(FIXTURE)

## watch: start the stack (or keep the running one) and print the environment for your own `cargo lambda invoke`.
watch: setup build
	$(STACK) watch --policy $(POLICY)

## stop: stop the stack that `make watch` or `make invoke` started.
stop:
	@test ! -x $(PYTHON) || $(STACK) stop

## release: the Lambda packages, as `sam build` makes them (arm64, release profile).
release: setup
	$(CARGO) lambda build --release --arm64 --output-format zip

## sizes: the zipped size of each function package.
sizes: release
	@for zip in $${CARGO_TARGET_DIR:-target}/lambda/*/bootstrap.zip; do \
		printf '%-20s %8d bytes zipped\n' "$$(basename $$(dirname $$zip))" "$$(stat -c %s $$zip)"; \
	done

# Performance (bench/); the README's "Performance" section shows the table.
BENCH_RESULTS = $${CARGO_TARGET_DIR:-target}/bench
BENCH_FUNCTIONS = -p alarm-trigger -p sns-trigger -p schedule-trigger

.PHONY: bench bench-coldstart bench-tools bench-capture

# The benchmarks' Python references need packages make test does not (requirements-bench.txt).
BENCH_TOOLS_STAMP := $(VENV)/.bench-tools-installed

## bench-tools: the benchmarks' own Python packages, in .venv/ beside the tools.
bench-tools: $(BENCH_TOOLS_STAMP)

$(BENCH_TOOLS_STAMP): requirements-bench.txt $(TOOLS_STAMP)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $@

## bench-capture: profile a synthetic 1 GB Data Capture object in Rust and with both Python references.
bench-capture: bench-tools
	bench/capture.sh 1000 $(PYTHON)

## bench-coldstart: each function's release binary and the Python/boto3 reference, 20 fresh processes each, against moto.
bench-coldstart: setup
	$(CARGO) build --release $(BENCH_FUNCTIONS)
	$(PYTHON) bench/coldstart.py --rounds 20 --json $(BENCH_RESULTS)/coldstart.json

## bench: the arm64 packages, criterion (decode + decide per event shape, drift distances), the cold starts; one table.
## One step after another, so no measurement shares the cores with a build.
bench: setup bench-tools
	$(CARGO) lambda build --release --arm64 --output-format zip
	$(CARGO) build --release $(BENCH_FUNCTIONS)
	$(CARGO) bench -p trigger-bench
	$(PYTHON) bench/coldstart.py --rounds 20 --json $(BENCH_RESULTS)/coldstart.json
	bench/capture.sh 1000 $(PYTHON)
	$(PYTHON) bench/report.py --coldstart $(BENCH_RESULTS)/coldstart.json
