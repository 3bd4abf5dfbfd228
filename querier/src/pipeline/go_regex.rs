//! Go RE2 regular expressions on Rust's `regex` crate.
//!
//! Loki compiles regexes with Go's `regexp`, whose Perl classes (`\d`, `\w`, `\s`, `\b`)
//! are ASCII-only and which reads a `{` that does not start a valid repetition as a
//! literal. [`translate`] rewrites a Go pattern into an equivalent Rust pattern, so that
//! `\d` does not match `٣` and `{not: json}` compiles. [`simple_literals`] recognises the
//! patterns Loki turns into substring filters (`foo`, `(?i)foo|bar`, `.*foo.*`): for
//! case-insensitive ones Loki's substring matcher, not the regex, decides the answer.

use regex::Regex;

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = "\\t\\n\\f\\r ";

/// Rewrites a Go regex into a Rust regex with the same meaning.
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            i += 2;
            if in_class {
                match e {
                    'd' => out.push_str(ASCII_DIGIT),
                    'w' => out.push_str(ASCII_WORD),
                    's' => out.push_str(ASCII_SPACE),
                    'D' => out.push_str(&format!("[^{ASCII_DIGIT}]")),
                    'W' => out.push_str(&format!("[^{ASCII_WORD}]")),
                    'S' => out.push_str(&format!("[^{ASCII_SPACE}]")),
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                continue;
            }
            match e {
                'd' => out.push_str(&format!("[{ASCII_DIGIT}]")),
                'w' => out.push_str(&format!("[{ASCII_WORD}]")),
                's' => out.push_str(&format!("[{ASCII_SPACE}]")),
                'D' => out.push_str(&format!("[^{ASCII_DIGIT}]")),
                'W' => out.push_str(&format!("[^{ASCII_WORD}]")),
                'S' => out.push_str(&format!("[^{ASCII_SPACE}]")),
                'b' => out.push_str("(?-u:\\b)"),
                'B' => out.push_str("(?-u:\\B)"),
                'Q' => {
                    // \Q...\E quotes everything up to \E (or the end)
                    let mut lit = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        lit.push(chars[i]);
                        i += 1;
                    }
                    out.push_str(&regex::escape(&lit));
                }
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class [:alpha:] is the same in both
                    let end = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                    match end {
                        Some(j) => {
                            out.extend(&chars[i..j + 2]);
                            i = j + 2;
                            continue;
                        }
                        None => out.push_str("\\["),
                    }
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if chars.get(i + 1) == Some(&'-') => out.push_str("\\-"),
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // a `]` right after `[` or `[^` is a literal
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' => match repeat_len(&chars[i..]) {
                Some(n) => {
                    out.extend(&chars[i..i + n]);
                    i += n;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Length of a valid Go repetition `{n}`, `{n,}`, `{n,m}` at the start of `s`.
fn repeat_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (s.get(i) == Some(&'}')).then_some(i + 1)
}

/// Compiles a Go regex.
pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&translate(pattern))
}

/// Most strings [`exact_literals`] expands a regex into: beyond a few, one regex pass
/// per line beats a substring pass per literal.
const MAX_EXACT_LITERALS: usize = 16;

/// The strings a Go regex matches, when they are a small finite set (`GET /api/v[12]`:
/// `GET /api/v1`, `GET /api/v2`). An unanchored search for such a regex succeeds
/// exactly on the lines containing one of them, which substring search over a whole
/// column finds far faster than the regex line by line. `None` for anything else
/// (anchors, word boundaries, repetitions, large classes, a possibly empty match).
pub(crate) fn exact_literals(pattern: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new()
        .parse(&translate(pattern))
        .ok()?;
    // the extractor reads anchors and word boundaries as empty strings
    if !hir.properties().look_set().is_empty() {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    if !seq.is_exact() {
        return None;
    }
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > MAX_EXACT_LITERALS {
        return None;
    }
    literals
        .iter()
        .map(|l| match l.as_bytes() {
            [] => None,
            bytes => String::from_utf8(bytes.to_vec()).ok(),
        })
        .collect()
}

/// What Loki turns a simple regex into.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Simple {
    /// Matches every line (`""`, `.*`).
    True,
    /// Matches non-empty lines (`.+`).
    Exists,
    /// Any of these literals (`foo|bar`), each with its case-insensitivity and whether
    /// it was written with a `.*` around it (Loki then tests a label value for the
    /// substring instead of equality).
    Literals(Vec<(String, bool, bool)>),
}

/// Recognises the regexes Loki's `simplify` replaces with substring filters.
pub(crate) fn simple_literals(pattern: &str) -> Option<Simple> {
    let (ci, body) = match pattern.strip_prefix("(?i)") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let body = strip_group(body);
    if body.is_empty() {
        return Some(Simple::True);
    }
    if body == ".+" {
        return Some(Simple::Exists);
    }
    let branches = split_grouped(body)?;
    let mut lits = Vec::with_capacity(branches.len());
    let mut any_true = false;
    for b in branches {
        let b = strip_group(b);
        let (b, pre) = match b.strip_prefix(".*") {
            Some(r) => (r, true),
            None => (b, false),
        };
        let (b, post) = if b.ends_with(".*") && !b.ends_with("\\.*") {
            (&b[..b.len() - 2], true)
        } else {
            (b, false)
        };
        if b.is_empty() {
            any_true = true;
            continue;
        }
        lits.push((literal(b)?, ci, pre || post));
    }
    if lits.is_empty() {
        return any_true.then_some(Simple::True);
    }
    // Loki's `or` drops an always-true leg when another leg exists.
    Some(Simple::Literals(lits))
}

