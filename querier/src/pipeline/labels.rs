//! The per-entry label state the stages read and write (Loki's `LabelsBuilder`).
//!
//! Stream labels are the immutable base; stages add, overwrite and delete labels in an
//! overlay whose string buffers are reused from entry to entry, so a steady-state entry
//! allocates nothing until its final [`LabelSet`] is built. `__error__` and
//! `__error_details__` live beside the overlay, as in Loki, so that `drop`/`keep` and
//! label filters can treat them specially.

use logql::LabelSet;

/// The label holding the first failing stage's error kind.
pub const ERROR_LABEL: &str = "__error__";
/// The label holding the human-readable error text.
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";

/// Suffix a parser adds to a parsed label whose name is already a stream label
/// (`host` parsed from a line of a stream with `host` becomes `host_extracted`).
pub(crate) const DUPLICATE_SUFFIX: &str = "_extracted";

/// `__error__` of a json or unpack stage that could not parse the line.
pub const ERR_JSON: &str = "JSONParserErr";
/// `__error__` of a logfmt stage that could not parse the line.
pub const ERR_LOGFMT: &str = "LogfmtParserErr";
/// `__error__` of an unwrap whose label value does not convert.
pub const ERR_SAMPLE_EXTRACTION: &str = "SampleExtractionErr";
/// `__error__` of a numeric/duration/bytes label filter whose value does not convert.
pub const ERR_LABEL_FILTER: &str = "LabelFilterErr";
/// `__error__` of a line_format/label_format template that failed to execute.
pub const ERR_TEMPLATE_FORMAT: &str = "TemplateFormatErr";

/// Label state of the entry being processed: base (stream) labels plus an overlay.
#[derive(Debug)]
pub(crate) struct LabelsBuilder {
    base: LabelSet,
    /// Added or overwritten labels; only `[..n_add]` is live, the rest are spare buffers.
    add: Vec<(String, String)>,
    n_add: usize,
    /// Deleted base label names; only `[..n_del]` is live.
    del: Vec<String>,
    n_del: usize,
    /// Names set on this entry so far; parsers do not overwrite them (Loki records every
    /// `Set` in its parser hints and its parsers skip recorded names).
    extracted: Vec<String>,
    n_extracted: usize,
    err: String,
    err_details: String,
}

impl LabelsBuilder {
    /// A builder over the stream labels `base`.
    pub(crate) fn new(base: LabelSet) -> Self {
        Self {
            base,
            add: Vec::new(),
            n_add: 0,
            del: Vec::new(),
            n_del: 0,
            extracted: Vec::new(),
            n_extracted: 0,
            err: String::new(),
            err_details: String::new(),
        }
    }

    /// Forgets everything a previous entry did.
    pub(crate) fn reset(&mut self) {
        self.n_add = 0;
        self.n_del = 0;
        self.n_extracted = 0;
        self.err.clear();
        self.err_details.clear();
    }

    /// True when the stream labels (not extracted ones) contain `name`: the test Loki
    /// uses to decide on the `_extracted` suffix.
    pub(crate) fn base_has(&self, name: &str) -> bool {
        self.base.get(name).is_some()
    }

    /// True when no stage changed anything.
    pub(crate) fn is_unchanged(&self) -> bool {
        self.n_add == 0 && self.n_del == 0 && self.err.is_empty() && self.err_details.is_empty()
    }

