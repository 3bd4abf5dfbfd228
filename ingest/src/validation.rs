//! Push validation with Loki 2.9's exact rules and error texts.
//!
//! Label checks reject a whole stream; entry checks reject single entries. Every
//! rejection carries the reason label used by `loki_discarded_samples_total` and the
//! message Loki sends back in the 400 body.

use logql::LabelSet;
use logql::labels::is_valid_label_name;
use storage::Entry;

use crate::Limits;

/// Why data was discarded; the values of the `reason` label of the discard metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The stream has no labels (after dropping empty values).
    MissingLabels,
    /// The label string could not be parsed (e.g. an invalid label name).
    InvalidLabels,
    /// More label names than `max_label_names_per_series`.
    MaxLabelNamesPerSeries,
    /// A label name longer than `max_label_name_length`.
    LabelNameTooLong,
    /// A label value longer than `max_label_value_length`.
    LabelValueTooLong,
    /// The same label name twice.
    DuplicateLabelNames,
    /// Older than `reject_old_samples_max_age`.
    GreaterThanMaxSampleAge,
    /// Newer than now + `creation_grace_period`.
    TooFarInFuture,
    /// Longer than `max_line_size`.
    LineTooLong,
    /// Over the tenant's ingestion rate.
    RateLimited,
}

impl Reason {
    /// Loki's reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingLabels => "missing_labels",
            Reason::InvalidLabels => "invalid_labels",
            Reason::MaxLabelNamesPerSeries => "max_label_names_per_series",
            Reason::LabelNameTooLong => "label_name_too_long",
            Reason::LabelValueTooLong => "label_value_too_long",
            Reason::DuplicateLabelNames => "duplicate_label_names",
            Reason::GreaterThanMaxSampleAge => "greater_than_max_sample_age",
            Reason::TooFarInFuture => "too_far_in_future",
            Reason::LineTooLong => "line_too_long",
            Reason::RateLimited => "rate_limited",
        }
    }
}

/// One rejected stream or entry: the metric reason and Loki's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Metric reason.
    pub reason: Reason,
    /// Loki's error text.
    pub message: String,
}

impl Rejection {
    fn new(reason: Reason, message: String) -> Self {
        Self { reason, message }
    }
}

/// Loki's text for a push whose stream has no labels.
pub const MISSING_LABELS_MSG: &str = "error at least one label pair is required per stream";

/// Validates a stream's labels as sent; returns the normalized labels (empty values
/// dropped, as Loki's `ParseLabels` does). The messages quote the labels as sent.
pub fn validate_labels(limits: &Limits, sent: &LabelSet) -> Result<LabelSet, Rejection> {
    let sent_text = sent.to_string();
    if let Some(err) = invalid_label_name_error(sent, &sent_text) {
        return Err(Rejection::new(
            Reason::InvalidLabels,
            format!("Error parsing labels '{sent_text}' with error: {err}"),
        ));
    }
    let labels = sent.clone().without_empty();
    if labels.is_empty() {
        return Err(Rejection::new(
            Reason::MissingLabels,
            MISSING_LABELS_MSG.to_string(),
        ));
    }
    if labels.len() > limits.max_label_names_per_series {
        return Err(Rejection::new(
            Reason::MaxLabelNamesPerSeries,
            format!(
                "entry for stream '{sent_text}' has {} label names; limit {}",
                labels.len(),
                limits.max_label_names_per_series
            ),
        ));
    }
    for (name, value) in labels.iter() {
        if name.len() > limits.max_label_name_length {
            return Err(Rejection::new(
                Reason::LabelNameTooLong,
                format!("stream '{sent_text}' has label name too long: '{name}'"),
            ));
        }
        if value.len() > limits.max_label_value_length {
            return Err(Rejection::new(
                Reason::LabelValueTooLong,
                format!("stream '{sent_text}' has label value too long: '{value}'"),
            ));
        }
    }
    Ok(labels)
}

/// Loki's text for a label string that repeats a name, for decoders that see the raw
/// pairs (a [`LabelSet`] cannot hold duplicates).
pub fn duplicate_label_name_error(sent_text: &str, name: &str) -> String {
    format!("stream '{sent_text}' has duplicate label name: '{name}'")
}

/// The first name repeated in `names` (in order), if any.
pub fn find_duplicate_label_name<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut sorted: Vec<&str> = names.into_iter().collect();
    sorted.sort_unstable();
    sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// The Prometheus metric parser's error for the first invalid label name in `text`
