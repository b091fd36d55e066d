//! Splitting a stream of bytes into JSON Lines, in bounded memory.
//!
//! Chunks arrive as S3 gives them, not aligned to lines. A line that lies
//! inside one chunk is handed out in place; only a line split across chunks
//! is copied, and never beyond [`MAX_LINE_BYTES`]: a longer line is skipped
//! to its end and reported as too long, with its first bytes kept for the log.

/// The longest line read. A real-time endpoint takes at most 6 MB in and
/// gives 6 MB out; captured as base64 that is 16 MB, plus the record's JSON.
pub const MAX_LINE_BYTES: usize = 24 << 20;
/// Bytes kept of a line for the log: enough for 200 characters of any UTF-8.
pub(crate) const EXCERPT_BYTES: usize = 800;

/// One line, without its newline.
#[derive(Debug)]
pub(crate) enum Line<'a> {
    Complete(&'a [u8]),
    /// Longer than [`MAX_LINE_BYTES`]; these are its first bytes.
    TooLong(&'a [u8]),
}

#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// Inside a line too long to keep: its first bytes are in `pending`, the rest is dropped.
    skipping: bool,
}

impl LineSplitter {
    pub(crate) fn push(&mut self, chunk: &[u8], mut each: impl FnMut(Line<'_>)) {
        let mut rest = chunk;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            if self.skipping {
                each(Line::TooLong(&self.pending));
                self.skipping = false;
            } else if self.pending.is_empty() {
                each(Line::Complete(piece));
            } else if self.pending.len() + piece.len() > MAX_LINE_BYTES {
                self.pending.truncate(EXCERPT_BYTES);
                each(Line::TooLong(&self.pending));
            } else {
                self.pending.extend_from_slice(piece);
                each(Line::Complete(&self.pending));
            }
            self.pending.clear();
        }
        self.keep(rest);
    }

    /// Keeps the start of a line that continues in the next chunk.
    fn keep(&mut self, rest: &[u8]) {
        if self.skipping || rest.is_empty() {
            return;
        }
        if self.pending.len() + rest.len() > MAX_LINE_BYTES {
            let room = EXCERPT_BYTES.saturating_sub(self.pending.len());
            self.pending.extend_from_slice(&rest[..room.min(rest.len())]);
            self.pending.truncate(EXCERPT_BYTES);
            self.skipping = true;
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    /// The last line, when the object does not end with a newline.
    pub(crate) fn finish(&mut self, mut each: impl FnMut(Line<'_>)) {
        if self.skipping {
            each(Line::TooLong(&self.pending));
        } else if !self.pending.is_empty() {
            each(Line::Complete(&self.pending));
        }
        self.pending.clear();
        self.skipping = false;
    }
}

/// The first 200 characters of a line, for the log.
pub(crate) fn excerpt(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(EXCERPT_BYTES)])
        .chars()
        .take(200)
        .collect()
}
