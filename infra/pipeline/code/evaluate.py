"""Evaluates the new model for the reference pipeline and compares it with production.

It computes the mean absolute error (MAE) of the newly trained model on the test
set prepare.py wrote, and the MAE of the production model (the newest Approved
package in the model package group) on the same rows. It writes evaluation.json,
which the pipeline's condition step reads:

    {"regression_metrics": {"mae": {"value": <new>, "standard_deviation": <...>}},
     "production_metrics": {"mae": {"value": <production>}}, ...}

With no production model yet, the production MAE is reported as the new MAE, so
the condition "new MAE at or below production MAE" holds and the first model is
registered. regression_metrics is also the shape SageMaker's model registry shows.
"""

import argparse
import csv
import json
import math
import os
import pickle
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-package-group", default="", help="where to find the production model")
    parser.add_argument("--base-dir", default="/opt/ml/processing")
    return parser.parse_args(argv)


def read_test(test_dir):
    """Reads headerless CSV files (target first). Returns (targets, feature rows)."""
    targets, rows = [], []
    for name in sorted(os.listdir(test_dir)):
        if not name.endswith(".csv"):
            continue
        with open(os.path.join(test_dir, name), newline="") as handle:
            for record in csv.reader(handle):
                if not record:
                    continue
                targets.append(float(record[0]))
                rows.append([float(value) for value in record[1:]])
    if not targets:
        raise SystemExit(f"no test rows under {test_dir}")
    return targets, rows


def absolute_errors(targets, predictions):
    if len(targets) != len(predictions):
        raise SystemExit(f"{len(predictions)} predictions for {len(targets)} test rows")
    return [abs(target - prediction) for target, prediction in zip(targets, predictions)]


def mean_and_deviation(values):
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))


def build_report(targets, new_predictions, production_predictions, production_arn):
    """The evaluation.json document. production_predictions is None when there is no production model."""
    new_mae, new_deviation = mean_and_deviation(absolute_errors(targets, new_predictions))
    if production_predictions is None:
        production_mae = new_mae
    else:
        production_mae, _ = mean_and_deviation(absolute_errors(targets, production_predictions))
    return {
        "regression_metrics": {"mae": {"value": new_mae, "standard_deviation": new_deviation}},
        "production_metrics": {"mae": {"value": production_mae}},
        "production_model": production_arn,
        "test_rows": len(targets),
    }


def load_booster(path):
    """Loads an XGBoost booster saved by the built-in algorithm (native format, or pickled by older versions)."""
    import xgboost  # Present in the XGBoost image this step runs in.

    booster = xgboost.Booster()
    try:
        booster.load_model(path)
    except xgboost.core.XGBoostError:
        with open(path, "rb") as handle:
            booster = pickle.load(handle)
    return booster


def predict(booster_path, rows):
    import xgboost  # Present in the XGBoost image this step runs in.

    return [float(value) for value in load_booster(booster_path).predict(xgboost.DMatrix(rows))]


def main(argv=None):
    args = parse_args(argv)
    base = args.base_dir
    import production_model  # Beside this script in the code input, so on sys.path.

    targets, rows = read_test(os.path.join(base, "test"))

    work = os.path.join(base, "work")
    new_dir = os.path.join(work, "new")
    os.makedirs(new_dir, exist_ok=True)
    new_booster = production_model.unpack_booster(os.path.join(base, "model", "model.tar.gz"), new_dir)
    new_predictions = predict(new_booster, rows)

    production_predictions, production_arn = None, None
    found = production_model.find(args.model_package_group) if args.model_package_group else None
    if found is not None:
        production_arn, model_data_url = found
        production_booster = production_model.download_booster(model_data_url, os.path.join(work, "production"))
        production_predictions = predict(production_booster, rows)

    report = build_report(targets, new_predictions, production_predictions, production_arn)
    out_dir = os.path.join(base, "evaluation")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "evaluation.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
