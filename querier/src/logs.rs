//! Log queries: entries of `[start, end)` through the pipeline, cut to `limit` across all
//! streams, newest first (backward) or oldest first (forward).
//!
//! Loki's order: by timestamp in the query direction; entries sharing a timestamp are
//! ordered by stream labels, and inside one stream keep push order forward and reverse
//! push order backward. Without an interval the entries of all streams are taken in
//! query order, a round of them at a time (each round's per-stream runs through the
//! pipeline in parallel), until `limit` survivors sort before everything not yet looked
//! at: a limited query parses about `limit / match rate` lines instead of up to `limit`
//! per stream. With an interval every entry is a candidate.

use std::collections::{BTreeMap, BinaryHeap};

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
    let metadata_pipeline = MetadataPipeline::new(pipeline);
    let pipeline = pipeline.filter(|p| !p.is_filter_only());
    let pick = |s: &StreamRows| {
        if fetched.has_metadata(s) {
            metadata_pipeline.get()
        } else {
            pipeline
        }
    };
    let mut cands: Vec<Candidate> = if interval.is_some() {
        // entries a stream contributes may be skipped later: every one is a candidate
        fetched
            .streams
            .par_iter()
            .flat_map_iter(|s| run_candidates(fetched, s, pick(s), 0..s.ts.len(), direction))
            .collect()
    } else {
        merged_candidates(fetched, &pick, limit, direction)
    };
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

/// Entries in query order across all streams, a round at a time, until `limit` of them
/// survive the pipeline with a timestamp strictly before (in query order) every entry
/// not yet looked at; ties at the boundary are all looked at, so the final sort decides
/// them as usual.
fn merged_candidates<'p>(
    fetched: &Fetched,
    pick: &(dyn Fn(&StreamRows) -> Option<&'p Pipeline> + Sync),
    limit: usize,
    direction: Direction,
) -> Vec<Candidate> {
    let streams = &fetched.streams;
    // position in query order of each stream's next entry
    let mut done = vec![0usize; streams.len()];
    let ts_at = |s: usize, k: usize| {
        let st = &streams[s];
        match direction {
            Direction::Forward => st.ts[k],
            Direction::Backward => st.ts[st.ts.len() - 1 - k],
        }
    };
    // max-heap on a key that grows in query order's reverse: newest first backward
    let key = |ts: i64| match direction {
        Direction::Forward => !ts,
        Direction::Backward => ts,
    };
    let mut heap: BinaryHeap<(i64, usize)> = (0..streams.len())
        .filter(|&s| !streams[s].ts.is_empty())
        .map(|s| (key(ts_at(s, 0)), s))
        .collect();
    let round = limit.max(4096);
    let mut out: Vec<Candidate> = Vec::new();
    while !heap.is_empty() {
        // the next `round` entries in query order, as a run per stream
        let mut upto = done.clone();
        let mut last_key = i64::MIN;
        for _ in 0..round {
            let Some((k, s)) = heap.pop() else { break };
            last_key = k;
            upto[s] += 1;
            if upto[s] < streams[s].ts.len() {
                heap.push((key(ts_at(s, upto[s])), s));
            }
        }
        let runs: Vec<(usize, usize, usize)> = (0..streams.len())
            .filter(|&s| upto[s] > done[s])
            .map(|s| (s, done[s], upto[s]))
            .collect();
        out.par_extend(runs.into_par_iter().flat_map_iter(|(s, from, to)| {
            run_candidates(fetched, &streams[s], pick(&streams[s]), from..to, direction)
        }));
        done = upto;
        // everything not looked at sorts at or after `last_key`
        let settled = out.iter().filter(|c| key(c.ts) > last_key).count();
        if settled >= limit {
            break;
        }
    }
    out
}

/// The entries at query-order positions `positions` of one stream that survive the
/// pipeline (a fresh per-stream pipeline state: stages keep none across entries).
fn run_candidates(
    fetched: &Fetched,
    stream: &StreamRows,
    pipeline: Option<&Pipeline>,
    positions: std::ops::Range<usize>,
    direction: Direction,
) -> Vec<Candidate> {
    let n = stream.ts.len();
    let index = |k: usize| match direction {
        Direction::Forward => k,
        Direction::Backward => n - 1 - k,
    };
    let mut out = Vec::new();
    let mut sp = pipeline.map(|p| p.for_stream(&stream.labels));
    for k in positions {
        let i = index(k);
        let line = fetched.line(stream, i);
        match sp.as_mut() {
            None => out.push(Candidate {
                ts: stream.ts[i],
                seq: i,
                labels: stream.labels.clone(),
                line: line.to_string(),
            }),
            Some(sp) => {
                let meta = fetched.metadata(stream, i);
                if let Some(e) = sp.process(stream.ts[i], line, &meta) {
                    out.push(Candidate {
                        ts: stream.ts[i],
                        seq: i,
                        labels: e.labels,
                        line: e.line.into_owned(),
                    });
                }
            }
        }
    }
    out
}
