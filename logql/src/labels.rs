//! Label sets: the identity of a stream.
//!
//! A stream is one unique, sorted set of `name="value"` pairs inside a tenant. Its
//! fingerprint (a 64-bit xxh3 hash of the sorted pairs) is the stream id used by the WAL,
//! the segments and the index. The textual form is Loki's: `{a="b", c="d"}` with Go-style
//! quoting of values.

use std::fmt;

/// A sorted, duplicate-free set of labels; the identity of a stream or a series.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet {
    pairs: Vec<(String, String)>,
}

/// Label sets up to this size are searched linearly by [`LabelSet::get`].
const LINEAR_GET_MAX: usize = 12;

/// Why a label string or label set was rejected, in Loki's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The `{a="b"}` text could not be parsed.
    #[error("{0}")]
    Syntax(String),
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}")]
    InvalidName(String),
}

impl LabelSet {
    /// Builds a set from pairs in any order; the last value wins for a repeated name.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut v: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // stable sort keeps push order so that `dedup_by` below can keep the last value
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        Self { pairs: out }
    }

    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pairs sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        // stream label sets are small: comparing lengths first skips nearly every
        // string comparison, which a binary search cannot (parsers ask per line)
        if self.pairs.len() <= LINEAR_GET_MAX {
            return self
                .pairs
                .iter()
                .find(|(k, _)| k.len() == name.len() && k == name)
                .map(|(_, v)| v.as_str());
        }
        self.pairs
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }

    /// Sets `name` to `value`, keeping the set sorted.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        match self.pairs.binary_search_by(|(k, _)| k.cmp(&name)) {
            Ok(i) => self.pairs[i].1 = value.into(),
            Err(i) => self.pairs.insert(i, (name, value.into())),
        }
    }

    /// Removes `name`; returns its value if it was present.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        match self.pairs.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) => Some(self.pairs.remove(i).1),
            Err(_) => None,
        }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Drops labels with empty values (Loki never stores them on a stream).
    pub fn without_empty(mut self) -> Self {
        self.pairs.retain(|(_, v)| !v.is_empty());
        self
    }

    /// The stable 64-bit stream id of this label set.
    pub fn fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (k, v) in &self.pairs {
            h.update(k.as_bytes());
            h.update(&[0xff]);
            h.update(v.as_bytes());
            h.update(&[0xfe]);
        }
        h.digest()
    }

    /// Parses Loki's label string `{a="b", c="d"}` (as in protobuf pushes and legacy JSON).
    pub fn parse(text: &str) -> Result<Self, LabelError> {
        let s = text.trim();
        let inner = s
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| {
                LabelError::Syntax(format!("parse error: expected {{...}} in {text:?}"))
            })?;
        let bytes = inner.as_bytes();
        let mut i = 0;
        let mut pairs = Vec::new();
        let skip_ws = |i: &mut usize| {
            while *i < bytes.len() && (bytes[*i] as char).is_ascii_whitespace() {
                *i += 1;
            }
        };
        loop {
            skip_ws(&mut i);
            if i >= bytes.len() {
                break;
            }
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = &inner[start..i];
            if name.is_empty() {
                return Err(LabelError::Syntax(format!(
                    "parse error: unexpected character at position {start} in {text:?}"
                )));
            }
            skip_ws(&mut i);
            if i >= bytes.len() || bytes[i] != b'=' {
                return Err(LabelError::Syntax(format!(
                    "parse error: expected = after label name {name:?}"
                )));
            }
            i += 1;
            skip_ws(&mut i);
            let (value, used) = unquote_prefix(&inner[i..]).ok_or_else(|| {
                LabelError::Syntax(format!("parse error: bad quoted value for label {name:?}"))
            })?;
            i += used;
            pairs.push((name.to_string(), value));
            skip_ws(&mut i);
            if i < bytes.len() {
                if bytes[i] == b',' {
                    i += 1;
                } else {
                    return Err(LabelError::Syntax(format!(
                        "parse error: expected , or }} after value of {name:?}"
                    )));
                }
            }
        }
        Ok(Self::from_pairs(pairs))
    }
}

/// True for a valid Prometheus/Loki label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads one Go-quoted string (`"..."` with escapes) from the start of `s`;
/// returns the value and the number of bytes consumed.
pub fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, q) = chars.next()?;
    if q != '"' {
        return None;
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    'x' => {
                        let h: String = (0..2).filter_map(|_| chars.next().map(|c| c.1)).collect();
                        out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                    }
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let h: String = (0..n).filter_map(|_| chars.next().map(|c| c.1)).collect();
                        out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// True for characters Go's `strconv.Quote` writes as an escape: control characters,
/// spaces other than ' ', and invisible format characters (Go's `!unicode.IsPrint`).
fn go_needs_escape(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(u,
            0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
            | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
            | 0xFFFE | 0xFFFF | 0xD800..=0xDFFF)
}

/// Quotes a value the way Go's `strconv.Quote` does (used in Loki's label strings).
pub fn go_quote(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if go_needs_escape(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Display for LabelSet {
    /// Loki's label string: `{a="b", c="d"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(2 + self.pairs.len() * 16);
        s.push('{');
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(k);
            s.push('=');
            go_quote(v, &mut s);
        }
        s.push('}');
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        let l = LabelSet::parse(r#"{job="api", app="a\"b", env = "prod"}"#).unwrap();
        assert_eq!(l.get("app"), Some("a\"b"));
        assert_eq!(l.to_string(), r#"{app="a\"b", env="prod", job="api"}"#);
        assert_eq!(LabelSet::parse(&l.to_string()).unwrap(), l);
    }

    #[test]
    fn fingerprint_depends_on_sorted_content_only() {
        let a = LabelSet::from_pairs([("b", "2"), ("a", "1")]);
        let b = LabelSet::from_pairs([("a", "1"), ("b", "2")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(
            a.fingerprint(),
            LabelSet::from_pairs([("a", "1")]).fingerprint()
        );
    }

    #[test]
    fn quotes_like_go() {
        let mut s = String::new();
        go_quote("a\"b\\c\n\u{1}\u{a0}\u{200b}é😀", &mut s);
        assert_eq!(s, r#""a\"b\\c\n\x01\u00a0\u200bé😀""#);
    }

    #[test]
    fn rejects_garbage() {
        assert!(LabelSet::parse("job=\"x\"").is_err());
        assert!(LabelSet::parse("{job=x}").is_err());
        assert!(LabelSet::parse("{job=\"x\"").is_err());
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a-b"));
    }
}
