//! The engine's `Ledger` in S3: one object per model,
//! `<prefix>/state/<model>.json`, written only with conditional puts
//! (`If-Match: <etag>`, or `If-None-Match: *` when there is none yet).

use crate::error::{body_error, from_sdk};
use crate::location::S3Location;
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use trigger_engine::ledger::{ETag, Write};
use trigger_engine::{Ledger, ModelState, TriggerError};

/// The ledger in S3.
#[derive(Debug, Clone)]
pub struct S3Ledger {
    client: aws_sdk_s3::Client,
    location: S3Location,
}

impl S3Ledger {
    pub fn new(client: aws_sdk_s3::Client, location: S3Location) -> Self {
        S3Ledger { client, location }
    }

    pub fn state_key(&self, model: &str) -> String {
        self.location.key(&format!("state/{model}.json"))
    }
}

#[async_trait]
impl Ledger for S3Ledger {
    async fn load(&self, model: &str) -> Result<Option<(ModelState, ETag)>, TriggerError> {
        let key = self.state_key(model);
        let uri = format!("s3://{}/{key}", self.location.bucket);
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(from_sdk(format!("S3 GetObject {uri}"), error)),
        };
        let etag = response.e_tag().map(|tag| ETag(tag.to_string()));
        let body = response
            .body
            .collect()
            .await
            .map_err(|error| body_error(format!("reading {uri}"), error))?
            .into_bytes();
        let state = ModelState::from_json(&body).map_err(|message| TriggerError::LedgerCorrupt {
            key: uri.clone(),
            message,
        })?;
        let Some(etag) = etag else {
            return Err(TriggerError::transient(
                format!("S3 GetObject {uri}"),
                "the response had no ETag, so a conditional write is impossible",
            ));
        };
        Ok(Some((state, etag)))
    }

    async fn store(&self, model: &str, state: &ModelState, expected: Option<&ETag>) -> Result<Write, TriggerError> {
        let key = self.state_key(model);
        let body = state.to_json()?;
        let request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match expected {
            Some(etag) => request.if_match(&etag.0),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(written) => Ok(Write::Written(written.e_tag().map(|tag| ETag(tag.to_string())))),
            Err(error) if lost_race(&error) => Ok(Write::Conflict),
            Err(error) => Err(from_sdk(
                format!("S3 PutObject s3://{}/{key}", self.location.bucket),
                error,
            )),
        }
    }
}

/// Whether a conditional put failed because another writer got there first:
/// 412 (the precondition failed), 409 (a concurrent conditional write is in
/// progress), or 404 `NoSuchKey` (`If-Match` on an object deleted meanwhile).
fn lost_race<E: ProvideErrorMetadata>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    let status = error.raw_response().map(|response| response.status().as_u16());
    let code = error.as_service_error().and_then(ProvideErrorMetadata::code);
    matches!(status, Some(412 | 409)) || (status == Some(404) && code == Some("NoSuchKey"))
}
