//! Reading a selector's entries from every source and merging them into one sorted,
//! duplicate-free sequence per stream.
//!
//! Sources hand back record batches sorted by (fingerprint, ts). The hoisted line
//! filters run first over each whole batch (one pass over the string buffer), then each
//! stream's runs are merged by timestamp and exact duplicates (same timestamp and line,
//! e.g. the same entry in ingester memory and in a flushed segment) are dropped. Lines
//! stay in the Arrow buffers; a stream is a list of (batch, row) references.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use logql::{LabelMatcher, LabelSet};
use rayon::prelude::*;
use storage::arrow::array::{
    Array, AsArray, BooleanArray, Int64Array, StringArray, StringViewArray, UInt64Array,
};
use storage::arrow::compute::filter;
use storage::arrow::datatypes::{Int64Type, UInt64Type};
use storage::arrow::record_batch::RecordBatch;

use crate::pipeline::Pipeline;
use crate::source::{LineKeep, LogSource, ReadHints};
use crate::{QueryError, Result};

/// A run of one stream's rows in one batch: (batch, first row, end row).
type Run = (u32, usize, usize);

/// The columns of one fetched batch. After a line filter, `ts` holds only the kept
/// rows and `sel` maps them to their rows in `line` and `meta`, which are left as read
/// (copying the kept lines cost a filtering query 4 % of its CPU).
pub(crate) struct BatchCols {
    ts: Int64Array,
    line: StringViewArray,
    meta: StringArray,
    sel: Option<Vec<u32>>,
}

impl BatchCols {
    /// The row in `line` and `meta` of row `r` of `ts`.
    fn row(&self, r: usize) -> u32 {
        match &self.sel {
            Some(sel) => sel[r],
            None => r as u32,
        }
    }
}

/// One stream's entries in time order (ties in push order), duplicates removed.
pub(crate) struct StreamRows {
    /// The stream's labels.
    pub labels: LabelSet,
    /// Timestamps, ascending.
    pub ts: Vec<i64>,
    /// (batch, row in its `line` and `meta`) of each entry.
    rows: Vec<(u32, u32)>,
}

/// Everything one selector fetched: the batches and the streams that point into them.
#[derive(Default)]
pub(crate) struct Fetched {
    batches: Vec<BatchCols>,
    /// Streams sorted by labels.
    pub streams: Vec<StreamRows>,
    /// Lines read from the sources, before any filter.
    pub lines_read: u64,
    /// Bytes of those lines.
    pub bytes_read: u64,
    /// Read without lines, some stream has two entries with one timestamp: they may be
    /// duplicates, which only their lines can tell (the caller reads again with lines).
    pub ties_without_lines: bool,
}

impl Fetched {
    /// The line of entry `i` of `stream`.
    pub fn line(&self, stream: &StreamRows, i: usize) -> &str {
        let (b, r) = stream.rows[i];
        self.batches[b as usize].line.value(r as usize)
    }

    /// The structured metadata of entry `i` of `stream` (usually empty).
    pub fn metadata(&self, stream: &StreamRows, i: usize) -> Vec<(String, String)> {
        let (b, r) = stream.rows[i];
        let meta = &self.batches[b as usize].meta;
        if meta.is_null(r as usize) {
            return Vec::new();
        }
        serde_json::from_str(meta.value(r as usize)).unwrap_or_default()
    }

    /// True when some entry of `stream` carries structured metadata, which becomes labels
    /// (so the stream cannot take the engine's fast path).
    pub fn has_metadata(&self, stream: &StreamRows) -> bool {
        stream.rows.iter().any(|&(b, r)| {
            let meta = &self.batches[b as usize].meta;
            meta.null_count() < meta.len() && !meta.is_null(r as usize)
        })
    }
}

/// Which sources know which streams.
pub(crate) struct Resolved {
    labels: BTreeMap<u64, LabelSet>,
    per_source: Vec<Vec<u64>>,
}

/// Resolves `matchers` to streams through every source.
pub(crate) async fn resolve(
    sources: &[Arc<dyn LogSource>],
    tenant: &str,
    matchers: &[LabelMatcher],
    start: i64,
    end: i64,
) -> Result<Resolved> {
    let mut labels = BTreeMap::new();
    let mut per_source = Vec::with_capacity(sources.len());
    for src in sources {
        let infos = src.series(tenant, matchers, start, end).await?;
        let mut fps = Vec::with_capacity(infos.len());
        for info in infos {
            fps.push(info.fingerprint);
            labels.entry(info.fingerprint).or_insert(info.labels);
        }
        fps.sort_unstable();
        fps.dedup();
        per_source.push(fps);
    }
    Ok(Resolved { labels, per_source })
}

impl Resolved {
    /// The fingerprints each source has, in source order.
    pub(crate) fn per_source(&self) -> &[Vec<u64>] {
        &self.per_source
    }

