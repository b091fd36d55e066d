//! What a trigger function answers: one record per decision, as the response
//! (`{"decisions": [...]}`), the decision log line and the audit trail name it.

use serde::Serialize;
use trigger_decision::{Outcome, Reason, TriggerId};

/// One decision, as the function returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub model: Option<String>,
    pub outcome: Outcome,
    pub reason: Reason,
    pub detail: String,
    pub trigger_id: TriggerId,
    pub execution_arn: Option<String>,
}

/// The function's response: `{"decisions": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub decisions: Vec<DecisionRecord>,
}
