//! trigger-backtest: replays a retraining policy over metric history and
//! reports how many retrains it would have started and how long each model
//! stayed in breach first.
//!
//! It does no I/O and has no AWS SDK: text and values in, values and text out. The pieces, in
//! the order a backtest uses them:
//!
//! 1. `alarm::parse_alarms` reads `describe-alarms` JSON; `alarm::check_bindings`
//!    checks the policy's alarms against it.
//! 2. `series::parse_csv` reads each alarm's values (`timestamp,value`).
//! 3. `evaluate::evaluate` recomputes each alarm's state changes with
//!    CloudWatch's rules; `evaluate::to_signal` makes each an `AlarmChange`.
//! 4. `schedule::Schedule` parses `rate(...)`/`cron(...)` and lists firings as
//!    `ScheduleTick`s; `schedule::check_schedules` checks the policy's schedules.
//!    (`retention` says which period CloudWatch still keeps for a range.)
//! 5. `timeline::Timeline::merge` orders every signal; `replay::replay` feeds
//!    them to an `Engine` (the real decision engine, behind an adapter) under
//!    its virtual clock and collects the decisions; `engine::ReplayEngine` is
//!    that adapter: `trigger_engine::Trigger` over the engine's in-memory parts.
//! 6. `summary::summarize` counts and measures per model; `baseline::Variant`
//!    and `sweep` make the policies to compare, replayed by the same engine.
//! 7. `backtest::run` does steps 3 to 6 for parsed inputs and an engine
//!    factory; `report::Report` holds it all: `report::table::render`, `Report::to_json`,
//!    `report::html::render`.
//!
//! The rules are never here: every decision comes from the engine.

pub mod alarm;
pub mod backtest;
pub mod baseline;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod executions;
mod json;
pub mod replay;
pub mod report;
pub mod retention;
pub mod schedule;
pub mod series;
pub mod summary;
pub mod sweep;
pub mod synthetic;
pub mod timeline;
pub mod warning;

pub use alarm::{check_bindings, parse_alarms, AlarmDefinition, AlarmSet, Comparison, TreatMissingData};
pub use backtest::{run, Inputs, RunError};
pub use baseline::Variant;
pub use engine::{block_on, ReplayEngine, SeededExecution};
pub use error::BacktestError;
pub use evaluate::{evaluate, to_signal, Evaluator, State, StateChange};
pub use executions::parse_executions;
pub use replay::{replay, Decided, Engine, EngineDecision, Run, TriggerKind};
pub use report::Report;
pub use schedule::{check_schedules, Schedule};
pub use series::{parse_csv, MetricSeries};
pub use summary::{summarize, totals, ModelSummary, Totals};
pub use sweep::{SweepAxis, SweepLine};
pub use timeline::{Event, Timeline};
pub use warning::Warning;
