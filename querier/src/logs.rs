//! Log queries: entries of `[start, end)` through the pipeline, cut to `limit` across all
//! streams, newest first (backward) or oldest first (forward).
//!
//! Loki's order: by timestamp in the query direction; entries sharing a timestamp are
//! ordered by stream labels, and inside one stream keep push order forward and reverse
//! push order backward. Each stream contributes at most `limit` candidates, so the global
//! cut only sorts `streams * limit` entries at most.

use std::collections::BTreeMap;

use logql::LabelSet;
use rayon::prelude::*;

use crate::fetch::{Fetched, MetadataPipeline, StreamRows};
use crate::model::{Direction, Stream};
use crate::pipeline::Pipeline;

/// One entry that may make it into the result.
struct Candidate {
    ts: i64,
    seq: usize,
    labels: LabelSet,
    line: String,
}

/// Evaluates a log query over fetched streams.
pub(crate) fn eval_logs(
    fetched: &Fetched,
    pipeline: Option<&Pipeline>,
    limit: usize,
    direction: Direction,
    interval: Option<i64>,
) -> Vec<Stream> {
    if limit == 0 {
        return Vec::new();
    }
    let interval = interval.filter(|i| *i > 0);
    // with an interval, entries a stream contributes may be skipped later: no pre-cut
    let per_stream = if interval.is_some() {
        usize::MAX
    } else {
        limit
    };
    let metadata_pipeline = MetadataPipeline::new(pipeline);
    let pipeline = pipeline.filter(|p| !p.is_filter_only());
    let mut cands: Vec<Candidate> = fetched
        .streams
        .par_iter()
        .flat_map_iter(|s| {
            let p = if fetched.has_metadata(s) {
                metadata_pipeline.get()
            } else {
                pipeline
            };
            stream_candidates(fetched, s, p, per_stream, direction)
        })
        .collect();
    match direction {
        Direction::Forward => cands.sort_by(|a, b| {
            a.ts.cmp(&b.ts)
                .then_with(|| a.labels.cmp(&b.labels))
                .then_with(|| a.seq.cmp(&b.seq))
        }),
        Direction::Backward => cands.sort_by(|a, b| {
            b.ts.cmp(&a.ts)
                .then_with(|| a.labels.cmp(&b.labels))
                .then_with(|| b.seq.cmp(&a.seq))
        }),
    }
    if let Some(iv) = interval {
        // Loki keeps an entry only when it is at least `interval` after (forward) or
        // before (backward) the last kept entry
        let mut last: Option<i64> = None;
        cands.retain(|c| {
            let keep = match (last, direction) {
                (None, _) => true,
                (Some(l), Direction::Forward) => c.ts >= l + iv,
                (Some(l), Direction::Backward) => c.ts <= l - iv,
            };
            if keep {
                last = Some(c.ts);
            }
            keep
        });
    }
    cands.truncate(limit);
    let mut out: BTreeMap<LabelSet, Vec<(i64, String)>> = BTreeMap::new();
    for c in cands {
        out.entry(c.labels).or_default().push((c.ts, c.line));
    }
    out.into_iter()
        .map(|(labels, entries)| Stream { labels, entries })
        .collect()
}

/// The first `limit` entries of one stream in query direction that survive the pipeline.
fn stream_candidates(
    fetched: &Fetched,
    stream: &StreamRows,
    pipeline: Option<&Pipeline>,
    limit: usize,
    direction: Direction,
) -> Vec<Candidate> {
    let n = stream.ts.len();
    let order: Box<dyn Iterator<Item = usize>> = match direction {
        Direction::Forward => Box::new(0..n),
        Direction::Backward => Box::new((0..n).rev()),
    };
    let mut out = Vec::with_capacity(limit.min(n));
    let limit = limit.min(n);
    match pipeline {
        None => {
            for i in order.take(limit) {
                out.push(Candidate {
                    ts: stream.ts[i],
                    seq: i,
                    labels: stream.labels.clone(),
                    line: fetched.line(stream, i).to_string(),
                });
            }
        }
        Some(p) => {
            let mut sp = p.for_stream(&stream.labels);
            for i in order {
                let meta = fetched.metadata(stream, i);
                if let Some(e) = sp.process(stream.ts[i], fetched.line(stream, i), &meta) {
                    out.push(Candidate {
                        ts: stream.ts[i],
                        seq: i,
                        labels: e.labels,
                        line: e.line.into_owned(),
                    });
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
    }
    out
}
