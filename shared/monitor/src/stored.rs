//! The binary form in which partial profiles and join batches are stored.
//!
//! Each object is a 6-byte header (`CMON`, what it holds, the format version)
//! and the value in postcard's encoding. The header lets a reader refuse an
//! object of another kind or version with a clear error instead of
//! misreading it. postcard, because at a window's close the function reads
//! dozens of these: it is compact, serde-driven (the structs are the schema)
//! and decodes several times faster than JSON, which would also have to carry
//! every sketch's binary image as text.

use crate::error::FormatError;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"CMON";
/// Version 1: this crate's first format. Bump it when a stored struct changes.
pub const FORMAT_VERSION: u8 = 1;

/// What a stored object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    Profile = 1,
    PredictionBatch = 2,
    LabelBatch = 3,
}

impl StoredKind {
    fn name(self) -> &'static str {
        match self {
            StoredKind::Profile => "partial profile",
            StoredKind::PredictionBatch => "prediction batch",
            StoredKind::LabelBatch => "label batch",
        }
    }
}

pub(crate) fn encode<T: Serialize>(kind: StoredKind, value: &T) -> Result<Vec<u8>, FormatError> {
    let mut bytes = Vec::with_capacity(4096);
    bytes.extend_from_slice(MAGIC);
    bytes.push(kind as u8);
    bytes.push(FORMAT_VERSION);
    postcard::to_extend(value, bytes).map_err(|error| FormatError::Encode {
        kind: kind.name(),
        detail: error.to_string(),
    })
}

/// Reads a stored value; it may borrow from `bytes` (the window's statistics read sketches in place).
pub(crate) fn decode<'a, T: Deserialize<'a>>(kind: StoredKind, bytes: &'a [u8]) -> Result<T, FormatError> {
    if bytes.len() < 6 || &bytes[..4] != MAGIC || bytes[4] != kind as u8 {
        return Err(FormatError::NotThisFormat { kind: kind.name() });
    }
    if bytes[5] != FORMAT_VERSION {
        return Err(FormatError::Version {
            kind: kind.name(),
            found: bytes[5],
            supported: FORMAT_VERSION,
        });
    }
    let (value, rest) = postcard::take_from_bytes(&bytes[6..]).map_err(|error| FormatError::Corrupt {
        kind: kind.name(),
        detail: error.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(FormatError::Corrupt {
            kind: kind.name(),
            detail: format!("{} bytes after the end", rest.len()),
        });
    }
    Ok(value)
}