    /// The current value of `name` (not including the error labels).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        if let Some((_, v)) = self.add[..self.n_add].iter().find(|(k, _)| k == name) {
            return Some(v.as_str());
        }
        if self.del[..self.n_del].iter().any(|d| d == name) {
            return None;
        }
        self.base.get(name)
    }

    /// False when a stage already set `name` on this entry: Loki's parsers then leave
    /// it alone (`| unpack | logfmt` keeps unpack's `level`).
    #[inline]
    pub(crate) fn should_extract(&self, name: &str) -> bool {
        !self.extracted[..self.n_extracted].iter().any(|e| e == name)
    }

    /// True when a stage set or deleted one of `names` on this entry.
    pub(crate) fn overlays_any(&self, names: &[String]) -> bool {
        self.add[..self.n_add]
            .iter()
            .any(|(k, _)| names.contains(k))
            || self.del[..self.n_del].iter().any(|d| names.contains(d))
    }

    /// How many distinct names stages set on this entry.
    pub(crate) fn extracted_count(&self) -> usize {
        self.n_extracted
    }

    /// True when a stage set `name` on this entry (parser hints count these).
    #[inline]
    pub(crate) fn was_extracted(&self, name: &str) -> bool {
        self.extracted[..self.n_extracted].iter().any(|e| e == name)
    }

    /// Sets `name` to `value` and records it as set by a stage.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        if self.should_extract(name) {
            if self.n_extracted < self.extracted.len() {
                let slot = &mut self.extracted[self.n_extracted];
                slot.clear();
                slot.push_str(name);
            } else {
                self.extracted.push(name.to_owned());
            }
            self.n_extracted += 1;
        }
        self.set_unrecorded(name, value);
    }

    /// Sets `name` to `value` without recording it (structured metadata, which Loki
    /// adds before the stages run).
    pub(crate) fn set_unrecorded(&mut self, name: &str, value: &str) {
        if let Some((_, v)) = self.add[..self.n_add].iter_mut().find(|(k, _)| k == name) {
            v.clear();
            v.push_str(value);
            return;
        }
        if self.n_add < self.add.len() {
            let slot = &mut self.add[self.n_add];
            slot.0.clear();
            slot.0.push_str(name);
            slot.1.clear();
            slot.1.push_str(value);
        } else {
            self.add.push((name.to_owned(), value.to_owned()));
        }
        self.n_add += 1;
    }

    /// Deletes `name` (an added label and/or a base label).
    pub(crate) fn del(&mut self, name: &str) {
        if let Some(i) = self.add[..self.n_add].iter().position(|(k, _)| k == name) {
            // keep the buffer as a spare behind the live part
            self.add[i..self.n_add].rotate_left(1);
            self.n_add -= 1;
        }
        if self.base.get(name).is_none() || self.del[..self.n_del].iter().any(|d| d == name) {
            return;
        }
        if self.n_del < self.del.len() {
            let slot = &mut self.del[self.n_del];
            slot.clear();
            slot.push_str(name);
        } else {
            self.del.push(name.to_owned());
        }
        self.n_del += 1;
    }

    /// Records a stage error (the last one wins, as in Loki).
    pub(crate) fn set_err(&mut self, err: &str) {
        self.err.clear();
        self.err.push_str(err);
    }

    /// Records the error details.
    pub(crate) fn set_err_details(&mut self, details: &str) {
        self.err_details.clear();
        self.err_details.push_str(details);
    }

    /// True when a stage failed.
    #[inline]
    pub(crate) fn has_err(&self) -> bool {
        !self.err.is_empty()
    }

    /// The error kind (empty when none).
    pub(crate) fn err(&self) -> &str {
        &self.err
    }

    /// The error details (empty when none).
    pub(crate) fn err_details(&self) -> &str {
        &self.err_details
    }

    /// `| drop __error__`.
    pub(crate) fn reset_err(&mut self) {
        self.err.clear();
    }

    /// `| drop __error_details__`.
    pub(crate) fn reset_err_details(&mut self) {
        self.err_details.clear();
    }

    /// Calls `f` with every current label except the error labels.
    pub(crate) fn for_each<'s>(&'s self, mut f: impl FnMut(&'s str, &'s str)) {
        for (k, v) in self.base.iter() {
            if self.del[..self.n_del].iter().any(|d| d == k)
                || self.add[..self.n_add].iter().any(|(a, _)| a == k)
            {
                continue;
            }
            f(k, v);
        }
        for (k, v) in &self.add[..self.n_add] {
            f(k, v);
        }
    }

    /// The current labels, including `__error__`/`__error_details__` when set.
    pub(crate) fn to_label_set(&self) -> LabelSet {
        if self.is_unchanged() {
            return self.base.clone();
        }
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.base.len() + self.n_add + 2);
        self.for_each(|k, v| pairs.push((k, v)));
        if !self.err.is_empty() {
            pairs.push((ERROR_LABEL, &self.err));
        }
        if !self.err_details.is_empty() {
            pairs.push((ERROR_DETAILS_LABEL, &self.err_details));
        }
        LabelSet::from_pairs(pairs)
    }
}

/// The bytes sanitizing keeps as they are (`[A-Za-z0-9_]`), as a table: parsers test
/// every key of every line, and a lookup per byte beats the range compares.
static LABEL_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b as u8 == b'_';
        b += 1;
    }
    t
};

/// How many bytes at the start of `bytes` sanitizing keeps: the hinted logfmt walk reads
/// a key and tests it in one pass.
pub(crate) fn label_bytes_prefix(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| !LABEL_BYTES[usize::from(b)])
        .unwrap_or(bytes.len())
}

