//! The log pipeline: every stage after the stream selector, compiled once per query.
//!
//! The engine calls [`Pipeline::filter_batch`] first: it runs the line filters that Loki
//! evaluates before any other stage over a whole Arrow string array at once (memchr/memmem
//! for literals, regex only where needed). Surviving rows then go, one entry at a time,
//! through [`StreamPipeline::process`], which runs parsers, label filters, formatters and
//! the remaining line filters, and extracts the `unwrap` value of metric queries.
//!
//! Stage order follows Loki, which moves every line filter in front of the other stages
//! of its segment, segments ending at `line_format` and `unpack` (the stages that change
//! the line). The filters of the first segment are the ones [`Pipeline::filter_batch`]
//! runs; later ones run in [`StreamPipeline::process`].

mod convert;
mod decolorize;
mod drop_keep;
mod format;
mod go_regex;
mod hints;
mod ip;
mod json;
mod json_hinted;
mod json_scan;
mod label_filter;
mod labels;
mod line_filter;
mod logfmt;
mod logfmt_hinted;
mod pattern;
mod regexp;
mod swar;
mod unpack;
mod unwrap;
mod utf8;

use std::borrow::Cow;
use std::sync::Arc;

use logql::LabelSet;
use logql::ast::{Parser, Stage, Unwrap};
use storage::LiteralQuery;
use storage::arrow::array::{Array, BooleanArray, StringViewArray};

use crate::{QueryError, Result};

pub use hints::ParserHints;
pub use labels::{ERROR_DETAILS_LABEL, ERROR_LABEL};

use labels::LabelsBuilder;

/// One compiled stage.
#[derive(Debug)]
enum CompiledStage {
    LineFilter(line_filter::LineFilter),
    Json(json::JsonParser),
    JsonParams(json::JsonExprParser),
    Logfmt(logfmt::LogfmtParser),
    Regexp(regexp::RegexpParser),
    Pattern(pattern::PatternParser),
    Unpack,
    LabelFilter(Arc<label_filter::LabelFilter>),
    LineFormat(format::LineFormat),
    LabelFormat(format::LabelFormat),
    Decolorize,
    Drop(drop_keep::DropKeep),
    Keep(drop_keep::DropKeep),
}

/// A compiled pipeline (stages plus optional unwrap) for one query.
#[derive(Debug)]
pub struct Pipeline {
    /// Line filters Loki runs before every other stage (run by `filter_batch`).
    first_filters: Vec<line_filter::LineFilter>,
    /// The remaining stages in execution order.
    stages: Vec<CompiledStage>,
    unwrap: Option<unwrap::UnwrapStage>,
    /// Which labels the parsers extract (metric queries only).
    hints: Option<ParserHints>,
}

/// The result of running one entry through a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedEntry<'a> {
    /// The line after `line_format` (borrowed when unchanged).
    pub line: Cow<'a, str>,
    /// Stream labels plus extracted/formatted labels, minus dropped ones
    /// (including `__error__`/`__error_details__` when a stage failed).
    pub labels: LabelSet,
    /// The unwrapped sample value for metric queries with `unwrap`; `None` when the
    /// pipeline has no unwrap.
    pub value: Option<f64>,
}

/// Loki's stage reordering: line filters move to the front of their segment; a segment
/// ends after `line_format` or `unpack`.
fn reorder(stages: &[Stage]) -> Vec<&Stage> {
    let mut out = Vec::with_capacity(stages.len());
    let mut filters: Vec<&Stage> = Vec::new();
    let mut rest: Vec<&Stage> = Vec::new();
    for s in stages {
        match s {
            Stage::LineFilter(_) => filters.push(s),
            Stage::LineFormat(_) | Stage::Parser(Parser::Unpack) => {
                rest.push(s);
                out.append(&mut filters);
                out.append(&mut rest);
            }
            _ => rest.push(s),
        }
    }
    out.append(&mut filters);
    out.append(&mut rest);
    out
}

/// Gives every parameterless json/logfmt stage the label filters that directly follow it
/// and can run while it parses ([`label_filter::EarlyFilter`]).
fn attach_early_filters(stages: &mut [CompiledStage]) {
    for i in 0..stages.len() {
        let early =
            label_filter::EarlyFilter::of_chain(stages[i + 1..].iter().map_while(|s| match s {
                CompiledStage::LabelFilter(f) => Some(f),
                _ => None,
            }));
        if early.is_empty() {
            continue;
        }
        match &mut stages[i] {
            CompiledStage::Json(p) => p.set_early(early),
            CompiledStage::Logfmt(p) if p.is_plain() => p.set_early(early),
            _ => {}
        }
    }
}

fn bad(msg: String) -> QueryError {
    QueryError::BadRequest(msg)
}

