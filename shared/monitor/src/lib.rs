//! capture-monitor: model monitoring without SageMaker Model Monitor.
//!
//! From SageMaker Data Capture objects and the ground-truth labels a team
//! writes, it computes what Model Monitor would have: the data-quality
//! `statistics.json` the drift function reads, and model-quality metrics
//! (`mae`, `rmse`, `auc`, ...) for the alarm. It does no I/O: no files,
//! network, clock, environment, tokio or AWS SDK. Callers push bytes in and
//! store what comes out; see ARCHITECTURE.md.
//!
//! The pieces, in the order a window goes through them:
//! - [`MonitorSettings`]: the `[model.monitor]` policy section, interpreted.
//! - [`CaptureReader`]: one capture object, streamed, into a partial
//!   [`Profile`] and bounded [`PredictionBatch`]es (one shard each).
//! - [`LabelReader`]: one ground-truth object into [`LabelBatch`]es.
//! - [`TrainingReader`]: a training set's CSV into a [`Profile`], for a
//!   baseline made by the same profiler.
//! - [`Profile::merge`]: the window's partial profiles into one.
//! - [`Statistics::of`]: a profile as `statistics.json`; at a window's close,
//!   [`statistics_from_stored`] gives the same from the stored partials in
//!   place, without rebuilding their sketches.
//! - [`join()`]: one shard's predictions and labels into a [`JoinOutcome`],
//!   whose [`QualityAccumulator`] gives the [`QualityReport`].

pub mod capture;
pub mod error;
mod exact_sum;
pub mod groundtruth;
pub mod join;
mod kll_blocks;
pub mod layout;
mod lines;
pub mod malformed;
mod outcome;
mod payload;
pub mod profile;
pub mod quality;
mod record;
mod search;
pub mod settings;
pub mod sketch;
pub mod statistics;
mod stored;
pub mod training;
pub mod window;

pub use capture::{CaptureReader, CaptureSummary};
pub use error::{FormatError, MergeError, SettingsError, TrainingError, WindowError};
pub use groundtruth::{LabelReader, LabelSummary};
pub use join::{
    join, shard_of, JoinOutcome, Label, LabelAudit, LabelBatch, Outcome, Prediction, PredictionBatch,
    DEFAULT_BATCH_CAPACITY, JOIN_SHARDS,
};
pub use lines::MAX_LINE_BYTES;
pub use malformed::{Malformed, MalformedLog, MalformedReason, MAX_MALFORMED_EXAMPLES};
pub use profile::{CategoricalProfile, FeatureProfile, FeatureSummary, NumericProfile, Profile, EXACT_CATEGORIES};
pub use quality::{QualityAccumulator, QualityReport};
pub use settings::{Feature, FeatureKind, MonitorSection, MonitorSettings, PredictionField, Problem};
pub use statistics::Statistics;
pub use stored::FORMAT_VERSION;
pub use training::{TrainingReader, TrainingSummary};
pub use window::{statistics_from_stored, WindowCounts, WindowStatistics};
