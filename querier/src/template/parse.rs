//! The template syntax tree and its parser, with Go `text/template/parse` rules and error
//! texts (`template: NAME:LINE: MSG`).

use std::fmt;

use super::funcs::Func;
use super::gofmt;
use super::lexer::{self, Tok, Token};

/// A sequence of nodes (a template body or a branch body).
pub(crate) type List = Vec<Node>;

/// One element of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text, copied to the output.
    Text(String),
    /// `{{ pipeline }}`: evaluated and printed unless it declares variables.
    Action(Pipe),
    /// `{{ if }}`.
    If(Box<Branch>),
    /// `{{ range }}`.
    Range(Box<Branch>),
    /// `{{ with }}`.
    With(Box<Branch>),
    /// `{{ break }}`.
    Break,
    /// `{{ continue }}`.
    Continue,
    /// `{{ template "name" pipeline }}`, also what `{{ block }}` leaves in place.
    Template(Box<Call>),
}

/// An invocation of an associated template by name.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Byte offset of the name (Go's position of a `TemplateNode`).
    pub pos: usize,
    pub name: String,
    /// The new dot; `None` runs the template with no data.
    pub pipe: Option<Pipe>,
}

/// The result of parsing a source: the body that executes and the templates it defines
/// with `{{define}}` and `{{block}}` (Go's associated templates).
#[derive(Debug, Clone, Default)]
pub(crate) struct Trees {
    /// The body executed by `Execute`: the source outside definitions, or a definition
    /// with the template's own name when that body is empty (Go's rule).
    pub root: List,
    /// Every template by name, the template's own name included (a body may call it).
    pub defs: std::collections::HashMap<String, List>,
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline: optional variable declarations and commands separated by `|`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: a function, field or constant and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
    /// The pattern of `regexReplaceAll`/`regexReplaceAllLiteral`/`count`, compiled once
    /// when it is a literal.
    pub regex: Option<regex::Regex>,
}

/// An operand with its source position.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub pos: usize,
    pub kind: ArgKind,
}

/// The kinds of operand.
#[derive(Debug, Clone)]
pub(crate) enum ArgKind {
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    /// A string literal: its value and its source text.
    Str(String, String),
    /// `.a.b`.
    Field(Vec<String>),
    /// `$x.a.b`: the variable name (with `$`) and fields.
    Variable(String, Vec<String>),
    /// A function name.
    Func(Func, String),
    /// `( pipeline )`.
    Pipe(Box<Pipe>),
    /// `operand.a.b` where the operand is a pipeline or function.
    Chain(Box<Arg>, Vec<String>),
}

/// A number constant with the interpretations Go allows for it.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// A character constant such as `'a'`.
    pub is_char: bool,
    /// Fits in uint64 but not int64.
    pub big_uint: bool,
}

impl Number {
    /// Is it printed and passed as a float64 when untyped (Go's `idealConstant`)?
    pub fn is_ideal_float(&self) -> bool {
        self.float.is_some()
            && !self.is_char
            && !is_hex_int(&self.text)
            && self.text.contains(['.', 'e', 'E', 'p', 'P'])
    }
}

