//! Go `text/template` as Loki uses it in `line_format` and `label_format`, with the
//! template functions Loki documents.
//!
//! A template is parsed once ([`Template::parse`]) into a syntax tree and rendered per
//! entry ([`Template::render`]) against the entry's labels (the dot, a Go
//! `map[string]string` with `missingkey=zero`), its line (`__line__`) and its timestamp
//! (`__timestamp__`). Values keep Go's types (`string`, `int`, `int64`, `float64`, `bool`,
//! `time.Time`, JSON shapes) so that functions accept and reject arguments, and print
//! results, exactly like Loki. Label values are borrowed, never copied: a template such
//! as `{{.message}}` renders without allocating beyond the output string.
//!
//! `{{define}}`, `{{template}}` and `{{block}}` work as in Go: a source may define
//! associated templates and call them with a new dot; a recursion ends in Go's
//! "exceeded maximum template depth" error (at a lower depth than Go's, see
//! `exec::MAX_TEMPLATE_DEPTH`). Times keep their zone: `toDateInZone` reads named zones
//! from the system tz database like Go's `time.LoadLocation`.
//!
//! Modules: [`lexer`] (tokens), [`parse`] (syntax tree), [`exec`] (evaluation),
//! [`funcs`] (the function table), [`value`] (Go values), [`gofmt`] (Go printing),
//! [`gotime`] (Go time layouts), [`location`] (named time zones), [`decimal`] (sprig's
//! float arithmetic).

mod decimal;
mod exec;
mod funcs;
mod gofmt;
mod gotime;
mod lexer;
mod location;
mod parse;
mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use logql::LabelSet;

/// A template that failed to parse or to execute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// What a template can see while rendering one entry.
pub struct TemplateContext<'a> {
    /// Current labels (`.name` and `index . "name"` read them).
    pub labels: &'a LabelSet,
    /// The current line (`__line__`).
    pub line: &'a str,
    /// The entry timestamp in ns (`__timestamp__`).
    pub ts: i64,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Go's template name, shown in error messages: `line` or `label`.
    name: String,
    src: String,
    /// The executed body and the `{{define}}`/`{{block}}` templates it may invoke.
    trees: parse::Trees,
    /// Set when the whole template is `{{.name}}`: rendered by a direct label lookup.
    simple_field: Option<String>,
}

impl Template {
    /// Parses template source under Go's name `line` (Loki's `line_format` template).
    pub fn parse(src: &str) -> Result<Self, TemplateError> {
        Self::parse_named("line", src)
    }

    /// Parses template source under a Go template name; Loki names `line_format`
    /// templates `line` and `label_format` templates `label`, and the name appears in
    /// error messages (`template: label:1: ...`).
    pub fn parse_named(name: &str, src: &str) -> Result<Self, TemplateError> {
        let trees = parse::parse(name, src).map_err(TemplateError)?;
        let simple_field = match trees.root.as_slice() {
            [parse::Node::Action(p)] if p.decl.is_empty() && p.cmds.len() == 1 => {
                match p.cmds[0].args.as_slice() {
                    [
                        parse::Arg {
                            kind: parse::ArgKind::Field(f),
                            ..
                        },
                    ] if f.len() == 1 => Some(f[0].clone()),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                src: src.to_string(),
                trees,
                simple_field,
            }),
        })
    }

    /// Label names the template reads as fields (`.name`), in order of appearance,
    /// deduplicated: Loki's `RequiredLabelNames`. Like Loki, only the executed body is
    /// walked: fields read inside `{{define}}`/`{{block}}` bodies or in the pipeline of
    /// a `{{template}}` call are not listed.
    pub fn required_labels(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_fields(&self.inner.trees.root, &mut out);
        let mut seen = std::collections::HashSet::new();
        out.retain(|n| seen.insert(n.clone()));
        out
    }

    /// Renders into `out` (appending). On error `out` is left as it was and the error
    /// carries Go's message (`template: line:1:3: executing "line" at <...>: ...`),
    /// which Loki puts in `__error_details__`.
    pub fn render(&self, ctx: &TemplateContext<'_>, out: &mut String) -> Result<(), TemplateError> {
        let inner = &*self.inner;
        if let Some(name) = &inner.simple_field {
            out.push_str(ctx.labels.get(name).unwrap_or(""));
            return Ok(());
        }
        let start = out.len();
        let mut ex = exec::Exec::new(ctx.line, ctx.ts, ctx.labels, &inner.trees.defs);
        match ex.run(&inner.trees.root, out) {
            Ok(()) => Ok(()),
            Err(e) => {
                out.truncate(start);
                Err(TemplateError(self.exec_error_text(&e)))
            }
        }
    }

    /// Renders into a new string.
    pub fn render_to_string(&self, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
        let mut s = String::new();
        self.render(ctx, &mut s)?;
        Ok(s)
    }

    fn exec_error_text(&self, e: &exec::ExecError) -> String {
        let src = self.inner.src.as_bytes();
        let pos = e.pos.min(src.len());
        let before = &src[..pos];
        let line = 1 + before.iter().filter(|c| **c == b'\n').count();
        let col = match before.iter().rposition(|c| *c == b'\n') {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        let ctx = if e.ctx.chars().count() > 20 {
            format!("{}...", e.ctx.chars().take(20).collect::<String>())
        } else {
            e.ctx.clone()
        };
        // the location names the parsed source; "executing" names the running template
        let name = &self.inner.name;
        let running = e.template.as_deref().unwrap_or(name);
        format!(
            "template: {name}:{line}:{col}: executing {} at <{ctx}>: {}",
            gofmt::quote(running),
            e.msg
        )
    }
}

fn collect_fields(list: &[parse::Node], out: &mut Vec<String>) {
    for n in list {
        match n {
            parse::Node::Action(p) => collect_pipe(p, out),
            parse::Node::If(b) | parse::Node::Range(b) | parse::Node::With(b) => {
                collect_pipe(&b.pipe, out);
                collect_fields(&b.list, out);
                if let Some(e) = &b.else_list {
                    collect_fields(e, out);
                }
            }
            _ => {}
        }
    }
}

fn collect_pipe(p: &parse::Pipe, out: &mut Vec<String>) {
    for c in &p.cmds {
        for a in &c.args {
            collect_arg(a, out);
        }
    }
}

fn collect_arg(a: &parse::Arg, out: &mut Vec<String>) {
    match &a.kind {
        parse::ArgKind::Field(f) => out.extend(f.iter().cloned()),
        parse::ArgKind::Pipe(p) => collect_pipe(p, out),
        _ => {}
    }
}
