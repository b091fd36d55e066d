//! trigger-decision: the pure core of retrain-triggers.
//!
//! It takes a signal, a model's policy, the recent history and "now", and
//! returns a decision. It does no I/O: no network, no files, no clock, no
//! tokio, no AWS SDK, no lambda_runtime. The loop that gathers history and
//! applies decisions is `trigger-engine`; everything that touches AWS lives in
//! `trigger-aws`; see ARCHITECTURE.md.

pub mod decide;
pub mod drift;
pub mod error;
pub mod key;
pub mod manual;
pub mod monitor;
pub mod outcome;
pub mod path;
pub mod policy;
pub mod signal;
pub mod time;

pub use decide::{
    decide, lookback, precheck, route, Action, Decision, Evidence, Execution, ExecutionStatus, History, Route,
    StartRequest,
};
pub use error::{ManualRequestError, PolicyError, SettingsError};
pub use key::{DedupeKey, RequestToken, TriggerId};
pub use monitor::{MonitorSection, MonitorSettings};
pub use outcome::{Outcome, Reason};
pub use path::Path;
pub use policy::{Approval, Budget, ModelPolicy, Policy, ScheduleMode};
pub use signal::{AlarmChange, AlarmKind, AlarmState, ManualRequest, Measurement, ScheduleTick, Signal, TriggerType};
pub use time::{Span, Timestamp};
