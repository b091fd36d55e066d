"""Tests the reference pipeline's processing scripts on small local data.

Standard library only, so it runs anywhere validate.sh runs: the parts that need
boto3 or xgboost (finding and scoring the production model) are not reached with
these arguments. Run: python3 infra/pipeline/test_code.py
"""

import contextlib
import csv
import datetime
import io
import json
import os
import sys
import tarfile
import tempfile
import unittest

sys.dont_write_bytecode = True  # Keep __pycache__ out of code/, which is uploaded to S3.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "code"))

import evaluate  # noqa: E402
import prepare  # noqa: E402
import production_model  # noqa: E402

AS_OF = datetime.date(2024, 6, 30)


def write_data(base, days_back_and_prices, extra_rows=()):
    """Writes one CSV under base/input/data: one row per (days before AS_OF, price)."""
    data_dir = os.path.join(base, "input", "data")
    os.makedirs(data_dir)
    with open(os.path.join(data_dir, "sales.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sale_date", "sqft", "price", "rooms"])
        for days_back, price in days_back_and_prices:
            day = AS_OF - datetime.timedelta(days=days_back)
            writer.writerow([day.isoformat(), 1000 + days_back, price, 3])
        for row in extra_rows:
            writer.writerow(row)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def run_prepare(base, *extra):
    # prepare.py prints its report for the job log; keep the test output quiet.
    with contextlib.redirect_stdout(io.StringIO()):
        return prepare.main(["--base-dir", base, "--as-of", AS_OF.isoformat(), "--seed", "abc123", *extra])


class PrepareTest(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp()
        # 40 rows inside a 30-day window (days 0..29 back, some days twice), 100 older rows.
        recent = [(day % 30, 200000 + day) for day in range(40)]
        older = [(30 + day, 150000 + day) for day in range(100)]
        write_data(self.base, recent + older, extra_rows=[["2024-06-29", "n/a", "1", "3"]])

    def test_full_mode_uses_only_the_window(self):
        report = run_prepare(self.base, "--training-mode", "full", "--data-window-days", "30")
        self.assertEqual(report["rows_recent"], 40)
        self.assertEqual(report["rows_older"], 100)
        self.assertEqual(report["rows_rehearsal"], 0)
        self.assertEqual(report["rows_dropped"], 1)
        self.assertEqual(report["features"], ["sqft", "rooms"])
        total = report["rows_train"] + report["rows_validation"] + report["rows_test"]
        self.assertEqual(total, 40)
        train = read_csv(os.path.join(self.base, "train", "train.csv"))
        self.assertEqual(len(train), report["rows_train"])
        # Target first, then the features in header order; no header row.
        self.assertTrue(all(len(row) == 3 and float(row[0]) >= 200000 for row in train))
        self.assertIsNone(report["warm_start_from"])
        self.assertEqual(os.listdir(os.path.join(self.base, "warmstart")), [])

    def test_incremental_mode_adds_rehearsal_rows_to_train_only(self):
        report = run_prepare(
            self.base, "--training-mode", "incremental", "--data-window-days", "30", "--rehearsal-fraction", "0.2"
        )
        self.assertEqual(report["rows_rehearsal"], 20)
        prices = [float(row[0]) for row in read_csv(os.path.join(self.base, "train", "train.csv"))]
        self.assertEqual(sum(1 for price in prices if price < 200000), 20)
        for split in ("validation", "test"):
            rows = read_csv(os.path.join(self.base, split, f"{split}.csv"))
            self.assertTrue(all(float(row[0]) >= 200000 for row in rows), split)

    def test_same_trigger_id_gives_same_split(self):
        run_prepare(self.base, "--training-mode", "incremental")
        first = read_csv(os.path.join(self.base, "train", "train.csv"))
        run_prepare(self.base, "--training-mode", "incremental")
        self.assertEqual(read_csv(os.path.join(self.base, "train", "train.csv")), first)

    def test_window_too_small_fails(self):
        with self.assertRaises(SystemExit) as raised:
            run_prepare(self.base, "--data-window-days", "3")
        self.assertIn("DataWindowDays", str(raised.exception))

    def test_missing_target_column_names_it(self):
        with self.assertRaises(SystemExit) as raised:
            run_prepare(self.base, "--target-column", "sale_price")
        self.assertIn("'sale_price'", str(raised.exception))

    def test_rehearsal_fraction_out_of_range_is_rejected(self):
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            prepare.parse_args(["--rehearsal-fraction", "1.5"])


class EvaluateTest(unittest.TestCase):
    def test_report_compares_on_the_same_rows(self):
        report = evaluate.build_report([10.0, 20.0], [12.0, 18.0], [15.0, 25.0], "arn:model-package/x/1")
        self.assertEqual(report["regression_metrics"]["mae"]["value"], 2.0)
        self.assertEqual(report["production_metrics"]["mae"]["value"], 5.0)
        self.assertEqual(report["test_rows"], 2)

    def test_without_production_model_the_new_one_passes_the_condition(self):
        report = evaluate.build_report([10.0, 20.0], [12.0, 18.0], None, None)
        new = report["regression_metrics"]["mae"]["value"]
        self.assertLessEqual(new, report["production_metrics"]["mae"]["value"])
        json.dumps(report)  # The condition step reads it as JSON.

    def test_reads_prepare_test_output(self):
        base = tempfile.mkdtemp()
        os.makedirs(os.path.join(base, "test"))
        with open(os.path.join(base, "test", "test.csv"), "w") as handle:
            handle.write("10.0,1.0,2.0\n20.0,3.0,4.0\n")
        targets, rows = evaluate.read_test(os.path.join(base, "test"))
        self.assertEqual(targets, [10.0, 20.0])
        self.assertEqual(rows, [[1.0, 2.0], [3.0, 4.0]])


class ProductionModelTest(unittest.TestCase):
    def make_archive(self, name, payload=b"booster"):
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, "model.tar.gz")
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        return path, directory

    def test_unpacks_the_booster(self):
        archive, directory = self.make_archive("xgboost-model")
        path = production_model.unpack_booster(archive, directory)
        with open(path, "rb") as handle:
            self.assertEqual(handle.read(), b"booster")

    def test_a_path_in_the_archive_cannot_escape_the_work_dir(self):
        archive, directory = self.make_archive("../../xgboost-model")
        path = production_model.unpack_booster(archive, directory)
        self.assertEqual(os.path.dirname(path), directory)

    def test_archive_without_booster_fails(self):
        archive, directory = self.make_archive("model.json")
        with self.assertRaises(SystemExit):
            production_model.unpack_booster(archive, directory)


if __name__ == "__main__":
    unittest.main()