/// Removes one pair of enclosing `( )`/`(?: )` when it spans the whole text.
fn strip_group(s: &str) -> &str {
    let inner = if let Some(r) = s.strip_prefix("(?:") {
        r
    } else if let Some(r) = s.strip_prefix('(') {
        if r.starts_with('?') {
            return s;
        }
        r
    } else {
        return s;
    };
    let Some(inner) = inner.strip_suffix(')') else {
        return s;
    };
    // the opening paren must close at the very end
    let mut depth = 0i32;
    let mut esc = false;
    for c in inner.chars() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return s;
                }
            }
            _ => {}
        }
    }
    if depth == 0 { strip_group(inner) } else { s }
}

/// Alternation whose branches may each be wrapped in a group: `(a)|(?:b)`.
fn split_grouped(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut esc = false;
    for (i, c) in s.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            '[' => return None,
            '|' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    // every branch must be a plain literal after removing one wrapping group
    for b in &out {
        let inner = strip_group(b);
        if inner.contains(['(', ')', '|']) {
            return None;
        }
    }
    Some(out)
}

/// The literal text of a regex made only of literal characters and escaped
/// punctuation; `None` when it contains any operator.
fn literal(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    e if e.is_ascii_punctuation() => out.push(e),
                    _ => return None,
                }
            }
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None;
            }
            c => out.push(c),
        }
        if matches!(chars.peek(), Some(&('*' | '+' | '?' | '{'))) {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_finite_regexes_expand_to_their_strings() {
        let sorted = |p: &str| {
            exact_literals(p).map(|mut l| {
                l.sort();
                l
            })
        };
        assert_eq!(
            sorted("GET /api/v[12]"),
            Some(vec!["GET /api/v1".to_string(), "GET /api/v2".to_string()])
        );
        assert_eq!(
            sorted(r"status=(4|5)\d\d"),
            None,
            "two hundred strings are more than a few"
        );
        assert_eq!(
            sorted(r"err(or)?"),
            Some(vec!["err".into(), "error".into()])
        );
        // case folding as Go's: `k` also matches the Kelvin sign
        let folded = sorted("(?i)ok").unwrap_or_default();
        assert_eq!(folded.len(), 6);
        assert!(folded.contains(&"o\u{212A}".to_string()));
        for inexact in [
            r"^GET", r"GET$", r"\bfoo\b", "fo+", "a.c", "x*", "", r"[a-z]bc",
        ] {
            assert_eq!(exact_literals(inexact), None, "{inexact}");
        }
    }

    #[test]
    fn perl_classes_are_ascii() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        let re = compile(r"^[\w\s]+$").unwrap();
        assert!(re.is_match("a_1 b"));
        assert!(!re.is_match("é"));
        let re = compile(r"\bfoo\b").unwrap();
        assert!(re.is_match("a foo b"));
        assert!(!re.is_match("afoob"));
    }

    #[test]
    fn literal_braces_compile_like_go() {
        let re = compile("{not: json}").unwrap();
        assert!(re.is_match("x {not: json} y"));
        let re = compile("a{2}").unwrap();
        assert!(re.is_match("aa"));
        assert!(!re.is_match("a"));
        let re = compile("[[a]").unwrap();
        assert!(re.is_match("["));
        let re = compile("[]a]").unwrap();
        assert!(re.is_match("]"));
        let re = compile(r"sshd\[[0-9]+\]: Failed").unwrap();
        assert!(re.is_match("sshd[12]: Failed"));
    }

    #[test]
    fn recognises_simple_literals() {
        assert_eq!(
            simple_literals("(?i)failed PASSWORD"),
            Some(Simple::Literals(vec![(
                "failed PASSWORD".into(),
                true,
                false
            )]))
        );
        assert_eq!(
            simple_literals("foo|(bar)|.*baz.*"),
            Some(Simple::Literals(vec![
                ("foo".into(), false, false),
                ("bar".into(), false, false),
                ("baz".into(), false, true)
            ]))
        );
        assert_eq!(
            simple_literals(r"a\.b"),
            Some(Simple::Literals(vec![("a.b".into(), false, false)]))
        );
        assert_eq!(simple_literals(""), Some(Simple::True));
        assert_eq!(simple_literals(".*"), Some(Simple::True));
        assert_eq!(simple_literals(".+"), Some(Simple::Exists));
        assert_eq!(simple_literals("err=(timeout|EOF)"), None);
        assert_eq!(simple_literals("fo+"), None);
        assert_eq!(simple_literals(r"\d"), None);
        assert_eq!(simple_literals("a[bc]"), None);
    }
}
