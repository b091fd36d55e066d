"""Python reference for the capture-file harness: the same parse and profile
as `profile-capture` (capture-monitor), on the same Data Capture object.

For each line: json.loads, the input's CSV split into the 20 features, each
parsed as a float (non-finite or empty counts as missing), per feature the
count, missing, min, max, sum and sum of squares and a KLL sketch of the same
k (320, from the `datasketches` package, Apache DataSketches' C++ core), and
the join key (`inferenceId`, else `eventId`) with the prediction, kept in
16 shards of at most 4,096 and "stored" (pickled) as each fills, as the Rust
reader hands out and encodes its batches. Malformed lines are counted.

`python3 profile_capture.py FILE [FEATURES]`; prints one JSON line. Needs
`datasketches` (in requirements-bench.txt); the standard library does the rest.
"""

import json
import math
import pickle
import sys
import time
import zlib

from datasketches import kll_doubles_sketch

K = 320
SHARDS = 16
BATCH = 4096


def main():
    path = sys.argv[1]
    features = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    started = time.perf_counter()
    count = [0] * features
    missing = [0] * features
    low = [math.inf] * features
    high = [-math.inf] * features
    total = [0.0] * features
    squares = [0.0] * features
    sketches = [kll_doubles_sketch(K) for _ in range(features)]
    shards = [[] for _ in range(SHARDS)]
    records = malformed = stored = 0
    with open(path, "rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                capture = record["captureData"]
                cells = capture["endpointInput"]["data"].split(",")
                if len(cells) != features:
                    raise ValueError("wrong column count")
                values = [float(cell) if cell.strip() else math.nan for cell in cells]
                prediction = float(capture["endpointOutput"]["data"])
                metadata = record["eventMetadata"]
                key = metadata.get("inferenceId") or metadata["eventId"]
            except (ValueError, KeyError, TypeError, AttributeError):
                malformed += 1
                continue
            records += 1
            for index, value in enumerate(values):
                if not math.isfinite(value):
                    missing[index] += 1
                    continue
                count[index] += 1
                if value < low[index]:
                    low[index] = value
                if value > high[index]:
                    high[index] = value
                total[index] += value
                squares[index] += value * value
                sketches[index].update(value)
            shard = zlib.crc32(key.encode()) % SHARDS
            shards[shard].append((key, prediction))
            if len(shards[shard]) >= BATCH:
                stored += len(pickle.dumps(shards[shard]))
                shards[shard] = []
    stored += sum(len(pickle.dumps(batch)) for batch in shards if batch)
    profile = [sketch.serialize() for sketch in sketches]
    seconds = time.perf_counter() - started
    print(json.dumps({
        "file": path, "records": records, "malformed": malformed, "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds), "batch_bytes": stored,
        "partial_profile_bytes": sum(len(image) for image in profile),
    }))


if __name__ == "__main__":
    main()
