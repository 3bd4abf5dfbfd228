//! The log pipeline: every stage after the stream selector, compiled once per query.
//!
//! The engine calls [`Pipeline::filter_batch`] first: it runs the line filters that Loki
//! evaluates before any other stage over a whole Arrow string array at once (memchr/memmem
//! for literals, regex only where needed). Surviving rows then go, one entry at a time,
//! through [`StreamPipeline::process`], which runs parsers, label filters, formatters and
//! the remaining line filters, and extracts the `unwrap` value of metric queries.

use std::borrow::Cow;

use logql::LabelSet;
use logql::ast::{Stage, Unwrap};
use storage::arrow::array::{BooleanArray, StringArray};

use crate::Result;

/// A compiled pipeline (stages plus optional unwrap) for one query.
pub struct Pipeline {
    _private: (),
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

impl Pipeline {
    /// Compiles `stages` (and `unwrap`, for unwrapped range aggregations).
    pub fn new(_stages: &[Stage], _unwrap: Option<&Unwrap>) -> Result<Self> {
        todo!("pipeline compile")
    }

    /// True when the pipeline has no stage beyond the hoisted line filters, so entries
    /// keep their stream labels and lines (the engine's fast path).
    pub fn is_filter_only(&self) -> bool {
        todo!("is_filter_only")
    }

    /// Runs the hoisted line filters over a whole column; `None` when there are none.
    pub fn filter_batch(&self, _lines: &StringArray) -> Option<BooleanArray> {
        todo!("filter_batch")
    }

    /// The per-stream state for a stream with `labels`.
    pub fn for_stream(&self, _labels: &LabelSet) -> StreamPipeline<'_> {
        todo!("for_stream")
    }
}

/// A pipeline bound to one stream's labels.
pub struct StreamPipeline<'p> {
    _pipeline: &'p Pipeline,
}

impl StreamPipeline<'_> {
    /// Runs one entry (that passed `filter_batch`) through the remaining stages;
    /// `None` when a stage drops it.
    pub fn process<'a>(
        &mut self,
        _ts: i64,
        _line: &'a str,
        _metadata: &[(String, String)],
    ) -> Option<ProcessedEntry<'a>> {
        todo!("process")
    }
}
