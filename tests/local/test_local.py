"""Tests of local.py: how it reads cargo-lambda's errors, which function a fixture goes to, how the
background stack re-stamps events, and `make invoke` run twice on one fixture (`started`, then
`already-started`) against a background stack of the test's own. `make local-tests` runs them."""

import os
import re
import subprocess
import sys
import tempfile
import unittest
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local  # noqa: E402  (the folder is not a package)

EVENTS = local.FIXTURES


WRAPPED_AFTER_A_HYPHEN = """Error: InvalidEvent

  × `detail.state.timestamp` is not a timestamp: found the string "2023-08-
  │ 04T12:36:15.490"; expected RFC 3339 such as `2023-08-04T12:36:15.490Z`,
  │ CloudWatch's `2023-08-04T12:36:15.490+0000`, or epoch milliseconds as a
  │ JSON number

  Was this behavior unexpected?
  Start a thread in https://github.com/cargo-lambda/cargo-lambda/discussions
"""


class ErrorOfTest(unittest.TestCase):
    """cargo lambda prints `Error: <errorType>`, then the message wrapped at 80 columns."""

    def check(self, output, expected):
        self.assertEqual(local.error_of(output), expected)

    def test_a_message_on_one_line(self):
        self.check("Error: InvalidEvent\n\n  × the event has no Records\n", ("InvalidEvent", "the event has no Records"))

    def test_a_line_broken_at_a_space_joins_the_next_with_one_space(self):
        self.check("Error: Transient\n\n  × the ledger could not be\n  │ written\n",
                   ("Transient", "the ledger could not be written"))

    def test_a_timestamp_broken_after_a_hyphen_joins_without_a_space(self):
        # cargo lambda's own output; the fixture table once showed "2023-08- 04T12:36:15.490" here.
        self.check(WRAPPED_AFTER_A_HYPHEN, ("InvalidEvent", '`detail.state.timestamp` is not a timestamp: found the '
                                            'string "2023-08-04T12:36:15.490"; expected RFC 3339 such as '
                                            '`2023-08-04T12:36:15.490Z`, CloudWatch\'s `2023-08-04T12:36:15.490+0000`, '
                                            'or epoch milliseconds as a JSON number'))

    def test_blank_continuation_lines_add_nothing(self):
        self.check("Error: InvalidEvent\n  × one\n  │\n  │ two\n", ("InvalidEvent", "one two"))

    def test_lines_after_the_message_are_not_part_of_it(self):
        self.check("Error: InvalidEvent\n  × one\n\nhelp: see the logs\n", ("InvalidEvent", "one"))

    def test_output_without_an_error_line_is_an_invoke_failure(self):
        self.check("connection refused\n", ("InvokeFailed", "connection refused"))


class FunctionForTest(unittest.TestCase):
    def check(self, relative_path, expected):
        self.assertEqual(local.function_for(EVENTS / relative_path), expected)

    def test_fixtures_by_name(self):
        self.check("example-cloudwatch-alarm-metric.json", "alarm-trigger")
        self.check("example-eventbridge-alarm-composite.json", "alarm-trigger")
        self.check("example-sns-cloudwatch-alarm.json", "sns-trigger")
        self.check("example-scheduler-input.json", "schedule-trigger")
        self.check("example-eventbridge-scheduled-event.json", "schedule-trigger")
        self.check("drift/example-s3-notification-statistics.json", "drift-trigger")
        self.check("manual/example-function-url-iam.json", "manual-trigger")

    def test_invalid_fixtures_go_to_the_function_they_imitate(self):
        self.check("invalid/sns-no-records.json", "sns-trigger")
        self.check("invalid/scheduler-placeholder-not-substituted.json", "schedule-trigger")
        self.check("invalid/not-an-alarm.json", "alarm-trigger")

    def test_a_name_that_does_not_tell_is_none(self):
        self.check("my-event.json", None)

    def test_every_fixture_has_a_function(self):
        self.assertEqual([path.name for path in local.fixture_paths() if local.function_for(path) is None], [])


class RestampedTest(unittest.TestCase):
    anchor = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)

    def alarm_time(self, name):
        return local.restamped(EVENTS / name, self.anchor)["alarmData"]["state"]["timestamp"]

    def test_an_event_restamped_twice_is_the_same_event(self):
        name = "example-cloudwatch-alarm-metric.json"
        self.assertEqual(local.restamped(EVENTS / name, self.anchor), local.restamped(EVENTS / name, self.anchor))

    def test_times_land_in_the_minutes_before_the_stack_started(self):
        moved = local.parse_time(self.alarm_time("example-cloudwatch-alarm-metric.json"))
        self.assertLess(moved, self.anchor)
        self.assertLess(self.anchor - moved, local.STACK_MAX_AGE)

    def test_one_state_change_in_two_fixtures_keeps_one_time(self):
        sns = local.restamped(EVENTS / "example-sns-cloudwatch-alarm.json", self.anchor)
        message = local.json.loads(sns["Records"][0]["Sns"]["Message"])
        self.assertEqual(local.parse_time(message["StateChangeTime"]),
                         local.parse_time(self.alarm_time("example-cloudwatch-alarm-metric.json")))


def make(*arguments):
    """Runs make in the repository; the test fails with make's output when make does."""
    result = subprocess.run(["make", "--no-print-directory", "-C", str(local.ROOT), *arguments],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise AssertionError(f"make {' '.join(arguments)} exited with {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result.stdout


def answers(output):
    return re.findall(r"^answer: (.*)$", output, re.MULTILINE)


class MakeInvokeTest(unittest.TestCase):
    def test_the_same_fixture_twice_is_started_then_already_started(self):
        fixture = "tests/fixtures/events/example-cloudwatch-alarm-metric.json"
        with tempfile.TemporaryDirectory(prefix="retrain-invoke-") as folder:
            stack = f"STACK_DIR={folder}"
            try:
                first = make("invoke", f"FIXTURE={fixture}", stack)
                second = make("invoke", f"FIXTURE={fixture}", stack)
                state = local.BackgroundStack(folder).state()
            finally:
                make("stop", stack)
            self.assertEqual(answers(first), ["housing-price: started/alarm"], first)
            self.assertEqual(answers(second), ["housing-price: already-started/already-started"], second)
            self.assertFalse(Path(folder, "stack.json").exists())
            self.assertFalse(any(local.process_runs(state[name], marker) for name, marker in local.MARKERS.items()))


if __name__ == "__main__":
    unittest.main()


class NoModelMonitorStoryTest(unittest.TestCase):
    """The story's synthetic captures: normal hours below the alarm's 15,000, drifted hours above."""

    def test_the_mae_crosses_the_threshold_when_sqft_drifts(self):
        import monitor_story
        normal = [monitor_story.expected_mae(hour) for hour in range(monitor_story.DRIFT_FROM_HOUR)]
        drifted = [monitor_story.expected_mae(hour) for hour in range(monitor_story.DRIFT_FROM_HOUR, monitor_story.HOURS)]
        self.assertTrue(all(mae < 15_000 for mae in normal), normal)
        self.assertTrue(all(mae > 15_000 for mae in drifted), drifted)

    def test_the_emitted_record_is_found_in_a_log_line(self):
        import monitor_story
        log = ('noise\n[monitor-trigger] {"_aws": {}, "mae": 9123.5, "window_start": "2026-12-02T01:00:00.000Z", '
               '"message": "model quality of a closed window"}\n')
        self.assertEqual(monitor_story.quality_line(log, "2026-12-02T01")["mae"], 9123.5)
        self.assertIsNone(monitor_story.quality_line(log, "2026-12-02T02"))
