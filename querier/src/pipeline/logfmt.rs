//! `| logfmt [--strict] [--keep-empty] [params]`.
//!
//! The decoder follows Loki's logfmt decoder (adapted from go-logfmt) byte for byte,
//! including its error texts (`logfmt syntax error at pos 35 : unterminated quoted
//! value`). Without `--strict` a malformed pair is skipped and decoding goes on; with it
//! decoding stops and `__error__="LogfmtParserErr"` is set. Pairs with empty values
//! (`k=` and bare `k`) are dropped unless `--keep-empty`. With parameters only the
//! listed keys are extracted (each pre-set to `""`) and decoding stops at the first
//! malformed pair.

use std::borrow::Cow;

use super::hints::{KeyMatch, ParserHints};
use super::label_filter::EarlyFilter;
use super::labels::{
    DUPLICATE_SUFFIX, ERR_LOGFMT, LabelsBuilder, sanitize_label_key, sanitize_label_key_bytes,
};
use super::logfmt_hinted::{self, HintedWalk};
use super::{swar, utf8};

/// A logfmt decoder over one line.
pub(crate) struct Decoder<'a> {
    line: &'a [u8],
    pos: usize,
    key: Option<&'a [u8]>,
    value: Option<Cow<'a, [u8]>>,
    err: Option<String>,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `line`.
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self::at(line, 0)
    }

    /// A decoder at byte `pos` of `line`, where a pair (or the space before one) starts.
    pub(crate) fn at(line: &'a [u8], pos: usize) -> Self {
        Self {
            line,
            pos,
            key: None,
            value: None,
            err: None,
        }
    }

    /// True at the end of the line.
    pub(crate) fn eol(&self) -> bool {
        self.pos >= self.line.len()
    }

    /// The key of the last pair.
    pub(crate) fn key(&self) -> &'a [u8] {
        self.key.unwrap_or_default()
    }

    /// The value of the last pair (unquoted).
    pub(crate) fn value(&self) -> &[u8] {
        self.value.as_deref().unwrap_or_default()
    }

    /// The last syntax error.
    pub(crate) fn err(&self) -> Option<&str> {
        self.err.as_deref()
    }

    fn syntax_error(&mut self, msg: &str) {
        self.err = Some(format!(
            "logfmt syntax error at pos {} : {}",
            self.pos + 1,
            msg
        ));
    }

    fn unexpected_byte(&mut self, c: u8) {
        let shown = match c {
            b'"' => "'\"'".to_owned(),
            b'\'' => "'\\''".to_owned(),
            c => format!("'{}'", c as char),
        };
        self.err = Some(format!(
            "logfmt syntax error at pos {} : unexpected {}",
            self.pos + 1,
            shown
        ));
    }

    /// Skips to the next whitespace after an error; always false.
    fn skip_value(&mut self) -> bool {
        let rest = &self.line[self.pos..];
        match rest.iter().position(|&c| c <= b' ') {
            Some(p) => self.pos += p,
            None => self.pos = self.line.len(),
        }
        false
    }

    /// Advances to the next pair; false at the end of the line or on an error.
    pub(crate) fn scan_keyval(&mut self) -> bool {
        self.key = None;
        self.value = None;
        let line = self.line;
        // garbage
        match line[self.pos..].iter().position(|&c| c > b' ') {
            Some(p) => self.pos += p,
            None => {
                self.pos = line.len();
                return false;
            }
        }
        // key
        let start = self.pos;
        let found = token_end(&line[start..]).map(|p| (p, line[start + p]));
        let invalid_key = |k: &[u8]| !k.is_ascii() && utf8::clean(k).is_none();
        let Some((p, c)) = found else {
            self.pos = line.len();
            if self.pos > start {
                let k = &line[start..self.pos];
                if invalid_key(k) {
                    self.syntax_error("invalid key");
                    return false;
                }
                self.key = Some(k);
            }
            return true;
        };
        self.pos = start + p;
        match c {
            b'=' => {
                if self.pos > start {
                    let k = &line[start..self.pos];
                    if invalid_key(k) {
                        self.syntax_error("invalid key");
                        return self.skip_value();
                    }
                    self.key = Some(k);
                }
                if self.key.is_none() {
                    self.unexpected_byte(c);
                    return self.skip_value();
                }
            }
            b'"' => {
                self.unexpected_byte(c);
                return self.skip_value();
            }
            _ => {
                if self.pos > start {
                    let k = &line[start..self.pos];
                    if invalid_key(k) {
                        self.syntax_error("invalid key");
                        return false;
                    }
                    self.key = Some(k);
                }
                return true;
            }
        }
        // equal
        self.pos += 1;
        if self.pos >= line.len() {
            return true;
        }
        let c = line[self.pos];
        if c <= b' ' {
            return true;
        }
        if c == b'"' {
            return self.quoted_value();
        }
        // value
        let start = self.pos;
        if let Some(p) = token_end(&line[start..]) {
            self.pos = start + p;
            let c = line[self.pos];
            if c == b'=' || c == b'"' {
                self.unexpected_byte(c);
                return self.skip_value();
            }
            if self.pos > start {
                self.value = Some(Cow::Borrowed(&line[start..self.pos]));
            }
            return true;
        }
        self.pos = line.len();
        if self.pos > start {
            self.value = Some(Cow::Borrowed(&line[start..]));
        }
        true
    }

    fn quoted_value(&mut self) -> bool {
        let line = self.line;
        let start = self.pos;
        let body = &line[start + 1..];
        // the first quote or backslash: a quote ends a value without escapes; from a
        // backslash on, escapes are followed byte by byte
        if let Some(first) = swar::find_quote_or_backslash(body) {
            if body[first] == b'"' {
                self.pos = start + first + 2;
                if first > 0 {
                    self.value = Some(Cow::Borrowed(&body[..first]));
                }
                return true;
            }
            let mut esc = false;
            for (p, &c) in body.iter().enumerate().skip(first) {
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                } else if c == b'"' {
                    self.pos = start + p + 2;
                    match unquote(&line[start..self.pos]) {
                        Some(v) => self.value = Some(Cow::Owned(v)),
                        None => {
                            self.syntax_error("invalid quoted value");
                            return false;
                        }
                    }
                    return true;
                }
            }
        }
        self.pos = line.len();
        self.syntax_error("unterminated quoted value");
        false
    }
}

