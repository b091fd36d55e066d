"""Python reference for the capture-file harness, written with pandas: the
same parse and profile as `profile-capture` (capture-monitor) and as
`profile_capture.py`, the way a team working in pandas would write it.

The file is read in chunks of 100,000 lines, so the text and the frames of
one chunk are in memory at a time. For each chunk: each line is decoded with
`json.loads` (a line that is not JSON is counted as malformed, as the Rust
reader counts it; `pd.read_json` would fail the whole chunk), the records are
flattened with `pd.json_normalize`, the input's CSV is split into the 20
features with `Series.str.split(expand=True)` and converted with
`pd.to_numeric` (a row with another number of cells, or a cell that is not a
number, is malformed; an empty or non-finite cell is missing), and the
prediction likewise. Per feature: count, missing, min, max, sum and sum of
squares, and whether every value is whole. The join key (`inferenceId`, else
`eventId`) and the prediction go into 16 shards (pandas' own stable hash of
the key) of at most 4,096, each "stored" (pickled) as it fills, as the Rust
reader hands out and encodes its batches.

The distribution differs on purpose: pandas has no quantile sketch that can
be merged across chunks, so the values themselves are kept (8 bytes each,
about 340 MB for the 1 GB file) and the quantiles and the 10 equal-width
buckets between min and max are computed exactly at the end. The Rust
profile keeps a KLL sketch per feature instead (within 1% in rank, in a few
KB), and `profile_capture.py` the same sketch from DataSketches.

`python3 profile_capture_pandas.py FILE [FEATURES]`; prints one JSON line.
Needs pandas and numpy.
"""

import itertools
import json
import pickle
import sys
import time

import numpy as np
import pandas as pd

CHUNK_LINES = 100_000
SHARDS = 16
BATCH = 4096
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
BUCKETS = 10


def parse(lines):
    """The records of the lines that are JSON objects, and how many lines were not."""
    records, malformed = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            malformed += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            malformed += 1
    return records, malformed


def column(frame, name):
    """A flattened field, or a column of NaN when no record of the chunk has it."""
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index, dtype=object)


def read_chunk(records, features):
    """The feature values (rows × features, NaN where missing), join keys and
    predictions of the records that read, and how many did not."""
    frame = pd.json_normalize(records)
    inputs = column(frame, "captureData.endpointInput.data")
    complete = inputs.str.count(",").eq(features - 1)
    cells = inputs.str.split(",", expand=True).reindex(columns=range(features))
    values = cells.apply(pd.to_numeric, errors="coerce")
    # A cell that did not convert is missing when blank or "nan"; any other refuses its row.
    failed = cells.where(values.isna() & cells.notna()).stack().dropna().astype(str)
    refused = failed[~failed.str.strip().str.lower().isin(["", "nan"])]
    unparsable = frame.index.isin(refused.index.get_level_values(0))
    predictions = pd.to_numeric(column(frame, "captureData.endpointOutput.data"), errors="coerce")
    inference = column(frame, "eventMetadata.inferenceId")
    keys = inference.where(inference.str.strip().fillna("").ne(""), column(frame, "eventMetadata.eventId"))
    good = complete & ~unparsable & np.isfinite(predictions) & keys.notna()
    values = values[good]
    # Infinities count as missing, as in the Rust profile.
    return values.where(np.isfinite(values)), keys[good], predictions[good], int((~good).sum())


class Profile:
    """Per feature: the exact counts, bounds and sums, and every value, per chunk."""

    def __init__(self, features):
        self.present = np.zeros(features, dtype=np.int64)
        self.missing = np.zeros(features, dtype=np.int64)
        self.low = np.full(features, np.inf)
        self.high = np.full(features, -np.inf)
        self.total = np.zeros(features)
        self.squares = np.zeros(features)
        self.integral = np.ones(features, dtype=bool)
        self.kept = []

    def add(self, values):
        present = values.notna()
        self.present += present.sum().to_numpy()
        self.missing += (~present).sum().to_numpy()
        self.low = np.fmin(self.low, values.min().to_numpy())
        self.high = np.fmax(self.high, values.max().to_numpy())
        self.total += values.sum().to_numpy()
        self.squares += (values ** 2).sum().to_numpy()
        self.integral &= ((values % 1 == 0) | ~present).all().to_numpy()
        self.kept.append(values.to_numpy())

    def distributions(self):
        """Exact quantiles and equal-width buckets per feature, from every value kept."""
        result = []
        for index in range(len(self.present)):
            values = np.concatenate([chunk[:, index] for chunk in self.kept])
            values = values[~np.isnan(values)]
            if not len(values):
                result.append(None)
                continue
            counts, _ = np.histogram(values, bins=BUCKETS, range=(self.low[index], self.high[index]))
            result.append({"quantiles": np.quantile(values, QUANTILES).tolist(), "buckets": counts.tolist()})
        return result


class Batches:
    """Per-shard predictions, "stored" (pickled) BATCH at a time as they fill."""

    def __init__(self):
        self.pending = [[] for _ in range(SHARDS)]
        self.stored = 0

    def add(self, keys, predictions):
        shards = pd.util.hash_pandas_object(keys, index=False).to_numpy() % SHARDS
        frame = pd.DataFrame({"key": keys.to_numpy(), "prediction": predictions.to_numpy(), "shard": shards})
        for shard, group in frame.groupby("shard", sort=False):
            self.pending[shard].append(group[["key", "prediction"]])
            waiting = sum(len(part) for part in self.pending[shard])
            if waiting >= BATCH:
                rows = pd.concat(self.pending[shard])
                full = len(rows) - len(rows) % BATCH
                for start in range(0, full, BATCH):
                    self.stored += len(pickle.dumps(rows.iloc[start:start + BATCH]))
                self.pending[shard] = [rows.iloc[full:]]

    def finish(self):
        for parts in self.pending:
            rows = pd.concat(parts) if parts else None
            if rows is not None and len(rows):
                self.stored += len(pickle.dumps(rows))


def main():
    path = sys.argv[1]
    features = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    started = time.perf_counter()
    profile, batches = Profile(features), Batches()
    records = malformed = 0
    with open(path, "rb") as lines:
        while chunk := list(itertools.islice(lines, CHUNK_LINES)):
            parsed, bad = parse(chunk)
            malformed += bad
            if not parsed:
                continue
            values, keys, predictions, refused = read_chunk(parsed, features)
            malformed += refused
            records += len(values)
            profile.add(values)
            batches.add(keys, predictions)
    batches.finish()
    summary = {
        "present": profile.present.tolist(), "missing": profile.missing.tolist(), "min": profile.low.tolist(),
        "max": profile.high.tolist(), "sum": profile.total.tolist(), "sum_of_squares": profile.squares.tolist(),
        "integral": profile.integral.tolist(), "distributions": profile.distributions(),
    }
    seconds = time.perf_counter() - started
    print(json.dumps({
        "file": path, "records": records, "malformed": malformed, "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds) if seconds else 0, "batch_bytes": batches.stored,
        "partial_profile_bytes": len(pickle.dumps(summary)),
    }))


if __name__ == "__main__":
    main()
