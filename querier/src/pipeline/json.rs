//! `| json` and `| json name="path", ...`.
//!
//! Without parameters every string, number and boolean member becomes a label, nested
//! objects flattened with `_` (`client_ip`), arrays and nulls skipped, names sanitised
//! and suffixed `_extracted` when they clash with a stream label. With parameters only
//! the listed paths are read, each value raw (strings unquoted but still escaped,
//! objects and arrays as JSON text), and every parameter missing from the line is set
//! to `""`. Both walk the line with jsonparser's semantics ([`super::json_scan`]),
//! including the quirks of its key search (`tags[0]` on an array of strings fails with
//! `Unknown value type`, as in Loki 2.9), and set `__error__="JSONParserErr"` with
//! jsonparser's message in `__error_details__` when the line is not what they expect.

use std::collections::BTreeSet;

use super::hints::{KeyMatch, ParserHints};
use super::json_hinted::{self, HintedWalk};
use super::json_scan::{self, MALFORMED_JSON, ValueType};
use super::label_filter::EarlyFilter;
use super::labels::{DUPLICATE_SUFFIX, ERR_JSON, LabelsBuilder, sanitize_label_key_bytes};
use super::utf8;

/// Stops the member walk once the hints' labels are all extracted (not an error).
const FOUND_ALL_LABELS: &str = "found all required labels";

/// Stops the member walk because an early filter rejected a label (not an error).
const LINE_DROPPED: &str = "line dropped by a label filter";

/// The `| json` stage without parameters.
#[derive(Debug, Default)]
pub(crate) struct JsonParser {
    /// Label filters applied as soon as their label is set.
    early: Vec<EarlyFilter>,
}

impl JsonParser {
    /// The stage.
    pub(crate) fn new() -> Self {
        Self { early: Vec::new() }
    }

    /// Makes the stage drop a line as soon as one of `early` rejects a label it set.
    pub(crate) fn set_early(&mut self, early: Vec<EarlyFilter>) {
        self.early = early;
    }

    /// Extracts every scalar member of `line` into labels (only the hinted ones, and
    /// none at all when the hints need none, stopping once all were found). False when
    /// an early filter dropped the line.
    pub(crate) fn process(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        prefix: &mut String,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) -> bool {
        if hints.is_some_and(|h| h.skip_parser(lbs)) {
            return true;
        }
        if let Some(h) = hints {
            match json_hinted::walk(line.as_bytes(), h, &self.early, lbs, name) {
                HintedWalk::Kept => return true,
                HintedWalk::Dropped => return false,
                HintedWalk::Fallback => {}
            }
        }
        self.walk_general(line, lbs, prefix, name, hints)
    }

    /// [`Self::process`] by the general walk: any line, nested objects, errors.
    pub(crate) fn walk_general(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        prefix: &mut String,
        name: &mut String,
        hints: Option<&ParserHints>,
    ) -> bool {
        prefix.clear();
        let ctx = MemberCtx {
            hints,
            early: &self.early,
        };
        let res = json_scan::object_each(line.as_bytes(), |k, v, t| {
            parse_member(k, v, t, prefix, name, lbs, ctx)
        });
        if res == Err(LINE_DROPPED) {
            return false;
        }
        if let Err(e) = res
            && e != FOUND_ALL_LABELS
        {
            lbs.set_err(ERR_JSON);
            lbs.set_err_details(e);
        }
        true
    }
}

/// What every member of one line is parsed with.
#[derive(Clone, Copy)]
struct MemberCtx<'a> {
    hints: Option<&'a ParserHints>,
    early: &'a [EarlyFilter],
}

/// Appends `key` sanitised to `to` (Loki's `appendSanitized`).
fn append_sanitized(to: &mut String, key: &[u8]) {
    let key = String::from_utf8_lossy(key);
    let key = key.trim();
    if key.is_empty() {
        return;
    }
    if to.is_empty() && key.as_bytes()[0].is_ascii_digit() {
        to.push('_');
    }
    for c in key.chars() {
        to.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        });
    }
}

