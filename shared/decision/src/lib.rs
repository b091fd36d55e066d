//! trigger-decision: the pure core of retrain-triggers.
//!
//! It takes a signal, a model's policy, the recent history and "now", and
//! returns a decision. It does no I/O: no network, no files, no clock, no
//! tokio, no AWS SDK, no lambda_runtime. Everything that touches the world
//! lives in `trigger-aws`; see ARCHITECTURE.md.

pub mod decide;
pub mod drift;
pub mod error;
pub mod key;
pub mod manual;
pub mod policy;
pub mod signal;
pub mod time;

pub use decide::{
    decide, lookback, precheck, route, Action, Decision, Evidence, Execution, ExecutionStatus, History, Outcome, Route,
    StartRequest,
};
pub use error::{ManualRequestError, PolicyError};
pub use policy::{Approval, Budget, ModelPolicy, Policy, ScheduleMode};
pub use signal::{
    AlarmChange, AlarmKind, AlarmState, ManualRequest, Measurement, Path, ScheduleTick, Signal, TriggerType,
};
pub use time::{Span, Timestamp};