impl Pipeline {
    /// Compiles `stages` (and `unwrap`, for unwrapped range aggregations).
    pub fn new(stages: &[Stage], unwrap: Option<&Unwrap>) -> Result<Self> {
        let ordered = reorder(stages);
        let mut first_filters = Vec::new();
        let mut compiled = Vec::with_capacity(ordered.len());
        let mut leading = true;
        for s in ordered {
            let c = match s {
                Stage::LineFilter(f) => {
                    let f = line_filter::LineFilter::new(f).map_err(bad)?;
                    if f.is_noop() {
                        continue;
                    }
                    if leading {
                        first_filters.push(f);
                        continue;
                    }
                    CompiledStage::LineFilter(f)
                }
                Stage::Parser(p) => match p {
                    Parser::Json(params) if params.is_empty() => {
                        CompiledStage::Json(json::JsonParser::new())
                    }
                    Parser::Json(params) => {
                        CompiledStage::JsonParams(json::JsonExprParser::new(params).map_err(bad)?)
                    }
                    Parser::Logfmt {
                        strict,
                        keep_empty,
                        params,
                    } => CompiledStage::Logfmt(
                        logfmt::LogfmtParser::new(*strict, *keep_empty, params).map_err(bad)?,
                    ),
                    Parser::Regexp(re) => {
                        CompiledStage::Regexp(regexp::RegexpParser::new(re).map_err(|e| {
                            bad(format!("parse error : invalid regexp parser: {e}"))
                        })?)
                    }
                    Parser::Pattern(p) => {
                        CompiledStage::Pattern(pattern::PatternParser::new(p).map_err(|e| {
                            bad(format!("parse error : invalid pattern parser: {e}"))
                        })?)
                    }
                    Parser::Unpack => CompiledStage::Unpack,
                },
                Stage::LabelFilter(f) => CompiledStage::LabelFilter(Arc::new(
                    label_filter::LabelFilter::new(f).map_err(bad)?,
                )),
                Stage::LineFormat(t) => {
                    CompiledStage::LineFormat(format::LineFormat::new(t).map_err(bad)?)
                }
                Stage::LabelFormat(ops) => {
                    CompiledStage::LabelFormat(format::LabelFormat::new(ops).map_err(bad)?)
                }
                Stage::Decolorize => CompiledStage::Decolorize,
                Stage::Drop(args) => CompiledStage::Drop(drop_keep::DropKeep::new(args)),
                Stage::Keep(args) => CompiledStage::Keep(drop_keep::DropKeep::new(args)),
            };
            leading = false;
            compiled.push(c);
        }
        let unwrap = unwrap
            .map(unwrap::UnwrapStage::new)
            .transpose()
            .map_err(bad)?;
        attach_early_filters(&mut compiled);
        Ok(Self {
            first_filters,
            stages: compiled,
            unwrap,
            hints: None,
        })
    }

    /// The pipeline with parsers limited to `hints` (see [`ParserHints`]).
    pub fn with_hints(mut self, hints: Option<ParserHints>) -> Self {
        self.hints = hints;
        self
    }

    /// True when the pipeline has no stage beyond the hoisted line filters, so entries
    /// keep their stream labels and lines (the engine's fast path). Structured metadata,
    /// when an entry has some, still becomes labels in [`StreamPipeline::process`].
    pub fn is_filter_only(&self) -> bool {
        self.stages.is_empty() && self.unwrap.is_none()
    }

    /// True when the pipeline has line filters that run before every other stage.
    pub fn has_line_filters(&self) -> bool {
        !self.first_filters.is_empty()
    }

    /// True when `line` passes the hoisted line filters (the per-line form of
    /// [`Self::filter_batch`], for sources that filter while they read).
    pub fn keeps_line(&self, line: &str) -> bool {
        self.first_filters.iter().all(|f| f.keep(line))
    }

    /// What every line the hoisted line filters keep must contain, for sources that
    /// skip data by trigram filters (empty when the filters promise nothing).
    pub fn literal_query(&self) -> LiteralQuery {
        LiteralQuery::new(
            self.first_filters
                .iter()
                .filter_map(line_filter::LineFilter::required_literals),
        )
    }

    /// Runs the hoisted line filters over a whole column; `None` when there are none.
    pub fn filter_batch(&self, lines: &StringViewArray) -> Option<BooleanArray> {
        if self.first_filters.is_empty() {
            return None;
        }
        let mut keep = vec![true; lines.len()];
        for f in &self.first_filters {
            f.eval_batch(lines, &mut keep);
        }
        Some(BooleanArray::from(keep))
    }

    /// The per-stream state for a stream with `labels`.
    pub fn for_stream(&self, labels: &LabelSet) -> StreamPipeline<'_> {
        StreamPipeline {
            pipeline: self,
            hints: self.hints.as_ref().map(|h| h.for_stream(labels)),
            lbs: LabelsBuilder::new(labels.clone()),
            scratch: String::new(),
            scratch2: String::new(),
        }
    }
}

