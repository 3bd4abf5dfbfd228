//! `| line_format "{{...}}"` and `| label_format dst=src, dst="{{...}}"`, on the Go
//! template engine of [`crate::template`].
//!
//! Templates see the labels as they are when the stage runs (`label_format` takes one
//! snapshot before its first template, as Loki does), the line as `__line__` and the
//! timestamp as `__timestamp__`. A template that fails to execute sets
//! `__error__="TemplateFormatErr"` with the error in `__error_details__` and leaves the
//! line (or label) unchanged.

use logql::ast::LabelFormatOp;

use super::labels::{ERR_TEMPLATE_FORMAT, LabelsBuilder};
use crate::template::{Template, TemplateContext};

/// The compiled `line_format` stage.
#[derive(Debug)]
pub(crate) struct LineFormat {
    template: Template,
}

impl LineFormat {
    /// Parses the template.
    pub(crate) fn new(src: &str) -> Result<Self, String> {
        Ok(Self {
            template: Template::parse(src).map_err(|e| e.0)?,
        })
    }

    /// The formatted line, or `None` (with the error recorded) when rendering failed.
    pub(crate) fn process(&self, ts: i64, line: &str, lbs: &mut LabelsBuilder) -> Option<String> {
        let labels = lbs.to_label_set();
        let mut out = String::with_capacity(line.len());
        let ctx = TemplateContext {
            labels: &labels,
            line,
            ts,
        };
        match self.template.render(&ctx, &mut out) {
            Ok(()) => Some(out),
            Err(e) => {
                lbs.set_err(ERR_TEMPLATE_FORMAT);
                lbs.set_err_details(&e.0);
                None
            }
        }
    }
}

#[derive(Debug)]
enum Op {
    Rename { dst: String, src: String },
    Template { dst: String, template: Template },
}

/// The compiled `label_format` stage.
#[derive(Debug)]
pub(crate) struct LabelFormat {
    ops: Vec<Op>,
}

impl LabelFormat {
    /// Parses the templates.
    pub(crate) fn new(ops: &[LabelFormatOp]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                LabelFormatOp::Rename { dst, src } => Op::Rename {
                    dst: dst.clone(),
                    src: src.clone(),
                },
                LabelFormatOp::Template { dst, template } => Op::Template {
                    dst: dst.clone(),
                    template: Template::parse(template).map_err(|e| e.0)?,
                },
            });
        }
        Ok(Self { ops: out })
    }

    /// Applies the assignments in order.
    pub(crate) fn process(&self, ts: i64, line: &str, lbs: &mut LabelsBuilder) {
        let mut snapshot = None;
        let mut out = String::new();
        for op in &self.ops {
            match op {
                Op::Rename { dst, src } => {
                    if let Some(v) = lbs.get(src).map(str::to_owned) {
                        lbs.set(dst, &v);
                        lbs.del(src);
                    }
                }
                Op::Template { dst, template } => {
                    let labels = snapshot.get_or_insert_with(|| lbs.to_label_set());
                    out.clear();
                    let ctx = TemplateContext { labels, line, ts };
                    match template.render(&ctx, &mut out) {
                        Ok(()) => lbs.set(dst, &out),
                        Err(e) => {
                            lbs.set_err(ERR_TEMPLATE_FORMAT);
                            lbs.set_err_details(&e.0);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn builder() -> LabelsBuilder {
        let mut b = LabelsBuilder::new(LabelSet::from_pairs([("app", "sshd"), ("host", "db-1")]));
        b.set("level", "info");
        b
    }

    #[test]
    fn line_format_renders_labels_and_line() {
        let f = LineFormat::new("[{{ .nope }}] {{ .host }} {{ .level | ToUpper }} {{ __line__ }}")
            .unwrap();
        let mut b = builder();
        assert_eq!(
            f.process(0, "raw", &mut b).as_deref(),
            Some("[] db-1 INFO raw")
        );
        assert!(!b.has_err());
    }

    #[test]
    fn label_format_renames_and_templates_from_one_snapshot() {
        let f = LabelFormat::new(&[
            LabelFormatOp::Rename {
                dst: "lvl".into(),
                src: "level".into(),
            },
            LabelFormatOp::Template {
                dst: "host".into(),
                template: "{{.host | ToUpper}}-{{.app}}".into(),
            },
            LabelFormatOp::Template {
                dst: "again".into(),
                template: "{{.host}}".into(),
            },
            LabelFormatOp::Rename {
                dst: "x".into(),
                src: "missing".into(),
            },
        ])
        .unwrap();
        let mut b = builder();
        f.process(0, "line", &mut b);
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{again="db-1", app="sshd", host="DB-1-sshd", lvl="info"}"#
        );
    }
}
