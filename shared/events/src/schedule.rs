//! Schedule firings, from an EventBridge scheduled rule or from EventBridge Scheduler.
//!
//! A scheduled rule sends its own event: `detail-type` "Scheduled Event",
//! the rule ARN in `resources`, the firing time in `time`. EventBridge
//! Scheduler instead delivers the target's `Input` verbatim, after replacing
//! `<aws.scheduler.*>` context attributes. The input this decoder expects is
//! `{"schedule": "<aws.scheduler.schedule-arn>", "scheduled_time":
//! "<aws.scheduler.scheduled-time>"}` (or the schedule's plain name), so the
//! scheduled time is there to key the tick on. Redeliveries of one firing
//! carry the same scheduled time and so give the same dedupe key.

use crate::error::EventError;
use crate::field::{check_name, describe, last_segment, quote, shorten, Object};
use crate::limits::check_event_size;
use serde_json::Value;
use trigger_decision::{Path, ScheduleTick, Signal};

/// The EventBridge `detail-type` of a scheduled rule's event.
pub const SCHEDULED_EVENT_DETAIL_TYPE: &str = "Scheduled Event";

/// Scheduler context attributes start with this; one left in the input was never substituted.
const SCHEDULER_PLACEHOLDER_PREFIX: &str = "<aws.scheduler.";

const ACCEPTED: &str = "an EventBridge scheduled-rule event (`detail-type` \"Scheduled Event\", the rule ARN in \
                        `resources`, `time`), or an EventBridge Scheduler input `{\"schedule\": <name or schedule \
                        ARN>, \"scheduled_time\": <time>}`";

/// Decodes a schedule firing: a scheduled-rule event (`Path::EventBridge`) or
/// an EventBridge Scheduler input (`Path::Scheduler`). Extra keys are ignored.
pub fn decode(event: &Value) -> Result<Signal, EventError> {
    check_event_size(event)?;
    let Some(root) = Object::new(event, "") else {
        return Err(unrecognised(describe(event)));
    };
    if root.get("detail-type").is_some() {
        return decode_scheduled_rule(&root).map(Signal::Schedule);
    }
    if root.get("schedule").is_some() || root.get("scheduled_time").is_some() {
        return decode_scheduler_input(&root).map(Signal::Schedule);
    }
    Err(unrecognised(root.describe()))
}

fn decode_scheduled_rule(root: &Object<'_>) -> Result<ScheduleTick, EventError> {
    let detail_type = root.required_str("detail-type", "an EventBridge event names its kind in `detail-type`")?;
    if detail_type != SCHEDULED_EVENT_DETAIL_TYPE {
        let found = format!("an EventBridge event with detail-type {}", quote(detail_type));
        return Err(unrecognised(found));
    }
    let resources = root.required("resources", "a scheduled event names its rule's ARN in `resources`")?;
    let rule_arn = match resources.as_array().map(Vec::as_slice) {
        Some([first, ..]) => first.as_str().ok_or_else(|| EventError::WrongType {
            field: "resources[0]".to_string(),
            expected: "the rule ARN as a string",
            found: describe(first),
        })?,
        _ => {
            return Err(EventError::WrongType {
                field: root.field_path("resources"),
                expected: "an array holding the rule ARN",
                found: describe(resources),
            })
        }
    };
    // Rules on a custom bus have ARNs `rule/<bus>/<name>`; the name is always last.
    let schedule_name = check_name("resources[0]", last_segment(rule_arn, '/'))?;
    let scheduled_time = root.required_timestamp("time", "a scheduled event says when it fired in `time`")?;
    Ok(ScheduleTick {
        schedule_name,
        schedule_arn: Some(rule_arn.to_string()),
        scheduled_time,
        path: Path::EventBridge,
    })
}

fn decode_scheduler_input(root: &Object<'_>) -> Result<ScheduleTick, EventError> {
    // Check both fields for placeholders first: if one was not substituted, neither was the other.
    for key in ["schedule", "scheduled_time"] {
        if let Some(placeholder) = root
            .str(key)
            .filter(|text| text.trim().starts_with(SCHEDULER_PLACEHOLDER_PREFIX))
        {
            return Err(EventError::PlaceholderNotSubstituted {
                field: root.field_path(key),
                placeholder: shorten(placeholder.trim()),
            });
        }
    }
    let schedule = root.required_str(
        "schedule",
        "a Scheduler input names its schedule in `schedule` (`<aws.scheduler.schedule-arn>` in the template)",
    )?;
    let schedule = schedule.trim();
    let is_arn = schedule.starts_with("arn:");
    let schedule_name = if is_arn {
        // `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`
        check_name(&root.field_path("schedule"), last_segment(schedule, '/'))?
    } else {
        check_name(&root.field_path("schedule"), schedule)?
    };
    let scheduled_time = root.required_timestamp(
        "scheduled_time",
        "a Scheduler input needs the scheduled time (`<aws.scheduler.scheduled-time>` in the template), which \
         identifies the firing",
    )?;
    Ok(ScheduleTick {
        schedule_name,
        schedule_arn: is_arn.then(|| schedule.to_string()),
        scheduled_time,
        path: Path::Scheduler,
    })
}

fn unrecognised(found: String) -> EventError {
    EventError::UnrecognisedShape {
        field: String::new(),
        wanted: "a schedule event",
        found,
        accepted: ACCEPTED,
    }
}