    /// Number of streams.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The labels of the stream `fp`.
    pub(crate) fn labels_of(&self, fp: u64) -> Option<&LabelSet> {
        self.labels.get(&fp)
    }

    /// The same streams over other sources (`per_source` in their order).
    pub(crate) fn with_sources(&self, per_source: Vec<Vec<u64>>) -> Self {
        Self {
            labels: self.labels.clone(),
            per_source,
        }
    }

    /// The streams as groups a reader can hold one at a time (see [`StreamGroups`]).
    pub(crate) fn into_groups(self) -> StreamGroups {
        StreamGroups {
            resolved: self,
            taken: 0,
        }
    }

    /// Keeps only the streams whose fingerprint satisfies `keep` (sharding).
    pub(crate) fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.labels.retain(|fp, _| keep(*fp));
        for fps in &mut self.per_source {
            fps.retain(|fp| keep(*fp));
        }
    }
}

/// Resolved streams handed out a group at a time, in fingerprint order (the order of a
/// segment's rows, so consecutive groups share at most the pages at their edges).
pub(crate) struct StreamGroups {
    resolved: Resolved,
    /// Streams handed out so far.
    taken: usize,
}

impl StreamGroups {
    /// Streams not handed out yet.
    fn remaining(&self) -> usize {
        self.resolved.labels.len() - self.taken
    }

    /// The next (at most) `size` streams; `None` when all were handed out.
    pub(crate) fn next_group(&mut self, size: usize) -> Option<Resolved> {
        if self.remaining() == 0 {
            return None;
        }
        let labels: BTreeMap<u64, LabelSet> = self
            .resolved
            .labels
            .iter()
            .skip(self.taken)
            .take(size.max(1))
            .map(|(fp, l)| (*fp, l.clone()))
            .collect();
        self.taken += labels.len();
        let per_source = self
            .resolved
            .per_source
            .iter()
            .map(|fps| {
                fps.iter()
                    .copied()
                    .filter(|fp| labels.contains_key(fp))
                    .collect()
            })
            .collect();
        Some(Resolved { labels, per_source })
    }
}

/// The raw batches of a selector and what was scanned to get them.
pub(crate) struct Raw {
    /// Each batch, and whether its source already applied the leading line filters.
    batches: Vec<(RecordBatch, bool)>,
    lines_scanned: u64,
    bytes_scanned: u64,
}

/// Reads the raw batches of `[start, end)` for a resolved selector; sources may leave
/// the `line` column empty without `lines`, and drop lines the pipeline's leading line
/// filters reject (a source may ignore both: what it did not filter is filtered here).
pub(crate) async fn read(
    sources: &[Arc<dyn LogSource>],
    tenant: &str,
    resolved: &Resolved,
    window: (i64, i64),
    lines: bool,
    filter: Option<&Pipeline>,
) -> Result<Raw> {
    let keep = |line: &str| filter.is_none_or(|p| p.keeps_line(line));
    let literals = filter
        .map(Pipeline::literal_query)
        .filter(|q| !q.is_empty());
    let hints = ReadHints {
        lines,
        keep: filter
            .filter(|p| p.has_line_filters())
            .map(|_| &keep as &LineKeep<'_>),
        literals: literals.as_ref(),
    };
    let mut out = Raw {
        batches: Vec::new(),
        lines_scanned: 0,
        bytes_scanned: 0,
    };
    for (src, fps) in sources.iter().zip(&resolved.per_source) {
        if fps.is_empty() {
            continue;
        }
        let read = src.read_with(tenant, fps, window, hints).await?;
        out.batches
            .extend(read.batches.into_iter().map(|b| (b, read.filtered)));
        out.lines_scanned += read.lines_scanned;
        out.bytes_scanned += read.bytes_scanned;
    }
    Ok(out)
}

/// Filters the raw batches with the pipeline's hoisted line filters, then merges them
/// into per-stream sequences. `lines` says whether the batches hold lines: without,
/// duplicates cannot be told apart, so none are dropped and equal timestamps are only
/// reported ([`Fetched::ties_without_lines`]). CPU work: call from a rayon context.
pub(crate) fn assemble(
    resolved: &Resolved,
    raw: Raw,
    filter: Option<&Pipeline>,
    lines: bool,
) -> Result<Fetched> {
    let lines_read = raw.lines_scanned;
    let bytes_read = raw.bytes_scanned;
    let batches: Vec<FpBatch> = raw
        .batches
        .into_par_iter()
        .map(|(b, prefiltered)| {
            let b = match filter {
                Some(p) if !prefiltered => {
                    let lines = line_column(&b)?;
                    match p.filter_batch(lines) {
                        Some(mask) => return selected_cols(&b, &mask),
                        None => b,
                    }
                }
                _ => b,
            };
            batch_cols(&b)
        })
        .collect::<Result<_>>()?;

    // runs of equal fingerprint per batch: fp -> [(batch, start, end)]
    let mut runs: BTreeMap<u64, Vec<Run>> = BTreeMap::new();
    for (bi, b) in batches.iter().enumerate() {
        let fps = &b.fps;
        let n = fps.len();
        let mut i = 0;
        while i < n {
            let fp = fps.value(i);
            let mut j = i + 1;
            while j < n && fps.value(j) == fp {
                j += 1;
            }
            runs.entry(fp).or_default().push((bi as u32, i, j));
            i = j;
        }
    }
    let batch_cols: Vec<BatchCols> = batches.into_iter().map(|b| b.cols).collect();
    let runs: Vec<(u64, Vec<Run>)> = runs.into_iter().collect();
    let merged: Vec<(StreamRows, bool)> = runs
        .into_par_iter()
        .filter_map(|(fp, runs)| {
            let labels = resolved.labels.get(&fp)?.clone();
            Some(merge_stream(labels, &batch_cols, runs, lines))
        })
        .collect();
    let ties_without_lines = merged.iter().any(|(_, ties)| *ties);
    let mut streams: Vec<StreamRows> = merged.into_iter().map(|(s, _)| s).collect();
    streams.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Fetched {
        batches: batch_cols,
        streams,
        lines_read,
        bytes_read,
        ties_without_lines,
    })
}

