//! The errors of capture-monitor. A bad line in a capture or ground-truth
//! object is not an error: it is counted and kept as a [`crate::Malformed`]
//! example, so one bad line never fails an object. Errors are for things the
//! caller must act on: a stored partial profile or batch that does not
//! decode, profiles that cannot be merged, and a training CSV whose header
//! does not name the features.

/// `[model.monitor]` settings are checked with the policy, by `trigger-decision`.
pub use trigger_decision::error::SettingsError;

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

/// A training CSV that cannot give a baseline: its header does not name the
/// model's features. (A bad row is not an error: it is counted and skipped.)
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainingError {
    #[error("the CSV is empty; a training CSV starts with a header row naming its columns")]
    NoHeader,
    #[error("the CSV's header is longer than 24 MiB; is this a CSV file?")]
    HeaderTooLong,
    #[error("the CSV has no column {feature:?}, a feature in [model.monitor] features; its header is {header:?} (the first row must name the columns)")]
    MissingColumn { feature: String, header: String },
    #[error("the CSV names column {feature:?} twice; rename one so that the feature's column is clear")]
    DuplicateColumn { feature: String },
}
