#!/usr/bin/env bash
# The capture-file harness, without make: generates a synthetic Data Capture
# object of 20 CSV features (about 1,000 MB, outside the repository), then
# runs the Rust profiler and the Python reference on it one after the other,
# each under /usr/bin/time -v for its peak RSS. Each prints one JSON line
# with its records per second.
#
#   bench/capture.sh [MEGABYTES] [PYTHON]
#
# PYTHON must have the `datasketches` package (requirements-tools.txt).
set -euo pipefail
megabytes="${1:-1000}"
python="${2:-python3}"
target="${CARGO_TARGET_DIR:-target}"
file="/var/tmp/capture-${megabytes}m.jsonl"
cd "$(dirname "$0")/.."
cargo build --release -p trigger-bench --bin profile-capture --bin generate-capture
[ -f "$file" ] || "$target/release/generate-capture" "$file" "$megabytes"
for run in rust python; do
    if [ "$run" = rust ]; then
        command=("$target/release/profile-capture" "$file")
    else
        command=("$python" bench/reference/profile_capture.py "$file")
    fi
    /usr/bin/time -v "${command[@]}" 2> "/var/tmp/capture-time-$run.txt"
    grep -E "Maximum resident set size|User time|Elapsed" "/var/tmp/capture-time-$run.txt"
done