/// A batch's columns plus its fingerprints.
struct FpBatch {
    fps: UInt64Array,
    cols: BatchCols,
}

/// The `line` column of a [`storage::log_schema`] batch (string views).
fn line_column(b: &RecordBatch) -> Result<&StringViewArray> {
    b.column(2)
        .as_string_view_opt()
        .ok_or_else(|| QueryError::Internal("log batch column 2 is not utf8view".into()))
}

/// The `metadata` column of a [`storage::log_schema`] batch.
fn metadata_column(b: &RecordBatch) -> Result<&StringArray> {
    b.column(3)
        .as_string_opt::<i32>()
        .ok_or_else(|| QueryError::Internal("log batch column 3 is not utf8".into()))
}

/// The columns of `b` with only the rows `mask` keeps: fingerprints and timestamps
/// filtered, lines and metadata left in place behind a row selection.
fn selected_cols(b: &RecordBatch, mask: &BooleanArray) -> Result<FpBatch> {
    let mut cols = batch_cols(b)?;
    let internal = |e: storage::arrow::error::ArrowError| QueryError::Internal(e.to_string());
    let fps = filter(&cols.fps, mask).map_err(internal)?;
    let ts = filter(&cols.cols.ts, mask).map_err(internal)?;
    cols.fps = fps.as_primitive::<UInt64Type>().clone();
    cols.cols.ts = ts.as_primitive::<Int64Type>().clone();
    // `filter` drops null slots, so the selection must too
    let kept: Box<dyn Iterator<Item = usize>> = match mask.nulls() {
        Some(nulls) => Box::new(
            mask.values()
                .set_indices()
                .filter(move |&i| nulls.is_valid(i)),
        ),
        None => Box::new(mask.values().set_indices()),
    };
    cols.cols.sel = Some(kept.filter_map(|i| u32::try_from(i).ok()).collect());
    Ok(cols)
}

fn batch_cols(b: &RecordBatch) -> Result<FpBatch> {
    if b.num_columns() < 4 {
        return Err(QueryError::Internal(format!(
            "log batch has {} columns, expected 4",
            b.num_columns()
        )));
    }
    let fps = b
        .column(0)
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| QueryError::Internal("log batch column 0 is not uint64".into()))?
        .clone();
    let ts = b
        .column(1)
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| QueryError::Internal("log batch column 1 is not int64".into()))?
        .clone();
    let line = line_column(b)?.clone();
    let meta = metadata_column(b)?.clone();
    Ok(FpBatch {
        fps,
        cols: BatchCols {
            ts,
            line,
            meta,
            sel: None,
        },
    })
}