fn parse_member(
    key: &[u8],
    value: &[u8],
    ty: ValueType,
    prefix: &mut String,
    name: &mut String,
    lbs: &mut LabelsBuilder,
    ctx: MemberCtx<'_>,
) -> Result<(), &'static str> {
    let hints = ctx.hints;
    match ty {
        ValueType::String | ValueType::Number | ValueType::Boolean => {
            let key_match = match hints {
                Some(h) if prefix.is_empty() => h.match_key(key),
                _ => KeyMatch::Sanitize,
            };
            let Some(in_stream) = key_match.resolve(hints, lbs, name, |name| {
                if prefix.is_empty() {
                    sanitize_label_key_bytes(key, true, name);
                } else {
                    name.clear();
                    name.push_str(prefix);
                    name.push('_');
                    append_sanitized(name, key);
                }
            }) else {
                return Ok(());
            };
            if in_stream {
                name.push_str(DUPLICATE_SUFFIX);
            }
            if !lbs.should_extract(name) {
                return Ok(());
            }
            let v = match ty {
                ValueType::String => json_scan::unescape_value(value),
                _ => utf8::lossy(value),
            };
            lbs.set(name, &v);
            if EarlyFilter::rejects(ctx.early, name, &v) {
                return Err(LINE_DROPPED);
            }
            if hints.is_some_and(|h| h.all_extracted(lbs)) {
                return Err(FOUND_ALL_LABELS);
            }
            Ok(())
        }
        ValueType::Object => {
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push('_');
            }
            append_sanitized(prefix, key);
            if hints.is_some_and(|h| !h.should_extract_prefix(prefix)) {
                prefix.truncate(len);
                return Ok(());
            }
            let mut inner = String::new();
            let res = json_scan::object_each(value, |k, v, t| {
                parse_member(k, v, t, prefix, &mut inner, lbs, ctx)
            });
            prefix.truncate(len);
            res
        }
        ValueType::Array | ValueType::Null => Ok(()),
    }
}

/// What `EachKey` reports for one path: the raw value and its type, or an error.
type KeyResult<'d> = Result<(&'d [u8], ValueType), &'static str>;

/// The `| json a="x.y", b="z[0]"` stage.
#[derive(Debug)]
pub(crate) struct JsonExprParser {
    ids: Vec<String>,
    paths: Vec<Vec<String>>,
    max_path: usize,
}