/// A pipeline bound to one stream's labels.
#[derive(Debug)]
pub struct StreamPipeline<'p> {
    pipeline: &'p Pipeline,
    /// The pipeline's hints bound to this stream's labels.
    hints: Option<ParserHints>,
    lbs: LabelsBuilder,
    /// Reused buffers for label names built per entry.
    scratch: String,
    scratch2: String,
}

impl StreamPipeline<'_> {
    /// Runs one entry (that passed `filter_batch`) through the remaining stages;
    /// `None` when a stage drops it.
    pub fn process<'a>(
        &mut self,
        ts: i64,
        line: &'a str,
        metadata: &[(String, String)],
    ) -> Option<ProcessedEntry<'a>> {
        let (line, value) = self.run(ts, line, metadata)?;
        Some(ProcessedEntry {
            line,
            labels: self.lbs.to_label_set(),
            value,
        })
    }

    /// Runs one entry through the stages like [`Self::process`] but leaves its labels in
    /// the builder instead of building a [`LabelSet`]: metric queries that group read
    /// only the labels they keep ([`Self::group_key`], [`Self::grouped_labels`]).
    /// Returns the final line and the unwrapped value (`None` without unwrap).
    pub fn run<'a>(
        &mut self,
        ts: i64,
        line: &'a str,
        metadata: &[(String, String)],
    ) -> Option<(Cow<'a, str>, Option<f64>)> {
        let lbs = &mut self.lbs;
        let hints = self.hints.as_ref();
        lbs.reset();
        for (k, v) in metadata {
            lbs.set_unrecorded(k, v);
        }
        let mut line: Cow<'a, str> = Cow::Borrowed(line);
        for stage in &self.pipeline.stages {
            match stage {
                CompiledStage::LineFilter(f) => {
                    if !f.keep(&line) {
                        return None;
                    }
                }
                CompiledStage::Json(p) => {
                    if !p.process(&line, lbs, &mut self.scratch, &mut self.scratch2, hints) {
                        return None;
                    }
                }
                CompiledStage::JsonParams(p) => p.process(&line, lbs),
                CompiledStage::Logfmt(p) => {
                    if !p.process(&line, lbs, &mut self.scratch, hints) {
                        return None;
                    }
                }
                CompiledStage::Regexp(p) => p.process(&line, lbs, &mut self.scratch, hints),
                CompiledStage::Pattern(p) => p.process(&line, lbs, &mut self.scratch, hints),
                CompiledStage::Unpack => {
                    if let Some(new_line) = unpack::process(&line, lbs) {
                        line = Cow::Owned(new_line);
                    }
                }
                CompiledStage::LabelFilter(f) => {
                    if !f.process(lbs) {
                        return None;
                    }
                }
                CompiledStage::LineFormat(f) => {
                    if let Some(new_line) = f.process(ts, &line, lbs) {
                        line = Cow::Owned(new_line);
                    }
                }
                CompiledStage::LabelFormat(f) => f.process(ts, &line, lbs),
                CompiledStage::Decolorize => {
                    let stripped = match decolorize::decolorize(&line) {
                        Cow::Owned(s) => Some(s),
                        Cow::Borrowed(_) => None,
                    };
                    if let Some(s) = stripped {
                        line = Cow::Owned(s);
                    }
                }
                CompiledStage::Drop(d) => d.drop_labels(lbs),
                CompiledStage::Keep(k) => k.keep_labels(lbs),
            }
        }
        let value = match &self.pipeline.unwrap {
            Some(u) => Some(u.extract(lbs)?),
            None => None,
        };
        Some((line, value))
    }

    /// True when a stage of the last [`Self::run`] failed (`__error__` is set).
    pub fn has_err(&self) -> bool {
        self.lbs.has_err()
    }

    /// True when no stage set or deleted any of `names` on this entry: its grouped
    /// labels are then its stream's, and callers may reuse the stream's series.
    pub fn keeps_stream_values(&self, names: &[String]) -> bool {
        !self.lbs.overlays_any(names)
    }

    /// Writes into `key` an identity of the values the last [`Self::run`] left for
    /// `names` (the `by` labels of a grouping): equal keys mean equal grouped label
    /// sets. Building it allocates nothing once `key` has grown.
    pub fn group_key(&self, names: &[String], key: &mut String) {
        key.clear();
        for name in names {
            match self.lbs.get(name) {
                Some(v) => {
                    key.push('\u{1}');
                    key.push_str(v);
                }
                None => key.push('\u{2}'),
            }
        }
    }

    /// The labels the last [`Self::run`] left, restricted to `names`.
    pub fn grouped_labels(&self, names: &[String]) -> LabelSet {
        LabelSet::from_pairs(
            names
                .iter()
                .filter_map(|n| self.lbs.get(n).map(|v| (n.as_str(), v))),
        )
    }

    /// Every label the last [`Self::run`] left, `__error__` included.
    pub fn labels(&self) -> LabelSet {
        self.lbs.to_label_set()
    }
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod conformance_tests;