/// Merges one stream's runs (each sorted by ts) by timestamp, keeping source order for
/// ties, and (with `lines`) drops entries whose (ts, line) already occurred. Also says
/// whether, without lines, two entries share a timestamp.
fn merge_stream(
    labels: LabelSet,
    batches: &[BatchCols],
    runs: Vec<Run>,
    lines: bool,
) -> (StreamRows, bool) {
    let total: usize = runs.iter().map(|r| r.2 - r.1).sum();
    let mut ts = Vec::with_capacity(total);
    let mut rows: Vec<(u32, u32)> = Vec::with_capacity(total);
    let mut ties = false;
    let mut push = |b: u32, r: usize, ts: &mut Vec<i64>, rows: &mut Vec<(u32, u32)>| {
        let batch = &batches[b as usize];
        let t = batch.ts.value(r);
        let row = batch.row(r);
        if !lines {
            ties |= ts.last() == Some(&t);
            ts.push(t);
            rows.push((b, row));
            return;
        }
        // exact duplicate: same ts and line among the entries of this timestamp (the
        // line is read only when the timestamp repeats)
        let mut k = ts.len();
        while k > 0 && ts[k - 1] == t {
            let (pb, pr) = rows[k - 1];
            if batches[pb as usize].line.value(pr as usize) == batch.line.value(row as usize) {
                return;
            }
            k -= 1;
        }
        ts.push(t);
        rows.push((b, row));
    };
    let run_ts = |&(b, s, e): &Run| &batches[b as usize].ts.values()[s..e];
    let mut bulk_ties = false;
    if let Some(order) = disjoint_order(&runs, run_ts) {
        // runs follow each other in time (time-sliced segments): concatenate them
        for &k in &order {
            let (b, s, e) = runs[k];
            if lines {
                for r in s..e {
                    push(b, r, &mut ts, &mut rows);
                }
            } else {
                let values = run_ts(&runs[k]);
                bulk_ties |= values.windows(2).any(|w| w[0] == w[1]);
                ts.extend_from_slice(values);
                let batch = &batches[b as usize];
                rows.extend((s..e).map(|r| (b, batch.row(r))));
            }
        }
    } else {
        // overlapping runs: k-way merge by (ts, run), so ties keep source order
        let mut pos: Vec<usize> = runs.iter().map(|r| r.1).collect();
        let mut heap: BinaryHeap<Reverse<(i64, usize)>> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.1 < r.2)
            .map(|(k, r)| Reverse((batches[r.0 as usize].ts.value(r.1), k)))
            .collect();
        while let Some(Reverse((_, k))) = heap.pop() {
            let (b, _, e) = runs[k];
            push(b, pos[k], &mut ts, &mut rows);
            pos[k] += 1;
            if pos[k] < e {
                heap.push(Reverse((batches[b as usize].ts.value(pos[k]), k)));
            }
        }
    }
    (StreamRows { labels, ts, rows }, ties || bulk_ties)
}

/// The order in which `runs` (each sorted by time) follow each other without sharing a
/// timestamp, when they do: then concatenating them is the merge.
fn disjoint_order<'a>(runs: &[Run], run_ts: impl Fn(&Run) -> &'a [i64]) -> Option<Vec<usize>> {
    let bounds: Vec<(i64, i64)> = runs
        .iter()
        .map(|r| {
            let t = run_ts(r);
            (
                t.first().copied().unwrap_or(i64::MAX),
                t.last().copied().unwrap_or(i64::MIN),
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&k| bounds[k].0);
    let disjoint = order.windows(2).all(|w| bounds[w[0]].1 < bounds[w[1]].0);
    disjoint.then_some(order)
}

/// The pipeline for streams whose entries carry structured metadata: the query's own
/// pipeline, or else an empty one, whose `process` turns the metadata into labels.
pub(crate) enum MetadataPipeline<'a> {
    /// The query has a pipeline.
    Query(&'a Pipeline),
    /// The query has none: an empty pipeline (`None` only if it could not be built).
    Empty(Option<Pipeline>),
}

impl<'a> MetadataPipeline<'a> {
    /// Wraps the query's pipeline, building an empty one when there is none.
    pub fn new(query: Option<&'a Pipeline>) -> Self {
        match query {
            Some(p) => MetadataPipeline::Query(p),
            None => MetadataPipeline::Empty(Pipeline::new(&[], None).ok()),
        }
    }

    /// The pipeline to run entries with metadata through.
    pub fn get(&self) -> Option<&Pipeline> {
        match self {
            MetadataPipeline::Query(p) => Some(p),
            MetadataPipeline::Empty(p) => p.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selected_columns_keep_lines_in_place_behind_the_selection() {
        let batch = RecordBatch::try_new(
            storage::log_schema(),
            vec![
                Arc::new(UInt64Array::from(vec![7, 7, 7, 9])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringViewArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(StringArray::from(vec![None::<&str>; 4])),
            ],
        )
        .unwrap();
        // a null slot is dropped, as `filter` drops it
        let mask = BooleanArray::from(vec![Some(true), None, Some(false), Some(true)]);
        let cols = selected_cols(&batch, &mask).unwrap();
        assert_eq!(cols.fps.values().as_ref(), &[7, 9]);
        assert_eq!(cols.cols.ts.values().as_ref(), &[1, 4]);
        assert_eq!(cols.cols.sel.as_deref(), Some(&[0u32, 3][..]));
        let lines: Vec<&str> = (0..2)
            .map(|r| cols.cols.line.value(cols.cols.row(r) as usize))
            .collect();
        assert_eq!(lines, ["a", "d"]);
    }
}
