"""Prepares the data for one retraining run of the reference pipeline.

It reads every CSV file (with a header row) under the data input, keeps the rows
of the last --data-window-days days, and, when --training-mode is incremental,
adds a --rehearsal-fraction sample of the older rows to the training set so the
fine-tuned model does not forget what it learned. Validation and test rows come
from the recent window only, so the evaluation step measures MAE on the data the
model will meet. The outputs are headerless CSV files with the target first and
the numeric features after it, as the built-in XGBoost algorithm expects.

In incremental mode it also places the production model's booster in the
warm-start output as an XGBoost checkpoint, from which the training job resumes.
With no production model yet, training starts from scratch.

The sample is seeded with the trigger id, so a retried step picks the same rows.
"""

import argparse
import csv
import datetime
import hashlib
import json
import os
import random
import shutil
import sys

# Fractions of the recent window that go to validation and test; the rest trains.
VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
# Fewer recent rows than this cannot give a meaningful train/validation/test split.
MIN_RECENT_ROWS = 20
# The XGBoost container resumes from the highest-numbered "xgboost-checkpoint.N"
# file and counts N + 1 rounds as done, so ".0" continues for num_round - 1 rounds.
WARM_START_CHECKPOINT = "xgboost-checkpoint.0"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--training-mode", choices=["full", "incremental"], default="full")
    parser.add_argument("--data-window-days", type=int, default=30)
    parser.add_argument("--rehearsal-fraction", type=float, default=0.2)
    parser.add_argument("--target-column", default="price")
    parser.add_argument("--date-column", default="sale_date")
    parser.add_argument("--seed", default="manual", help="the trigger id; seeds the sampling")
    parser.add_argument("--trigger-type", default="manual")
    parser.add_argument("--drift-score", type=float, default=0.0)
    parser.add_argument("--model-package-group", default="", help="where to find the production model to warm-start from")
    parser.add_argument("--as-of", help="the end of the data window, YYYY-MM-DD; default today (UTC)")
    parser.add_argument("--base-dir", default="/opt/ml/processing")
    args = parser.parse_args(argv)
    if args.data_window_days < 1:
        parser.error(f"--data-window-days must be at least 1, not {args.data_window_days}")
    if not 0.0 <= args.rehearsal_fraction <= 1.0:
        parser.error(f"--rehearsal-fraction must be between 0 and 1, not {args.rehearsal_fraction}")
    return args


def parse_day(text):
    """Parses the date part of an ISO date or date-time, e.g. 2024-05-01 or 2024-05-01T10:00:00Z."""
    return datetime.date.fromisoformat(text.strip()[:10])


def read_rows(input_dir, target_column, date_column):
    """Reads all CSV files under input_dir. Returns (feature names, rows, count of rows dropped).

    A row is (day, target, [features]). Rows with a missing or non-numeric value are
    dropped and counted: the built-in XGBoost algorithm takes numbers only.
    """
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(input_dir)
        for name in names
        if name.endswith(".csv")
    )
    if not paths:
        raise SystemExit(f"no .csv files under {input_dir}")
    features = None
    rows = []
    dropped = 0
    for path in paths:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            for required in (target_column, date_column):
                if required not in header:
                    raise SystemExit(f"{path}: no column {required!r}; its columns are {header}")
            file_features = [name for name in header if name not in (target_column, date_column)]
            if features is None:
                features = file_features
            elif file_features != features:
                raise SystemExit(f"{path}: feature columns {file_features} differ from the first file's {features}")
            for record in reader:
                try:
                    day = parse_day(record[date_column])
                    target = float(record[target_column])
                    values = [float(record[name]) for name in features]
                except (TypeError, ValueError):
                    dropped += 1
                    continue
                rows.append((day, target, values))
    return features, rows, dropped


def split_by_window(rows, as_of, window_days):
    """Splits rows into those inside the window (as_of - window_days, as_of] and those before it."""
    start = as_of - datetime.timedelta(days=window_days)
    recent = [row for row in rows if start < row[0] <= as_of]
    older = [row for row in rows if row[0] <= start]
    return recent, older


