//! Parsed bytes as label text, the way Loki's parsers turn them into strings.
//!
//! Go converts invalid UTF-8 to U+FFFD, and Loki's json and logfmt parsers then drop a
//! value holding U+FFFD. `String::from_utf8_lossy` plus a search for the character did
//! both, but walked every value twice with the slow, chunked validator; parsed values
//! are nearly always valid (and ASCII), so these validate once with the standard fast
//! path and only search for U+FFFD when its lead byte occurs.

use std::borrow::Cow;

/// U+FFFD's first byte in UTF-8 (`EF BF BD`).
const REPLACEMENT_LEAD: u8 = 0xEF;

/// `bytes` as text, invalid sequences replaced by U+FFFD (Go's conversion).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// `bytes` as text when they are valid UTF-8 without U+FFFD: the values Loki's parsers
/// keep (they drop the rest, whose invalid bytes became U+FFFD).
pub(crate) fn clean(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    (!has_replacement(s)).then_some(s)
}

/// [`clean`] for bytes the caller owns (an unescaped value): the buffer becomes the text.
pub(crate) fn clean_owned(bytes: Vec<u8>) -> Option<String> {
    let s = String::from_utf8(bytes).ok()?;
    (!has_replacement(&s)).then_some(s)
}

/// True when `s` holds U+FFFD, searched for only after its lead byte.
fn has_replacement(s: &str) -> bool {
    memchr::memchr(REPLACEMENT_LEAD, s.as_bytes()).is_some() && s.contains('\u{FFFD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_and_clean_agree_with_the_lossy_conversion() {
        let cases: [&[u8]; 7] = [
            b"",
            b"plain ascii",
            "caf\u{e9} \u{1F600}".as_bytes(),
            "has \u{FFFD} already".as_bytes(),
            b"bad \xff byte",
            b"cut \xe2\x82",
            "\u{FEFF} starts with EF".as_bytes(),
        ];
        for bytes in cases {
            let reference = String::from_utf8_lossy(bytes);
            assert_eq!(lossy(bytes), reference, "{bytes:?}");
            let kept = (!reference.contains('\u{FFFD}')).then_some(&*reference);
            assert_eq!(clean(bytes), kept, "{bytes:?}");
            assert_eq!(clean_owned(bytes.to_vec()).as_deref(), kept, "{bytes:?}");
        }
    }
}
