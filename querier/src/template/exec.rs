//! Executes a parsed template against one entry, with Go `text/template` semantics
//! (`missingkey=zero`) and Go's execution error texts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use logql::LabelSet;

use super::funcs::{CallEnv, Func, P};
use super::gofmt;
use super::gotime::GoTime;
use super::parse::{Arg, ArgKind, Branch, Call, Command, List, Node, Number, Pipe};
use super::value::Value;

/// An execution failure: where (byte offset and Go's node text) and why.
#[derive(Debug)]
pub(crate) struct ExecError {
    pub pos: usize,
    pub ctx: String,
    pub msg: String,
    /// The `{{define}}`d template that was running, when not the top-level one.
    pub template: Option<String>,
}

/// How deep `{{template}}` calls may nest. Go allows 100000 (`maxExecDepth`); far fewer
/// here so that a recursive template ends in Go's error, never in a stack overflow on a
/// worker thread's 2 MiB stack, even in a debug build (about 3.5 KiB per level there).
/// The bound applies to the nesting of bodies (template bodies and `if`/`with`/`range`
/// bodies together), checked at each call: a plain recursion fails at exactly this
/// many calls, one through nested control structures sooner.
pub(crate) const MAX_TEMPLATE_DEPTH: usize = 200;

type ER<T> = Result<T, ExecError>;

/// How a body finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// One execution: the entry's data and the variable stack.
pub(crate) struct Exec<'a> {
    pub line: &'a str,
    pub ts: i64,
    pub labels: &'a LabelSet,
    vars: Vec<(&'a str, Value<'a>)>,
    /// Templates `{{template}}` can run.
    defs: &'a HashMap<String, List>,
    /// Nesting of bodies being walked, bounded by [`MAX_TEMPLATE_DEPTH`] at each call.
    depth: usize,
}

fn err<T>(pos: usize, ctx: &dyn fmt::Display, msg: impl Into<String>) -> ER<T> {
    Err(ExecError {
        pos,
        ctx: ctx.to_string(),
        msg: msg.into(),
        template: None,
    })
}

impl<'a> Exec<'a> {
    /// A fresh execution for one entry.
    pub fn new(
        line: &'a str,
        ts: i64,
        labels: &'a LabelSet,
        defs: &'a HashMap<String, List>,
    ) -> Self {
        Self {
            line,
            ts,
            labels,
            vars: Vec::new(),
            defs,
            depth: 0,
        }
    }

    /// Runs the template body, appending to `out`.
    pub fn run(&mut self, root: &'a List, out: &mut String) -> ER<()> {
        let dot = Value::Labels(self.labels);
        self.walk(&dot, root, out).map(|_| ())
    }

    fn walk(&mut self, dot: &Value<'a>, list: &'a [Node], out: &mut String) -> ER<Flow> {
        self.depth += 1;
        let r = self.walk_list(dot, list, out);
        self.depth -= 1;
        r
    }

