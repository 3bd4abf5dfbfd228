//! Parser hints (Loki's `ParserHint`): which labels a metric query can still observe, so
//! that parsers extract only those.
//!
//! In `sum by (level) (rate({job="api"} | json | latency_ms > 500 [5m]))` only `level`
//! and `latency_ms` matter; every other member of the JSON line would become a label
//! that the grouping throws away. Loki passes the grouping (its own, or the one `sum`
//! pushes down), the label names the stages read and the unwrapped label to its parsers,
//! which then skip other keys, stop once every required label is found, and skip
//! themselves when no label is needed at all (`sum(count_over_time(... | json [5m]))`).
//! Those shortcuts are visible only on malformed lines (a parser that stopped early, or
//! did not run, reports no error), and Fenrir reproduces them.
//!
//! Hints are computed only for pipelines whose stages are line filters, label filters
//! and parameterless parsers; anything that reads labels in other ways (formats,
//! `drop`/`keep`, `unpack`, json/logfmt with parameters) gets no hints, so every label is
//! extracted as before.

use logql::LabelSet;
use logql::ast::{Grouping, LabelFilter, Parser, Stage, Unwrap};

use super::labels::{DUPLICATE_SUFFIX, LabelsBuilder, is_plain_label_key};

/// The labels a metric query needs from its parsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserHints {
    /// Names to extract (with and without `_extracted`); empty with `no_labels`.
    required: Vec<String>,
    /// No parsed label is needed: json and logfmt do not run.
    no_labels: bool,
    /// Bit `n` is set when a required name is `n` bytes long (bit 63: 63 or more), so
    /// that most keys are ruled out without comparing bytes.
    required_lens: u64,
    /// Per required name, whether the stream being parsed has it as a stream label
    /// (filled by [`Self::for_stream`]; empty before, when the builder is asked).
    in_stream: Vec<bool>,
}

/// What a parser does with one raw key, judged by [`ParserHints::match_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMatch<'h> {
    /// The key is a plain name no required name equals: nothing to extract.
    Skip,
    /// The key is the required label `name` as it is (sanitizing leaves it alone);
    /// `in_stream` tells whether the stream has a label of that name (then the parser
    /// sets `name_extracted`).
    Required { name: &'h str, in_stream: bool },
    /// The key needs sanitizing before it can be judged.
    Sanitize,
}

impl KeyMatch<'_> {
    /// The label a parser sets for the key, written to `name` (before any `_extracted`
    /// suffix), and whether the stream has a label of that name; `None` when the key
    /// gives no label. `sanitize` writes the sanitized key into `name` for
    /// [`KeyMatch::Sanitize`], which `hints` and the stream labels in `lbs` then judge.
    pub(crate) fn resolve(
        self,
        hints: Option<&ParserHints>,
        lbs: &LabelsBuilder,
        name: &mut String,
        sanitize: impl FnOnce(&mut String),
    ) -> Option<bool> {
        match self {
            KeyMatch::Skip => None,
            KeyMatch::Required {
                name: required,
                in_stream,
            } => {
                name.clear();
                name.push_str(required);
                Some(in_stream)
            }
            KeyMatch::Sanitize => {
                sanitize(name);
                if name.is_empty() || hints.is_some_and(|h| !h.should_extract(name)) {
                    return None;
                }
                Some(lbs.base_has(name))
            }
        }
    }
}

