//! The policy kept in S3 (`RETRAIN_POLICY_URI=s3://bucket/key`), behind the
//! engine's `PolicySource`: read at cold start, then re-read when its ETag
//! changes, checked at most once a minute. A new version that does not parse
//! keeps the last good policy, and is logged at error level with the EMF
//! metric `RetrainTriggers/PolicyInvalid`, so it can be alarmed on. (A policy
//! given inline or as a file is the engine's `FixedPolicy`.)

use crate::clock::now;
use crate::error::{body_error, from_sdk};
use crate::location::S3Object;
use async_trait::async_trait;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use trigger_decision::Policy;
use trigger_engine::log_line::{policy_invalid_line, write_log_line};
use trigger_engine::{PolicySource, Refresh, TriggerError};

/// How often, at most, the S3 policy's ETag is checked.
pub const POLICY_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The policy kept in an S3 object, swapped when the object changes.
#[derive(Debug)]
pub struct S3Policy {
    current: RwLock<Arc<Policy>>,
    watch: Watch,
}

#[derive(Debug)]
struct Watch {
    client: aws_sdk_s3::Client,
    object: S3Object,
    check_every: Duration,
    /// The ETag last seen (good or bad) and when it was last checked.
    state: Mutex<(String, Instant)>,
}

impl S3Policy {
    /// Reads and parses the policy object now (at cold start): a refusal or a
    /// policy that does not parse is `InvalidConfig`, an outage `Transient`.
    pub async fn load(
        client: aws_sdk_s3::Client,
        object: S3Object,
        check_every: Duration,
    ) -> Result<S3Policy, TriggerError> {
        // A refusal (no such bucket or key, access denied) is the configuration's
        // fault; throttling or an outage stays `Transient`, so the init is retried.
        let (text, etag) = fetch(&client, &object).await.map_err(|error| match error {
            TriggerError::Misconfigured { message, .. } => TriggerError::Config(format!(
                "RETRAIN_POLICY_URI={object} cannot be read: {message}; check the URI and the function's IAM role"
            )),
            other => other,
        })?;
        let policy = Policy::from_toml(&text)
            .map_err(|error| TriggerError::Config(format!("RETRAIN_POLICY_URI={object}: {error}")))?;
        Ok(S3Policy {
            current: RwLock::new(Arc::new(policy)),
            watch: Watch {
                client,
                object,
                check_every,
                state: Mutex::new((etag, Instant::now())),
            },
        })
    }
}

#[async_trait]
impl PolicySource for S3Policy {
    /// The policy in force now.
    fn current(&self) -> Arc<Policy> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc; the value is still whole.
        match self.current.read() {
            Ok(policy) => Arc::clone(&policy),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the S3 policy if an interval has passed and its ETag changed.
    /// Never fails: a problem keeps the last good policy and is logged.
    async fn refresh(&self) -> Refresh {
        let watch = &self.watch;
        // One refresh at a time; concurrent invocations in one process use the current policy meanwhile.
        let Ok(mut state) = watch.state.try_lock() else {
            return Refresh::NotDue;
        };
        if state.1.elapsed() < watch.check_every {
            return Refresh::NotDue;
        }
        state.1 = Instant::now();
        let head = watch
            .client
            .head_object()
            .bucket(&watch.object.bucket)
            .key(&watch.object.key)
            .send()
            .await;
        let etag = match head {
            Ok(head) => head.e_tag().unwrap_or_default().to_string(),
            Err(error) => {
                let problem = from_sdk(format!("S3 HeadObject {}", watch.object), error).to_string();
                tracing::warn!(policy = %watch.object, %problem, "could not check the policy; keeping the current one");
                return Refresh::KeptLastGood(problem);
            }
        };
        if etag == state.0 {
            return Refresh::Unchanged;
        }
        let (text, etag) = match fetch(&watch.client, &watch.object).await {
            Ok(fetched) => fetched,
            Err(error) => {
                let problem = error.to_string();
                tracing::warn!(policy = %watch.object, %problem, "could not read the policy; keeping the current one");
                return Refresh::KeptLastGood(problem);
            }
        };
        // Remember this version either way: a bad one is reported once per change, not on every check.
        state.0 = etag.clone();
        match Policy::from_toml(&text) {
            Ok(policy) => {
                match self.current.write() {
                    Ok(mut current) => *current = Arc::new(policy),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
                }
                tracing::info!(policy = %watch.object, %etag, "loaded a new policy version");
                Refresh::Reloaded
            }
            Err(error) => {
                write_log_line(policy_invalid_line(
                    &watch.object.to_string(),
                    &etag,
                    &error.to_string(),
                    now(),
                ));
                Refresh::KeptLastGood(error.to_string())
            }
        }
    }
}

async fn fetch(client: &aws_sdk_s3::Client, object: &S3Object) -> Result<(String, String), TriggerError> {
    let response = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|error| from_sdk(format!("S3 GetObject {object}"), error))?;
    let etag = response.e_tag().unwrap_or_default().to_string();
    let bytes = response
        .body
        .collect()
        .await
        .map_err(|error| body_error(format!("reading {object}"), error))?
        .into_bytes();
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
        TriggerError::Config(format!(
            "RETRAIN_POLICY_URI={object} is not UTF-8 text; save the policy as UTF-8"
        ))
    })?;
    Ok((text, etag))
}
