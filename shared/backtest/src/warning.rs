//! What a backtest tells the user without stopping: inputs that are
//! given but play no part, or that cannot be replayed and are not needed.

use serde::Serialize;
use std::fmt;

/// One warning, shown before the table and kept in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Warning {
    /// An alarm in the file that no model lists.
    UnboundAlarm { alarm: String },
    /// An alarm that cannot be replayed, but that no model lists either.
    SkippedAlarm { alarm: String, reason: String },
    /// A schedule expression given for a schedule no model lists.
    UnboundSchedule { schedule: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnboundAlarm { alarm } => {
                write!(
                    f,
                    "alarm \"{alarm}\" is in the alarm file but no model lists it; it is replayed and ignored"
                )
            }
            Warning::SkippedAlarm { alarm, reason } => write!(f, "alarm \"{alarm}\" {reason}; skipped"),
            Warning::UnboundSchedule { schedule } => {
                write!(
                    f,
                    "schedule \"{schedule}\" has an expression but no model lists it; it is ignored"
                )
            }
        }
    }
}
