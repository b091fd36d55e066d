//! Building the start request: the parameters (static ones, the trigger's
//! own, what justified the start, a manual request's overrides) and the
//! texts, cut to what SageMaker accepts.

use super::justify::Case;
use super::StartRequest;
use crate::key::{RequestToken, TriggerId};
use crate::policy::{ModelPolicy, MAX_PARAMETER_VALUE_CHARS};
use crate::signal::Signal;

/// The longest execution description SageMaker accepts.
const MAX_DESCRIPTION_CHARS: usize = 3072;

/// The identifiers a start carries, derived from the signal's dedupe key.
#[derive(Debug)]
pub(super) struct Ids<'a> {
    pub(super) trigger_id: &'a TriggerId,
    pub(super) token: RequestToken,
    /// `metric`, `schedule`, `drift` or `manual`.
    pub(super) trigger_type: String,
    pub(super) display_name: String,
}

/// The request that starts the pipeline for `case`, and the decision's detail.
pub(super) fn request(signal: &Signal, model: &ModelPolicy, ids: Ids<'_>, case: Case) -> (StartRequest, String) {
    let justification = case.justification;
    let reason_text = truncate_chars(justification.clone(), MAX_PARAMETER_VALUE_CHARS);
    let parameters = parameters(signal, model, &ids, &reason_text, case.parameters);
    let request = StartRequest {
        pipeline: model.pipeline.clone(),
        client_request_token: ids.token,
        display_name: ids.display_name,
        description: truncate_chars(
            format!("Retraining {}: {justification}", model.name),
            MAX_DESCRIPTION_CHARS,
        ),
        parameters,
    };
    (request, format!("Starting {}: {reason_text}", model.pipeline))
}

/// Static parameters first (less any the trigger sets), then the trigger's
/// own, then what justified the start, then a manual request's overrides.
fn parameters(
    signal: &Signal,
    model: &ModelPolicy,
    ids: &Ids<'_>,
    reason_text: &str,
    justified: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut parameters: Vec<(String, String)> = model
        .parameters
        .iter()
        .filter(|(name, _)| !justified.iter().any(|(set, _)| set == *name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    // A manual request may ask for a stricter approval than the policy's (`manual::check` refused looser ones).
    let approval = match signal {
        Signal::Manual(request) => request
            .approval
            .map_or(model.approval, |asked| asked.stricter(model.approval)),
        _ => model.approval,
    };
    parameters.extend([
        ("TriggerType".to_string(), ids.trigger_type.clone()),
        ("TriggerReason".to_string(), reason_text.to_string()),
        ("TriggerId".to_string(), ids.trigger_id.to_string()),
        (
            "ModelApprovalStatus".to_string(),
            approval.model_approval_status().to_string(),
        ),
    ]);
    parameters.extend(justified);
    // A manual request's overrides (names from `allow_overrides`, never reserved ones) replace any value.
    if let Signal::Manual(request) = signal {
        for (name, value) in &request.parameters {
            match parameters.iter_mut().find(|(set, _)| set == name) {
                Some(slot) => slot.1.clone_from(value),
                None => parameters.push((name.clone(), value.clone())),
            }
        }
    }
    parameters
}

/// `text` cut to its first `max_chars` characters.
pub(super) fn truncate_chars(mut text: String, max_chars: usize) -> String {
    // A text of at most `max_chars` bytes has no more characters than that:
    // the usual case, answered without walking the characters.
    if text.len() > max_chars {
        if let Some((cut, _)) = text.char_indices().nth(max_chars) {
            text.truncate(cut);
        }
    }
    text
}
