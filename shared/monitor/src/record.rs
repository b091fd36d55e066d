//! One Data Capture record's envelope: the payloads and the ids, borrowed
//! from the line.
//!
//! SageMaker writes every record in the same shape, keys in the same order,
//! values plain strings:
//!
//! ```text
//! {"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"…","encoding":"CSV"},
//!  "endpointOutput":{…}},"eventMetadata":{"eventId":"…","inferenceId":"…","inferenceTime":"…"},"eventVersion":"0"}
//! ```
//!
//! serde_json took about a fifth of the time of profiling such a line, most
//! of it in scanning strings twice and skipping the fields not read. So
//! [`read`] first tries [`scan`], a reader of exactly that kind of JSON: a
//! line without a backslash or a control character (checked at once), so
//! whose strings are their own text, made of objects whose values are
//! strings or the known objects, keys in any order, spaces between tokens.
//! Whatever it does not know (an escape, a tab, a number, `null`, an array, a
//! key twice, a missing field, anything malformed) it leaves to serde_json,
//! so every line reads to the same record, or fails with the same error, as
//! with serde_json alone (the tests below check that on generated lines).

use crate::malformed::MalformedReason;
use crate::payload::Refusal;
use serde::Deserialize;
use std::borrow::Cow;

/// One Data Capture record, as much of it as is read.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct Record<'a> {
    #[serde(rename = "captureData", borrow)]
    pub(crate) capture: CaptureData<'a>,
    #[serde(rename = "eventMetadata", borrow)]
    pub(crate) metadata: EventMetadata<'a>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct CaptureData<'a> {
    #[serde(rename = "endpointInput", borrow, default)]
    pub(crate) input: Option<Payload<'a>>,
    #[serde(rename = "endpointOutput", borrow, default)]
    pub(crate) output: Option<Payload<'a>>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct Payload<'a> {
    #[serde(rename = "observedContentType", borrow, default)]
    pub(crate) content_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) data: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) encoding: Option<Cow<'a, str>>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct EventMetadata<'a> {
    #[serde(rename = "eventId", borrow)]
    pub(crate) event_id: Cow<'a, str>,
    #[serde(rename = "inferenceId", borrow, default)]
    pub(crate) inference_id: Option<Cow<'a, str>>,
}

/// Reads a record from one line of UTF-8 text.
pub(crate) fn read(text: &str) -> Result<Record<'_>, Refusal> {
    match scan(text) {
        Some(record) => Ok(record),
        None => serde_json::from_str(text).map_err(refusal_of),
    }
}

/// Why serde_json refused a line: not JSON at all, or JSON of another shape.
pub(crate) fn refusal_of(error: serde_json::Error) -> Refusal {
    let reason = match error.classify() {
        serde_json::error::Category::Data => MalformedReason::NotARecord,
        _ => MalformedReason::NotJson,
    };
    (reason, error.to_string())
}

/// The record, when the line is of the plain shape the module describes; `None` leaves it to serde_json.
fn scan(text: &str) -> Option<Record<'_>> {
    // JSON allows whitespace around the record, and serde_json skips it; not
    // a form feed, which `str::trim_ascii` would take too.
    let text = text.trim_matches(|character| matches!(character, ' ' | '\t' | '\n' | '\r'));
    if !plain(text.as_bytes()) {
        return None;
    }
    let mut scanner = Scanner { text, at: 0 };
    let (mut capture, mut metadata) = (None, None);
    scanner.object(
        &["captureData", "eventMetadata", "eventVersion"],
        |key, scanner| match key {
            "captureData" => once(&mut capture, scanner.capture_data()?),
            "eventMetadata" => once(&mut metadata, scanner.event_metadata()?),
            _ => scanner.string().map(drop),
        },
    )?;
    scanner.end()?;
    Some(Record {
        capture: capture?,
        metadata: metadata?,
    })
}

/// Fills a field met for the first time; serde_json refuses a field given twice, so the scanner leaves that to it.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// Whether the line has no backslash (an escape, which serde_json would
/// decode) and no control character (which it refuses in a string, and of
/// which only tabs and line ends could come between tokens). One pass over
/// every byte, without branches, which the compiler turns into vector code.
fn plain(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |plain, byte| plain & (*byte >= 0x20) & (*byte != b'\\'))
}

