//! The errors of the `retrain backtest` command and its helpers. Each says
//! what was wrong and where (file, line, field or flag); the variant says
//! whose fault it was: the input (`Read`, `Policy`, `Argument`, `Missing`, `Input`), AWS
//! (`Aws`, whose `TriggerError` says whether a retry may help) or the engine.

use thiserror::Error;
use trigger_backtest::BacktestError;
use trigger_engine::TriggerError;

/// Why `retrain backtest` stopped.
#[derive(Debug, Error)]
pub enum CommandError {
    /// A file could not be read. The I/O error is part of the message, not
    /// its source, so a chain printed with its causes does not say it twice.
    #[error("cannot read {file}: {cause}")]
    Read { file: String, cause: std::io::Error },
    /// A file could not be written.
    #[error("cannot write {file}: {cause}")]
    Write { file: String, cause: std::io::Error },
    /// The policy does not parse: `FILE:LINE: problem`.
    #[error("{0}")]
    Policy(String),
    /// A command-line argument is malformed.
    #[error("{flag} {value:?}: {problem}")]
    Argument {
        flag: &'static str,
        value: String,
        problem: String,
    },
    /// A command-line argument is needed and missing.
    #[error("{flag} {problem}")]
    Missing { flag: &'static str, problem: String },
    /// An input file or the inputs together are invalid.
    #[error(transparent)]
    Input(#[from] BacktestError),
    /// CloudWatch refused or failed; `Transient` when a retry may succeed.
    #[error(transparent)]
    Aws(TriggerError),
    /// The engine failed during the replay (in memory: a bug, or a policy the engine refuses).
    #[error("the decision engine failed during the replay: {0}")]
    Engine(TriggerError),
}
