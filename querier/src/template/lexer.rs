//! Tokenizer for Go `text/template` source, following the rules of Go's `text/template/parse`
//! lexer: `{{ }}` delimiters, `{{- ` / ` -}}` trim markers, `{{/* */}}` comments, and the
//! tokens allowed inside actions.

/// What a token is; payloads borrow from or are copied out of the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Plain text outside actions (already trimmed by trim markers).
    Text(String),
    /// `{{`.
    LeftDelim,
    /// `}}`.
    RightDelim,
    /// Whitespace inside an action.
    Space,
    /// `=`.
    Assign,
    /// `:=`.
    Declare,
    /// `|`.
    Pipe,
    /// `(`.
    LeftParen,
    /// `)`.
    RightParen,
    /// Any other printable ASCII character inside an action, e.g. `,`.
    Char(char),
    /// A function name.
    Identifier(String),
    /// `.name` (one element of a field chain; without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Variable(String),
    /// `.` alone.
    Dot,
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A number literal, as written.
    Number(String),
    /// A character constant, as written (with quotes).
    CharConst(String),
    /// A double-quoted string literal, as written (with quotes).
    Str(String),
    /// A back-quoted string literal, as written (with quotes).
    RawStr(String),
    /// A keyword: `if`, `else`, `end`, `range`, `with`, `define`, `template`, `block`,
    /// `break`, `continue`.
    Keyword(&'static str),
    /// End of input.
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// A lexing failure: the message and the byte offset where it happened.
#[derive(Debug, Clone)]
pub(crate) struct LexError {
    pub msg: String,
    pub pos: usize,
}

const KEYWORDS: [&str; 10] = [
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Formats a rune like Go's `%#U`: `U+0021 '!'`.
pub(crate) fn go_rune_u(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

/// Splits template source into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        paren: 0,
    }
    .run()
}

struct Lexer<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    out: Vec<Token>,
    paren: usize,
}