/// A position in the line; every method returns `None` for what it does not read.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte after any spaces, consumed.
    fn next_token(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(byte) = bytes.get(self.at) {
            self.at += 1;
            if *byte != b' ' {
                return Some(*byte);
            }
        }
        None
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next_token()? == wanted).then_some(())
    }

    /// A string, which in a plain line is its own text.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let length = crate::search::position_of(b'"', self.text.as_bytes().get(self.at..)?)?;
        // Both ends are at an ASCII quote, so at character boundaries.
        let text = self.text.get(self.at..self.at + length)?;
        self.at += length + 1;
        Some(text)
    }

    /// A member's key. Keys come in SageMaker's order, so the usual one is
    /// compared in place first, which spares searching for its end.
    fn key(&mut self, usual: Option<&'static str>) -> Option<&'a str> {
        let length = usual.map_or(0, str::len);
        if let (Some(usual), Some(quoted)) = (usual, self.text.as_bytes().get(self.at..self.at + length + 2)) {
            // Compared byte by byte: a call to `memcmp` costs more for a key this short.
            let same = quoted[1..=length]
                .iter()
                .zip(usual.bytes())
                .all(|(byte, wanted)| *byte == wanted);
            if quoted[0] == b'"' && same && quoted[length + 1] == b'"' {
                self.at += length + 2;
                return Some(usual);
            }
        }
        self.string()
    }

    /// An object: each member's key is handed to `member`, which reads its
    /// value; `usual` lists the keys in the order SageMaker writes them.
    fn object(
        &mut self,
        usual: &[&'static str],
        mut member: impl FnMut(&'a str, &mut Self) -> Option<()>,
    ) -> Option<()> {
        self.expect(b'{')?;
        let save = self.at;
        if self.next_token()? == b'}' {
            return Some(());
        }
        self.at = save;
        for index in 0.. {
            // Spaces before a key are rare: the general path skips them.
            let key = self.key(usual.get(index).copied())?;
            self.expect(b':')?;
            member(key, self)?;
            match self.next_token()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
        None
    }

    /// Only whitespace after the record, as serde_json requires.
    fn end(&mut self) -> Option<()> {
        self.next_token().is_none().then_some(())
    }

    fn capture_data(&mut self) -> Option<CaptureData<'a>> {
        let mut capture = CaptureData::default();
        self.object(&["endpointInput", "endpointOutput"], |key, scanner| match key {
            "endpointInput" => once(&mut capture.input, scanner.payload()?),
            "endpointOutput" => once(&mut capture.output, scanner.payload()?),
            _ => scanner.string().map(drop),
        })?;
        Some(capture)
    }

    fn payload(&mut self) -> Option<Payload<'a>> {
        let (mut content_type, mut data, mut encoding) = (None, None, None);
        let usual = ["observedContentType", "mode", "data", "encoding"];
        self.object(&usual, |key, scanner| {
            let value = scanner.string()?;
            match key {
                "observedContentType" => once(&mut content_type, Cow::Borrowed(value)),
                "data" => once(&mut data, Cow::Borrowed(value)),
                "encoding" => once(&mut encoding, Cow::Borrowed(value)),
                _ => Some(()),
            }
        })?;
        Some(Payload {
            content_type,
            data: data?,
            encoding,
        })
    }

    fn event_metadata(&mut self) -> Option<EventMetadata<'a>> {
        let (mut event_id, mut inference_id) = (None, None);
        self.object(&["eventId", "inferenceId", "inferenceTime"], |key, scanner| {
            let value = scanner.string()?;
            match key {
                "eventId" => once(&mut event_id, Cow::Borrowed(value)),
                "inferenceId" => once(&mut inference_id, Cow::Borrowed(value)),
                _ => Some(()),
            }
        })?;
        Some(EventMetadata {
            event_id: event_id?,
            inference_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LINE: &str = concat!(
        r#"{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","#,
        r#""data":"2140,3,2,98103","encoding":"CSV"},"endpointOutput":{"observedContentType":"#,
        r#""text/csv; charset=utf-8","mode":"OUTPUT","data":"512345.2","encoding":"CSV"}},"#,
        r#""eventMetadata":{"eventId":"b1f5a6e2","inferenceId":"order-1001","#,
        r#""inferenceTime":"2026-12-02T04:12:55Z"},"eventVersion":"0"}"#
    );

    /// The scanner's record, when it reads the line, is serde_json's; and it
    /// reads the lines it should, so that they take the fast path.
    fn check(text: &str, scanned: bool) {
        let fast = scan(text);
        assert_eq!(fast.is_some(), scanned, "{text}");
        if let Some(record) = fast {
            let slow: Record<'_> = serde_json::from_str(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(record, slow, "{text}");
        }
    }

    #[test]
    fn a_line_with_an_escape_or_a_control_character_is_not_plain() {
        let check_plain = |text: &str, expected: bool| assert_eq!(plain(text.as_bytes()), expected, "{text:?}");
        check_plain(LINE, true);
        check_plain("é✓ ~\u{7f}", true);
        check_plain(&LINE.replace("INPUT", "IN\\\"PUT"), false);
        check_plain(&LINE.replace("INPUT", "IN\tPUT"), false);
        check_plain(&LINE.replace("INPUT", "IN\u{1f}PUT"), false);
    }

    #[test]
    fn the_usual_shape_is_scanned_and_the_unusual_left_to_serde_json() {
        check(LINE, true);
        check(&format!(" \t{LINE}\r\n"), true);
        check(&format!("\u{c}{LINE}"), false);
        check(&LINE.replace("\":", "\" : ").replace("\",\"", "\" , \""), true);
        // Tabs and line ends between tokens are JSON too, but rare: serde_json reads them.
        check(&LINE.replace("\":", "\" :\t").replace("\",\"", "\" ,\n \""), false);
        check(r#"{"eventMetadata":{"eventId":"e"},"captureData":{}}"#, true);
        check(
            r#"{"captureData":{"endpointInput":{"data":""}},"eventMetadata":{"eventId":"é✓"}}"#,
            true,
        );
        // An escape, a null, a number, a key twice, a field missing, trailing text, a control character.
        check(&LINE.replace("2140,3", r"2140\n3"), false);
        check(&LINE.replace(r#""text/csv""#, "null"), false);
        check(&LINE.replace(r#""0""#, "0"), false);
        check(&LINE.replace(r#""inferenceTime""#, r#""inferenceId""#), false);
        check(&LINE.replace(r#""eventId""#, r#""eventID""#), false);
        check(&format!("{LINE} x"), false);
        check(&LINE.replace("INPUT", "IN\u{1}PUT"), false);
        check(&LINE[..LINE.len() - 1], false);
        check("[]", false);
    }

    /// Pieces of JSON that the scanner reads, or must leave alone.
    fn token() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "{",
            "}",
            ":",
            ",",
            " ",
            "\n",
            "\r",
            "\t",
            "\u{c}",
            "\"",
            "\\",
            "\\\"",
            "\u{1}",
            "null",
            "0",
            "[",
            "]",
            "\"captureData\"",
            "\"eventMetadata\"",
            "\"endpointInput\"",
            "\"endpointOutput\"",
            "\"data\"",
            "\"eventId\"",
            "\"inferenceId\"",
            "\"encoding\"",
            "\"observedContentType\"",
            "\"x\"",
            "\"1,2\"",
            "\"é\"",
            "{}",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A real line with a few pieces replaced, inserted or cut: whenever the scanner reads it, serde_json reads
        /// the same record.
        #[test]
        fn scanned_lines_read_as_serde_json_reads_them(
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, token()), 1..4),
        ) {
            let mut text = LINE.to_string();
            for (place, cut, piece) in edits {
                let mut at = place.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, &piece);
            }
            if let Some(record) = scan(&text) {
                let slow: Result<Record<'_>, _> = serde_json::from_str(&text);
                prop_assert_eq!(Some(record), slow.ok(), "{}", text);
            }
        }

        /// Members in any order, with unknown string members between them: read alike.
        #[test]
        fn any_member_order_reads_alike(order in Just((0..6).collect::<Vec<_>>()).prop_shuffle()) {
            let members = [
                r#""captureData":{"endpointOutput":{"data":"1.5","encoding":"CSV"},"endpointInput":{"data":"1,2"}}"#,
                r#""eventMetadata":{"inferenceTime":"t","eventId":"e","inferenceId":"i"}"#,
                r#""eventVersion":"0""#,
                r#""a":"""#,
                r#""b":"{\"c\""#,
                r#""d":"x""#,
            ];
            let text = format!("{{{}}}", order.iter().map(|index| members[*index]).collect::<Vec<_>>().join(","));
            // The escaped member leaves the whole line to serde_json.
            prop_assert_eq!(scan(&text).is_some(), false);
            let plain = text.replace(r#""b":"{\"c\""#, r#""b":"{c""#);
            let slow: Record<'_> = serde_json::from_str(&plain).unwrap();
            prop_assert_eq!(scan(&plain), Some(slow));
        }
    }
}
