//! `| drop a, b="v"` and `| keep a, b=~"x.*"`.
//!
//! `drop` removes the named labels (a matcher drops the label only when its value
//! matches); dropping `__error__`/`__error_details__` clears the error. `keep` removes
//! every label not listed (a matcher keeps the label only when its value matches) but
//! never removes the error labels, as in Loki.

use logql::ast::NamedOrMatcher;

use super::labels::{ERROR_DETAILS_LABEL, ERROR_LABEL, LabelsBuilder};

/// The arguments of a `drop` or `keep` stage.
#[derive(Debug)]
pub(crate) struct DropKeep {
    args: Vec<NamedOrMatcher>,
}

impl DropKeep {
    /// The stage with its arguments.
    pub(crate) fn new(args: &[NamedOrMatcher]) -> Self {
        Self {
            args: args.to_vec(),
        }
    }

    /// `| drop ...`.
    pub(crate) fn drop_labels(&self, lbs: &mut LabelsBuilder) {
        for a in &self.args {
            match a {
                NamedOrMatcher::Name(n) => match n.as_str() {
                    ERROR_LABEL => lbs.reset_err(),
                    ERROR_DETAILS_LABEL => lbs.reset_err_details(),
                    _ => lbs.del(n),
                },
                NamedOrMatcher::Matcher(m) => {
                    let value = match m.name.as_str() {
                        ERROR_LABEL => lbs.err(),
                        ERROR_DETAILS_LABEL => lbs.err_details(),
                        n => lbs.get(n).unwrap_or(""),
                    };
                    if !m.matches(value) {
                        continue;
                    }
                    match m.name.as_str() {
                        ERROR_LABEL => lbs.reset_err(),
                        ERROR_DETAILS_LABEL => lbs.reset_err_details(),
                        n => lbs.del(n),
                    }
                }
            }
        }
    }

    /// `| keep ...`.
    pub(crate) fn keep_labels(&self, lbs: &mut LabelsBuilder) {
        if self.args.is_empty() {
            return;
        }
        let mut remove: Vec<String> = Vec::new();
        lbs.for_each(|name, value| {
            let keep = self.args.iter().any(|a| match a {
                NamedOrMatcher::Name(n) => n == name,
                NamedOrMatcher::Matcher(m) => m.name == name && m.matches(value),
            });
            if !keep {
                remove.push(name.to_owned());
            }
        });
        for n in &remove {
            lbs.del(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::{LabelMatcher, LabelSet, MatchOp};

    fn builder() -> LabelsBuilder {
        let mut b = LabelsBuilder::new(LabelSet::from_pairs([("app", "a"), ("host", "h")]));
        b.set("level", "info");
        b.set("lvl", "debug");
        b.set_err("JSONParserErr");
        b.set_err_details("boom");
        b
    }

    fn m(name: &str, op: MatchOp, v: &str) -> NamedOrMatcher {
        NamedOrMatcher::Matcher(LabelMatcher::new(name, op, v).unwrap())
    }

    #[test]
    fn drop_names_matchers_and_errors() {
        let mut b = builder();
        DropKeep::new(&[
            NamedOrMatcher::Name("host".into()),
            m("level", MatchOp::Eq, "warn"),
            m("lvl", MatchOp::Re, "de.*"),
            NamedOrMatcher::Name("__error_details__".into()),
        ])
        .drop_labels(&mut b);
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{__error__="JSONParserErr", app="a", level="info"}"#
        );
        DropKeep::new(&[m("__error__", MatchOp::Eq, "JSONParserErr")]).drop_labels(&mut b);
        assert_eq!(b.to_label_set().to_string(), r#"{app="a", level="info"}"#);
    }

    #[test]
    fn keep_never_removes_error_labels() {
        let mut b = builder();
        DropKeep::new(&[
            NamedOrMatcher::Name("lvl".into()),
            m("app", MatchOp::Eq, "a"),
            m("host", MatchOp::Eq, "x"),
        ])
        .keep_labels(&mut b);
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{__error__="JSONParserErr", __error_details__="boom", app="a", lvl="debug"}"#
        );
    }
}
