//! Go `text/template` as Loki uses it in `line_format` and `label_format`, with the
//! template functions Loki documents.

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
    _private: (),
}

impl Template {
    /// Parses template source.
    pub fn parse(_src: &str) -> Result<Self, TemplateError> {
        todo!("template parse")
    }

    /// Renders into `out` (appending).
    pub fn render(
        &self,
        _ctx: &TemplateContext<'_>,
        _out: &mut String,
    ) -> Result<(), TemplateError> {
        todo!("template render")
    }
}
