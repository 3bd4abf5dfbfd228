//! A lenient, allocation-free JSON scanner with the behaviour (and error texts) of
//! `github.com/buger/jsonparser` v1.1.1, the library behind Loki's `json` and `unpack`
//! stages. Loki's answers depend on its leniency (it does not validate values it skips)
//! and on its errors, which become `__error_details__`; a strict JSON parser would give
//! different answers.

use std::borrow::Cow;

use super::{swar, utf8};

/// "Malformed JSON error"
pub(crate) const MALFORMED_JSON: &str = "Malformed JSON error";
/// The text of an unterminated string.
pub(crate) const MALFORMED_STRING: &str = "Value is string, but can't find closing '\"' symbol";
/// The text of an unterminated array.
pub(crate) const MALFORMED_ARRAY: &str = "Value is array, but can't find closing ']' symbol";
/// The text of anything that is not a well-formed object where one is expected.
pub(crate) const MALFORMED_OBJECT: &str =
    "Value looks like object, but can't find closing '}' symbol";
/// The text of a value of no JSON type.
pub(crate) const UNKNOWN_VALUE_TYPE: &str = "Unknown value type";
/// The text of a bad escape in a key.
pub(crate) const MALFORMED_STRING_ESCAPE: &str =
    "Encountered an invalid escape sequence in a string";

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    String,
    Number,
    Object,
    Array,
    Boolean,
    Null,
}

/// Index of the first non-whitespace byte. Compact JSON has none between tokens, so the
/// first byte is tested before any loop (this runs four times per member).
#[inline]
pub(crate) fn next_token(data: &[u8]) -> Option<usize> {
    match data.first() {
        None => None,
        Some(c) if !is_space(*c) => Some(0),
        Some(_) => data.iter().position(|c| !is_space(*c)),
    }
}

/// JSON's insignificant whitespace.
#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

/// End of a string whose opening quote was already consumed: the index just past the
/// closing quote, and whether the string contains a backslash.
#[inline]
pub(crate) fn string_end(data: &[u8]) -> Option<(usize, bool)> {
    // fast path: the common string without a backslash before its closing quote, found
    // eight bytes at a time (strings are mostly short: a search call costs more)
    let i = swar::find_quote_or_backslash(data)?;
    if data[i] == b'"' {
        return Some((i + 1, false));
    }
    string_end_escaped(data, i)
}

/// [`string_end`] for a string whose first backslash is at `first` (no quote before it).
fn string_end_escaped(data: &[u8], first: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    for (i, &c) in data.iter().enumerate().skip(first) {
        if c == b'"' {
            if !escaped {
                return Some((i + 1, false));
            }
            // count the backslashes before this quote
            let mut j = i;
            let mut n = 0;
            while j > 0 && data[j - 1] == b'\\' {
                n += 1;
                j -= 1;
            }
            if n % 2 == 0 {
                return Some((i + 1, true));
            }
        } else if c == b'\\' {
            escaped = true;
        }
    }
    None
}

/// Index just past the block closing the one opened at `data[0]`.
pub(crate) fn block_end(data: &[u8], open: u8, close: u8) -> Option<usize> {
    let mut level = 0i32;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'"' {
            let (se, _) = string_end(&data[i + 1..])?;
            i += se;
        } else if c == open {
            level += 1;
        } else if c == close {
            level -= 1;
            if level == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// Length of the token (number, `true`, `null`, ...) at the start of `data`: up to the
/// next space, `,`, `}` or `]`.
#[inline]
pub(crate) fn token_end(data: &[u8]) -> usize {
    data.iter()
        .position(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']'))
        .unwrap_or(data.len())
}

/// The value starting at `data[offset]`: (start, end, type); strings include quotes.
#[inline]
fn get_type(data: &[u8], offset: usize) -> Result<(usize, ValueType), &'static str> {
    match data[offset] {
        b'"' => match string_end(&data[offset + 1..]) {
            Some((idx, _)) => Ok((offset + idx + 1, ValueType::String)),
            None => Err(MALFORMED_STRING),
        },
        b'[' => block_end(&data[offset..], b'[', b']')
            .map(|e| (offset + e, ValueType::Array))
            .ok_or(MALFORMED_ARRAY),
        b'{' => block_end(&data[offset..], b'{', b'}')
            .map(|e| (offset + e, ValueType::Object))
            .ok_or(MALFORMED_OBJECT),
        first => {
            let end = offset + token_end(&data[offset..]);
            let value = &data[offset..end];
            let ty = match first {
                b't' | b'f' if value == b"true" || value == b"false" => ValueType::Boolean,
                b'u' | b'n' if value == b"null" => ValueType::Null,
                b'0'..=b'9' | b'-' => ValueType::Number,
                _ => return Err(UNKNOWN_VALUE_TYPE),
            };
            Ok((end, ty))
        }
    }
}