/// Position of the first byte of `bytes` ending a key or an unquoted value (`=`, `"`, or
/// at most a space), eight bytes at a time: values are timestamps, ids and paths, and the
/// byte-by-byte scan was a fifth of a logfmt query's CPU.
pub(super) fn token_end(bytes: &[u8]) -> Option<usize> {
    swar::find(
        bytes,
        |w| {
            swar::bytes_below(w, b' ' + 1) | swar::bytes_equal(w, b'=') | swar::bytes_equal(w, b'"')
        },
        |c| c == b'=' || c == b'"' || c <= b' ',
    )
}

/// go-logfmt's `unquoteBytes` (JSON-style escapes; invalid UTF-8 becomes U+FFFD).
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() < 2 || s[0] != b'"' || s[s.len() - 1] != b'"' {
        return None;
    }
    let s = &s[1..s.len() - 1];
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'\\' => {
                i += 1;
                let e = *s.get(i)?;
                match e {
                    b'"' | b'\\' | b'/' | b'\'' => out.push(e),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let h = std::str::from_utf8(s.get(i + 1..i + 5)?).ok()?;
                        let mut r = u32::from_str_radix(h, 16).ok()?;
                        i += 4;
                        if (0xD800..0xDC00).contains(&r) {
                            // try a following low surrogate
                            let lo = s
                                .get(i + 1..i + 7)
                                .filter(|t| t.starts_with(b"\\u"))
                                .and_then(|t| std::str::from_utf8(&t[2..]).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok());
                            match lo {
                                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                    r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                                    i += 6;
                                }
                                _ => r = 0xFFFD,
                            }
                        }
                        let ch = char::from_u32(r).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return None,
                }
                i += 1;
            }
            b'"' => return None,
            c if c < b' ' => return None,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The `| logfmt` stage.
#[derive(Debug)]
pub(crate) struct LogfmtParser {
    strict: bool,
    keep_empty: bool,
    /// `(label, key)` parameters; empty for the plain parser.
    params: Vec<(String, String)>,
    /// Label filters applied as soon as their label is set (plain parser only).
    early: Vec<EarlyFilter>,
}