    fn walk_list(&mut self, dot: &Value<'a>, list: &'a [Node], out: &mut String) -> ER<Flow> {
        for node in list {
            let flow = match node {
                Node::Text(t) => {
                    out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        v.print_top(out);
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_with(dot, b, false, out)?,
                Node::With(b) => self.walk_if_with(dot, b, true, out)?,
                Node::Range(b) => self.walk_range(dot, b, out)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
                Node::Template(call) => self.walk_template(dot, call, out)?,
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Go's `walkTemplate`: runs a named template with the pipeline's value as dot and
    /// as `$`, seeing none of the caller's variables.
    fn walk_template(&mut self, dot: &Value<'a>, call: &'a Call, out: &mut String) -> ER<Flow> {
        let Some(body) = self.defs.get(&call.name) else {
            return err(
                call.pos,
                call,
                format!("no such template {}", gofmt::quote(&call.name)),
            );
        };
        // `depth` counts the root body too: a call from template depth d sees d + 1
        if self.depth > MAX_TEMPLATE_DEPTH {
            return err(
                call.pos,
                call,
                format!("exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"),
            );
        }
        // variables the pipeline declares stay visible to the caller
        let dot = match &call.pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Value::Invalid,
        };
        let caller_vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let r = self.walk(&dot, body, out);
        self.vars = caller_vars;
        match r {
            Ok(_) => Ok(Flow::Normal),
            Err(mut e) => {
                e.template.get_or_insert_with(|| call.name.clone());
                Err(e)
            }
        }
    }

    fn walk_if_with(
        &mut self,
        dot: &Value<'a>,
        b: &'a Branch,
        with: bool,
        out: &mut String,
    ) -> ER<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let r = if v.truth() {
            if with {
                self.walk(&v, &b.list, out)
            } else {
                self.walk(dot, &b.list, out)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e, out)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value<'a>, b: &'a Branch, out: &mut String) -> ER<Flow> {
        let outer = self.vars.len();
        let r = self.walk_range_inner(dot, b, out);
        self.vars.truncate(outer);
        r.map(|_| Flow::Normal)
    }

    fn walk_range_inner(&mut self, dot: &Value<'a>, b: &'a Branch, out: &mut String) -> ER<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let ctx = RangeCtx(b);
        let items: Vec<(Value<'a>, Value<'a>)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, e)| (Value::Int(i as i64), e.clone()))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, e)| (Value::Str(Cow::Owned(k.clone())), e.clone()))
                .collect(),
            Value::Labels(l) => l
                .iter()
                .map(|(k, v)| (Value::Str(Cow::Borrowed(k)), Value::Str(Cow::Borrowed(v))))
                .collect(),
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return err(
                        b.pipe.pos,
                        &ctx,
                        format!(
                            "can't use {} to iterate over more than one variable",
                            val.to_v_string()
                        ),
                    );
                }
                let mk = |i: i64| {
                    if matches!(val, Value::Int(_)) {
                        Value::Int(i)
                    } else {
                        Value::Int64(i)
                    }
                };
                (0..*n).map(|i| (mk(i), mk(i))).collect()
            }
            Value::Invalid | Value::Nil => Vec::new(),
            other => {
                return err(
                    b.pipe.pos,
                    &ctx,
                    format!("range can't iterate over {}", other.to_v_string()),
                );
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk(dot, e, out)?;
            }
            return Ok(());
        }
        let n = b.pipe.decl.len();
        for (index, elem) in items {
            if n > 0 {
                if b.pipe.is_assign {
                    self.set_var(&b.pipe.decl[n - 1], elem.clone());
                } else {
                    self.vars[mark - 1].1 = elem.clone();
                }
            }
            if n > 1 {
                if b.pipe.is_assign {
                    self.set_var(&b.pipe.decl[0], index);
                } else {
                    self.vars[mark - 2].1 = index;
                }
            }
            let flow = self.walk(&elem, &b.list, out)?;
            self.vars.truncate(mark);
            if flow == Flow::Break {
                break;
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value<'a> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => v.clone(),
            None => Value::Labels(self.labels),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> ER<Value<'a>> {
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            // an interface{} result (a JSON value) is unwrapped: JSON null becomes missing
            value = match self.eval_command(dot, cmd, value)? {
                Value::Nil => Some(Value::Invalid),
                v => Some(v),
            };
        }
        let v = match value {
            None | Some(Value::Nil) => Value::Invalid,
            Some(v) => v,
        };
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone());
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(args: &[Arg], final_: &Option<Value<'a>>) -> ER<()> {
        if args.len() > 1 || final_.is_some() {
            return err(
                args[0].pos,
                &args[0],
                format!("can't give argument to non-function {}", args[0]),
            );
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Command,
        final_: Option<Value<'a>>,
    ) -> ER<Value<'a>> {
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(fields) => {
                return self.eval_field_chain(dot, dot.clone(), fields, first, &cmd.args, final_);
            }
            ArgKind::Chain(node, fields) => {
                let recv = self.eval_chain_base(dot, node)?;
                return self.eval_field_chain(dot, recv, fields, first, &cmd.args, final_);
            }
            ArgKind::Func(f, name) => {
                return self.eval_function(dot, *f, name, first, cmd, &cmd.args[1..], final_);
            }
            ArgKind::Pipe(p) => {
                Self::not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            ArgKind::Variable(name, fields) => {
                let v = self.var(name);
                if fields.is_empty() {
                    Self::not_a_function(&cmd.args, &final_)?;
                    return Ok(v);
                }
                return self.eval_field_chain(dot, v, fields, first, &cmd.args, final_);
            }
            _ => {}
        }
        Self::not_a_function(&cmd.args, &final_)?;
        match &first.kind {
            ArgKind::Bool(b) => Ok(Value::Bool(*b)),
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => err(first.pos, first, "nil is not a command"),
            ArgKind::Number(n) => ideal_constant(n, first),
            ArgKind::Str(s, _) => Ok(Value::Str(Cow::Borrowed(s))),
            _ => err(first.pos, first, "can't evaluate command"),
        }
    }

    fn eval_chain_base(&mut self, dot: &Value<'a>, node: &'a Arg) -> ER<Value<'a>> {
        if matches!(node.kind, ArgKind::Nil) {
            return err(
                node.pos,
                node,
                format!("indirection through explicit nil in {node}"),
            );
        }
        let v = self.eval_arg(dot, P::Raw, node)?;
        Ok(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value<'a>,
        mut receiver: Value<'a>,
        fields: &'a [String],
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> ER<Value<'a>> {
        let n = fields.len();
        for f in &fields[..n - 1] {
            receiver = self.eval_field(dot, f, node, &[], None, receiver)?;
        }
        let rest = if args.is_empty() { &[][..] } else { &args[1..] };
        self.eval_field(dot, &fields[n - 1], node, rest, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
        receiver: Value<'a>,
    ) -> ER<Value<'a>> {
        let has_args = !args.is_empty() || final_.is_some();
        match receiver {
            Value::Invalid => Ok(Value::Invalid),
            Value::Labels(l) => {
                if has_args {
                    return err(
                        node.pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    );
                }
                Ok(Value::Str(Cow::Borrowed(l.get(name).unwrap_or(""))))
            }
            Value::Map(m) => {
                if has_args {
                    return err(
                        node.pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    );
                }
                Ok(m.get(name).cloned().unwrap_or(Value::Nil))
            }
            Value::Time(t) => self.time_method(dot, t, name, node, args, final_),
            Value::Nil => err(
                node.pos,
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            ),
            other => err(
                node.pos,
                node,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    fn time_method(
        &mut self,
        dot: &Value<'a>,
        t: GoTime,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> ER<Value<'a>> {
        let want = usize::from(name == "Format");
        let got = args.len() + usize::from(final_.is_some());
        let known = matches!(
            name,
            "Format"
                | "String"
                | "Unix"
                | "UnixMilli"
                | "UnixMicro"
                | "UnixNano"
                | "UTC"
                | "Local"
                | "IsZero"
        ) || t.field(name).is_some();
        if !known {
            return err(
                node.pos,
                node,
                format!("can't evaluate field {name} in type time.Time"),
            );
        }
        if got != want {
            return err(
                node.pos,
                node,
                format!("wrong number of args for {name}: want {want} got {got}"),
            );
        }
        Ok(match name {
            "Format" => {
                let layout = match args.first() {
                    Some(a) => self.eval_arg(dot, P::Str, a)?,
                    None => validate(final_.unwrap_or(Value::Invalid), P::Str, node)?,
                };
                Value::Str(Cow::Owned(t.format(layout.as_str().unwrap_or(""))))
            }
            "String" => Value::Str(Cow::Owned(
                t.format("2006-01-02 15:04:05.999999999 -0700 MST"),
            )),
            "Unix" => Value::Int64(t.unix()),
            "UnixMilli" => Value::Int64(t.unix_milli()),
            "UnixMicro" => Value::Int64(
                t.secs
                    .wrapping_mul(1_000_000)
                    .wrapping_add(i64::from(t.nsec / 1000)),
            ),
            "UnixNano" => Value::Int64(t.unix_nano()),
            "UTC" | "Local" => Value::Time(t.utc()),
            "IsZero" => Value::Bool(t.is_zero()),
            _ => Value::Int(t.field(name).unwrap_or(0)),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        f: Func,
        name: &str,
        ident: &'a Arg,
        call_ctx: &'a dyn CallCtx,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> ER<Value<'a>> {
        let sig = f.sig();
        let num_in = args.len() + usize::from(final_.is_some());
        if sig.variadic.is_some() {
            if num_in < sig.fixed.len() {
                return err(
                    ident.pos,
                    ident,
                    format!(
                        "wrong number of args for {name}: want at least {} got {}",
                        sig.fixed.len(),
                        args.len()
                    ),
                );
            }
        } else if num_in != sig.fixed.len() {
            return err(
                ident.pos,
                ident,
                format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    sig.fixed.len()
                ),
            );
        }
        let ptype = |i: usize| sig.fixed.get(i).copied().or(sig.variadic).unwrap_or(P::Any);
        if matches!(f, Func::And | Func::Or) {
            let want = f == Func::Or;
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, P::Raw, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                v = fv;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value<'a>> = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, ptype(i), a)?);
        }
        if let Some(fv) = final_ {
            let p = ptype(num_in - 1);
            let last = args.last().unwrap_or(ident);
            argv.push(validate(fv, p, last)?);
        }
        let env = CallEnv {
            line: self.line,
            ts: self.ts,
            regex: call_ctx.regex(),
        };
        f.call(&env, argv).or_else(|e| {
            err(
                call_ctx.pos(),
                &CtxDisplay(call_ctx),
                format!("error calling {name}: {e}"),
            )
        })
    }

    fn eval_arg(&mut self, dot: &Value<'a>, p: P, arg: &'a Arg) -> ER<Value<'a>> {
        let v = match &arg.kind {
            ArgKind::Dot => dot.clone(),
            ArgKind::Nil => {
                return if p == P::Any {
                    Ok(Value::Nil)
                } else if p == P::Raw {
                    Ok(Value::Invalid)
                } else {
                    err(
                        arg.pos,
                        arg,
                        format!("cannot assign nil to {}", p.go_name()),
                    )
                };
            }
            ArgKind::Field(fields) => {
                self.eval_field_chain(dot, dot.clone(), fields, arg, &[], None)?
            }
            ArgKind::Variable(name, fields) => {
                let v = self.var(name);
                if fields.is_empty() {
                    v
                } else {
                    self.eval_field_chain(dot, v, fields, arg, &[], None)?
                }
            }
            ArgKind::Pipe(pipe) => self.eval_pipeline(dot, pipe)?,
            ArgKind::Func(f, name) => self.eval_function(dot, *f, name, arg, arg, &[], None)?,
            ArgKind::Chain(node, fields) => {
                let recv = self.eval_chain_base(dot, node)?;
                self.eval_field_chain(dot, recv, fields, arg, &[], None)?
            }
            ArgKind::Bool(b) => {
                return match p {
                    P::Any | P::Raw => Ok(Value::Bool(*b)),
                    _ => literal_mismatch(p, arg),
                };
            }
            ArgKind::Str(s, _) => {
                return match p {
                    P::Any | P::Raw | P::Str => Ok(Value::Str(Cow::Borrowed(s))),
                    _ => literal_mismatch(p, arg),
                };
            }
            ArgKind::Number(n) => {
                return match p {
                    P::Any | P::Raw => ideal_constant(n, arg),
                    P::Int => match n.int {
                        Some(i) => Ok(Value::Int(i)),
                        None => literal_mismatch(p, arg),
                    },
                    P::Float => match n.float {
                        Some(f) => Ok(Value::Float(f)),
                        None => literal_mismatch(p, arg),
                    },
                    _ => literal_mismatch(p, arg),
                };
            }
        };
        validate(v, p, arg)
    }
}

/// A node that can be the context of an "error calling" message: a command, or a bare
/// function used as an argument.
pub(crate) trait CallCtx {
    /// Byte offset of the node.
    fn pos(&self) -> usize;
    /// Go's text of the node.
    fn text(&self) -> String;
    /// A regex compiled from a literal pattern argument, if any.
    fn regex(&self) -> Option<&regex::Regex> {
        None
    }
}

impl CallCtx for Command {
    fn pos(&self) -> usize {
        self.pos
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn regex(&self) -> Option<&regex::Regex> {
        self.regex.as_ref()
    }
}

impl CallCtx for Arg {
    fn pos(&self) -> usize {
        self.pos
    }
    fn text(&self) -> String {
        self.to_string()
    }
}

struct CtxDisplay<'c>(&'c dyn CallCtx);

impl fmt::Display for CtxDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text())
    }
}