impl JsonExprParser {
    /// Compiles the parameters; errors carry Loki's text.
    pub(crate) fn new(params: &[(String, String)]) -> Result<Self, String> {
        let mut ids = Vec::with_capacity(params.len());
        let mut paths = Vec::with_capacity(params.len());
        for (id, expr) in params {
            let path = parse_path(expr)
                .ok_or_else(|| format!("cannot parse expression [{expr}]: syntax error"))?;
            if !logql::labels::is_valid_label_name(id) {
                return Err(format!("invalid extracted label name '{id}'"));
            }
            ids.push(id.clone());
            paths.push(path);
        }
        let max_path = paths.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Self {
            ids,
            paths,
            max_path,
        })
    }

    /// Extracts the parameters from `line`.
    pub(crate) fn process(&self, line: &str, lbs: &mut LabelsBuilder) {
        let data = line.as_bytes();
        let Some(&first) = data.first() else {
            return;
        };
        if !matches!(first, b'"' | b'{' | b'[') {
            lbs.set_err(ERR_JSON);
            return;
        }
        let mut matches = 0usize;
        let mut name = String::new();
        self.each_key(data, &mut |idx, res| match res {
            Err(e) => {
                lbs.set_err(ERR_JSON);
                lbs.set_err_details(e);
            }
            Ok((value, ty)) => {
                let Some(id) = self.ids.get(idx) else { return };
                name.clear();
                name.push_str(id);
                if lbs.base_has(id) {
                    name.push_str(DUPLICATE_SUFFIX);
                }
                if ty == ValueType::Null {
                    lbs.set(&name, "");
                } else {
                    lbs.set(&name, &String::from_utf8_lossy(value));
                }
                matches += 1;
            }
        });
        if matches < self.ids.len() {
            for id in &self.ids {
                if lbs.get(id).is_none() {
                    lbs.set(id, "");
                }
            }
        }
    }

    /// jsonparser's `EachKey`: one pass over `data` reporting each path's first value.
    fn each_key<'d>(&self, data: &'d [u8], cb: &mut dyn FnMut(usize, KeyResult<'d>)) {
        let paths = &self.paths;
        let ln = data.len() as isize;
        let mut path_flags = vec![false; paths.len()];
        let mut level: isize = 0;
        let mut matched_count = 0usize;
        let mut i: isize = 0;
        let mut paths_buf: Vec<Vec<u8>> = vec![Vec::new(); self.max_path];
        let at =
            |i: isize| -> Option<u8> { usize::try_from(i).ok().and_then(|i| data.get(i).copied()) };
        while i < ln {
            let Some(c) = at(i) else { return };
            match c {
                b'"' => {
                    i += 1;
                    let key_begin = i as usize;
                    let Some((str_end, escaped)) = json_scan::string_end(&data[key_begin..]) else {
                        return;
                    };
                    i += str_end as isize;
                    let key_end = (i - 1) as usize;
                    let Some(vo) = json_scan::next_token(&data[i as usize..]) else {
                        return;
                    };
                    i += vo as isize;
                    if at(i) == Some(b':') {
                        let mut matched = false;
                        let raw_key = &data[key_begin..key_end];
                        let key = if escaped {
                            match json_scan::unescape(raw_key) {
                                Some(k) => k.into_owned(),
                                None => return,
                            }
                        } else {
                            raw_key.to_vec()
                        };
                        if self.max_path as isize >= level {
                            if level < 1 {
                                cb(usize::MAX, Err(MALFORMED_JSON));
                                return;
                            }
                            let lvl = level as usize;
                            paths_buf[lvl - 1] = key.clone();
                            for (pi, p) in paths.iter().enumerate() {
                                if p.len() != lvl
                                    || path_flags[pi]
                                    || p[lvl - 1].as_bytes() != key.as_slice()
                                    || !same_tree(p, &paths_buf[..lvl])
                                {
                                    continue;
                                }
                                matched = true;
                                matched_count += 1;
                                path_flags[pi] = true;
                                let rest = &data[(i + 1).min(ln) as usize..];
                                cb(pi, json_scan::get(rest).map(|(v, t, _)| (v, t)));
                                if matched_count == paths.len() {
                                    break;
                                }
                            }
                            if matched_count == paths.len() {
                                return;
                            }
                        }
                        if !matched {
                            let rest = &data[(i + 1).min(ln) as usize..];
                            let to = json_scan::next_token(rest).map_or(-1, |t| t as isize);
                            i += to;
                            if at(i) == Some(b'{') {
                                let skip = json_scan::block_end(&data[i as usize..], b'{', b'}')
                                    .map_or(-1, |s| s as isize);
                                i += skip + 1;
                            }
                        }
                        if i < ln && matches!(at(i), Some(b'{' | b'}' | b'[' | b'"')) {
                            i -= 1;
                        }
                    } else {
                        i -= 1;
                    }
                }
                b'{' => level += 1,
                b'}' | b']' => level -= 1,
                b'[' => {
                    if level < 0 {
                        cb(usize::MAX, Err(MALFORMED_JSON));
                        return;
                    }
                    let lvl = level as usize;
                    let mut wanted: BTreeSet<usize> = BTreeSet::new();
                    let mut p_idx = vec![false; paths.len()];
                    for (pi, p) in paths.iter().enumerate() {
                        if p.len() < lvl + 1
                            || path_flags[pi]
                            || !p[lvl].starts_with('[')
                            || lvl > paths_buf.len()
                            || !same_tree(p, &paths_buf[..lvl])
                        {
                            continue;
                        }
                        if p[lvl].len() >= 2 {
                            wanted.insert(array_index(&p[lvl]));
                            p_idx[pi] = true;
                        }
                    }
                    if wanted.is_empty() {
                        match json_scan::block_end(&data[i as usize..], b'[', b']') {
                            None => return,
                            Some(skip) => i += skip as isize - 1,
                        }
                    } else {
                        level += 1;
                        let lvl = level as usize;
                        let mut cur = 0usize;
                        let off = json_scan::array_each(&data[i as usize..], |value, _ty| {
                            if wanted.contains(&cur) {
                                for (pi, p) in paths.iter().enumerate() {
                                    if p_idx[pi] && array_index(&p[lvl - 1]) == cur {
                                        matched_count += 1;
                                        path_flags[pi] = true;
                                        if let Some(of) = search_keys(value, &p[lvl..]) {
                                            cb(
                                                pi,
                                                json_scan::get(&value[of..])
                                                    .map(|(v, t, _)| (v, t)),
                                            );
                                        }
                                    }
                                }
                            }
                            cur += 1;
                        });
                        if matched_count == paths.len() {
                            return;
                        }
                        i += off as isize - 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

fn same_tree(p1: &[String], p2: &[Vec<u8>]) -> bool {
    p1.iter().zip(p2).all(|(a, b)| a.as_bytes() == b.as_slice())
}

/// `"[12]"` -> 12 (Go's `Atoi` failing gives 0).
fn array_index(seg: &str) -> usize {
    seg.get(1..seg.len().saturating_sub(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The offset of the value at `keys` inside `value` (0 for no keys).
fn search_keys(value: &[u8], keys: &[String]) -> Option<usize> {
    let Some((k, rest)) = keys.split_first() else {
        return Some(0);
    };
    let start = json_scan::next_token(value)?;
    let mut found: Option<usize> = None;
    if k.starts_with('[') {
        let want = array_index(k);
        let mut cur = 0;
        let base = value.as_ptr() as usize;
        json_scan::array_each(&value[start..], |v, t| {
            if cur == want && found.is_none() {
                let mut off = v.as_ptr() as usize - base;
                if t == ValueType::String {
                    off -= 1;
                }
                found = Some(off);
            }
            cur += 1;
        });
    } else {
        let base = value.as_ptr() as usize;
        let _ = json_scan::object_each(value, |key, v, t| {
            if found.is_none() && key == k.as_bytes() {
                let mut off = v.as_ptr() as usize - base;
                if t == ValueType::String {
                    off -= 1;
                }
                found = Some(off);
            }
            Ok::<(), &'static str>(())
        });
    }
    let off = found?;
    let inner = search_keys(&value[off..], rest)?;
    Some(off + inner)
}

/// Parses Loki's JSON path expressions: `a.b`, `a[0]`, `["k"]`, `a["b"].c`.
fn parse_path(expr: &str) -> Option<Vec<String>> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut expect_field = true;
    while i < b.len() {
        match b[i] {
            b'.' => {
                if expect_field {
                    return None;
                }
                expect_field = true;
                i += 1;
            }
            b'[' => {
                if b.get(i + 1) == Some(&b'"') {
                    let (s, used) = logql::labels::unquote_prefix(&expr[i + 1..])?;
                    if b.get(i + 1 + used) != Some(&b']') {
                        return None;
                    }
                    out.push(s);
                    i += used + 2;
                } else {
                    let end = expr[i..].find(']')? + i;
                    let n: usize = expr[i + 1..end].trim().parse().ok()?;
                    out.push(format!("[{n}]"));
                    i = end + 1;
                }
                expect_field = false;
            }
            _ => {
                if !expect_field {
                    return None;
                }
                let end = expr[i..].find(['.', '[']).map_or(expr.len(), |e| e + i);
                out.push(expr[i..end].to_owned());
                i = end;
                expect_field = false;
            }
        }
    }
    (!out.is_empty() && !expect_field).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn stream() -> LabelSet {
        LabelSet::from_pairs([("app", "checkout"), ("host", "api-1")])
    }

    fn run(line: &str) -> String {
        let mut lbs = LabelsBuilder::new(stream());
        JsonParser::new().process(line, &mut lbs, &mut String::new(), &mut String::new(), None);
        lbs.to_label_set().to_string()
    }

    fn run_params(params: &[(&str, &str)], line: &str) -> String {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let p = JsonExprParser::new(&params).unwrap();
        let mut lbs = LabelsBuilder::new(stream());
        p.process(line, &mut lbs);
        lbs.to_label_set().to_string()
    }

    #[test]
    fn flattens_sanitises_and_suffixes() {
        assert_eq!(
            run(
                r#"{"level":"info","status":200,"ok":true,"client":{"ip":"10.0.0.1","geo":{"c":"de"}},"tags":["a"],"parent_id":null,"host":"x.internal","user-agent":"curl","1st":"y","msg":"a \"q\""}"#
            ),
            r#"{_1st="y", app="checkout", client_geo_c="de", client_ip="10.0.0.1", host="api-1", host_extracted="x.internal", level="info", msg="a \"q\"", ok="true", status="200", user_agent="curl"}"#
        );
    }

    #[test]
    fn errors_keep_labels_found_before() {
        assert_eq!(
            run("Nov 20 00:01 kernel: x"),
            r#"{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="checkout", host="api-1"}"#
        );
        assert_eq!(
            run(r#"{"a":"1","b":oops}"#),
            r#"{__error__="JSONParserErr", __error_details__="Unknown value type", a="1", app="checkout", host="api-1"}"#
        );
    }

    #[test]
    fn params_read_raw_values_and_default_to_empty() {
        assert_eq!(
            run_params(
                &[
                    ("lvl", "level"),
                    ("missing", "nope"),
                    ("client", "client"),
                    ("ip", "client.ip")
                ],
                r#"{"level":"info","client":{"ip":"10.0.1.114","region":"ap"},"msg":"a"}"#
            ),
            r#"{app="checkout", client="{\"ip\":\"10.0.1.114\",\"region\":\"ap\"}", host="api-1", ip="10.0.1.114", lvl="info", missing=""}"#
        );
        assert_eq!(
            run_params(&[("m", r#"["msg"]"#)], r#"{"msg":"a \"b\""}"#),
            r#"{app="checkout", host="api-1", m="a \\\"b\\\""}"#
        );
        assert_eq!(
            run_params(&[("n", "nums[1]")], r#"{"nums":[5, 7]}"#),
            r#"{app="checkout", host="api-1", n="7"}"#
        );
    }

    #[test]
    fn params_string_array_index_fails_like_loki() {
        assert_eq!(
            run_params(
                &[("first_tag", "tags[0]"), ("second_tag", "tags[1]")],
                r#"{"a":1,"tags":["mobile","internal"]}"#
            ),
            r#"{__error__="JSONParserErr", __error_details__="Unknown value type", app="checkout", first_tag="", host="api-1", second_tag=""}"#
        );
        assert_eq!(
            run_params(&[("t", "tags[0]")], "panic: x"),
            r#"{__error__="JSONParserErr", app="checkout", host="api-1"}"#
        );
    }

    #[test]
    fn parses_paths() {
        assert_eq!(parse_path("a.b").unwrap(), ["a", "b"]);
        assert_eq!(parse_path("a[0].c").unwrap(), ["a", "[0]", "c"]);
        assert_eq!(parse_path(r#"["k.x"]"#).unwrap(), ["k.x"]);
        assert_eq!(parse_path("user-agent").unwrap(), ["user-agent"]);
        assert!(parse_path("a..b").is_none());
    }
}
