//! Drift report objects read from S3, behind the engine's `ReportReader`.

use crate::error::{body_error, from_sdk};
use crate::location::S3Location;
use async_trait::async_trait;
use trigger_engine::{ReportReader, TriggerError};

/// Report objects in S3.
#[derive(Debug, Clone)]
pub struct S3Reports {
    client: aws_sdk_s3::Client,
}

impl S3Reports {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Reports { client }
    }
}

#[async_trait]
impl ReportReader for S3Reports {
    async fn read(&self, uri: &str) -> Result<Option<Vec<u8>>, TriggerError> {
        let location = S3Location::parse(uri)
            .filter(|location| !location.prefix.is_empty())
            .ok_or_else(|| TriggerError::InvalidEvent(format!("{uri} is not an S3 object URI (s3://bucket/key)")))?;
        let operation = format!("S3 GetObject {uri}");
        let response = match self
            .client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.prefix)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(from_sdk(operation, error)),
        };
        let body = response
            .body
            .collect()
            .await
            .map_err(|error| body_error(operation, error))?;
        Ok(Some(body.into_bytes().to_vec()))
    }
}