impl LogfmtParser {
    /// Compiles the stage.
    pub(crate) fn new(
        strict: bool,
        keep_empty: bool,
        params: &[(String, String)],
    ) -> Result<Self, String> {
        for (id, _) in params {
            if !logql::labels::is_valid_label_name(id) {
                return Err(format!("invalid extracted label name '{id}'"));
            }
        }
        Ok(Self {
            strict,
            keep_empty,
            params: params.to_vec(),
            early: Vec::new(),
        })
    }

    /// Makes the stage drop a line as soon as one of `early` rejects a label it set.
    pub(crate) fn set_early(&mut self, early: Vec<EarlyFilter>) {
        self.early = early;
    }

    /// True for the parameterless form (the one that takes early filters).
    pub(crate) fn is_plain(&self) -> bool {
        self.params.is_empty()
    }

    /// Extracts pairs of `line` into labels; false when an early filter dropped it.
    pub(crate) fn process(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) -> bool {
        if self.params.is_empty() {
            if hints.is_some_and(|h| h.skip_parser(lbs)) {
                return true;
            }
            self.process_all(line, lbs, name, hints)
        } else {
            self.process_params(line, lbs, name);
            true
        }
    }

    fn process_all(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) -> bool {
        let mut start = 0;
        // the non-strict parser without --keep-empty takes ordinary pairs the fast way
        if let Some(h) = hints
            && !self.strict
            && !self.keep_empty
        {
            match logfmt_hinted::walk(line.as_bytes(), h, &self.early, lbs, name) {
                HintedWalk::Kept => return true,
                HintedWalk::Dropped => return false,
                HintedWalk::HandOver(pos) => start = pos,
            }
        }
        self.decode_pairs(Decoder::at(line.as_bytes(), start), lbs, name, hints)
    }

    /// The general decoding of the pairs `dec` reads, from where it stands.
    pub(super) fn decode_pairs(
        &self,
        mut dec: Decoder<'_>,
        lbs: &mut LabelsBuilder,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) -> bool {
        while !dec.eol() {
            if !dec.scan_keyval() {
                if self.strict {
                    break;
                }
                continue;
            }
            let key_match = hints.map_or(KeyMatch::Sanitize, |h| h.match_key(dec.key()));
            let Some(in_stream) = key_match.resolve(hints, lbs, name, |name| {
                sanitize_label_key_bytes(dec.key(), true, name);
            }) else {
                continue;
            };
            if in_stream {
                name.push_str(DUPLICATE_SUFFIX);
            }
            if !lbs.should_extract(name) {
                continue;
            }
            let val = utf8::clean(dec.value()).unwrap_or_default();
            if !self.keep_empty && val.is_empty() {
                continue;
            }
            lbs.set(name, val);
            // the non-strict parser records no error: the entry carries one only if an
            // earlier stage set it
            let error_free = !self.strict && !lbs.has_err();
            if EarlyFilter::verdict(&self.early, name, val).drops(error_free) {
                return false;
            }
            // a strict parser reports errors anywhere in the line, so it stops only where
            // Loki's does
            let done = match hints {
                Some(h) if self.strict => h.all_extracted(lbs),
                Some(h) => h.nothing_left_to_extract(lbs),
                None => false,
            };
            if done {
                break;
            }
        }
        if self.strict
            && let Some(e) = dec.err()
        {
            lbs.set_err(ERR_LOGFMT);
            lbs.set_err_details(e);
        }
        true
    }

