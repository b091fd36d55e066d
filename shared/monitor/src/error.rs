//! The errors of capture-monitor. A bad line in a capture or ground-truth
//! object is not an error: it is counted and kept as a [`crate::Malformed`]
//! example, so one bad line never fails an object. Errors are for things the
//! caller must act on: settings that cannot be interpreted, a stored partial
//! profile or batch that does not decode, and profiles that cannot be merged.

/// A `[model.monitor]` setting that cannot be interpreted. Each message names
/// the field as the policy spells it and says what would be valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("model.monitor.{field}: {value:?} is not valid; {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("model.monitor.features: {name:?} is listed twice; each feature needs one name")]
    DuplicateFeature { name: String },
    #[error("model.monitor.categorical: {name:?} is not in model.monitor.features; list it there first")]
    UnknownCategorical { name: String },
    #[error("model.monitor.threshold applies only to problem = \"binary\"; remove it for problem = {problem:?}")]
    ThresholdWithoutBinary { problem: &'static str },
}

/// A stored partial profile, prediction batch or label batch that cannot be
/// read back (the object is corrupt, cut short or written by an incompatible
/// version; it must not be treated as empty, which would lose its records),
/// or, never in practice, one that cannot be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    #[error("not a capture-monitor {kind}: the first bytes are not its header")]
    NotThisFormat { kind: &'static str },
    #[error("{kind} format version {found} is not readable by this build (it reads version {supported}); re-profile the object or deploy a matching version")]
    Version {
        kind: &'static str,
        found: u8,
        supported: u8,
    },
    #[error("{kind} does not decode ({detail}); the object is corrupt or cut short")]
    Corrupt { kind: &'static str, detail: String },
    #[error("{kind} could not be encoded ({detail})")]
    Encode { kind: &'static str, detail: String },
}

/// Two profiles that cannot be merged because they describe different things.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("profiles describe different features ({left} vs {right}); were they made under different [model.monitor] settings?")]
    DifferentFeatures { left: String, right: String },
    #[error("feature {feature:?} is numerical in one profile and categorical in the other; were they made under different settings?")]
    DifferentKinds { feature: String },
    #[error("quality accumulators of different problems ({left} and {right}) cannot be merged")]
    DifferentProblems { left: &'static str, right: &'static str },
}

/// Why a window's stored partials gave no statistics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("feature {feature:?}: the second pass counted {counted} values where the first merged {present}; give both passes the same partials")]
    PassesDiffer {
        feature: String,
        counted: u64,
        present: u64,
    },
}
