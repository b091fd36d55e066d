//! Report objects in memory, by `s3://bucket/key` URI, as `S3Reports` reads them.

use crate::error::TriggerError;
use crate::reports::ReportReader;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Report objects in memory.
#[derive(Debug, Default)]
pub struct MemoryReports {
    objects: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryReports {
    pub fn new() -> MemoryReports {
        MemoryReports::default()
    }

    /// Stores an object at `uri`.
    pub fn put(&self, uri: &str, bytes: &[u8]) {
        self.objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri.to_string(), bytes.to_vec());
    }
}

#[async_trait]
impl ReportReader for MemoryReports {
    async fn read(&self, uri: &str) -> Result<Option<Vec<u8>>, TriggerError> {
        let is_object_uri = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(bucket, key)| !bucket.is_empty() && !key.is_empty());
        if !is_object_uri {
            return Err(TriggerError::InvalidEvent(format!(
                "{uri} is not an S3 object URI (s3://bucket/key)"
            )));
        }
        Ok(self
            .objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .cloned())
    }
}