/// The bit of [`ParserHints::required_lens`] for a name of `len` bytes.
fn len_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl ParserHints {
    /// The hints of a range aggregation whose samples are grouped by `grouping` (its own
    /// or the pushed-down one), over `stages` and `unwrap`; `None` when every label may
    /// be needed.
    pub fn for_range(
        stages: &[Stage],
        unwrap: Option<&Unwrap>,
        grouping: Option<&Grouping>,
    ) -> Option<Self> {
        let grouping = grouping.filter(|g| !g.without)?;
        let mut names: Vec<String> = Vec::new();
        for stage in stages {
            match stage {
                Stage::LineFilter(_) => {}
                Stage::Parser(Parser::Json(params)) if params.is_empty() => {}
                Stage::Parser(Parser::Logfmt { params, .. }) if params.is_empty() => {}
                Stage::Parser(Parser::Pattern(_) | Parser::Regexp(_)) => {}
                Stage::LabelFilter(f) => filter_names(f, &mut names),
                _ => return None,
            }
        }
        if let Some(u) = unwrap {
            names.push(u.label.clone());
            for f in &u.post_filters {
                filter_names(f, &mut names);
            }
        }
        names.extend(grouping.labels.iter().cloned());
        let mut required: Vec<String> = Vec::with_capacity(names.len() * 2);
        for n in names {
            if let Some(stripped) = n.strip_suffix(DUPLICATE_SUFFIX) {
                let stripped = stripped.to_string();
                if !required.contains(&stripped) {
                    required.push(stripped);
                }
            }
            if !required.contains(&n) {
                required.push(n);
            }
        }
        Some(Self {
            no_labels: required.is_empty(),
            required_lens: required.iter().fold(0, |m, r| m | len_bit(r.len())),
            in_stream: Vec::new(),
            required,
        })
    }

    /// These hints for parsing entries of the stream with `labels`: which required
    /// names are stream labels is settled once per stream instead of once per line.
    pub fn for_stream(&self, labels: &LabelSet) -> Self {
        Self {
            in_stream: self
                .required
                .iter()
                .map(|r| labels.get(r).is_some())
                .collect(),
            ..self.clone()
        }
    }

    /// True when no parsed label is needed.
    pub fn no_labels(&self) -> bool {
        self.no_labels
    }

    /// True when a parser should extract the (sanitised, unsuffixed) `name`.
    pub fn should_extract(&self, name: &str) -> bool {
        self.required.is_empty()
            || (self.required_lens & len_bit(name.len()) != 0
                && self.required.iter().any(|r| r == name))
    }

    /// How a parser treats the raw top-level `key` (see [`KeyMatch`]). A key equal to
    /// a required name is that name after sanitizing too (label names are plain); any
    /// other plain key sanitizes to itself and so to no required name; only the rest
    /// needs [`Self::should_extract`] after sanitizing.
    pub(crate) fn match_key(&self, key: &[u8]) -> KeyMatch<'_> {
        if is_plain_label_key(key) {
            self.match_plain_key(key)
        } else {
            KeyMatch::Sanitize
        }
    }

    /// [`Self::match_key`] for a key the caller already knows is plain
    /// (`[A-Za-z_][A-Za-z0-9_]*`): the hinted walks test that while they read it.
    pub(crate) fn match_plain_key(&self, key: &[u8]) -> KeyMatch<'_> {
        if self.required.is_empty() {
            return KeyMatch::Sanitize;
        }
        if self.required_lens & len_bit(key.len()) != 0
            && let Some(i) = self.required.iter().position(|r| r.as_bytes() == key)
        {
            return match self.in_stream.get(i) {
                Some(&in_stream) => KeyMatch::Required {
                    name: &self.required[i],
                    in_stream,
                },
                // not bound to a stream: the parser asks the builder
                None => KeyMatch::Sanitize,
            };
        }
        KeyMatch::Skip
    }

    /// True when some required name starts with `prefix` (json skips nested objects
    /// that cannot hold one).
    pub fn should_extract_prefix(&self, prefix: &str) -> bool {
        self.required.is_empty() || self.required.iter().any(|r| r.starts_with(prefix))
    }

    /// True when stages extracted every required name on this entry already.
    pub(crate) fn all_extracted(&self, lbs: &LabelsBuilder) -> bool {
        self.all_extracted_or(lbs, 0, |_| false)
    }

    /// [`Self::all_extracted`] counting also the `held` distinct names, not yet set, for
    /// which `is_held` is true (a parser that sets its labels only after its walk).
    pub(crate) fn all_extracted_or(
        &self,
        lbs: &LabelsBuilder,
        held: usize,
        is_held: impl Fn(&str) -> bool,
    ) -> bool {
        // the names are distinct on each side: fewer than required cannot cover them
        // (the common answer, found without comparing a name)
        !self.required.is_empty()
            && lbs.extracted_count() + held >= self.required.len()
            && self
                .required
                .iter()
                .all(|r| lbs.was_extracted(r) || is_held(r))
    }

    /// True when no parser can add a required name this entry lacks: each was extracted
    /// or is a stream label (a parser sets `host_extracted`, never a stream label's
    /// `host`). Where errors are not reported (logfmt without `--strict`) a parser may
    /// stop here, since the rest of the line can only hold labels nobody reads: in
    /// `quantile_over_time(... | logfmt | unwrap duration [5m]) by (host)` it stops after
    /// `duration` instead of decoding the pairs after it (Loki decodes them, but no
    /// answer can tell).
    pub(crate) fn nothing_left_to_extract(&self, lbs: &LabelsBuilder) -> bool {
        !self.required.is_empty()
            && self.required.iter().enumerate().all(|(i, r)| {
                let in_stream = match self.in_stream.get(i) {
                    Some(&known) => known,
                    None => lbs.base_has(r),
                };
                in_stream || lbs.was_extracted(r)
            })
    }

    /// Loki's `NoLabels()`: nothing needed, or everything needed already found.
    pub(crate) fn skip_parser(&self, lbs: &LabelsBuilder) -> bool {
        self.no_labels || self.all_extracted(lbs)
    }
}

