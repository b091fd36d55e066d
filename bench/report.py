#!/usr/bin/env python3
"""Prints `make bench`'s one table: criterion's decode + decide medians per event shape,
the cold-start harness's figures against the Python/boto3 reference, and the zipped size
of each function package, each next to its target (README, "Performance").

    report.py --coldstart coldstart.json [--target-dir DIR]

It only reads what the three measurements left behind: criterion's
`<target>/criterion/decode-decide/<shape>/new/estimates.json`, the harness's `--json`
output, and `<target>/lambda/<function>/bootstrap.zip` from `cargo lambda build`. The
architecture of each package is read from the ELF header inside the zip, not assumed.
"""

import argparse
import json
import os
import platform
import sys
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ["alarm-trigger", "sns-trigger", "schedule-trigger"]
REFERENCE = "python-boto3"
# Which function each benchmarked event shape belongs to.
SHAPES = [("alarm-direct", "alarm action", "alarm-trigger"), ("eventbridge-alarm", "EventBridge alarm", "alarm-trigger"),
          ("sns", "SNS", "sns-trigger"), ("schedule", "scheduled rule", "schedule-trigger")]
# The drift distances per method (`benches/drift.rs`), shown in the drift function's column.
DRIFT_METHODS = ["linf", "psi", "js", "wasserstein", "chi-square"]
DRIFT_FUNCTION = "drift-trigger"
WIDE_TARGET_NS = 5_000_000  # every distance, 1,000 features × 10 buckets
DECIDE_TARGET_NS = 20_000
INIT_RATIO_TARGET = 30
TOTAL_RATIO_TARGET = 5
RSS_FRACTION_TARGET = 1 / 3
ZIP_TARGET_BYTES = 8_000_000  # decimal MB, the stricter reading of "8 MB"
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}
# capture-monitor (`benches/monitor.rs`), shown in a column of its own until its function exists.
MONITOR = "capture-monitor"
MONITOR_RECORDS = 10_000
MONITOR_PROFILE_TARGET_NS = MONITOR_RECORDS / 300_000 * 1e9  # at least 300,000 records a second
MONITOR_MERGE_TARGET_NS = 50_000_000


def criterion_median_ns(target_dir, shape, group="decode-decide"):
    path = target_dir / "criterion" / group / shape / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def package(lambda_dir, function):
    """(zipped bytes, architecture) of the function's package, or None."""
    path = lambda_dir / function / "bootstrap.zip"
    try:
        with zipfile.ZipFile(path) as archive:
            header = archive.open("bootstrap").read(20)
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    machine = int.from_bytes(header[18:20], "little") if header[:4] == b"\x7fELF" else None
    return path.stat().st_size, ELF_MACHINES.get(machine, "unknown")


