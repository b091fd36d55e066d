//! Plain S3 objects for the monitor function and the monitoring commands: a
//! capture or ground-truth object read as a stream of chunks (memory bounded
//! by a chunk, whatever the object's size), small objects read whole,
//! listings, and writes: the function's never overwrite (`If-None-Match: *`),
//! so a redelivered event's writes are no-ops; a person's `retrain baseline
//! --out` replaces what is there. What to read and write, and where, is
//! decided elsewhere (`capture_monitor::layout`, the CLI's arguments); this
//! module only talks to S3.

use crate::error::{body_error, from_sdk};
use crate::location::S3Object;
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use trigger_engine::TriggerError;

/// S3, for the monitor function and the monitoring commands.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

/// What a write that never overwrites did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The object was already there (an earlier delivery wrote it); nothing changed.
    AlreadyThere,
}

/// An object being read, chunk by chunk.
#[derive(Debug)]
pub struct ObjectStream {
    uri: String,
    body: ByteStream,
}

impl ObjectStream {
    /// Hands the next chunk to `read`; false at the end. A read cut short is `Transient`.
    pub async fn next_chunk(&mut self, read: impl FnOnce(&[u8])) -> Result<bool, TriggerError> {
        match self.body.try_next().await {
            Ok(Some(chunk)) => {
                read(&chunk);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => Err(body_error(format!("reading {}", self.uri), error)),
        }
    }
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client) -> S3Objects {
        S3Objects { client }
    }

    /// Opens an object for streaming; `None` when it does not exist.
    pub async fn open(&self, object: &S3Object) -> Result<Option<ObjectStream>, TriggerError> {
        match self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(response) => Ok(Some(ObjectStream {
                uri: object.to_string(),
                body: response.body,
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(from_sdk(format!("S3 GetObject {object}"), error)),
        }
    }

    /// A small object's bytes; `None` when it does not exist.
    pub async fn read(&self, object: &S3Object) -> Result<Option<Vec<u8>>, TriggerError> {
        let Some(mut stream) = self.open(object).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        while stream.next_chunk(|chunk| bytes.extend_from_slice(chunk)).await? {}
        Ok(Some(bytes))
    }

    /// Whether an object exists (HEAD).
    pub async fn exists(&self, object: &S3Object) -> Result<bool, TriggerError> {
        match self
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) if error.raw_response().is_some_and(|raw| raw.status().as_u16() == 404) => Ok(false),
            Err(error) => Err(from_sdk(format!("S3 HeadObject {object}"), error)),
        }
    }

    /// Every key under `prefix` in `bucket`, in S3's (lexicographic) order.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, TriggerError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| from_sdk(format!("S3 ListObjectsV2 s3://{bucket}/{prefix}"), error))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_string)),
            );
        }
        Ok(keys)
    }

    /// Writes the object unless one is already there (`If-None-Match: *`).
    /// A concurrent conditional write (409) is `Transient`: the retry finds it there.
    pub async fn put_if_absent(
        &self,
        object: &S3Object,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Put, TriggerError> {
        let written = self
            .client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::new(SdkBody::from(body)))
            .send()
            .await;
        match written {
            Ok(_) => Ok(Put::Written),
            Err(error) => match error.raw_response().map(|raw| raw.status().as_u16()) {
                Some(412) => Ok(Put::AlreadyThere),
                Some(409) => Err(TriggerError::transient(
                    format!("S3 PutObject {object}"),
                    "another write of the same object was under way (409)",
                )),
                _ => Err(from_sdk(format!("S3 PutObject {object}"), error)),
            },
        }
    }

    /// Writes the object, replacing any that is there (a person's explicit `--out`).
    pub async fn put(&self, object: &S3Object, body: Vec<u8>, content_type: &str) -> Result<(), TriggerError> {
        self.client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type(content_type)
            .body(ByteStream::new(SdkBody::from(body)))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| from_sdk(format!("S3 PutObject {object}"), error))
    }
}
