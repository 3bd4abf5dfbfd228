//! `| pattern "<ip> - <_> [<ts>] ..."` (label extraction) and the `|>`/`!>` pattern line
//! filters: literals separated by named `<name>` or unnamed `<_>` captures, matched left
//! to right by substring search, exactly as Loki's `pattern` package does (a capture that
//! cannot be closed takes the rest of the line; a line not starting with the leading
//! literal yields nothing).

use memchr::memmem;

use super::hints::ParserHints;
use super::labels::{DUPLICATE_SUFFIX, LabelsBuilder};
use super::utf8;

/// A literal of a pattern with its precompiled substring searcher.
#[derive(Debug, Clone)]
struct Literal {
    finder: Box<memmem::Finder<'static>>,
}

impl Literal {
    fn new(bytes: &[u8]) -> Self {
        Self {
            finder: Box::new(memmem::Finder::new(bytes).into_owned()),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.finder.needle()
    }

    fn len(&self) -> usize {
        self.finder.needle().len()
    }

    fn find(&self, haystack: &[u8]) -> Option<usize> {
        self.finder.find(haystack)
    }
}

/// One piece of a pattern.
#[derive(Debug, Clone)]
enum Node {
    Literal(Literal),
    /// A capture; `None` for `<_>`.
    Capture(Option<String>),
}

/// A parsed pattern expression.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    nodes: Vec<Node>,
}

impl Pattern {
    /// Parses a pattern; `need_capture` demands at least one named capture (the parser
    /// stage does, the line filter does not).
    pub(crate) fn parse(src: &str, need_capture: bool) -> Result<Self, String> {
        let mut nodes: Vec<Node> = Vec::new();
        let b = src.as_bytes();
        let mut i = 0;
        let mut lit: Vec<u8> = Vec::new();
        while i < b.len() {
            if b[i] == b'<'
                && let Some(len) = capture_len(&b[i..])
            {
                if !lit.is_empty() {
                    nodes.push(Node::Literal(Literal::new(&std::mem::take(&mut lit))));
                }
                let name = &src[i + 1..i + len - 1];
                nodes.push(Node::Capture((name != "_").then(|| name.to_owned())));
                i += len;
                continue;
            }
            lit.push(b[i]);
            i += 1;
        }
        if !lit.is_empty() {
            nodes.push(Node::Literal(Literal::new(&lit)));
        }
        let names: Vec<String> = nodes
            .iter()
            .filter_map(|n| match n {
                Node::Capture(Some(name)) => Some(name.clone()),
                _ => None,
            })
            .collect();
        if need_capture && names.is_empty() {
            return Err("at least one capture is required".to_owned());
        }
        for w in nodes.windows(2) {
            if let [Node::Capture(a), Node::Capture(b)] = w {
                let show = |c: &Option<String>| format!("<{}>", c.as_deref().unwrap_or("_"));
                return Err(format!(
                    "found consecutive capture '{}{}': invalid expression",
                    show(a),
                    show(b)
                ));
            }
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(format!("duplicate capture name ({n}): invalid expression"));
            }
        }
        Ok(Self { nodes })
    }

    /// Loki's `Matches`: calls `found(name, value)` for the named captures found, in
    /// order (possibly fewer than there are names).
    fn matches<'a>(&self, line: &'a [u8], mut found: impl FnMut(&str, &'a [u8])) {
        if line.is_empty() || self.nodes.is_empty() {
            return;
        }
        let mut input = line;
        let mut nodes = &self.nodes[..];
        if let Node::Literal(l) = &nodes[0] {
            if !input.starts_with(l.bytes()) {
                return;
            }
            input = &input[l.len()..];
            nodes = &nodes[1..];
        }
        while !nodes.is_empty() {
            let Node::Capture(name) = &nodes[0] else {
                return;
            };
            let Some(Node::Literal(l)) = nodes.get(1) else {
                // ending on a capture: it takes the rest
                if let Some(name) = name {
                    found(name, input);
                }
                return;
            };
            nodes = &nodes[2..];
            match l.find(input) {
                None => {
                    if let Some(name) = name {
                        found(name, input);
                    }
                    return;
                }
                Some(i) => {
                    if let Some(name) = name {
                        found(name, &input[..i]);
                    }
                    input = &input[i + l.len()..];
                }
            }
        }
    }

    /// The `|>` test: the whole line has this shape, with non-empty captures.
    pub(crate) fn test(&self, line: &[u8]) -> bool {
        if line.is_empty() || self.nodes.is_empty() {
            return line.is_empty() && self.nodes.is_empty();
        }
        let mut off = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(l) = n else { continue };
            let Some(j) = l.find(&line[off..]) else {
                return false;
            };
            if (i == 0 && j != 0) || (i != 0 && j == 0) {
                return false;
            }
            off += j + l.len();
        }
        let ends_on_literal = matches!(self.nodes.last(), Some(Node::Literal(_)));
        ends_on_literal == (line.len() == off)
    }
}