def machine_line():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{date.today().isoformat()} on {os.cpu_count()} × {cpu} ({platform.machine()}, {platform.system()})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coldstart", type=Path, required=True, help="the cold-start harness's --json output")
    parser.add_argument("--target-dir", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")))
    parser.add_argument("--lambda-dir", type=Path,
                        help="where the <function>/bootstrap.zip packages are (default <target-dir>/lambda)")
    args = parser.parse_args()

    coldstart = json.loads(args.coldstart.read_text()) if args.coldstart.is_file() else {}
    summary = coldstart.get("summary", {})
    python = summary.get(REFERENCE, {})
    # Every packaged function (`*-trigger`; the `retrain` CLI is not one) counts for the size target.
    lambda_dir = args.lambda_dir or args.target_dir / "lambda"
    packaged = sorted(path.parent.name for path in lambda_dir.glob("*-trigger/bootstrap.zip")) if lambda_dir.is_dir() else []
    sized = FUNCTIONS + [function for function in packaged if function not in FUNCTIONS]
    drift = {method: criterion_median_ns(args.target_dir, method, "drift-assess") for method in DRIFT_METHODS}
    drift_column = [DRIFT_FUNCTION] if DRIFT_FUNCTION not in sized and any(drift.values()) else []
    monitor = {name: criterion_median_ns(args.target_dir, name, group)
               for group, name in [("monitor-profile", "csv-20-features"), ("monitor-merge", "24-partials-1000-features"),
                                   ("monitor-merge", "24-partials-1000-features-merging-sketches")]}
    monitor_column = [MONITOR] if any(value is not None for value in monitor.values()) else []
    columns = sized + drift_column + monitor_column + [REFERENCE]
    rows = []
    verdicts = {}

    def row(measure, values, target="", met=None):
        rows.append([measure] + [values.get(column, "") for column in columns] + [target, met or ""])

    def verdict(name, passed):
        verdicts[name] = passed
        return "n/a" if passed is None else ("yes" if passed else "NO")

    # decode + decide, per event shape.
    for shape, description, function in SHAPES:
        median = criterion_median_ns(args.target_dir, shape)
        values = {function: f"{median / 1000:.2f} µs" if median is not None else "not run"}
        row(f"decode+decide: {description} (median)", values, "< 20 µs",
            verdict(f"decide {shape}", None if median is None else median < DECIDE_TARGET_NS))

    # Drift distances: every feature of a report against its baseline. No target is set for them.
    for method, median in drift.items():
        if median is not None:
            row(f"drift assess, 5 features: {method} (median)", {DRIFT_FUNCTION: f"{median / 1000:.2f} µs"})
    # Every distance for 1,000 features of 10 buckets each under 5 ms; and `assess` at that size.
    for kind in ["numeric", "categorical"]:
        median = criterion_median_ns(args.target_dir, f"every-distance-{kind}", "drift-wide")
        if median is not None:
            row(f"every distance + BH, 1,000 {kind} features × 10 (median)",
                {DRIFT_FUNCTION: f"{median / 1e6:.2f} ms"}, "< 5 ms",
                verdict(f"every distance {kind}", median < WIDE_TARGET_NS))
    for method in DRIFT_METHODS:
        median = criterion_median_ns(args.target_dir, f"assess-{method}", "drift-wide")
        if median is not None:
            row(f"drift assess, 1,000 features: {method} (median)", {DRIFT_FUNCTION: f"{median / 1e6:.2f} ms"})

    # capture-monitor: profiling a capture object, and a window's statistics from 24 stored partials.
    profile = monitor["csv-20-features"]
    if profile is not None:
        row(f"profile capture, {MONITOR_RECORDS:,} records × 20 CSV features (median)",
            {MONITOR: f"{profile / 1e6:.2f} ms ({MONITOR_RECORDS / profile * 1e9:,.0f} records/s)"},
            "≥ 300,000/s", verdict("monitor profile", profile < MONITOR_PROFILE_TARGET_NS))
    window = monitor["24-partials-1000-features"]
    if window is not None:
        row("statistics.json from 24 stored partials × 1,000 features (median)", {MONITOR: f"{window / 1e6:.2f} ms"},
            "< 50 ms", verdict("monitor merge", window < MONITOR_MERGE_TARGET_NS))
    merging = monitor["24-partials-1000-features-merging-sketches"]
    if merging is not None:
        row("the same, decoding and merging the sketches (median)", {MONITOR: f"{merging / 1e6:.2f} ms"})

    # Cold start.
    def triple(runtime, field, scale=1.0, unit=""):
        value = summary.get(runtime, {}).get(field)
        if not value:
            return "not run"
        return f"{value['min'] / scale:.1f} / {value['median'] / scale:.1f} / {value['max'] / scale:.1f}{unit}"

    for field, label, scale in [("init_ms", "init ms, min / median / max", 1.0),
                                ("invoke_ms", "first invocation ms", 1.0),
                                ("total_ms", "total cold invocation ms", 1.0),
                                ("rss_kib", "peak RSS MiB", 1024.0)]:
        row(label, {runtime: triple(runtime, field, scale) for runtime in FUNCTIONS + [REFERENCE]})
    # moto's request count per cold start: both sides hit the same server, so this is the work they share.
    row("AWS calls per cold start (median)",
        {runtime: f"{summary[runtime]['aws_calls']['median']:g}" for runtime in FUNCTIONS + [REFERENCE]
         if "aws_calls" in summary.get(runtime, {})})

    def medians(field):
        return {function: summary.get(function, {}).get(field, {}).get("median") for function in FUNCTIONS}, \
            python.get(field, {}).get("median")

    for field, label, target, threshold in [("init_ms", "init: Python ÷ Rust (medians)", "≥ 30×", INIT_RATIO_TARGET),
                                            ("total_ms", "total: Python ÷ Rust (medians)", "≥ 5×",
                                             TOTAL_RATIO_TARGET)]:
        ours, theirs = medians(field)
        ratios = {function: theirs / value for function, value in ours.items() if value and theirs}
        passed = None if len(ratios) < len(FUNCTIONS) else all(ratio >= threshold for ratio in ratios.values())
        row(label, {function: f"{ratio:.1f}×" for function, ratio in ratios.items()}, target,
            verdict(field, passed))
    ours, theirs = medians("rss_kib")
    fractions = {function: value / theirs for function, value in ours.items() if value and theirs}
    passed = None if len(fractions) < len(FUNCTIONS) else all(f <= RSS_FRACTION_TARGET for f in fractions.values())
    row("peak RSS: Rust ÷ Python (medians)", {function: f"{fraction:.2f}" for function, fraction in fractions.items()},
        "≤ 0.33", verdict("rss", passed))

    # Package size.
    sizes = {function: package(lambda_dir, function) for function in sized}
    found = {function: size for function, size in sizes.items() if size}
    passed = None if len(found) < len(sized) else all(size < ZIP_TARGET_BYTES for size, _ in found.values())
    row("zipped package MB (architecture)",
        {function: f"{sizes[function][0] / 1e6:.2f} ({sizes[function][1]})" if function in found else "not built"
         for function in sized},
        "< 8 MB", verdict("zip", passed))

    header = ["measure"] + columns + ["target", "met"]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, ["-" * width for width in widths], *rows]]
    rounds = {runtime: data.get("rounds") for runtime, data in summary.items()}
    load = coldstart.get("loadavg")
    print(f"{machine_line()}; cold starts: {min(rounds.values(), default=0)} rounds per runtime"
          + (f", load average {load['before']:.2f} before and {load['after']:.2f} after" if load else ""))
    print("\n".join(lines))
    missed = [name for name, passed in verdicts.items() if passed is False]
    if missed:
        # Reported, not enforced: speed targets are held by benchmarks, not by failing builds.
        print(f"missed targets: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
