//! Line filters: `|=`, `!=`, `|~`, `!~`, `|>`, `!>`, their `or` alternatives and
//! `ip("...")`, with Loki's semantics:
//!
//! - `|= ""` keeps every line and `!= ""` keeps none (Loki negates an always-true filter);
//! - a regex Loki can reduce to substrings (`foo|bar`, `.*foo.*`, `(?i)foo`) is run as
//!   substring search, and a case-insensitive one with Loki's own matcher (whose quirks
//!   decide the answer); a regex matching a few fixed strings (`GET /api/v[12]`) is run
//!   as substring search for them; every other regex runs on the `regex` crate after
//!   translation from Go syntax;
//! - an `or` chain drops always-true legs when another leg exists (as Loki's `or` does).
//!
//! [`LineFilter::eval_batch`] runs a filter over a whole Arrow string column: a
//! case-sensitive substring filter searches the contiguous value buffer once with
//! memchr's `memmem` and maps hits to rows through the offsets, instead of searching
//! row by row.

use logql::ast::{LineFilter as AstLineFilter, LineFilterOp, LineFilterValue};
use memchr::memmem;
use regex::Regex;
use storage::arrow::array::{Array, ByteView, MAX_INLINE_VIEW_LEN, StringViewArray};

use super::go_regex::{self, Simple};
use super::ip::IpMatcher;
use super::pattern::Pattern;

/// One positive matcher of a line filter.
#[derive(Debug)]
enum Matcher {
    /// Matches every line.
    True,
    /// Matches non-empty lines.
    Exists,
    /// Case-sensitive substring.
    Contains(Box<memmem::Finder<'static>>),
    /// Loki's case-insensitive substring matcher over a lower-cased needle.
    ContainsLower(String),
    /// A regex (not anchored).
    Regex(Regex),
    /// `ip("...")`.
    Ip(IpMatcher),
    /// `|>` pattern.
    Pattern(Pattern),
    /// Any of these.
    Or(Vec<Matcher>),
}

impl Matcher {
    fn is_match(&self, line: &str) -> bool {
        match self {
            Matcher::True => true,
            Matcher::Exists => !line.is_empty(),
            Matcher::Contains(f) => f.find(line.as_bytes()).is_some(),
            Matcher::ContainsLower(needle) => contains_lower(line, needle),
            Matcher::Regex(re) => re.is_match(line),
            Matcher::Ip(m) => m.matches_in(line.as_bytes()),
            Matcher::Pattern(p) => p.test(line.as_bytes()),
            Matcher::Or(ms) => ms.iter().any(|m| m.is_match(line)),
        }
    }