/// jsonparser's `Get(data)` without keys: the first value in `data` (strings without
/// their quotes, still escaped), its type and the offset just past it.
#[inline]
pub(crate) fn get(data: &[u8]) -> Result<(&[u8], ValueType, usize), &'static str> {
    let off = next_token(data).ok_or(MALFORMED_JSON)?;
    let (end, ty) = get_type(data, off)?;
    let value = if ty == ValueType::String {
        &data[off + 1..end - 1]
    } else {
        &data[off..end]
    };
    Ok((value, ty, end))
}

/// jsonparser's `ObjectEach`: calls `cb(key, value, type)` for every member of the object
/// at the start of `data`, stopping at the first error (its own or the callback's).
pub(crate) fn object_each<'d, E: From<&'static str>>(
    data: &'d [u8],
    mut cb: impl FnMut(&[u8], &'d [u8], ValueType) -> Result<(), E>,
) -> Result<(), E> {
    let mut offset = match next_token(data) {
        Some(o) if data[o] == b'{' => o + 1,
        _ => return Err(MALFORMED_OBJECT.into()),
    };
    match next_token(&data[offset..]) {
        None => return Err(MALFORMED_JSON.into()),
        Some(o) => {
            offset += o;
            if data[offset] == b'}' {
                return Ok(());
            }
        }
    }
    while offset < data.len() {
        match data[offset] {
            b'"' => offset += 1,
            b'}' => return Ok(()),
            _ => return Err(MALFORMED_OBJECT.into()),
        }
        let (off, escaped) = string_end(&data[offset..]).ok_or(MALFORMED_JSON)?;
        let raw_key = &data[offset..offset + off - 1];
        offset += off;
        let key: Cow<'_, [u8]> = if escaped {
            match unescape(raw_key) {
                Some(k) => k,
                None => return Err(MALFORMED_STRING_ESCAPE.into()),
            }
        } else {
            Cow::Borrowed(raw_key)
        };
        match next_token(&data[offset..]) {
            Some(o) if data[offset + o] == b':' => offset += o + 1,
            _ => return Err(MALFORMED_JSON.into()),
        }
        let (value, ty, end) = get(&data[offset..]).map_err(E::from)?;
        cb(&key[..], value, ty)?;
        offset += end;
        match next_token(&data[offset..]) {
            None => return Err(MALFORMED_ARRAY.into()),
            Some(o) => {
                offset += o;
                match data[offset] {
                    b'}' => return Ok(()),
                    b',' => offset += 1,
                    _ => return Err(MALFORMED_OBJECT.into()),
                }
            }
        }
        match next_token(&data[offset..]) {
            None => return Err(MALFORMED_ARRAY.into()),
            Some(o) => offset += o,
        }
    }
    Err(MALFORMED_OBJECT.into())
}

/// jsonparser's `ArrayEach`: calls `cb(value, type)` per element; returns the offset
/// jsonparser returns (just past `]`, or at `]` for an empty array, or where an error
/// stopped it).
pub(crate) fn array_each<'d>(data: &'d [u8], mut cb: impl FnMut(&'d [u8], ValueType)) -> usize {
    let Some(nt) = next_token(data) else {
        return 0;
    };
    let mut offset = nt + 1;
    let Some(n0) = next_token(&data[offset.min(data.len())..]) else {
        return offset;
    };
    offset += n0;
    if data[offset] == b']' {
        return offset;
    }
    loop {
        let Ok((v, t, o)) = get(&data[offset..]) else {
            return offset;
        };
        if o == 0 {
            break;
        }
        cb(v, t);
        offset += o;
        let Some(skip) = next_token(&data[offset..]) else {
            return offset;
        };
        offset += skip;
        if data[offset] == b']' {
            break;
        }
        if data[offset] != b',' {
            return offset;
        }
        offset += 1;
    }
    offset + 1
}

