//! The `[model.monitor]` section, as the policy checked it. The settings are
//! part of the policy (`trigger_decision::monitor`), so a mistake in them is
//! found when the policy is loaded, like any other; they are re-exported here
//! because every reader and profile of this crate is shaped by them.

pub use trigger_decision::monitor::{
    Feature, FeatureKind, MonitorSection, MonitorSettings, PredictionField, Problem, DEFAULT_BUCKETS,
    DEFAULT_LABEL_DELAY, DEFAULT_THRESHOLD, DEFAULT_WINDOW, MAX_BUCKETS,
};
