//! Where the monitoring commands read and write: local paths and `s3://`
//! URIs alike. A location names one object or file, or a prefix or
//! directory meaning every object or file under it. Objects are streamed in
//! chunks, never read whole, so a capture object of any size is read in
//! bounded memory. The S3 client is built on first use: a command on local
//! files needs no AWS configuration.

use crate::error::CliError;
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;
use trigger_aws::lambda::{load_checked_sdk_config, s3_client};
use trigger_aws::{S3Object, S3Objects};

/// Bytes read from a local file at a time.
const LOCAL_CHUNK_BYTES: usize = 1 << 20;

/// One object or file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local(path) => write!(f, "{}", path.display()),
            Source::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// Local files and S3 objects, read and written alike.
#[derive(Debug, Default)]
pub struct Objects {
    s3: OnceCell<S3Objects>,
}

/// `s3://bucket/key` split, or `None` for a local path.
fn s3_parts(location: &str) -> Result<Option<(String, String)>, CliError> {
    let Some(rest) = location.strip_prefix("s3://") else {
        return Ok(None);
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(CliError::Invalid(format!(
            "{location} names no bucket; write s3://bucket/key or s3://bucket/prefix/"
        )));
    }
    Ok(Some((bucket.to_string(), key.to_string())))
}

impl Objects {
    /// S3, its configuration checked (region, endpoint, credentials) as the
    /// other commands' is, on first use.
    async fn s3(&self) -> Result<&S3Objects, CliError> {
        self.s3
            .get_or_try_init(|| async {
                let sdk = load_checked_sdk_config().await.map_err(CliError::from_aws)?;
                Ok(S3Objects::new(s3_client(&sdk)))
            })
            .await
    }

    /// Every object or file a location names, in name order: the file or
    /// object itself, else every one under it (a directory, or an S3 prefix).
    /// Nothing there is an invalid input.
    pub async fn expand(&self, location: &str) -> Result<Vec<Source>, CliError> {
        let sources = match s3_parts(location)? {
            Some((bucket, key)) => self.expand_s3(&bucket, &key).await?,
            None => expand_local(Path::new(location))?,
        };
        if sources.is_empty() {
            return Err(CliError::Invalid(format!(
                "{location}: nothing to read there (no object or file, and none under it)"
            )));
        }
        Ok(sources)
    }

    /// The object `key` when it exists, else every object under `key/`
    /// (under `key` itself when it ends with a slash or is empty). Keys that
    /// end with a slash are the empty "folder" objects the S3 console makes:
    /// never read.
    async fn expand_s3(&self, bucket: &str, key: &str) -> Result<Vec<Source>, CliError> {
        let listed = self.s3().await?.list(bucket, key).await.map_err(CliError::from_aws)?;
        let directory = if key.is_empty() || key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        let exact = !key.ends_with('/') && listed.iter().any(|found| found == key);
        let under = listed
            .into_iter()
            .filter(|found| found.starts_with(&directory) && !found.ends_with('/'))
            .collect();
        let keys = if exact { vec![key.to_string()] } else { under };
        Ok(keys
            .into_iter()
            .map(|key| Source::S3 {
                bucket: bucket.to_string(),
                key,
            })
            .collect())
    }

    /// Streams one source's bytes to `each`, chunk by chunk; `each` may stop
    /// the reading with an error of its own.
    pub async fn read(
        &self,
        source: &Source,
        mut each: impl FnMut(&[u8]) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        match source {
            Source::Local(path) => read_local(path, each),
            Source::S3 { bucket, key } => {
                let object = S3Object {
                    bucket: bucket.clone(),
                    key: key.clone(),
                };
                let Some(mut stream) = self.s3().await?.open(&object).await.map_err(CliError::from_aws)? else {
                    return Err(CliError::Invalid(format!("{source}: no such object")));
                };
                let mut refused = Ok(());
                while refused.is_ok()
                    && stream
                        .next_chunk(|chunk| refused = each(chunk))
                        .await
                        .map_err(CliError::from_aws)?
                {}
                refused
            }
        }
    }

    /// One small object or file whole, such as a policy.
    pub async fn read_whole(&self, location: &str) -> Result<Vec<u8>, CliError> {
        let source = match s3_parts(location)? {
            Some((bucket, key)) => Source::S3 { bucket, key },
            None => Source::Local(PathBuf::from(location)),
        };
        let mut bytes = Vec::new();
        self.read(&source, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(bytes)
    }

    /// Writes `bytes` to a local path or an S3 object, replacing what is there.
    pub async fn write(&self, location: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), CliError> {
        let Some((bucket, key)) = s3_parts(location)? else {
            return std::fs::write(location, bytes)
                .map_err(|error| CliError::refused(format!("writing {location}"), error));
        };
        if key.is_empty() || key.ends_with('/') {
            return Err(CliError::Invalid(format!(
                "{location} is a prefix; name the object to write, such as {}statistics.json",
                if key.is_empty() {
                    format!("{location}/")
                } else {
                    location.to_string()
                }
            )));
        }
        self.s3()
            .await?
            .put(&S3Object { bucket, key }, bytes, content_type)
            .await
            .map_err(CliError::from_aws)
    }
}

/// A file, or every file under a directory (hidden ones left out), in name order.
fn expand_local(path: &Path) -> Result<Vec<Source>, CliError> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| CliError::Invalid(format!("{}: cannot be read ({error})", path.display())))?;
    if !metadata.is_dir() {
        return Ok(vec![Source::Local(path.to_path_buf())]);
    }
    let mut files = Vec::new();
    let mut directories = vec![path.to_path_buf()];
    while let Some(directory) = directories.pop() {
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| CliError::refused(format!("listing {}", directory.display()), error))?;
        for entry in entries {
            let entry = entry.map_err(|error| CliError::refused(format!("listing {}", directory.display()), error))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let entry_path = entry.path();
            if entry_path.is_dir() {
                directories.push(entry_path);
            } else {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    Ok(files.into_iter().map(Source::Local).collect())
}

fn read_local(path: &Path, mut each: impl FnMut(&[u8]) -> Result<(), CliError>) -> Result<(), CliError> {
    let unreadable = |error: std::io::Error| CliError::refused(format!("reading {}", path.display()), error);
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut buffer = vec![0; LOCAL_CHUNK_BYTES];
    loop {
        let read = file.read(&mut buffer).map_err(unreadable)?;
        if read == 0 {
            return Ok(());
        }
        each(&buffer[..read])?;
    }
}
