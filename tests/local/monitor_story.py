"""The demo's "no Model Monitor" story: monitor-trigger turns synthetic Data Capture
objects and ground truth for housing-price into partial profiles, then, at each
window's close, into an emitted mae and a statistics.json that drift-trigger
judges; the alarm on that mae then fires too.

Six hours of captures (2026-12-02 00:00 to 05:00 UTC, 300 inferences each) are
generated here: normal for three hours, then `sqft` grows by half and the
houses sell for more than the model predicts, so the MAE rises above 15,000.
Each hour's labels are written the hour after. Window 00:00's statistics.json
serves as the baseline (`retrain baseline` builds one from training data).
"""

import json
import random
from datetime import datetime, timedelta, timezone

CAPTURES = "captures"
CAPTURE_PREFIX = "datacapture/housing-price-prod/AllTraffic"
LABEL_PREFIX = "ground-truth/housing-price"
REPORTS = "monitoring-reports"
DAY = datetime(2026, 12, 2, tzinfo=timezone.utc)
HOURS = 6
DRIFT_FROM_HOUR = 3
PER_HOUR = 300
LABEL_DELAY = timedelta(hours=6)


def hour_path(at):
    return at.strftime("%Y/%m/%d/%H")


def inferences(hour):
    """(capture line, label line, prediction, label) for each inference of the hour."""
    generator = random.Random(hour)
    drifted = hour >= DRIFT_FROM_HOUR
    rows = []
    for index in range(PER_HOUR):
        sqft = round(generator.uniform(1200, 2800) * (1.5 if drifted else 1.0))
        bedrooms, bathrooms = generator.randint(1, 5), generator.randint(1, 3)
        zipcode = ["98103", "98115", "98122"][index % 3]
        prediction = round(240.0 * sqft, 1)
        # The model learnt 240 a square foot; after the drift, bigger houses sell for 4% more than that.
        label = round(prediction * (1.04 if drifted else 1.0) + generator.gauss(0, 12_000), 1)
        inference_id = f"hp-{hour:02d}-{index}"
        capture = {
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV",
                                  "data": f"{sqft},{bedrooms},{bathrooms},{zipcode}"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                   "encoding": "CSV", "data": str(prediction)}},
            "eventMetadata": {"eventId": f"event-{inference_id}", "inferenceId": inference_id,
                              "inferenceTime": (DAY + timedelta(hours=hour, seconds=index)).isoformat()},
            "eventVersion": "0"}
        ground_truth = {"groundTruthData": {"data": str(label), "encoding": "CSV"},
                        "eventMetadata": {"eventId": inference_id}, "eventVersion": "0"}
        rows.append((json.dumps(capture), json.dumps(ground_truth), prediction, label))
    return rows


def expected_mae(hour):
    """The hour's MAE, computed here from the generated pairs, to check the function's against."""
    rows = inferences(hour)
    return sum(abs(prediction - label) for _, _, prediction, label in rows) / len(rows)