/// jsonparser's `Unescape`; `None` on an invalid escape.
pub(crate) fn unescape(s: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !s.contains(&b'\\') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *s.get(i + 1)?;
        match e {
            b'"' | b'\\' | b'/' => out.push(e),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let (ch, used) = decode_unicode_escape(&s[i..])?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += used;
                continue;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(Cow::Owned(out))
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
        return None;
    }
    let h = std::str::from_utf8(&s[2..6]).ok()?;
    u32::from_str_radix(h, 16).ok()
}

fn decode_unicode_escape(s: &[u8]) -> Option<(char, usize)> {
    let r = hex4(s)?;
    if !(0xD800..0xE000).contains(&r) {
        return Some((char::from_u32(r)?, 6));
    }
    let r2 = hex4(&s[6..])?;
    if !(0xDC00..0xE000).contains(&r2) || r >= 0xDC00 {
        return None;
    }
    let c = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
    Some((char::from_u32(c)?, 12))
}

/// Loki's `unescapeJSONString`: the unescaped string, or `""` when it has a bad escape
/// or contains U+FFFD.
pub(crate) fn unescape_value(raw: &[u8]) -> Cow<'_, str> {
    let Some(bytes) = unescape(raw) else {
        return Cow::Borrowed("");
    };
    match bytes {
        Cow::Borrowed(b) => Cow::Borrowed(utf8::clean(b).unwrap_or_default()),
        Cow::Owned(v) => utf8::clean_owned(v).map_or(Cow::Borrowed(""), Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(line: &str) -> Result<Vec<(String, String, ValueType)>, &'static str> {
        let mut out = Vec::new();
        object_each(line.as_bytes(), |k, v, t| {
            out.push((
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
                t,
            ));
            Ok::<(), &'static str>(())
        })?;
        Ok(out)
    }

    #[test]
    fn string_end_at_every_length() {
        for n in 0..40 {
            let plain = format!("{}\" tail", "a".repeat(n));
            assert_eq!(string_end(plain.as_bytes()), Some((n + 1, false)), "{n}");
            let escaped = format!("{}\\\"b\" tail", "a".repeat(n));
            assert_eq!(string_end(escaped.as_bytes()), Some((n + 4, true)), "{n}");
            assert_eq!(string_end("a".repeat(n).as_bytes()), None, "{n}");
        }
    }

    #[test]
    fn walks_members() {
        let m = members(r#"{"a":"x\"y", "n": -1.5, "o":{"b":[1,2]}, "t":true, "z":null}"#).unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!(m[0], ("a".into(), r#"x\"y"#.into(), ValueType::String));
        assert_eq!(m[1], ("n".into(), "-1.5".into(), ValueType::Number));
        assert_eq!(
            m[2],
            ("o".into(), r#"{"b":[1,2]}"#.into(), ValueType::Object)
        );
        assert_eq!(m[4].2, ValueType::Null);
    }

    #[test]
    fn errors_are_jsonparsers() {
        assert_eq!(members("Nov 20 kernel").unwrap_err(), MALFORMED_OBJECT);
        assert_eq!(members(r#"{"a":nope}"#).unwrap_err(), UNKNOWN_VALUE_TYPE);
        assert_eq!(members(r#"{"a":"x"#).unwrap_err(), MALFORMED_STRING);
        assert_eq!(members(r#"{"a":1"#).unwrap_err(), MALFORMED_ARRAY);
        assert_eq!(members(r#"{"a":1 "b":2}"#).unwrap_err(), MALFORMED_OBJECT);
        assert_eq!(members("{").unwrap_err(), MALFORMED_JSON);
        assert!(members("{}").unwrap().is_empty());
    }

    #[test]
    fn unescapes_like_jsonparser() {
        assert_eq!(unescape_value(br#"a\"b\u00e9\ud83d\ude00"#), "a\"bé😀");
        assert_eq!(unescape_value(br#"bad\x"#), "");
        assert_eq!(unescape_value(br#"\ud83d"#), "");
    }
}