impl Lexer<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            msg: msg.into(),
            pos: self.pos,
        })
    }

    fn emit(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn has_left_trim(&self, at: usize) -> bool {
        self.b.len() >= at + 2 && self.b[at] == b'-' && is_space(self.b[at + 1])
    }

    /// At a right delimiter? Returns (is_delim, has_trim_marker).
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.b[self.pos..];
        if rest.len() >= 4 && is_space(rest[0]) && rest[1] == b'-' && &rest[2..4] == b"}}" {
            return (true, true);
        }
        (rest.starts_with(b"}}"), false)
    }

    fn skip_space_after_trim(&mut self) {
        while self.pos < self.b.len() && is_space(self.b[self.pos]) {
            self.pos += 1;
        }
    }

    fn run(mut self) -> Result<Vec<Token>, LexError> {
        loop {
            // text up to the next left delimiter
            let start = self.pos;
            match self.src[start..].find("{{") {
                None => {
                    if start < self.b.len() {
                        self.emit(Tok::Text(self.src[start..].to_string()), start);
                    }
                    self.emit(Tok::Eof, self.b.len());
                    return Ok(self.out);
                }
                Some(off) => {
                    let delim = start + off;
                    let trim = self.has_left_trim(delim + 2);
                    let mut text = &self.src[start..delim];
                    if trim {
                        text = text.trim_end_matches([' ', '\t', '\r', '\n']);
                    }
                    if !text.is_empty() {
                        self.emit(Tok::Text(text.to_string()), start);
                    }
                    self.pos = delim + 2;
                    let after_marker = if trim { 2 } else { 0 };
                    if self.src[self.pos + after_marker..].starts_with("/*") {
                        self.pos += after_marker;
                        self.comment()?;
                        continue;
                    }
                    self.emit(Tok::LeftDelim, delim);
                    self.pos += after_marker;
                    self.paren = 0;
                    self.inside_action()?;
                }
            }
        }
    }

    fn comment(&mut self) -> Result<(), LexError> {
        self.pos += 2;
        let Some(x) = self.src[self.pos..].find("*/") else {
            return self.err("unclosed comment");
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.err("comment ends before closing delimiter");
        }
        self.pos += if trim { 4 } else { 2 };
        if trim {
            self.skip_space_after_trim();
        }
        Ok(())
    }

    fn inside_action(&mut self) -> Result<(), LexError> {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren != 0 {
                    return self.err("unclosed left paren");
                }
                let p = self.pos;
                self.pos += if trim { 4 } else { 2 };
                self.emit(Tok::RightDelim, p);
                if trim {
                    self.skip_space_after_trim();
                }
                return Ok(());
            }
            let start = self.pos;
            let Some(c) = self.src[self.pos..].chars().next() else {
                return self.err("unclosed action");
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    let mut n = 0;
                    while self.pos < self.b.len() && is_space(self.b[self.pos]) {
                        self.pos += 1;
                        n += 1;
                    }
                    // a space that belongs to a ` -}}` trim marker is not a space token
                    let rest = &self.b[self.pos - 1..];
                    if rest.len() >= 4 && rest[1] == b'-' && &rest[2..4] == b"}}" {
                        self.pos -= 1;
                        if n == 1 {
                            continue;
                        }
                    }
                    self.emit(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if self.b.get(self.pos + 1) != Some(&b'=') {
                        self.pos += 1;
                        return self.err("expected :=");
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                '"' => self.quote(start)?,
                '`' => {
                    let Some(end) = self.src[self.pos + 1..].find('`') else {
                        return self.err("unterminated raw quoted string");
                    };
                    self.pos += end + 2;
                    self.emit(Tok::RawStr(self.src[start..self.pos].to_string()), start);
                }
                '$' => {
                    self.pos += 1;
                    self.field_or_var(start, true)?;
                }
                '\'' => self.char_const(start)?,
                '.' => {
                    if self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
                        self.number(start)?;
                    } else {
                        self.pos += 1;
                        self.field_or_var(start, false)?;
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => self.identifier(start)?,
                '(' => {
                    self.pos += 1;
                    self.paren += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren == 0 {
                        return self.err(format!("unexpected right paren {}", go_rune_u(c)));
                    }
                    self.paren -= 1;
                    self.emit(Tok::RightParen, start);
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.pos += 1;
                    self.emit(Tok::Char(c), start);
                }
                c => {
                    return self.err(format!(
                        "unrecognized character in action: {}",
                        go_rune_u(c)
                    ));
                }
            }
        }
    }

    fn at_terminator(&self) -> bool {
        match self.b.get(self.pos) {
            None => true,
            Some(&c) if is_space(c) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(_) => self.b[self.pos..].starts_with(b"}}"),
        }
    }

    fn scan_alnum(&mut self) -> Option<char> {
        for c in self.src[self.pos..].chars() {
            if !is_alnum(c) {
                return Some(c);
            }
            self.pos += c.len_utf8();
        }
        None
    }

    fn field_or_var(&mut self, start: usize, var: bool) -> Result<(), LexError> {
        if self.at_terminator() {
            let tok = if var {
                Tok::Variable("$".into())
            } else {
                Tok::Dot
            };
            self.emit(tok, start);
            return Ok(());
        }
        let stop = self.scan_alnum();
        if !self.at_terminator() {
            return self.err(format!("bad character {}", go_rune_u(stop.unwrap_or(' '))));
        }
        let tok = if var {
            Tok::Variable(self.src[start..self.pos].to_string())
        } else {
            Tok::Field(self.src[start + 1..self.pos].to_string())
        };
        self.emit(tok, start);
        Ok(())
    }

    fn identifier(&mut self, start: usize) -> Result<(), LexError> {
        let stop = self.scan_alnum();
        if !self.at_terminator() {
            return self.err(format!("bad character {}", go_rune_u(stop.unwrap_or(' '))));
        }
        let word = &self.src[start..self.pos];
        let tok = if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
            Tok::Keyword(k)
        } else {
            match word {
                "nil" => Tok::Nil,
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                _ => Tok::Identifier(word.to_string()),
            }
        };
        self.emit(tok, start);
        Ok(())
    }

    fn quote(&mut self, start: usize) -> Result<(), LexError> {
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None | Some(b'\n') => return self.err("unterminated quoted string"),
                Some(b'\\') => {
                    if matches!(self.b.get(self.pos + 1), None | Some(b'\n')) {
                        return self.err("unterminated quoted string");
                    }
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        self.emit(Tok::Str(self.src[start..self.pos].to_string()), start);
        Ok(())
    }

    fn char_const(&mut self, start: usize) -> Result<(), LexError> {
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None | Some(b'\n') => return self.err("unterminated character constant"),
                Some(b'\\') => {
                    if matches!(self.b.get(self.pos + 1), None | Some(b'\n')) {
                        return self.err("unterminated character constant");
                    }
                    self.pos += 2;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        self.emit(Tok::CharConst(self.src[start..self.pos].to_string()), start);
        Ok(())
    }

    fn accept(&mut self, set: &[u8]) -> bool {
        if self.b.get(self.pos).is_some_and(|c| set.contains(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn accept_run(&mut self, set: &[u8]) {
        while self.accept(set) {}
    }

    fn number(&mut self, start: usize) -> Result<(), LexError> {
        self.accept(b"+-");
        let mut digits: &[u8] = b"0123456789_";
        if self.accept(b"0") {
            if self.accept(b"xX") {
                digits = b"0123456789abcdefABCDEF_";
            } else if self.accept(b"oO") {
                digits = b"01234567_";
            } else if self.accept(b"bB") {
                digits = b"01_";
            }
        }
        self.accept_run(digits);
        if self.accept(b".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept(b"eE") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        if digits.len() == 23 && self.accept(b"pP") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        self.accept(b"i");
        if let Some(c) = self.src[self.pos..].chars().next()
            && is_alnum(c)
        {
            self.pos += c.len_utf8();
            return self.err(format!(
                "bad number syntax: {}",
                super::gofmt::quote(&self.src[start..self.pos])
            ));
        }
        self.emit(Tok::Number(self.src[start..self.pos].to_string()), start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn trim_markers_remove_surrounding_space() {
        assert_eq!(
            toks("a  {{- .x -}}  b"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Field("x".into()),
                Tok::RightDelim,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comment_is_dropped() {
        assert_eq!(
            toks("a {{/* c */}} b"),
            vec![Tok::Text("a ".into()), Tok::Text(" b".into()), Tok::Eof]
        );
    }

    #[test]
    fn minus_without_space_is_a_number() {
        assert_eq!(
            toks("{{-3}}"),
            vec![
                Tok::LeftDelim,
                Tok::Number("-3".into()),
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            lex("{{ \"abc }}").unwrap_err().msg,
            "unterminated quoted string"
        );
        assert_eq!(lex("{{ .x ").unwrap_err().msg, "unclosed action");
        assert_eq!(lex("{{/* x }}").unwrap_err().msg, "unclosed comment");
        assert_eq!(lex("{{ (.x }}").unwrap_err().msg, "unclosed left paren");
        assert_eq!(
            lex("{{ 3x }}").unwrap_err().msg,
            "bad number syntax: \"3x\""
        );
    }
}