/// (`1:3: parse error: unexpected character inside braces: '-'`), if any.
fn invalid_label_name_error(labels: &LabelSet, text: &str) -> Option<String> {
    let (bad_name, _) = labels.iter().find(|(n, _)| !is_valid_label_name(n))?;
    // the label's position in the printed string: names appear in sorted order, each
    // followed by `="`; find the first occurrence of `bad_name=` at a label start
    let mut search = 1;
    let mut name_at = None;
    while let Some(rel) = text.get(search..).and_then(|t| t.find(bad_name)) {
        let at = search + rel;
        let starts_label = at == 1 || text[..at].ends_with(", ");
        if starts_label && text[at + bad_name.len()..].starts_with('=') {
            name_at = Some(at);
            break;
        }
        search = at + 1;
    }
    let name_at = name_at.unwrap_or(1);
    if bad_name.is_empty() {
        return Some(format!(
            "1:{}: parse error: unexpected \"=\" in label set, expected identifier or \"}}\"",
            name_at + 1
        ));
    }
    let mut offset = name_at;
    for (i, c) in bad_name.chars().enumerate() {
        let ok = if i == 0 {
            c == '_' || c.is_ascii_alphabetic()
        } else {
            c == '_' || c.is_ascii_alphanumeric()
        };
        if !ok {
            return Some(format!(
                "1:{}: parse error: unexpected character inside braces: {}",
                offset + 1,
                go_quote_rune(c)
            ));
        }
        offset += c.len_utf8();
    }
    None
}

/// Go's `%q` of a rune.
fn go_quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\r' => "'\\r'".to_string(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// The time bounds and size limits an entry is checked against, fixed per request.
#[derive(Clone, Copy, Debug)]
pub struct EntryRules {
    /// Entries with `ts` below this are too old; `None` when old samples are accepted.
    pub oldest: Option<i64>,
    /// Entries with `ts` above this are too new.
    pub newest: i64,
    /// 0 = unlimited.
    pub max_line_size: usize,
}

impl EntryRules {
    /// The rules of `limits` at `now_ns`.
    pub fn new(limits: &Limits, now_ns: i64) -> Self {
        let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Self {
            oldest: limits
                .reject_old_samples
                .then(|| now_ns.saturating_sub(nanos(limits.reject_old_samples_max_age))),
            newest: now_ns.saturating_add(nanos(limits.creation_grace_period)),
            max_line_size: limits.max_line_size,
        }
    }

