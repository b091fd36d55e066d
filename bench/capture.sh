#!/usr/bin/env bash
# The capture-file harness, without make: generates a synthetic Data Capture
# object of 20 CSV features (about 1,000 MB, outside the repository), then
# runs the Rust profiler and the two Python references on it one after the
# other (the standard library with DataSketches' KLL, and pandas), each under
# /usr/bin/time -v for its peak RSS. Each prints one JSON line with its
# records per second.
#
#   bench/capture.sh [MEGABYTES] [PYTHON]
#
# PYTHON must have the `datasketches` and `pandas` packages (requirements-bench.txt).
set -euo pipefail
megabytes="${1:-1000}"
python="${2:-python3}"
target="${CARGO_TARGET_DIR:-target}"
file="/var/tmp/capture-${megabytes}m.jsonl"
cd "$(dirname "$0")/.."
cargo build --release -p trigger-bench --bin profile-capture --bin generate-capture
[ -f "$file" ] || "$target/release/generate-capture" "$file" "$megabytes"
for run in rust python pandas; do
    case "$run" in
        rust) command=("$target/release/profile-capture" "$file") ;;
        python) command=("$python" bench/reference/profile_capture.py "$file") ;;
        pandas) command=("$python" bench/reference/profile_capture_pandas.py "$file") ;;
    esac
    /usr/bin/time -v "${command[@]}" 2> "/var/tmp/capture-time-$run.txt"
    grep -E "Maximum resident set size|User time|Elapsed" "/var/tmp/capture-time-$run.txt"
done