/// True when every byte of `key` is one sanitizing keeps.
fn has_only_label_bytes(key: &[u8]) -> bool {
    key.iter().all(|&b| LABEL_BYTES[usize::from(b)])
}

/// True when `key` is a label name as it is (`[A-Za-z_][A-Za-z0-9_]*`): sanitizing
/// leaves it unchanged.
pub(crate) fn is_plain_label_key(key: &[u8]) -> bool {
    starts_label_name(key) && has_only_label_bytes(key)
}

/// True when `key` (label bytes, see [`label_bytes_prefix`]) may start a label name: not
/// empty, no leading digit. The hinted walks read label bytes and then ask this.
pub(crate) fn starts_label_name(key: &[u8]) -> bool {
    key.first().is_some_and(|b| !b.is_ascii_digit())
}

/// [`sanitize_label_key`] over raw bytes, without the UTF-8 pass for the common key that
/// is already a valid label name.
pub(crate) fn sanitize_label_key_bytes(key: &[u8], is_prefix: bool, out: &mut String) {
    let plain = !key.is_empty() && has_only_label_bytes(key);
    if !plain {
        sanitize_label_key(&super::utf8::lossy(key), is_prefix, out);
        return;
    }
    out.clear();
    if is_prefix && key[0].is_ascii_digit() {
        out.push('_');
    }
    // plain keys are ASCII: each byte is its char
    out.extend(key.iter().map(|&b| char::from(b)));
}

/// Loki's `sanitizeLabelKey`: trims spaces, prefixes a leading digit with `_` (when
/// `is_prefix`), and replaces every character outside `[a-zA-Z0-9_]` with `_`.
pub(crate) fn sanitize_label_key(key: &str, is_prefix: bool, out: &mut String) {
    out.clear();
    let key = key.trim();
    if key.is_empty() {
        return;
    }
    if is_prefix && key.as_bytes()[0].is_ascii_digit() {
        out.push('_');
    }
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> LabelSet {
        LabelSet::from_pairs([("app", "a"), ("host", "h")])
    }

    #[test]
    fn overlay_set_get_del() {
        let mut b = LabelsBuilder::new(base());
        assert!(b.is_unchanged());
        b.set("level", "info");
        b.set("host", "x");
        assert_eq!(b.get("host"), Some("x"));
        assert!(b.base_has("host"));
        b.del("app");
        assert_eq!(b.get("app"), None);
        assert_eq!(b.to_label_set().to_string(), r#"{host="x", level="info"}"#);
        b.del("level");
        b.set_err(ERR_JSON);
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{__error__="JSONParserErr", host="x"}"#
        );
        b.reset();
        assert_eq!(b.to_label_set(), base());
        b.set("app", "again");
        assert_eq!(b.to_label_set().to_string(), r#"{app="again", host="h"}"#);
    }

    #[test]
    fn sanitizes_like_loki() {
        let mut s = String::new();
        sanitize_label_key(" user-agent ", true, &mut s);
        assert_eq!(s, "user_agent");
        sanitize_label_key("1abc", true, &mut s);
        assert_eq!(s, "_1abc");
        sanitize_label_key("1abc", false, &mut s);
        assert_eq!(s, "1abc");
        sanitize_label_key("é.x", true, &mut s);
        assert_eq!(s, "__x");
    }

    #[test]
    fn plain_keys_are_the_ones_sanitizing_keeps() {
        let mut s = String::new();
        for key in ["level", "_x", "a1", "1a", "a-b", "é", "", "a b", "A_Z9"] {
            sanitize_label_key(key, true, &mut s);
            assert_eq!(
                is_plain_label_key(key.as_bytes()),
                s == key && !key.is_empty(),
                "{key:?}"
            );
        }
    }

    #[test]
    fn sanitizing_bytes_agrees_with_sanitizing_text() {
        let (mut a, mut b) = (String::new(), String::new());
        for key in [
            "level",
            "latency_ms",
            "1abc",
            "user-agent",
            " x ",
            "é.x",
            "",
            "_",
        ] {
            for is_prefix in [true, false] {
                sanitize_label_key(key, is_prefix, &mut a);
                sanitize_label_key_bytes(key.as_bytes(), is_prefix, &mut b);
                assert_eq!(a, b, "{key:?} {is_prefix}");
            }
        }
    }
}