/// Go's text of a `{{range}}` node, the context of range errors.
struct RangeCtx<'p>(&'p Branch);

impl fmt::Display for RangeCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::parse::write_branch(f, "range", self.0)
    }
}

fn literal_mismatch<'a>(p: P, arg: &Arg) -> ER<Value<'a>> {
    let msg = match p {
        P::Str => format!("expected string; found {arg}"),
        P::Int => format!("expected integer; found {arg}"),
        P::Float => format!("expected float; found {arg}"),
        other => format!("can't handle {arg} for arg of type {}", other.go_name()),
    };
    err(arg.pos, arg, msg)
}

/// Go's `idealConstant`: an untyped number becomes `int` or `float64`.
fn ideal_constant<'a>(n: &Number, arg: &Arg) -> ER<Value<'a>> {
    if n.is_ideal_float() {
        return Ok(Value::Float(n.float.unwrap_or(0.0)));
    }
    match n.int {
        Some(i) => Ok(Value::Int(i)),
        None if n.big_uint => err(arg.pos, arg, format!("{} overflows int", n.text)),
        None => Ok(Value::Float(n.float.unwrap_or(0.0))),
    }
}

/// Go's `validateType`: is a computed value acceptable for a parameter?
fn validate<'a>(v: Value<'a>, p: P, arg: &Arg) -> ER<Value<'a>> {
    let ok = match (&v, p) {
        (_, P::Raw) => return Ok(v),
        (Value::Invalid, P::Any) => return Ok(Value::Nil),
        (_, P::Any) => true,
        (Value::Str(_), P::Str) => true,
        (Value::Int(_), P::Int) => true,
        (Value::Float(_), P::Float) => true,
        (Value::Time(_), P::Time) => true,
        _ => false,
    };
    if ok {
        return Ok(v);
    }
    if matches!(v, Value::Invalid) {
        return err(
            arg.pos,
            arg,
            format!("invalid value; expected {}", p.go_name()),
        );
    }
    err(
        arg.pos,
        arg,
        format!(
            "wrong type for value; expected {}; got {}",
            p.go_name(),
            v.type_name()
        ),
    )
}
