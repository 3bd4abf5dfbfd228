//! Go regular expressions on Rust's regex engine: Go's compile errors, worded as Go
//! words them (Loki shows them verbatim: `error parsing regexp: missing closing ): `^(?:()$``),
//! and [`translate`], which gives Go's ASCII meaning to the Perl classes (`\d`, `\w`,
//! `\s`, `\b`) that Rust's engine would otherwise read as Unicode classes.

use regex_syntax::ast::{Ast, ErrorKind, Visitor, parse::Parser, visit};

/// Compiles `pattern` as Rust's regex engine will; on failure returns Go's message for
/// the same mistake. Also rejects what Go rejects and Rust accepts (`a**`).
pub fn check(pattern: &str) -> Result<(), String> {
    if let Some(msg) = go_only_error(pattern) {
        return Err(msg);
    }
    match regex::Regex::new(&translate(pattern)) {
        Ok(_) => Ok(()),
        Err(_) => Err(go_message(pattern)),
    }
}

/// Rewrites a Go pattern so that Rust's engine matches what Go's would: `\d`, `\w`,
/// `\s` (and negations) become Go's ASCII classes, `\b`/`\B` ASCII word boundaries.
/// Everything else is left as written.
pub fn translate(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains('\\') {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // depth of `[...]` nesting (POSIX `[:alpha:]` inside a class counts as one more)
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep: Option<&str> = match (in_class, e) {
                    (false, 'd') => Some("[0-9]"),
                    (false, 'D') => Some("[^0-9]"),
                    (false, 'w') => Some("[0-9A-Za-z_]"),
                    (false, 'W') => Some("[^0-9A-Za-z_]"),
                    (false, 's') => Some("[\\t\\n\\f\\r ]"),
                    (false, 'S') => Some("[^\\t\\n\\f\\r ]"),
                    (false, 'b') => Some("(?-u:\\b)"),
                    (false, 'B') => Some("(?-u:\\B)"),
                    (true, 'd') => Some("0-9"),
                    (true, 'w') => Some("0-9A-Za-z_"),
                    (true, 's') => Some("\\t\\n\\f\\r "),
                    _ => None,
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                class_start = false;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // POSIX class: copy through its closing `:]`
                out.push('[');
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
                class_start = false;
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            c => {
                out.push(c);
                class_start = false;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Go's message for patterns Go rejects but Rust's regex accepts.
pub fn go_only_error(pattern: &str) -> Option<String> {
    nested_repetition(pattern)
        .map(|frag| format!("error parsing regexp: invalid nested repetition operator: `{frag}`"))
}

/// Go (like Perl) rejects a repetition applied directly to a repetition (`a**`, `a+{2}`);
/// returns the operators' text as Go reports it.
fn nested_repetition(pattern: &str) -> Option<String> {
    struct Finder<'p>(&'p str);
    impl Visitor for Finder<'_> {
        type Output = ();
        type Err = String;
        fn finish(self) -> Result<(), String> {
            Ok(())
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), String> {
            if let Ast::Repetition(outer) = ast
                && let Ast::Repetition(inner) = outer.ast.as_ref()
            {
                let frag = self
                    .0
                    .get(inner.op.span.start.offset..outer.op.span.end.offset)
                    .unwrap_or("");
                return Err(frag.to_string());
            }
            Ok(())
        }
    }
    let ast = Parser::new().parse(pattern).ok()?;
    visit(&ast, Finder(pattern)).err()
}

/// The repeated capture name when `pattern`'s only problem is a duplicate group name
/// (Go accepts those; Loki then rejects them with its own message).
pub fn duplicate_group_name(pattern: &str) -> Option<String> {
    match Parser::new().parse(pattern) {
        Err(e) if matches!(e.kind(), ErrorKind::GroupNameDuplicate { .. }) => {
            let sp = e.span();
            pattern
                .get(sp.start.offset..sp.end.offset)
                .map(str::to_string)
        }
        _ => None,
    }
}

/// Go's `error parsing regexp: CODE: \`FRAGMENT\`` text for an invalid pattern.
pub fn go_message(pattern: &str) -> String {
    let (code, frag) = match Parser::new().parse(pattern) {
        Ok(_) => ("invalid or unsupported Perl syntax", pattern.to_string()),
        Err(e) => {
            let span = e.span();
            let at = |s: usize, end: usize| pattern.get(s..end).unwrap_or("").to_string();
            match e.kind() {
                ErrorKind::GroupUnclosed => ("missing closing )", pattern.to_string()),
                ErrorKind::GroupUnopened => ("unexpected )", pattern.to_string()),
                ErrorKind::ClassUnclosed => {
                    ("missing closing ]", at(span.start.offset, pattern.len()))
                }
                ErrorKind::RepetitionMissing => {
                    let start = span.start.offset;
                    let prev_is_rep = start > 0
                        && matches!(pattern.as_bytes().get(start - 1), Some(b'*' | b'+' | b'?'));
                    if prev_is_rep {
                        (
                            "invalid nested repetition operator",
                            at(start - 1, span.end.offset.max(start + 1)),
                        )
                    } else {
                        (
                            "missing argument to repetition operator",
                            at(start, span.end.offset.max(start + 1)),
                        )
                    }
                }
                ErrorKind::RepetitionCountInvalid => (
                    "invalid repeat count",
                    at(span.start.offset, span.end.offset),
                ),
                ErrorKind::EscapeUnrecognized
                | ErrorKind::EscapeHexInvalid
                | ErrorKind::EscapeHexInvalidDigit
                | ErrorKind::EscapeHexEmpty => (
                    "invalid escape sequence",
                    at(span.start.offset, span.end.offset),
                ),
                ErrorKind::EscapeUnexpectedEof => {
                    ("trailing backslash at end of expression", String::new())
                }
                ErrorKind::ClassRangeInvalid => (
                    "invalid character class range",
                    at(span.start.offset, span.end.offset),
                ),
                ErrorKind::GroupNameInvalid
                | ErrorKind::GroupNameEmpty
                | ErrorKind::GroupNameUnexpectedEof
                | ErrorKind::GroupNameDuplicate { .. } => (
                    "invalid named capture",
                    at(span.start.offset, span.end.offset),
                ),
                _ => (
                    "invalid or unsupported Perl syntax",
                    at(span.start.offset, span.end.offset),
                ),
            }
        }
    };
    format!("error parsing regexp: {code}: `{frag}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii() {
        assert_eq!(translate(r"\d+x"), "[0-9]+x");
        assert_eq!(translate(r"[\w.-]+\b"), r"[0-9A-Za-z_.-]+(?-u:\b)");
        assert_eq!(translate(r"\\d"), r"\\d");
        assert_eq!(translate(r"[]\d]"), "[]0-9]");
        assert_eq!(translate(r"[[:alpha:]\s]"), "[[:alpha:]\\t\\n\\f\\r ]");
        let re = regex::Regex::new(&translate(r"^\w+$")).unwrap();
        assert!(re.is_match("abc_1"));
        assert!(!re.is_match("é"));
        let re = regex::Regex::new(&translate(r"^\d$")).unwrap();
        assert!(!re.is_match("٣"));
    }

    #[test]
    fn go_wording() {
        assert_eq!(
            go_message("^(?:()$"),
            "error parsing regexp: missing closing ): `^(?:()$`"
        );
        assert_eq!(go_message("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(
            go_message("x[a-"),
            "error parsing regexp: missing closing ]: `[a-`"
        );
        assert_eq!(
            go_message("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            go_message(r"\q"),
            r"error parsing regexp: invalid escape sequence: `\q`"
        );
        assert!(check("a+").is_ok());
        assert!(check("a+?").is_ok());
        assert_eq!(
            check("^(?:a**)$").unwrap_err(),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
    }
}