    /// Checks one entry; `labels` is the stream's normalized label string.
    pub fn check(&self, labels: &str, entry: &Entry) -> Result<(), Rejection> {
        if let Some(oldest) = self.oldest
            && entry.ts < oldest
        {
            return Err(Rejection::new(
                Reason::GreaterThanMaxSampleAge,
                format!(
                    "entry for stream '{labels}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    rfc3339(entry.ts),
                    rfc3339(oldest)
                ),
            ));
        }
        if entry.ts > self.newest {
            return Err(Rejection::new(
                Reason::TooFarInFuture,
                format!(
                    "entry for stream '{labels}' has timestamp too new: {}",
                    rfc3339(entry.ts)
                ),
            ));
        }
        if self.max_line_size != 0 && entry.line.len() > self.max_line_size {
            return Err(Rejection::new(
                Reason::LineTooLong,
                format!(
                    "Max entry size '{}' bytes exceeded for stream '{labels}' while adding an entry with length '{}' bytes",
                    self.max_line_size,
                    entry.line.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Cuts `line` to at most `max` bytes (at a character boundary); true if it was cut.
pub fn truncate_line(line: &mut String, max: usize) -> bool {
    if max == 0 || line.len() <= max {
        return false;
    }
    let mut cut = max;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line.truncate(cut);
    true
}

/// Go's `time.Format(time.RFC3339)` of a UTC nanosecond timestamp (whole seconds).
pub fn rfc3339(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Go's `time.Time.String()` of a UTC nanosecond timestamp:
/// `2006-01-02 15:04:05.999999999 +0000 UTC` (trailing zeros of the fraction dropped).
pub fn go_time_string(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_136_400_999_999_999), "2026-11-20T01:00:00Z");
        assert_eq!(rfc3339(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn go_time_string_matches_go() {
        assert_eq!(
            go_time_string(1_000_000_000),
            "1970-01-01 00:00:01 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_795_136_402_500_000_000),
            "2026-11-20 01:00:02.5 +0000 UTC"
        );
        assert_eq!(go_time_string(1), "1970-01-01 00:00:00.000000001 +0000 UTC");
    }

    #[test]
    fn missing_labels() {
        let l = Limits::default();
        let err = validate_labels(&l, &LabelSet::new()).unwrap_err();
        assert_eq!(
            err.message,
            "error at least one label pair is required per stream"
        );
        let err = validate_labels(&l, &ls(&[("a", "")])).unwrap_err();
        assert_eq!(err.reason, Reason::MissingLabels);
    }

    #[test]
    fn invalid_label_name_uses_prometheus_parser_text() {
        let l = Limits::default();
        let err = validate_labels(&l, &ls(&[("a-b", "x")])).unwrap_err();
        assert_eq!(
            err.message,
            "Error parsing labels '{a-b=\"x\"}' with error: 1:3: parse error: unexpected character inside braces: '-'"
        );
        let err = validate_labels(&l, &ls(&[("a", "1"), ("9x", "y")])).unwrap_err();
        assert_eq!(
            err.message,
            "Error parsing labels '{9x=\"y\", a=\"1\"}' with error: 1:2: parse error: unexpected character inside braces: '9'"
        );
        let err = validate_labels(&l, &ls(&[("a", "1"), ("b.c", "y")])).unwrap_err();
        assert_eq!(
            err.message,
            "Error parsing labels '{a=\"1\", b.c=\"y\"}' with error: 1:10: parse error: unexpected character inside braces: '.'"
        );
    }

    #[test]
    fn label_limits() {
        let l = Limits {
            max_label_names_per_series: 2,
            max_label_name_length: 3,
            max_label_value_length: 4,
            ..Limits::default()
        };
        let err = validate_labels(&l, &ls(&[("a", "1"), ("b", "2"), ("c", "3")])).unwrap_err();
        assert_eq!(
            err.message,
            "entry for stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2"
        );
        // empty values do not count but are quoted as sent
        let ok = validate_labels(&l, &ls(&[("a", "1"), ("b", "2"), ("c", "")])).unwrap();
        assert_eq!(ok, ls(&[("a", "1"), ("b", "2")]));
        let err = validate_labels(&l, &ls(&[("abcd", "1")])).unwrap_err();
        assert_eq!(
            err.message,
            "stream '{abcd=\"1\"}' has label name too long: 'abcd'"
        );
        let err = validate_labels(&l, &ls(&[("a", "12345")])).unwrap_err();
        assert_eq!(
            err.message,
            "stream '{a=\"12345\"}' has label value too long: '12345'"
        );
        assert_eq!(err.reason.as_str(), "label_value_too_long");
    }

    #[test]
    fn duplicates_helper() {
        assert_eq!(find_duplicate_label_name(["b", "a", "b"]), Some("b"));
        assert_eq!(find_duplicate_label_name(["b", "a"]), None);
        assert_eq!(
            duplicate_label_name_error("{a=\"1\", a=\"2\"}", "a"),
            "stream '{a=\"1\", a=\"2\"}' has duplicate label name: 'a'"
        );
    }

    #[test]
    fn entry_rules() {
        let now = 1_700_000_000_000_000_000;
        let limits = Limits {
            max_line_size: 5,
            ..Limits::default()
        };
        let rules = EntryRules::new(&limits, now);
        let e = |ts: i64, line: &str| Entry {
            ts,
            line: line.to_string(),
            metadata: vec![],
        };
        assert!(rules.check("{a=\"b\"}", &e(now, "hello")).is_ok());
        let week = 7 * 24 * 3600 * 1_000_000_000i64;
        let err = rules
            .check("{a=\"b\"}", &e(now - week - 1, "x"))
            .unwrap_err();
        assert_eq!(
            err.message,
            "entry for stream '{a=\"b\"}' has timestamp too old: 2023-11-07T22:13:19Z, oldest acceptable timestamp is: 2023-11-07T22:13:20Z"
        );
        let err = rules
            .check("{a=\"b\"}", &e(now + 601_000_000_000, "x"))
            .unwrap_err();
        assert_eq!(
            err.message,
            "entry for stream '{a=\"b\"}' has timestamp too new: 2023-11-14T22:23:21Z"
        );
        let err = rules.check("{a=\"b\"}", &e(now, "toolong")).unwrap_err();
        assert_eq!(
            err.message,
            "Max entry size '5' bytes exceeded for stream '{a=\"b\"}' while adding an entry with length '7' bytes"
        );
        let lax = EntryRules::new(
            &Limits {
                reject_old_samples: false,
                max_line_size: 0,
                ..Limits::default()
            },
            now,
        );
        assert!(lax.check("{}", &e(0, &"x".repeat(1 << 20))).is_ok());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let mut s = "héllo".to_string();
        assert!(truncate_line(&mut s, 2));
        assert_eq!(s, "h");
        let mut s = "hello".to_string();
        assert!(!truncate_line(&mut s, 0));
        assert!(truncate_line(&mut s, 3));
        assert_eq!(s, "hel");
    }
}
