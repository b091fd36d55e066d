//! Finding one byte in short text, eight bytes at a time.
//!
//! A capture line is read by looking for many nearby bytes: the quote that
//! ends each of some thirty strings, the comma that ends each of twenty CSV
//! cells. Most are a few bytes away, where a call to `memchr` (or
//! `str::split`, which calls it) costs more than the search itself, and a
//! byte-by-byte loop stops at a branch it cannot predict.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Where `wanted` first is in `bytes`.
pub(crate) fn position_of(wanted: u8, bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in words.by_ref() {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        // A byte of the XOR is zero where `wanted` is; the lowest such byte
        // sets its high bit below (higher bytes may too, spuriously, by borrow).
        let matches = u64::from_le_bytes(eight) ^ (ONES * u64::from(wanted));
        let found = matches.wrapping_sub(ONES) & !matches & HIGH_BITS;
        if found != 0 {
            return Some(start + (found.trailing_zeros() / 8) as usize);
        }
        start += 8;
    }
    let tail = words.remainder().iter().position(|byte| *byte == wanted)?;
    Some(start + tail)
}

/// `text.split(separator)` for an ASCII separator, found with [`position_of`].
pub(crate) fn split(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match position_of(separator, text.as_bytes()) {
            // An ASCII byte is a character boundary on both sides.
            Some(at) => {
                rest = text.get(at + 1..);
                text.get(..at)
            }
            None => rest.take(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_byte_is_found_at_any_distance() {
        let check =
            |text: &str, expected: Option<usize>| assert_eq!(position_of(b'"', text.as_bytes()), expected, "{text:?}");
        check("\"", Some(0));
        check("abc\"", Some(3));
        check("abcdefgh\"", Some(8));
        check("abcdefghijklmnop\"rest\"", Some(16));
        check("é✓ and more text\"", Some("é✓ and more text".len()));
        // Bytes one bit away from a quote (0x22): 0xa2, 0x23, 0x20, 0x02.
        check("~\u{7f}\u{80}\u{a2}# \u{2}\"", Some(9));
        check("", None);
        check("abc", None);
        check("abcdefghijk", None);
    }

    proptest! {
        #[test]
        fn split_is_str_split(text in "[a-c,é\"\\x00]{0,40}") {
            prop_assert_eq!(split(&text, b',').collect::<Vec<_>>(), text.split(',').collect::<Vec<_>>());
            let expected = text.bytes().position(|byte| byte == b'"');
            prop_assert_eq!(position_of(b'"', text.as_bytes()), expected);
        }
    }
}
