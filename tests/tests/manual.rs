//! On-demand retraining through manual-trigger against moto: direct and
//! function-URL requests, `force`, overrides, approval tightening, budgets,
//! and a requester that a function-URL body cannot spoof.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{fixture, Scenario, PIPELINE, POLICY};
use manual_trigger::{HttpResponse, ManualResponse};
use serde_json::{json, Value};
use trigger_decision::Outcome;
use trigger_engine::{DecisionRecord, Trigger, TriggerError};

/// The housing-price policy with automatic approval and a budget of two starts a week.
fn policy() -> String {
    POLICY.replace("approval = \"manual\"", "approval = \"auto\"\nmax_starts = \"2/7d\"")
}

fn request(force: bool, extra: Value) -> Value {
    let mut body = json!({
        "model": "housing-price",
        "reason": "zipcode boundaries were redrawn",
        "requested_by": "ana@example.com",
        "force": force,
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

async fn direct(trigger: &Trigger, event: &Value, request_id: &str) -> Result<DecisionRecord, TriggerError> {
    match manual_trigger::handle(trigger, event, request_id).await? {
        ManualResponse::Decisions(response) => {
            assert_eq!(response.decisions.len(), 1, "{response:?}");
            Ok(response.decisions.into_iter().next().unwrap())
        }
        ManualResponse::Http(http) => panic!("a direct request got an HTTP answer: {http:?}"),
    }
}

async fn by_url(trigger: &Trigger, event: &Value) -> HttpResponse {
    match manual_trigger::handle(trigger, event, "invocation-id").await {
        Ok(ManualResponse::Http(http)) => http,
        other => panic!("a function URL request must get an HTTP answer: {other:?}"),
    }
}

/// The body of a function URL's answer.
fn body_of(answer: &HttpResponse) -> &str {
    answer.body.as_deref().unwrap_or_default()
}

fn parameter(parameters: &[(String, String)], name: &str) -> Option<String> {
    parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_request_starts_once_with_requester_reason_and_overrides() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(&policy()).await?;
    let event = request(
        false,
        json!({"parameters": {"DataWindowDays": "90"}, "approval": "manual"}),
    );
    let started = direct(&trigger, &event, "lambda-request-1").await?;
    assert_eq!((started.outcome, started.reason.as_str()), (Outcome::Started, "manual"));
    let arn = started.execution_arn.clone().unwrap();
    let parameters = moto.parameters(&arn).await?;
    assert_eq!(parameter(&parameters, "TriggerType").as_deref(), Some("manual"));
    assert_eq!(parameter(&parameters, "DataWindowDays").as_deref(), Some("90"));
    // The policy says auto; the request made it stricter.
    assert_eq!(
        parameter(&parameters, "ModelApprovalStatus").as_deref(),
        Some("PendingManualApproval")
    );
    let reason = parameter(&parameters, "TriggerReason").unwrap_or_default();
    assert!(
        reason.contains("ana@example.com") && reason.contains("zipcode boundaries were redrawn"),
        "{reason}"
    );

    // Lambda's retry of the same invocation carries the same request id.
    let again = direct(&trigger, &event, "lambda-request-1").await?;
    assert_eq!(again.outcome, Outcome::AlreadyStarted);
    assert_eq!(again.execution_arn, Some(arn));
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_skips_the_cooldown_but_never_the_budget() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(&policy()).await?;
    let first = direct(&trigger, &request(false, json!({})), "r1").await?;
    assert_eq!(first.outcome, Outcome::Started);

    let unforced = direct(&trigger, &request(false, json!({})), "r2").await?;
    assert_eq!(
        (unforced.outcome, unforced.reason.as_str()),
        (Outcome::Deferred, "cooldown")
    );

    let forced = direct(&trigger, &request(true, json!({})), "r3").await?;
    assert_eq!(
        (forced.outcome, forced.reason.as_str()),
        (Outcome::Started, "manual-forced")
    );
    let parameters = moto.parameters(&forced.execution_arn.unwrap()).await?;
    let reason = parameter(&parameters, "TriggerReason").unwrap_or_default();
    assert!(reason.contains("forced"), "{reason}");

    // Two starts in 7 days is the budget; force does not lift it.
    let over = direct(&trigger, &request(true, json!({})), "r4").await?;
    assert_eq!((over.outcome, over.reason.as_str()), (Outcome::Deferred, "budget"));
    assert_eq!(moto.executions(PIPELINE).await?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_url_body_cannot_spoof_the_requester() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(&policy()).await?;
    // The fixture's body says requested_by someone-else@example.com; the signed caller is user/ana.
    let answer = by_url(&trigger, &fixture("manual/example-function-url-iam.json")).await;
    assert_eq!(answer.status_code, 200, "{answer:?}");
    let body: Value = serde_json::from_str(body_of(&answer))?;
    let decision = &body["decisions"][0];
    assert_eq!(decision["outcome"], "started", "{body}");
    let arn = decision["execution_arn"].as_str().unwrap();
    let reason = parameter(&moto.parameters(arn).await?, "TriggerReason").unwrap_or_default();
    assert!(
        reason.contains("arn:aws:iam::123456789012:user/ana") && !reason.contains("someone-else"),
        "{reason}"
    );
    // The URL's request id is the dedupe key: the same request again is already started.
    let again = by_url(&trigger, &fixture("manual/example-function-url-iam.json")).await;
    let body: Value = serde_json::from_str(body_of(&again))?;
    assert_eq!(body["decisions"][0]["outcome"], "already-started", "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_invalid_events_or_http_400_and_aws_failures_503() -> Result<()> {
    let Scenario { mut moto, trigger, .. } = Scenario::start(&policy()).await?;
    let check_direct = async |event: Value, fragment: &str| {
        let error = direct(&trigger, &event, "r").await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent", "{error}");
        assert!(error.to_string().contains(fragment), "{error} lacks {fragment:?}");
    };
    check_direct(
        request(false, json!({"parameters": {"LearningRate": "0.1"}})),
        "`parameters.LearningRate`",
    )
    .await;
    let mut unknown_model = request(false, json!({}));
    unknown_model["model"] = json!("churn");
    check_direct(unknown_model, "no model named \"churn\"").await;
    let mut no_requester = request(false, json!({}));
    no_requester.as_object_mut().unwrap().remove("requested_by");
    check_direct(no_requester, "`requested_by`").await;

    // Behind a URL the same problems are 400s with the message in the body.
    let mut url = fixture("manual/example-function-url-iam.json");
    url["body"] = json!(json!({"model": "housing-price", "reason": "r", "parameters": {"Epochs": "5"}}).to_string());
    let answer = by_url(&trigger, &url).await;
    assert_eq!(answer.status_code, 400, "{answer:?}");
    assert!(
        body_of(&answer).contains("parameters.Epochs") && body_of(&answer).contains("InvalidEvent"),
        "{answer:?}"
    );

    let strict = moto
        .trigger(&policy().replace("approval = \"auto\"", "approval = \"manual\""), false)
        .await?;
    url["body"] = json!(json!({"model": "housing-price", "reason": "r", "approval": "auto"}).to_string());
    let answer = by_url(&strict, &url).await;
    assert_eq!(answer.status_code, 400, "{answer:?}");
    assert!(body_of(&answer).contains("`approval`"), "{answer:?}");
    assert!(moto.executions(PIPELINE).await?.is_empty());

    // AWS unreachable: 503, so the caller knows a retry is safe.
    moto.stop();
    url["body"] = json!(json!({"model": "housing-price", "reason": "r"}).to_string());
    let answer = by_url(&trigger, &url).await;
    assert_eq!(answer.status_code, 503, "{answer:?}");
    assert!(body_of(&answer).contains("Transient"), "{answer:?}");
    Ok(())
}