    /// See [`LineFilter::required_literals`].
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        match self {
            Matcher::Contains(f) => Some(vec![f.needle().to_vec()]),
            Matcher::Regex(re) => regex_prefixes(re.as_str()),
            Matcher::Or(legs) => {
                let mut out = Vec::new();
                for leg in legs {
                    out.extend(leg.required_literals()?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// Loki's `or`: an always-true leg disappears when another leg exists.
    fn or(mut legs: Vec<Matcher>) -> Matcher {
        if legs.len() > 1 {
            legs.retain(|m| !matches!(m, Matcher::True));
        }
        match legs.len() {
            0 => Matcher::True,
            1 => legs.pop().unwrap_or(Matcher::True),
            _ => Matcher::Or(legs),
        }
    }
}

/// A compiled line filter stage.
#[derive(Debug)]
pub(crate) struct LineFilter {
    matcher: Matcher,
    negated: bool,
    /// For an `or` of substrings that all start alike (`GET /api/v1`, `GET /api/v2`): a
    /// finder of that shared prefix, so a column is searched once for all of them.
    shared_prefix: Option<Box<memmem::Finder<'static>>>,
}

impl LineFilter {
    /// Compiles one `|= "a" or "b"`-style filter; errors carry Loki's text.
    pub(crate) fn new(f: &AstLineFilter) -> Result<Self, String> {
        let mut legs = Vec::with_capacity(f.values.len());
        for v in &f.values {
            legs.push(match v {
                LineFilterValue::Ip(p) => Matcher::Ip(IpMatcher::parse(p)?),
                LineFilterValue::Str(s) => match f.op {
                    LineFilterOp::Contains | LineFilterOp::NotContains => contains(s, false),
                    LineFilterOp::Match | LineFilterOp::NotMatch => regex_matcher(s)?,
                    LineFilterOp::Pattern | LineFilterOp::NotPattern => {
                        Matcher::Pattern(Pattern::parse(s, false)?)
                    }
                },
            });
        }
        let matcher = Matcher::or(legs);
        let shared_prefix = match &matcher {
            Matcher::Or(legs) => {
                let needles = contains_needles(legs).unwrap_or_default();
                let shared = shared_prefix(&needles);
                (shared.len() >= MIN_SHARED_PREFIX)
                    .then(|| Box::new(memmem::Finder::new(shared).into_owned()))
            }
            _ => None,
        };
        Ok(Self {
            matcher,
            negated: f.op.is_negative(),
            shared_prefix,
        })
    }

    /// True when `line` passes.
    pub(crate) fn keep(&self, line: &str) -> bool {
        self.matcher.is_match(line) != self.negated
    }

    /// True when the filter keeps every line (e.g. `|= ""`), so it can be skipped.
    pub(crate) fn is_noop(&self) -> bool {
        matches!(self.matcher, Matcher::True) && !self.negated
    }

    /// Literals one of which every line this filter keeps must contain (`None` when the
    /// filter promises none: negations, case-insensitive and pattern filters, regexes
    /// without a finite set of literal prefixes). Storage skips pages holding none.
    pub(crate) fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        if self.negated {
            return None;
        }
        self.matcher.required_literals()
    }

    /// Narrows `keep` (one flag per row of `lines`) to the rows this filter passes.
    pub(crate) fn eval_batch(&self, lines: &StringViewArray, keep: &mut [bool]) {
        match &self.matcher {
            Matcher::True => {
                if self.negated {
                    keep.iter_mut().for_each(|k| *k = false);
                }
            }
            Matcher::Contains(finder) => {
                let mut hits = vec![false; lines.len()];
                buffer_contains(finder, &[finder.needle()], lines, &mut hits);
                for (k, h) in keep.iter_mut().zip(hits) {
                    *k = *k && (h != self.negated);
                }
            }
            Matcher::Or(legs) if let Some(needles) = contains_needles(legs) => {
                let mut hits = vec![false; lines.len()];
                match &self.shared_prefix {
                    // one pass for the prefix every needle starts with (`GET /api/v`)
                    Some(shared) => buffer_contains(shared, &needles, lines, &mut hits),
                    None => {
                        for leg in legs {
                            if let Matcher::Contains(f) = leg {
                                buffer_contains(f, &[f.needle()], lines, &mut hits);
                            }
                        }
                    }
                }
                for (k, h) in keep.iter_mut().zip(hits) {
                    *k = *k && (h != self.negated);
                }
            }
            _ => {
                for (i, k) in keep.iter_mut().enumerate() {
                    if *k {
                        let line = if lines.is_null(i) { "" } else { lines.value(i) };
                        *k = self.keep(line);
                    }
                }
            }
        }
    }
}

fn contains(s: &str, case_insensitive: bool) -> Matcher {
    if s.is_empty() {
        return Matcher::True;
    }
    if case_insensitive {
        return Matcher::ContainsLower(go_lower(s));
    }
    Matcher::Contains(Box::new(memmem::Finder::new(s.as_bytes()).into_owned()))
}

fn regex_matcher(src: &str) -> Result<Matcher, String> {
    match go_regex::simple_literals(src) {
        Some(Simple::True) => Ok(Matcher::True),
        Some(Simple::Exists) => Ok(Matcher::Exists),
        Some(Simple::Literals(lits)) => Ok(Matcher::or(
            lits.iter().map(|(l, ci, _)| contains(l, *ci)).collect(),
        )),
        None => {
            let re = go_regex::compile(src).map_err(|e| format!("error parsing regexp: {e}"))?;
            Ok(match go_regex::exact_literals(src) {
                Some(lits) => Matcher::or(lits.iter().map(|l| contains(l, false)).collect()),
                None => Matcher::Regex(re),
            })
        }
    }
}

/// The literal prefixes of a (translated) regex: every match starts with one of them.
/// `None` when the set is not finite.
fn regex_prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let literals = seq.literals()?;
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Shortest prefix shared by `or` legs' needles worth one search pass for all of them.
const MIN_SHARED_PREFIX: usize = 3;

/// The needles of `legs` when every leg is a case-sensitive substring.
fn contains_needles(legs: &[Matcher]) -> Option<Vec<&[u8]>> {
    legs.iter()
        .map(|l| match l {
            Matcher::Contains(f) => Some(f.needle()),
            _ => None,
        })
        .collect()
}

/// The longest prefix every one of `needles` starts with.
fn shared_prefix<'a>(needles: &[&'a [u8]]) -> &'a [u8] {
    let Some((first, rest)) = needles.split_first() else {
        return &[];
    };
    let len = rest.iter().fold(first.len(), |len, n| {
        first[..len]
            .iter()
            .zip(n.iter())
            .take_while(|(a, b)| a == b)
            .count()
    });
    &first[..len]
}

/// Marks rows of `lines` whose value contains one of `needles`, searching each run of
/// rows whose text lies back to back in one data buffer (a decoded page: every row of a
/// segment read) at once for a prefix they all start with (`finder`'s needle) and
/// mapping each hit to its row by the rows' lengths. Lines short enough to sit inside
/// their views are searched one by one.
fn buffer_contains(
    finder: &memmem::Finder<'_>,
    needles: &[&[u8]],
    lines: &StringViewArray,
    hits: &mut [bool],
) {
    let views = lines.views();
    let buffers = lines.data_buffers();
    let n = views.len().min(hits.len());
    let mut r = 0;
    while r < n {
        let view = ByteView::from(views[r]);
        let Some(buffer) = buffers
            .get(view.buffer_index as usize)
            .filter(|_| view.length > MAX_INLINE_VIEW_LEN)
        else {
            // inline (or null: an all-zero view, the empty string)
            let line = lines.value(r).as_bytes();
            if finder.find(line).is_some()
                && needles.iter().any(|nd| memmem::find(line, nd).is_some())
            {
                hits[r] = true;
            }
            r += 1;
            continue;
        };
        let start = view.offset as usize;
        let mut end = start + view.length as usize;
        let mut s = r + 1;
        while s < n {
            let next = ByteView::from(views[s]);
            if next.length <= MAX_INLINE_VIEW_LEN
                || next.buffer_index != view.buffer_index
                || next.offset as usize != end
            {
                break;
            }
            end += next.length as usize;
            s += 1;
        }
        if let Some(hay) = buffer.as_slice().get(start..end) {
            let lengths = views[r..s]
                .iter()
                .map(|&v| ByteView::from(v).length as usize);
            search_run(finder, needles, hay, lengths, &mut hits[r..s]);
        }
        r = s;
    }
}

/// [`buffer_contains`] over one run: `hay` is the rows' text back to back, `lengths`
/// their lengths in order, `hits` their flags.
fn search_run(
    finder: &memmem::Finder<'_>,
    needles: &[&[u8]],
    hay: &[u8],
    mut lengths: impl Iterator<Item = usize>,
    hits: &mut [bool],
) {
    let mut pos = 0usize;
    let mut row = 0usize;
    let mut row_end = lengths.next().unwrap_or(0);
    while pos < hay.len() {
        let Some(i) = finder.find(&hay[pos..]) else {
            break;
        };
        let at = pos + i;
        while row_end <= at {
            let Some(len) = lengths.next() else {
                return;
            };
            row += 1;
            row_end += len;
        }
        if needles
            .iter()
            .any(|n| at + n.len() <= row_end && hay[at..].starts_with(n))
        {
            if let Some(h) = hits.get_mut(row) {
                *h = true;
            }
            // on to the next row
            pos = row_end;
        } else {
            // no needle here, or it straddles two rows: look again just after
            pos = at + 1;
        }
    }
}

/// Go's `bytes.ToLower` (simple per-rune lower-casing).
pub(crate) fn go_lower(s: &str) -> String {
    s.chars().map(lower_rune).collect()
}

/// Go's `unicode.ToLower` for one rune: the single-rune mapping.
fn lower_rune(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        (Some(x), Some(_)) => x,
        _ => c,
    }
}