def object_created(bucket, key):
    return {"version": "0", "detail-type": "Object Created", "source": "aws.s3",
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": {"bucket": {"name": bucket}, "object": {"key": key}}}


def quality_line(log_text, window_start):
    """The EMF record the close emitted for the window, from the function's log, if it is there."""
    for line in reversed(log_text.splitlines()):
        start = line.find('{"')
        if start < 0 or "model quality of a closed window" not in line:
            continue
        try:
            record = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if record.get("window_start", "").startswith(window_start):
            return record
    return None


def run(stack, fresh_alarm_event):
    """The story against `stack` (moto and the functions, under monitor-policy.toml); returns its rows
    and how many answers were not the expected ones."""
    stack.s3.create_bucket(Bucket=CAPTURES)
    rows, failures = [], 0

    def step(title, function, event, expect=None):
        nonlocal failures
        status, answer = stack.invoke(function, event)
        if status != "ok":
            rows.append([title, function, status, answer[:100]])
            failures += 1
        elif expect is not None:
            outcome = expect(answer)
            failures += not outcome[0]
            rows.append([title, function] + outcome[1:])
        return answer if status == "ok" else None

    for hour in range(HOURS):
        at = DAY + timedelta(hours=hour)
        generated = inferences(hour)
        capture_key = f"{CAPTURE_PREFIX}/{hour_path(at)}/capture-{hour:02d}.jsonl"
        stack.s3.put_object(Bucket=CAPTURES, Key=capture_key, Body="\n".join(r[0] for r in generated).encode())
        kind = "sqft drifted" if hour >= DRIFT_FROM_HOUR else "normal"
        step(f"capture {at:%H}:00 ({kind})", "monitor-trigger", object_created(CAPTURES, capture_key),
             lambda answer: [answer["objects"][0]["read"] is True, "partial profile",
                             f"{answer['objects'][0]['records']} records into window {answer['objects'][0]['window']}"])
        label_key = f"{LABEL_PREFIX}/{hour_path(at + timedelta(hours=1))}/labels-{hour:02d}.jsonl"
        stack.s3.put_object(Bucket=CAPTURES, Key=label_key, Body="\n".join(r[1] for r in generated).encode())
        step(f"labels of {at:%H}:00, an hour later", "monitor-trigger", object_created(CAPTURES, label_key),
             lambda answer: [answer["objects"][0]["read"] is True, "labels indexed",
                             f"{answer['objects'][0]['records']} labels"])

    for hour in range(HOURS):
        window = DAY + timedelta(hours=hour)
        close_at = window + timedelta(hours=1) + LABEL_DELAY
        answer = step(f"window close {close_at:%H}:00", "monitor-trigger",
                      {"close": close_at.strftime("%Y-%m-%dT%H:%M:%SZ")},
                      lambda answer: [answer["closes"][0]["outcome"] == "closed", "closed",
                                      f"window {answer['closes'][0]['window_start']}: count "
                                      f"{answer['closes'][0]['count']}, statistics {answer['closes'][0]['statistics']}"])
        if answer is None:
            continue
        statistics = answer["closes"][0]["statistics"]
        quality_key = f"housing-price/{hour_path(window)}/quality.json"
        quality = json.loads(stack.s3.get_object(Bucket=REPORTS, Key=quality_key)["Body"].read())
        emitted = quality_line((stack.log_dir / "watch.log").read_text(errors="replace"),
                               window.strftime("%Y-%m-%dT%H"))
        mae = (emitted or quality["metrics"]).get("mae")
        where = "EMF record in the function's log" if emitted else "quality.json (the EMF record's values)"
        failures += mae is None or abs(mae - expected_mae(hour)) > 0.01
        rows.append(["  emitted mae", "monitor-trigger", f"{mae:,.0f}" if mae else "-",
                     f"{'above' if mae and mae > 15_000 else 'below'} 15,000; from the {where}"])
        if hour == 0:
            # The first, normal window's statistics serve as the model's baseline.
            stack.s3.copy_object(Bucket=REPORTS, Key="housing-price/baseline/statistics.json",
                                 CopySource={"Bucket": REPORTS, "Key": statistics.split(f"s3://{REPORTS}/")[1]})
            rows.append(["  baseline", "-", "copied", f"{statistics} -> the policy's drift.baseline"])
            continue
        expected = "started" if hour == DRIFT_FROM_HOUR else ("skipped" if hour < DRIFT_FROM_HOUR else "deferred")
        key = statistics.split(f"s3://{REPORTS}/")[1]
        step("  drift report (Object Created)", "drift-trigger", object_created(REPORTS, key),
             lambda answer: [answer["decisions"][0]["outcome"] == expected,
                             f"{answer['decisions'][0]['outcome']}/{answer['decisions'][0]['reason']}",
                             answer["decisions"][0]["detail"]])

    step("alarm on that mae fires (as CloudWatch would send it)", "alarm-trigger",
         fresh_alarm_event,
         lambda answer: [answer["decisions"][0]["outcome"] in ("deferred", "already-started"),
                         f"{answer['decisions'][0]['outcome']}/{answer['decisions'][0]['reason']}",
                         answer["decisions"][0]["detail"]])
    return rows, failures
