//! Checks a manual retraining request against its model's policy, before any
//! decision: a request may override only the parameters the model lists in
//! `allow_overrides`, and may make approval stricter, never looser.

use crate::error::ManualRequestError;
use crate::policy::{Approval, ModelPolicy, MAX_PARAMETER_VALUE_CHARS};
use crate::signal::ManualRequest;

/// Whether `request` is one `model`'s policy permits. Pure; the first problem is returned.
pub fn check(request: &ManualRequest, model: &ModelPolicy) -> Result<(), ManualRequestError> {
    for (name, value) in &request.parameters {
        if !model.allow_overrides.contains(name) {
            return Err(ManualRequestError::ParameterNotAllowed {
                model: model.name.clone(),
                parameter: name.clone(),
                allowed: model.allow_overrides.clone(),
            });
        }
        if value.chars().count() > MAX_PARAMETER_VALUE_CHARS {
            return Err(ManualRequestError::ParameterTooLong {
                parameter: name.clone(),
                max: MAX_PARAMETER_VALUE_CHARS,
            });
        }
    }
    if request.approval == Some(Approval::Auto) && model.approval == Approval::Manual {
        return Err(ManualRequestError::LooserApproval {
            model: model.name.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::path::Path;
    use crate::{Policy, Timestamp};
    use std::collections::BTreeMap;

    const POLICY: &str = r#"
[[model]]
name = "strict"
pipeline = "p1"
approval = "manual"
allow_overrides = ["DataWindowDays", "TrainingMode"]

[[model]]
name = "relaxed"
pipeline = "p2"
approval = "auto"
"#;

    fn request(parameters: &[(&str, &str)], approval: Option<Approval>) -> ManualRequest {
        ManualRequest {
            model: String::new(),
            reason: "new feature".into(),
            requested_by: "ana".into(),
            force: false,
            parameters: parameters
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>(),
            approval,
            request_id: "r1".into(),
            requested_at: Timestamp(0),
            path: Path::Direct,
        }
    }

    /// Checks one request against one model: `Ok` or an error containing every fragment.
    fn check_case(model: &str, request: ManualRequest, expected: Result<(), &[&str]>) {
        let policy = Policy::from_toml(POLICY).unwrap();
        let result = check(&request, policy.model(model).unwrap()).map_err(|error| error.to_string());
        match (result, expected) {
            (Ok(()), Ok(())) => {}
            (Err(error), Err(fragments)) => {
                for fragment in fragments {
                    assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
                }
            }
            (got, want) => panic!("{model} {request:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn overrides_and_approval_tightening() {
        check_case("strict", request(&[], None), Ok(()));
        check_case("strict", request(&[("DataWindowDays", "90")], None), Ok(()));
        check_case("strict", request(&[("TrainingMode", "incremental")], None), Ok(()));
        check_case(
            "strict",
            request(&[("LearningRate", "0.1")], None),
            Err(&[
                "`parameters.LearningRate`",
                "model \"strict\"",
                "DataWindowDays, TrainingMode",
            ]),
        );
        check_case(
            "relaxed",
            request(&[("DataWindowDays", "90")], None),
            Err(&["`parameters.DataWindowDays`", "allow_overrides"]),
        );
        check_case(
            "strict",
            request(&[("DataWindowDays", &"9".repeat(1025))], None),
            Err(&["`parameters.DataWindowDays`", "1024"]),
        );
        // Stricter or equal approval is fine; looser is refused.
        check_case("relaxed", request(&[], Some(Approval::Manual)), Ok(()));
        check_case("relaxed", request(&[], Some(Approval::Auto)), Ok(()));
        check_case("strict", request(&[], Some(Approval::Manual)), Ok(()));
        check_case(
            "strict",
            request(&[], Some(Approval::Auto)),
            Err(&["`approval`", "model \"strict\"", "stricter"]),
        );
    }
}
