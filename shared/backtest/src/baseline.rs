//! The baselines a policy is compared with. Each is the user's policy
//! transformed, and is replayed by the same engine, so the comparison shows
//! what the policy's rules change and nothing else.
//!
//! - **Blind schedule**: every schedule firing starts. Each model keeps only
//!   its schedules, in `always` mode, with no cooldown and no budget; its
//!   alarms and drift policy are dropped. (The engine's in-flight check still
//!   holds: a firing while a run executes is deferred, as it would be.)
//! - **Every alarm**: the policy with no cooldown and no budget, so every
//!   alarm that moves into ALARM starts unless a run is in flight.

use serde::Serialize;
use trigger_decision::{Policy, ScheduleMode, Span};

/// Which policy a replay ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The user's policy, as written.
    Policy,
    BlindSchedule,
    EveryAlarm,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Policy, Variant::BlindSchedule, Variant::EveryAlarm];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Policy => "policy",
            Variant::BlindSchedule => "blind-schedule",
            Variant::EveryAlarm => "every-alarm",
        }
    }

    /// The policy this variant replays, made from the user's.
    pub fn apply(self, policy: &Policy) -> Policy {
        match self {
            Variant::Policy => policy.clone(),
            Variant::BlindSchedule => blind_schedule(policy),
            Variant::EveryAlarm => every_alarm(policy),
        }
    }
}

/// Every schedule firing starts: schedules only, `always`, no cooldown, no budget.
pub fn blind_schedule(policy: &Policy) -> Policy {
    let mut baseline = marked(policy, Variant::BlindSchedule);
    for model in &mut baseline.models {
        model.alarms.clear();
        model.drift = None;
        model.schedule = ScheduleMode::Always;
        model.cooldown = Span::ZERO;
        model.max_starts = None;
    }
    baseline
}

/// Every alarm starts: the policy without cooldown and budget.
pub fn every_alarm(policy: &Policy) -> Policy {
    let mut baseline = marked(policy, Variant::EveryAlarm);
    for model in &mut baseline.models {
        model.cooldown = Span::ZERO;
        model.max_starts = None;
    }
    baseline
}

/// A copy whose `sha256` says it is not the text the user wrote, so no record
/// made under it can be mistaken for one made under the policy.
pub(crate) fn marked(policy: &Policy, label: impl std::fmt::Display) -> Policy {
    let mut copy = policy.clone();
    copy.sha256 = format!("{}+{label}", policy.sha256);
    copy
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trigger_decision::Budget;

    const POLICY: &str = "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\n\
                          alarms = [\"mae-high\"]\nschedules = [\"weekly\"]\ncooldown = \"12h\"\n\
                          schedule = \"if-evidence\"\nmax_starts = \"2/7d\"\n[model.drift]\nthreshold = 0.2\n";

    #[test]
    fn baselines_change_only_what_they_name() {
        let policy = Policy::from_toml(POLICY).unwrap();
        let original = &policy.models[0];
        assert_eq!(Variant::Policy.apply(&policy), policy);

        let blind = Variant::BlindSchedule.apply(&policy);
        let model = &blind.models[0];
        assert!(model.alarms.is_empty() && model.drift.is_none());
        assert_eq!(model.schedules, ["weekly"]);
        assert_eq!(
            (model.schedule, model.cooldown, model.max_starts),
            (ScheduleMode::Always, Span::ZERO, None)
        );
        assert_eq!(
            (&model.pipeline, model.approval),
            (&original.pipeline, original.approval)
        );
        assert_eq!(blind.sha256, format!("{}+blind-schedule", policy.sha256));

        let every = Variant::EveryAlarm.apply(&policy);
        let model = &every.models[0];
        assert_eq!((model.cooldown, model.max_starts), (Span::ZERO, None));
        assert_eq!(model.alarms, original.alarms);
        assert_eq!(model.schedule, ScheduleMode::IfEvidence);
        assert_eq!(model.drift, original.drift);
        assert_eq!(every.sha256, format!("{}+every-alarm", policy.sha256));
        assert_eq!(
            original.max_starts,
            Some(Budget {
                starts: 2,
                window: Span::from_secs(7 * 86_400)
            })
        );
    }
}