/// Length of `<identifier>` at the start of `b`.
fn capture_len(b: &[u8]) -> Option<usize> {
    let first = *b.get(1)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let n = b[2..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (b.get(2 + n) == Some(&b'>')).then_some(n + 3)
}

/// The `| pattern` parser stage.
#[derive(Debug)]
pub(crate) struct PatternParser {
    pattern: Pattern,
}

impl PatternParser {
    /// Compiles the stage.
    pub(crate) fn new(src: &str) -> Result<Self, String> {
        Ok(Self {
            pattern: Pattern::parse(src, true)?,
        })
    }

    /// Extracts the captures of `line` into labels.
    pub(crate) fn process(
        &self,
        line: &str,
        lbs: &mut LabelsBuilder,
        name_buf: &mut String,
        hints: Option<&ParserHints>,
    ) {
        self.pattern.matches(line.as_bytes(), |name, value| {
            if hints.is_some_and(|h| !h.should_extract(name)) {
                return;
            }
            name_buf.clear();
            name_buf.push_str(name);
            if lbs.base_has(name) {
                name_buf.push_str(DUPLICATE_SUFFIX);
            }
            if !lbs.should_extract(name_buf) {
                return;
            }
            // captures split at literal boundaries of valid UTF-8 text
            lbs.set(name_buf, &utf8::lossy(value));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn run(p: &str, line: &str) -> String {
        let pp = PatternParser::new(p).unwrap();
        let mut lbs = LabelsBuilder::new(LabelSet::from_pairs([("host", "web-1")]));
        pp.process(line, &mut lbs, &mut String::new(), None);
        lbs.to_label_set().to_string()
    }

    #[test]
    fn extracts_nginx_fields() {
        assert_eq!(
            run(
                "<ip> - <user> [<_>] \"<method> <path> <_>\" <status> <_>",
                r#"10.0.0.1 - - [20/Nov/2026:00:00:43 +0000] "GET /a HTTP/1.1" 200 12"#
            ),
            r#"{host="web-1", ip="10.0.0.1", method="GET", path="/a", status="200", user="-"}"#
        );
    }

    #[test]
    fn unclosed_capture_takes_rest_and_clashes_get_suffix() {
        assert_eq!(
            run("<_> <_> <host> sshd[<pid>]: <_>", "Nov 20 web-1 kernel: x"),
            r#"{host="web-1", host_extracted="web-1 kernel: x"}"#
        );
    }

    #[test]
    fn leading_literal_must_match_at_start() {
        assert_eq!(run("ts=<ts> <_>", "x ts=1 y"), r#"{host="web-1"}"#);
        assert_eq!(
            run(
                "user=<user> city=<city> <_>",
                r#"user=José city="São Paulo" x"#
            ),
            r#"{city="\"São", host="web-1", user="José"}"#
        );
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            Pattern::parse("foo", true).unwrap_err(),
            "at least one capture is required"
        );
        assert!(Pattern::parse("<a><b>", true).is_err());
        assert!(Pattern::parse("<a> <a>", true).is_err());
    }

    #[test]
    fn line_filter_test() {
        let p = Pattern::parse("<_> bar <_>", false).unwrap();
        assert!(p.test(b"foo bar baz"));
        assert!(!p.test(b" bar "));
        let p = Pattern::parse("foo <_>", false).unwrap();
        assert!(p.test(b"foo bar baz"));
        assert!(!p.test(b"xfoo bar"));
        let p = Pattern::parse("<_> bar", false).unwrap();
        assert!(!p.test(b"foo bar baz"));
    }
}