    fn process_params(&self, line: &str, lbs: &mut LabelsBuilder, name: &mut String) {
        for (id, _) in &self.params {
            if !lbs.base_has(id) {
                lbs.set_unrecorded(id, "");
            }
        }
        let mut dec = Decoder::new(line.as_bytes());
        while dec.scan_keyval() {
            sanitize_label_key(&utf8::lossy(dec.key()), true, name);
            if name.is_empty() || !lbs.should_extract(name) {
                continue;
            }
            if let Some((id, _)) = self
                .params
                .iter()
                .find(|(_, key)| key.as_str() == name.as_str())
            {
                name.clear();
                name.push_str(id);
            }
            if !self
                .params
                .iter()
                .any(|(id, _)| id.as_str() == name.as_str())
            {
                continue;
            }
            if lbs.base_has(name) {
                name.push_str(DUPLICATE_SUFFIX);
            }
            lbs.set(name, utf8::clean(dec.value()).unwrap_or_default());
        }
        if let Some(e) = dec.err() {
            lbs.set_err(ERR_LOGFMT);
            lbs.set_err_details(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn run(p: LogfmtParser, line: &str) -> String {
        let mut lbs = LabelsBuilder::new(LabelSet::from_pairs([("env", "prod"), ("app", "w")]));
        p.process(line, &mut lbs, &mut String::new(), None);
        lbs.to_label_set().to_string()
    }

    fn plain(strict: bool, keep_empty: bool) -> LogfmtParser {
        LogfmtParser::new(strict, keep_empty, &[]).unwrap()
    }

    #[test]
    fn quoted_values_with_and_without_escapes() {
        let mut d = Decoder::new(br#"msg="a \"b\" c" e="" p="plain words" t="\\""#);
        let mut got = Vec::new();
        while d.scan_keyval() {
            got.push((d.key().to_vec(), d.value().to_vec()));
        }
        assert_eq!(d.err(), None);
        let want: Vec<(Vec<u8>, Vec<u8>)> = [
            ("msg", r#"a "b" c"#),
            ("e", ""),
            ("p", "plain words"),
            ("t", "\\"),
        ]
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn keys_with_invalid_utf8_are_syntax_errors() {
        let mut d = Decoder::new(b"a\xff=1 \xc3\xa9t\xc3\xa9=2 b\xff");
        assert!(!d.scan_keyval());
        assert_eq!(d.err(), Some("logfmt syntax error at pos 3 : invalid key"));
        // valid multi-byte keys are keys
        assert!(d.scan_keyval());
        assert_eq!(
            (d.key(), d.value()),
            ("\u{e9}t\u{e9}".as_bytes(), &b"2"[..])
        );
        // a bare invalid key at the end of the line
        assert!(!d.scan_keyval());
        assert_eq!(d.err(), Some("logfmt syntax error at pos 16 : invalid key"));
    }

    #[test]
    fn token_end_finds_the_first_stop_byte() {
        // each stop byte at every position of a 20-byte token: in both words and the tail
        for stop in [b'=', b'"', b' ', b'\t', 0x00, 0x20] {
            for pos in 0..20 {
                let mut token = vec![b'a'; 20];
                token[pos] = stop;
                assert_eq!(token_end(&token), Some(pos), "{stop} at {pos}");
            }
        }
        for other in [0x21, b'<', b'>', 0x7f, 0x80, 0xff] {
            assert_eq!(token_end(&[other; 20]), None, "{other}");
        }
        assert_eq!(token_end(b"2026-11-20T00:00:00.013Z level"), Some(24));
    }

    #[test]
    fn extracts_pairs_with_suffix_and_unquoting() {
        assert_eq!(
            run(
                plain(false, false),
                r#"level=info msg="retry \"transient\" failure" env=canary dry_run empty= user-id=7"#
            ),
            r#"{app="w", env="prod", env_extracted="canary", level="info", msg="retry \"transient\" failure", user_id="7"}"#
        );
    }

    #[test]
    fn keep_empty_keeps_bare_keys() {
        assert_eq!(
            run(plain(false, true), "a=1 dry_run b="),
            r#"{a="1", app="w", b="", dry_run="", env="prod"}"#
        );
    }

    #[test]
    fn non_strict_skips_malformed_strict_stops() {
        let line = r#"level=warn msg="unterminated quote"#;
        assert_eq!(
            run(plain(false, false), line),
            r#"{app="w", env="prod", level="warn"}"#
        );
        assert_eq!(
            run(plain(true, false), line),
            r#"{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 35 : unterminated quoted value", app="w", env="prod", level="warn"}"#
        );
        assert_eq!(
            run(plain(false, false), r#"a=1 b="x"y c=3 =d e=5"#),
            r#"{a="1", app="w", b="x", c="3", e="5", env="prod"}"#
        );
        assert_eq!(
            run(plain(true, false), "a=1 b=x=y c=3"),
            r#"{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 8 : unexpected '='", a="1", app="w", env="prod"}"#
        );
    }

    #[test]
    fn params_extract_only_listed_keys() {
        let p = LogfmtParser::new(
            false,
            false,
            &[
                ("lvl".into(), "level".into()),
                ("missing".into(), "nope".into()),
                ("env".into(), "env".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            run(p, "level=info msg=x env=canary"),
            r#"{app="w", env="prod", env_extracted="canary", lvl="info", missing=""}"#
        );
    }
}