/// Loki's `containsLower`: a forward scan that compares ASCII bytes by `c` or `c+32`
/// and other runes by lower-casing, restarting the needle (without backtracking) on a
/// mismatch. Its answers differ from a true case-insensitive search in corner cases,
/// and those are the answers Loki gives.
pub(crate) fn contains_lower(line: &str, needle: &str) -> bool {
    let sub = needle.as_bytes();
    let lb = line.as_bytes();
    if sub.is_empty() {
        return true;
    }
    if sub.len() > lb.len() {
        return false;
    }
    let mut j = 0;
    let mut i = 0;
    while i < lb.len() {
        let c = lb[i];
        if c < 0x80 {
            if c == sub[j] || c.wrapping_add(b'a' - b'A') == sub[j] {
                j += 1;
                if j == sub.len() {
                    return true;
                }
            } else {
                j = 0;
            }
            i += 1;
            continue;
        }
        let lr = line[i..].chars().next().unwrap_or('\u{fffd}');
        let lw = lr.len_utf8();
        let mr = needle
            .get(j..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{fffd}');
        if lr == mr || mr == lower_rune(lr) {
            j += mr.len_utf8();
            if j == sub.len() {
                return true;
            }
        } else {
            j = 0;
        }
        i += lw;
    }
    false
}

#[cfg(test)]
mod tests {
    use storage::arrow::array::StringViewBuilder;

    use super::*;

    fn lf(op: LineFilterOp, vals: &[&str]) -> LineFilter {
        LineFilter::new(&AstLineFilter {
            op,
            values: vals
                .iter()
                .map(|v| LineFilterValue::Str(v.to_string()))
                .collect(),
        })
        .unwrap()
    }

    fn batch(f: &LineFilter, lines: &[&str]) -> Vec<bool> {
        let arr = StringViewArray::from(lines.to_vec());
        let mut keep = vec![true; lines.len()];
        f.eval_batch(&arr, &mut keep);
        // the batch path must agree with the per-line path
        let single: Vec<bool> = lines.iter().map(|l| f.keep(l)).collect();
        assert_eq!(keep, single, "batch and per-line disagree");
        keep
    }

    #[test]
    fn required_literals_are_what_every_kept_line_holds() {
        let lits = |f: LineFilter| {
            f.required_literals().map(|ls| {
                ls.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            lits(lf(LineFilterOp::Contains, &["needle"])),
            s(&["needle"])
        );
        assert_eq!(
            lits(lf(LineFilterOp::Contains, &["a", "bcd"])),
            s(&["a", "bcd"])
        );
        assert_eq!(
            lits(lf(LineFilterOp::Match, &["GET /api/v[12]"])),
            s(&["GET /api/v1", "GET /api/v2"])
        );
        // Loki runs `foo|bar` as substrings
        assert_eq!(
            lits(lf(LineFilterOp::Match, &["foo|bar"])),
            s(&["foo", "bar"])
        );
        // a regex whose matches start anywhere promises nothing usable: the literal
        // set of `.*x` is not finite
        assert_eq!(lits(lf(LineFilterOp::Match, &["[a-z]+x"])), None);
        assert_eq!(lits(lf(LineFilterOp::NotContains, &["needle"])), None);
        assert_eq!(lits(lf(LineFilterOp::Match, &["(?i)needle"])), None);
        assert_eq!(lits(lf(LineFilterOp::Pattern, &["<_> foo"])), None);
    }

    #[test]
    fn contains_and_not_contains_over_buffer() {
        let lines = ["GET /a", "POST /login", "", "xxPOS", "Tx /POST"];
        let f = lf(LineFilterOp::Contains, &["POST"]);
        assert_eq!(batch(&f, &lines), [false, true, false, false, true]);
        let f = lf(LineFilterOp::NotContains, &["POST"]);
        assert_eq!(batch(&f, &lines), [true, false, true, true, false]);
        // a needle spanning two rows is not a hit
        let f = lf(LineFilterOp::Contains, &["SPO"]);
        assert_eq!(batch(&f, &["xPO", "Sx", "aSPOb"]), [false, false, true]);
    }

    #[test]
    fn contains_over_runs_of_lines_in_data_buffers() {
        // lines past 12 bytes lie back to back in blocks of 64 bytes: runs broken by a
        // block change and by short lines, which the views hold themselves
        let lines = [
            "first line ends in POS",
            "T second line, no hit",
            "third line has POST in it",
            "POST",
            "a line in the second block POST",
            "the needle spans rows: PO",
            "ST starts this one",
            "",
            "last line without it",
        ];
        let mut b = StringViewBuilder::new().with_fixed_block_size(64);
        for l in lines {
            b.append_value(l);
        }
        let arr = b.finish();
        assert!(arr.data_buffers().len() > 1);
        let kept = |f: LineFilter| {
            let mut keep = vec![true; lines.len()];
            f.eval_batch(&arr, &mut keep);
            keep
        };
        assert_eq!(
            kept(lf(LineFilterOp::Contains, &["POST"])),
            [false, false, true, true, true, false, false, false, false]
        );
        // `GET /api/v[12]`-like: one pass for the shared prefix, then each needle
        assert_eq!(
            kept(lf(LineFilterOp::Match, &["line (ends|has)"])),
            [true, false, true, false, false, false, false, false, false]
        );
    }

    #[test]
    fn or_alternatives_and_empty_filters() {
        let f = lf(LineFilterOp::Contains, &["a", "b"]);
        assert_eq!(batch(&f, &["xa", "xb", "c"]), [true, true, false]);
        let f = lf(LineFilterOp::NotContains, &["a", "b"]);
        assert_eq!(batch(&f, &["xa", "xb", "c"]), [false, false, true]);
        let f = lf(LineFilterOp::Contains, &[""]);
        assert!(f.is_noop());
        assert_eq!(batch(&f, &["", "x"]), [true, true]);
        let f = lf(LineFilterOp::NotContains, &[""]);
        assert_eq!(batch(&f, &["", "x"]), [false, false]);
        // Loki's `or` drops the always-true leg
        let f = lf(LineFilterOp::Contains, &["", "b"]);
        assert_eq!(batch(&f, &["a", "b"]), [false, true]);
    }

    #[test]
    fn regex_filters() {
        let f = lf(LineFilterOp::Match, &[r"sshd\[[0-9]+\]: Failed"]);
        assert_eq!(
            batch(&f, &["sshd[12]: Failed password", "sshd[x]: Failed"]),
            [true, false]
        );
        let f = lf(LineFilterOp::NotMatch, &["err=(timeout|EOF)"]);
        assert_eq!(batch(&f, &["err=EOF", "err=x"]), [false, true]);
        let f = lf(LineFilterOp::Match, &["(?i)failed PASSWORD"]);
        assert_eq!(
            batch(&f, &["Failed password for", "failed pass"]),
            [true, false]
        );
        let f = lf(LineFilterOp::Match, &["(?i)GRÜSSE|grüße"]);
        assert_eq!(
            batch(&f, &["msg=\"Grüße aus Köln\"", "GRÜSSE", "gruesse"]),
            [true, true, false]
        );
        let f = lf(
            LineFilterOp::Match,
            &[r#"(?i)VALIDATION failed: field \\"email\\""#],
        );
        assert_eq!(
            batch(&f, &[r#"{"msg":"validation failed: field \"email\" x"}"#]),
            [true]
        );
        assert!(
            LineFilter::new(&AstLineFilter {
                op: LineFilterOp::Match,
                values: vec![LineFilterValue::Str("a(".into())],
            })
            .is_err()
        );
    }

    #[test]
    fn loki_contains_lower_quirks() {
        // no backtracking after a partial match: Loki answers false here
        assert!(!contains_lower("aab", "ab"));
        assert!(contains_lower("xAb", "ab"));
        assert!(contains_lower("STRASSE", "strasse"));
        assert!(contains_lower("GRÜSSE", "grüsse"));
    }

    #[test]
    fn ip_and_pattern_filters() {
        let f = LineFilter::new(&AstLineFilter {
            op: LineFilterOp::Contains,
            values: vec![LineFilterValue::Ip("10.0.0.0/8".into())],
        })
        .unwrap();
        assert_eq!(
            batch(&f, &["src=10.1.2.3", "src=192.168.0.1"]),
            [true, false]
        );
        let f = lf(LineFilterOp::Pattern, &["<_> POST <_>"]);
        assert_eq!(batch(&f, &["1 POST /x", "POST /x"]), [true, false]);
        let f = lf(LineFilterOp::NotPattern, &["<_> POST <_>"]);
        assert_eq!(batch(&f, &["1 POST /x", "POST /x"]), [false, true]);
    }
}