def rehearsal_sample(older, fraction, rng):
    """Returns round(fraction * len(older)) rows of older, chosen without replacement."""
    count = round(fraction * len(older))
    return rng.sample(older, count) if count else []


def split_recent(recent, rng):
    """Shuffles the recent rows and splits them into train, validation and test."""
    shuffled = list(recent)
    rng.shuffle(shuffled)
    test_count = max(1, int(len(shuffled) * TEST_FRACTION))
    validation_count = max(1, int(len(shuffled) * VALIDATION_FRACTION))
    test = shuffled[:test_count]
    validation = shuffled[test_count:test_count + validation_count]
    train = shuffled[test_count + validation_count:]
    return train, validation, test


def write_csv(path, rows):
    """Writes rows as headerless CSV, target first, as the built-in XGBoost algorithm expects."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for _, target, values in rows:
            writer.writerow([repr(target)] + [repr(value) for value in values])


def place_warm_start(model_package_group, warm_start_dir, work_dir):
    """Copies the production model's booster into warm_start_dir as a checkpoint. Returns its package ARN or None."""
    import production_model  # Beside this script in the code input, so on sys.path.

    found = production_model.find(model_package_group)
    if found is None:
        return None
    arn, model_data_url = found
    booster = production_model.download_booster(model_data_url, work_dir)
    os.makedirs(warm_start_dir, exist_ok=True)
    shutil.copyfile(booster, os.path.join(warm_start_dir, WARM_START_CHECKPOINT))
    return arn


def main(argv=None):
    args = parse_args(argv)
    as_of = parse_day(args.as_of) if args.as_of else datetime.datetime.now(datetime.timezone.utc).date()
    base = args.base_dir
    # Seed from the trigger id so a retried step samples and splits the same way.
    rng = random.Random(int(hashlib.sha256(args.seed.encode()).hexdigest()[:16], 16))

    features, rows, dropped = read_rows(os.path.join(base, "input", "data"), args.target_column, args.date_column)
    recent, older = split_by_window(rows, as_of, args.data_window_days)
    if len(recent) < MIN_RECENT_ROWS:
        raise SystemExit(
            f"only {len(recent)} usable rows in the {args.data_window_days} days up to {as_of}; "
            f"need at least {MIN_RECENT_ROWS}. Raise DataWindowDays or check {args.date_column}."
        )
    train, validation, test = split_recent(recent, rng)
    rehearsal = rehearsal_sample(older, args.rehearsal_fraction, rng) if args.training_mode == "incremental" else []
    train = train + rehearsal

    write_csv(os.path.join(base, "train", "train.csv"), train)
    write_csv(os.path.join(base, "validation", "validation.csv"), validation)
    write_csv(os.path.join(base, "test", "test.csv"), test)

    warm_start_from = None
    warm_start_dir = os.path.join(base, "warmstart")
    os.makedirs(warm_start_dir, exist_ok=True)
    if args.training_mode == "incremental" and args.model_package_group:
        warm_start_from = place_warm_start(args.model_package_group, warm_start_dir, os.path.join(base, "work"))

    report = {
        "as_of": as_of.isoformat(),
        "training_mode": args.training_mode,
        "data_window_days": args.data_window_days,
        "rehearsal_fraction": args.rehearsal_fraction,
        "trigger_type": args.trigger_type,
        "trigger_id": args.seed,
        "drift_score": args.drift_score,
        "features": features,
        "rows_read": len(rows) + dropped,
        "rows_dropped": dropped,
        "rows_recent": len(recent),
        "rows_older": len(older),
        "rows_rehearsal": len(rehearsal),
        "rows_train": len(train),
        "rows_validation": len(validation),
        "rows_test": len(test),
        "warm_start_from": warm_start_from,
    }
    os.makedirs(os.path.join(base, "report"), exist_ok=True)
    with open(os.path.join(base, "report", "prepare-report.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