/// Appends the label names a label filter reads.
fn filter_names(f: &LabelFilter, out: &mut Vec<String>) {
    match f {
        LabelFilter::And(a, b) | LabelFilter::Or(a, b) => {
            filter_names(a, out);
            filter_names(b, out);
        }
        LabelFilter::Paren(a) => filter_names(a, out),
        LabelFilter::Matcher(m) => out.push(m.name.clone()),
        LabelFilter::Number { name, .. }
        | LabelFilter::Duration { name, .. }
        | LabelFilter::Bytes { name, .. }
        | LabelFilter::Ip { name, .. } => out.push(name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use logql::LabelSet;

    use super::*;

    fn hints(q: &str) -> Option<ParserHints> {
        let expr = logql::parse_expr(q).unwrap();
        let logql::ast::Expr::Metric(logql::ast::MetricExpr::Vector(v)) = expr else {
            panic!("not a vector aggregation: {q}");
        };
        let logql::ast::MetricExpr::Range(r) = v.expr.as_ref() else {
            panic!("not over a range aggregation: {q}");
        };
        let grouping = r.grouping.clone().or(v.grouping.clone()).or(Some(Grouping {
            without: false,
            labels: vec![],
        }));
        ParserHints::for_range(
            &r.range.log.pipeline,
            r.range.unwrap.as_ref(),
            grouping.as_ref(),
        )
    }

    #[test]
    fn grouping_filters_and_unwrap_are_required() {
        let h =
            hints(r#"sum by (level) (rate({job="api"} | json | latency_ms > 500 [5m]))"#).unwrap();
        assert!(h.should_extract("level") && h.should_extract("latency_ms"));
        assert!(!h.should_extract("trace_id"));
        assert!(!h.no_labels());
        let h = hints(
            r#"sum by (host_extracted) (sum_over_time({job="w"} | logfmt | unwrap bytes(b) | b < 10 [5m]))"#,
        )
        .unwrap();
        for n in ["host", "host_extracted", "b"] {
            assert!(h.should_extract(n), "{n}");
        }
        assert!(h.should_extract_prefix("hos") && !h.should_extract_prefix("x"));
        // plain keys are judged on their bytes; others need sanitizing first
        assert_eq!(h.match_key(b"trace_id"), KeyMatch::Skip);
        assert_eq!(h.match_key(b"_x"), KeyMatch::Skip);
        for k in [&b"1b"[..], b"b-c", b"", b"host"] {
            assert_eq!(h.match_key(k), KeyMatch::Sanitize, "{k:?}");
        }
        // bound to a stream, a required key is settled with the stream's labels
        let h = h.for_stream(&LabelSet::from_pairs([("host", "h1")]));
        assert_eq!(
            h.match_key(b"host"),
            KeyMatch::Required {
                name: "host",
                in_stream: true
            }
        );
        assert_eq!(
            h.match_key(b"b"),
            KeyMatch::Required {
                name: "b",
                in_stream: false
            }
        );
        assert_eq!(h.match_key(b"bb"), KeyMatch::Skip);
    }

    #[test]
    fn stream_labels_count_as_found_once_nothing_else_is_missing() {
        let h =
            hints(r#"sum by (host) (sum_over_time({job="w"} | logfmt | unwrap duration(d) [5m]))"#)
                .unwrap();
        let base = LabelSet::from_pairs([("host", "h1"), ("job", "w")]);
        let mut lbs = LabelsBuilder::new(base.clone());
        let bound = h.for_stream(&base);
        assert!(!h.nothing_left_to_extract(&lbs), "d is still missing");
        assert!(!bound.nothing_left_to_extract(&lbs), "d is still missing");
        lbs.set("d", "1s");
        assert!(h.nothing_left_to_extract(&lbs));
        assert!(bound.nothing_left_to_extract(&lbs));
        // Loki's own test still waits for `host`, which no parser sets
        assert!(!h.all_extracted(&lbs));
        // a required `_extracted` name is not satisfied by the stream label
        let h =
            hints(r#"sum by (host_extracted) (count_over_time({job="w"} | logfmt [5m]))"#).unwrap();
        let mut lbs = LabelsBuilder::new(LabelSet::from_pairs([("host", "h1")]));
        assert!(!h.nothing_left_to_extract(&lbs));
        lbs.set("host_extracted", "x");
        assert!(h.nothing_left_to_extract(&lbs));
    }

    #[test]
    fn no_label_needed_and_cases_without_hints() {
        assert!(
            hints(r#"sum(count_over_time({job="api"} | json [5m]))"#)
                .unwrap()
                .no_labels()
        );
        assert!(
            !hints(r#"sum(count_over_time({job="api"} | json | a="b" [5m]))"#)
                .unwrap()
                .no_labels()
        );
        assert_eq!(
            hints(r#"sum without (a) (count_over_time({job="api"} | json [5m]))"#),
            None
        );
        assert_eq!(
            hints(
                r#"sum by (a) (count_over_time({job="api"} | json | line_format "{{.b}}" [5m]))"#
            ),
            None
        );
    }
}