fn is_hex_int(s: &str) -> bool {
    let s = s.trim_start_matches(['+', '-']);
    (s.starts_with("0x") || s.starts_with("0X")) && !s.contains(['p', 'P'])
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Number(n) => f.write_str(&n.text),
            ArgKind::Str(_, quoted) => f.write_str(quoted),
            ArgKind::Field(fields) => fields.iter().try_for_each(|x| write!(f, ".{x}")),
            ArgKind::Variable(name, fields) => {
                f.write_str(name)?;
                fields.iter().try_for_each(|x| write!(f, ".{x}"))
            }
            ArgKind::Func(_, name) => f.write_str(name),
            ArgKind::Pipe(p) => write!(f, "({p})"),
            ArgKind::Chain(node, fields) => {
                write!(f, "{node}")?;
                fields.iter().try_for_each(|x| write!(f, ".{x}"))
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Break => f.write_str("{{break}}"),
            Node::Continue => f.write_str("{{continue}}"),
            Node::Template(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Call {
    /// Go's `TemplateNode.String()`: `{{template "name" pipe}}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{template {}", gofmt::quote(&self.name))?;
        if let Some(p) = &self.pipe {
            write!(f, " {p}")?;
        }
        f.write_str("}}")
    }
}

/// Go's `parse.IsEmptyTree`: nothing but white space, so a later definition may replace it.
pub(crate) fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// Go's `BranchNode.String()`: `{{if pipe}}list{{else}}list{{end}}`.
pub(crate) fn write_branch(f: &mut fmt::Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}", b.pipe)?;
    b.list.iter().try_for_each(|n| write!(f, "{n}"))?;
    if let Some(e) = &b.else_list {
        f.write_str("{{else}}")?;
        e.iter().try_for_each(|n| write!(f, "{n}"))?;
    }
    f.write_str("{{end}}")
}

/// Parses `src` as the template `name` with its `{{define}}`/`{{block}}` definitions;
/// errors are formatted as Go does (`template: NAME:LINE: MSG`).
pub(crate) fn parse(name: &str, src: &str) -> Result<Trees, String> {
    let toks = lexer::lex(src).map_err(|e| err_text(name, src, e.pos, &e.msg))?;
    let mut p = Parser {
        toks,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        defs: std::collections::HashMap::new(),
    };
    let fail = |(pos, msg): (usize, String)| err_text(name, src, pos, &msg);
    let root = p.top().map_err(fail)?;
    // Go adds the template's own body last, under the same rule as definitions
    p.add(name, root, src.len()).map_err(fail)?;
    let root = p.defs.get(name).cloned().unwrap_or_default();
    Ok(Trees { root, defs: p.defs })
}

fn err_text(name: &str, src: &str, pos: usize, msg: &str) -> String {
    let line = 1 + src.as_bytes()[..pos.min(src.len())]
        .iter()
        .filter(|c| **c == b'\n')
        .count();
    format!("template: {name}:{line}: {msg}")
}

type PResult<T> = Result<T, (usize, String)>;

/// Deepest nesting of parentheses and control structures accepted (Go allows 10000;
/// less here so that recursion stays well inside a worker thread's stack).
const MAX_DEPTH: usize = 100;

/// How a body ended.
enum Stop {
    End,
    Else(usize),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    /// Nesting of pipelines and control structures, bounded by [`MAX_DEPTH`].
    depth: usize,
    /// Templates defined so far (Go's tree set).
    defs: std::collections::HashMap<String, List>,
}

/// Go's `item.String()` for "unexpected" errors.
fn describe(t: &Tok) -> String {
    let q = |s: &str| {
        if s.chars().count() > 10 {
            let short: String = s.chars().take(10).collect();
            format!("{}...", gofmt::quote(&short))
        } else {
            gofmt::quote(s)
        }
    };
    match t {
        Tok::Eof => "EOF".into(),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Nil => "<nil>".into(),
        Tok::Dot => "<.>".into(),
        Tok::Text(s) => q(s),
        Tok::LeftDelim => q("{{"),
        Tok::RightDelim => q("}}"),
        Tok::Space => q(" "),
        Tok::Assign => q("="),
        Tok::Declare => q(":="),
        Tok::Pipe => q("|"),
        Tok::LeftParen => q("("),
        Tok::RightParen => q(")"),
        Tok::Char(c) => q(&c.to_string()),
        Tok::Identifier(s) | Tok::Variable(s) => q(s),
        Tok::Field(s) => q(&format!(".{s}")),
        Tok::Bool(b) => q(&b.to_string()),
        Tok::Number(s) | Tok::CharConst(s) | Tok::Str(s) | Tok::RawStr(s) => q(s),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next()
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> PResult<T> {
        Err((
            t.pos,
            format!("unexpected {} in {context}", describe(&t.tok)),
        ))
    }

    fn top(&mut self) -> PResult<List> {
        let mut list = Vec::new();
        loop {
            if matches!(self.peek().tok, Tok::Eof) {
                return Ok(list);
            }
            // `{{define}}` is only recognised here, at the top level
            if matches!(self.peek().tok, Tok::LeftDelim) {
                let save = self.i;
                self.next();
                if matches!(self.next_non_space().tok, Tok::Keyword("define")) {
                    self.definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err((pos, Stop::End)) => return Err((pos, "unexpected {{end}}".into())),
                Err((pos, Stop::Else(_))) => return Err((pos, "unexpected {{else}}".into())),
            }
        }
    }

    /// Parses nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(List, Stop)> {
        let mut list = Vec::new();
        loop {
            if matches!(self.peek_non_space().tok, Tok::Eof) {
                let pos = self.peek().pos;
                return Err((pos, "unexpected EOF".into()));
            }
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err((_, stop)) => return Ok((list, stop)),
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn text_or_action(&mut self) -> PResult<Result<Node, (usize, Stop)>> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text(s) => Ok(Ok(Node::Text(s))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    #[allow(clippy::type_complexity)]
    fn action(&mut self) -> PResult<Result<Node, (usize, Stop)>> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Keyword("if") => Ok(Ok(Node::If(Box::new(self.control("if")?)))),
            Tok::Keyword("range") => Ok(Ok(Node::Range(Box::new(self.control("range")?)))),
            Tok::Keyword("with") => Ok(Ok(Node::With(Box::new(self.control("with")?)))),
            Tok::Keyword("end") => {
                self.expect_right_delim("end")?;
                Ok(Err((t.pos, Stop::End)))
            }
            Tok::Keyword("else") => {
                if matches!(self.peek_non_space().tok, Tok::Keyword("if" | "with")) {
                    return Ok(Err((t.pos, Stop::Else(t.pos))));
                }
                self.expect_right_delim("else")?;
                Ok(Err((t.pos, Stop::Else(t.pos))))
            }
            Tok::Keyword(k @ ("break" | "continue")) => {
                let n = self.next_non_space();
                if !matches!(n.tok, Tok::RightDelim) {
                    return self.unexpected(&n, &format!("{{{{{k}}}}}"));
                }
                if self.range_depth == 0 {
                    return Err((t.pos, format!("{{{{{k}}}}} outside {{{{range}}}}")));
                }
                Ok(Ok(if k == "break" {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Tok::Keyword("template") => {
                let name_tok = self.next_non_space();
                let name = template_name(&name_tok, "template clause")?;
                let pipe = if matches!(self.peek_non_space().tok, Tok::RightDelim) {
                    self.next();
                    None
                } else {
                    // variables declared here persist after the action, as in Go
                    Some(self.pipeline("template clause", true)?)
                };
                Ok(Ok(Node::Template(Box::new(Call {
                    pos: name_tok.pos,
                    name,
                    pipe,
                }))))
            }
            Tok::Keyword("block") => {
                let name_tok = self.next_non_space();
                let name = template_name(&name_tok, "block clause")?;
                let pipe = self.pipeline("block clause", true)?;
                let (body, end) = self.definition_body("block clause")?;
                self.add(&name, body, end)?;
                Ok(Ok(Node::Template(Box::new(Call {
                    pos: name_tok.pos,
                    name,
                    pipe: Some(pipe),
                }))))
            }
            _ => {
                self.i -= 1;
                let pipe = self.pipeline("command", true)?;
                Ok(Ok(Node::Action(pipe)))
            }
        }
    }

    /// `{{define "name"}} body {{end}}`, the `define` keyword already read.
    fn definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::Str(_) | Tok::RawStr(_)) {
            return self.unexpected(&t, CONTEXT);
        }
        let name = template_name(&t, CONTEXT)?;
        self.expect_right_delim(CONTEXT)?;
        let (body, end) = self.definition_body(CONTEXT)?;
        self.add(&name, body, end)
    }

    /// The body of a `{{define}}` or `{{block}}` up to its `{{end}}`: a new Go tree, so
    /// it sees only `$` and is outside any enclosing `{{range}}`. Returns the body and
    /// the position of its `{{end}}`.
    fn definition_body(&mut self, context: &str) -> PResult<(List, usize)> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = vars;
        self.range_depth = range_depth;
        match r? {
            (body, Stop::End) => {
                let end = self.toks[self.i.saturating_sub(1)].pos;
                Ok((body, end))
            }
            (_, Stop::Else(pos)) => Err((pos, format!("unexpected {{{{else}}}} in {context}"))),
        }
    }

    /// Go's `Tree.add`: a definition replaces an empty one; two non-empty definitions
    /// of one name are an error.
    fn add(&mut self, name: &str, body: List, pos: usize) -> PResult<()> {
        match self.defs.get(name) {
            Some(old) if !is_empty_tree(old) => {
                if !is_empty_tree(&body) {
                    return Err((
                        pos,
                        format!(
                            "template: multiple definition of template {}",
                            gofmt::quote(name)
                        ),
                    ));
                }
            }
            _ => {
                self.defs.insert(name.to_string(), body);
            }
        }
        Ok(())
    }

    fn expect_right_delim(&mut self, context: &str) -> PResult<()> {
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::RightDelim) {
            return self.unexpected(&t, context);
        }
        Ok(())
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let saved = self.vars.len();
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err((self.peek().pos, "max expression depth exceeded".to_string()))
        } else {
            self.control_inner(context)
        };
        self.depth -= 1;
        self.vars.truncate(saved);
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, true)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let body = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, stop) = body?;
        let else_list = match stop {
            Stop::End => None,
            Stop::Else(_) => {
                // `else if` / `else with` chain: one {{end}} closes them all
                let chained = match self.peek_non_space().tok {
                    Tok::Keyword("if") if context == "if" => Some("if"),
                    Tok::Keyword("with") if context == "with" => Some("with"),
                    _ => None,
                };
                if let Some(kw) = chained {
                    self.next();
                    let inner = self.control(kw)?;
                    let node = if kw == "if" {
                        Node::If(Box::new(inner))
                    } else {
                        Node::With(Box::new(inner))
                    };
                    Some(vec![node])
                } else {
                    let (else_list, stop) = self.item_list()?;
                    if let Stop::Else(pos) = stop {
                        return Err((pos, "expected end; found {{else}}".into()));
                    }
                    Some(else_list)
                }
            }
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    /// Parses a pipeline up to `}}` (`delim`) or `)`.
    fn pipeline(&mut self, context: &str, delim: bool) -> PResult<Pipe> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err((self.peek().pos, "max expression depth exceeded".to_string()))
        } else {
            self.pipeline_inner(context, delim)
        };
        self.depth -= 1;
        r
    }

    fn pipeline_inner(&mut self, context: &str, delim: bool) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // declarations
        loop {
            let save = self.i;
            let Tok::Variable(name) = self.peek_non_space().tok.clone() else {
                break;
            };
            self.next();
            let after_is_space = matches!(self.peek().tok, Tok::Space);
            let next = self.peek_non_space().clone();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = matches!(next.tok, Tok::Assign);
                    self.next();
                    if pipe.is_assign {
                        if !self.vars.contains(&name) {
                            return Err((next.pos, format!("undefined variable {name:?}")));
                        }
                    } else {
                        self.vars.push(name.clone());
                    }
                    pipe.decl.push(name);
                    break;
                }
                Tok::Char(',') => {
                    self.next();
                    self.vars.push(name.clone());
                    pipe.decl.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) | Tok::RightDelim | Tok::RightParen => continue,
                            _ => {
                                return Err((
                                    next.pos,
                                    "range can only initialize variables".into(),
                                ));
                            }
                        }
                    }
                    return Err((next.pos, format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after_is_space;
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            match t.tok {
                Tok::RightDelim if delim => break,
                Tok::RightParen if !delim => break,
                Tok::Bool(_)
                | Tok::CharConst(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Identifier(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    self.i -= 1;
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
        if pipe.cmds.is_empty() {
            return Err((pos, format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].kind,
                ArgKind::Bool(_)
                    | ArgKind::Dot
                    | ArgKind::Nil
                    | ArgKind::Number(_)
                    | ArgKind::Str(..)
            ) {
                return Err((
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(pipe)
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if let Some(a) = self.operand()? {
                args.push(a);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return Err((pos, "empty command".into()));
        }
        let regex = match (&args[0].kind, args.get(1).map(|a| &a.kind)) {
            (
                ArgKind::Func(
                    Func::RegexReplaceAll | Func::RegexReplaceAllLiteral | Func::Count,
                    _,
                ),
                Some(ArgKind::Str(pattern, _)),
            ) => super::funcs::compile_regex(pattern).ok(),
            _ => None,
        };
        Ok(Command { pos, args, regex })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.i += 1;
        }
        let pos = node.pos;
        let kind = match node.kind {
            ArgKind::Field(mut base) => {
                base.extend(fields);
                ArgKind::Field(base)
            }
            ArgKind::Variable(name, mut base) => {
                base.extend(fields);
                ArgKind::Variable(name, base)
            }
            ArgKind::Bool(_)
            | ArgKind::Str(..)
            | ArgKind::Number(_)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return Err((
                    pos,
                    format!("unexpected . after term {:?}", node.to_string()),
                ));
            }
            _ => ArgKind::Chain(Box::new(node), fields),
        };
        Ok(Some(Arg { pos, kind }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Identifier(name) => match Func::lookup(&name) {
                Some(f) => ArgKind::Func(f, name),
                None => return Err((pos, format!("function {name:?} not defined"))),
            },
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err((pos, format!("undefined variable {name:?}")));
                }
                ArgKind::Variable(name, Vec::new())
            }
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Bool(b) => ArgKind::Bool(b),
            Tok::Number(text) => ArgKind::Number(parse_number(&text, false).map_err(|m| (pos, m))?),
            Tok::CharConst(text) => {
                ArgKind::Number(parse_number(&text, true).map_err(|m| (pos, m))?)
            }
            Tok::LeftParen => {
                ArgKind::Pipe(Box::new(self.pipeline("parenthesized pipeline", false)?))
            }
            Tok::Str(q) => {
                let v = gofmt::unquote(&q).ok_or((pos, "invalid syntax".to_string()))?;
                ArgKind::Str(v, q)
            }
            Tok::RawStr(q) => ArgKind::Str(q[1..q.len() - 1].replace('\r', ""), q),
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos, kind }))
    }
}

/// Go's `parseTemplateName`: the quoted name of a `{{template}}` or `{{block}}`.
fn template_name(t: &Token, context: &str) -> PResult<String> {
    match &t.tok {
        Tok::Str(q) => gofmt::unquote(q).ok_or((t.pos, "invalid syntax".to_string())),
        Tok::RawStr(q) => Ok(q[1..q.len() - 1].replace('\r', "")),
        other => Err((
            t.pos,
            format!("unexpected {} in {context}", describe(other)),
        )),
    }
}

/// Go's `parse.newNumber`: which of int / uint / float the literal can be.
fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        float: None,
        is_char,
        big_uint: false,
    };
    if is_char {
        let v = gofmt::unquote_char(text).ok_or_else(|| "invalid syntax".to_string())?;
        n.int = Some(v as i64);
        n.float = Some(v as u32 as f64);
        return Ok(n);
    }
    if text.ends_with('i') {
        return Err(format!("complex numbers are not supported: {text:?}"));
    }
    let as_int = gofmt::parse_go_int(text);
    if let Some(i) = as_int {
        n.int = Some(i);
        n.float = Some(i as f64);
        return Ok(n);
    }
    if let Some(u) = gofmt::parse_go_uint(text) {
        n.big_uint = true;
        n.float = Some(u as f64);
        return Ok(n);
    }
    match gofmt::parse_go_float(text) {
        Some(f) => {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", gofmt::quote(text)));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            Ok(n)
        }
        None => Err(format!("illegal number syntax: {}", gofmt::quote(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse("line", s).unwrap_err()
    }

    #[test]
    fn parse_errors_use_go_wording() {
        assert_eq!(
            err("{{ foo }}"),
            "template: line:1: function \"foo\" not defined"
        );
        assert_eq!(err("{{ if .a }}x"), "template: line:1: unexpected EOF");
        assert_eq!(err("{{ end }}"), "template: line:1: unexpected {{end}}");
        assert_eq!(
            err("a\n{{ $x }}"),
            "template: line:2: undefined variable \"$x\""
        );
        assert_eq!(err("{{ }}"), "template: line:1: missing value for command");
        assert_eq!(
            err("{{ .a | \"x\" }}"),
            "template: line:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            err("{{ break }}"),
            "template: line:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("{{ .a ) }}"),
            "template: line:1: unexpected right paren U+0029 ')'"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = format!("{{{{ {}1{} }}}}", "(".repeat(2000), ")".repeat(2000));
        assert_eq!(err(&src), "template: line:1: max expression depth exceeded");
        let src = format!("{}x{}", "{{ if 1 }}".repeat(2000), "{{ end }}".repeat(2000));
        assert_eq!(err(&src), "template: line:1: max expression depth exceeded");
    }

    #[test]
    fn node_strings_match_go() {
        let l = parse("line", "{{ $x := printf \"%d\" (len .a) | upper }}").unwrap();
        let Node::Action(p) = &l.root[0] else {
            panic!()
        };
        assert_eq!(p.to_string(), "$x := printf \"%d\" (len .a) | upper");
    }
}
