//! Counting queries answered from storage's per-minute rollups instead of its rows.
//!
//! `count_over_time`, `rate`, `bytes_over_time` and `bytes_rate` over a bare selector
//! only need, per stream, how many entries (or line bytes) fall in each window. When
//! every window starts and ends on a whole minute, the index's rollup points (see
//! [`storage::index::rollup_point`]) give that exactly: each point stands for entries
//! that every such window treats alike. Ingester memory is read as rows and joins the
//! points as samples of weight one.
//!
//! Exactness needs what the row path gets from deduplication: no entry counted twice.
//! Entries of one segment are unique (the ingester drops exact duplicates), so the
//! points are used only when the segments of a stream, and the ingester's rows of it,
//! do not overlap in time; otherwise the caller reads rows.

use std::collections::HashMap;
use std::sync::Arc;

use logql::ast::{RangeAggregation, RangeOp};
use storage::StreamRollup;
use storage::index::ROLLUP_NANOS;

use crate::Result;
use crate::fetch::{self, Resolved};
use crate::matrix::Steps;
use crate::range::SampleSeries;
use crate::source::{LogSource, SourceKind};

/// Weighted samples for one range aggregation, and the entries and bytes they stand
/// for (the query's processed lines and bytes).
pub(crate) struct RollupInput {
    /// Per stream, its weighted samples.
    pub series: Vec<SampleSeries>,
    /// Entries the samples stand for.
    pub lines: u64,
    /// Line bytes of those entries.
    pub bytes: u64,
}

impl RollupInput {
    /// Rollup points as samples (their entries, or their line bytes), counted into
    /// the processed lines and bytes.
    fn samples_of(&mut self, points: &[(i64, u64, u64)], bytes: bool) -> Vec<(i64, f64)> {
        points
            .iter()
            .map(|&(t, n, b)| {
                self.lines += n;
                self.bytes += b;
                (t, if bytes { b as f64 } else { n as f64 })
            })
            .collect()
    }
}

/// True when `agg` evaluated at `steps` can be answered from rollups: a counting
/// function over a bare selector whose windows all start and end on whole minutes.
pub(crate) fn eligible(agg: &RangeAggregation, steps: &Steps) -> bool {
    let aligned = |ns: i64| ns.rem_euclid(ROLLUP_NANOS) == 0;
    matches!(
        agg.op,
        RangeOp::Count | RangeOp::Rate | RangeOp::Bytes | RangeOp::BytesRate
    ) && agg.range.log.pipeline.is_empty()
        && agg.range.unwrap.is_none()
        && aligned(agg.range.range)
        && aligned(agg.range.offset)
        && aligned(steps.start)
        && (steps.n == 1 || aligned(steps.step))
}

/// The weighted samples of the `resolved` streams in `[start, end)`: stores' rollup
/// points plus ingester rows; `None` when some store has no rollups for them or
/// entries could be counted twice (the caller then reads rows).
pub(crate) async fn read(
    sources: &[Arc<dyn LogSource>],
    tenant: &str,
    resolved: &Resolved,
    (start, end): (i64, i64),
    bytes: bool,
) -> Result<Option<RollupInput>> {
    let mut stored: HashMap<u64, StreamRollup> = HashMap::new();
    let mut row_sources: Vec<Arc<dyn LogSource>> = Vec::new();
    let mut row_fps = Vec::new();
    for (src, fps) in sources.iter().zip(resolved.per_source()) {
        if fps.is_empty() {
            continue;
        }
        match src.kind() {
            SourceKind::Store => {
                let Some(rollups) = src.rollups(tenant, fps, (start, end)).await? else {
                    return Ok(None);
                };
                for r in rollups {
                    // two stores with one stream: their entries may repeat
                    if stored.insert(r.fingerprint, r).is_some() {
                        return Ok(None);
                    }
                }
            }
            SourceKind::Ingester => {
                row_sources.push(src.clone());
                row_fps.push(fps.clone());
            }
        }
    }
    // ingester rows with lines, so that assembling drops duplicates between ingesters
    let rows_resolved = resolved.with_sources(row_fps);
    let raw = fetch::read(
        &row_sources,
        tenant,
        &rows_resolved,
        (start, end),
        true,
        None,
    )
    .await?;
    let fetched = crate::cpu(move || fetch::assemble(&rows_resolved, raw, None, true)).await?;

    let mut out = RollupInput {
        series: Vec::new(),
        lines: 0,
        bytes: 0,
    };
    for s in &fetched.streams {
        let fp = s.labels.fingerprint();
        let (Some(&first), Some(&last)) = (s.ts.first(), s.ts.last()) else {
            continue;
        };
        let mut ts = s.ts.clone();
        let mut vals: Vec<f64> = (0..s.ts.len())
            .map(|i| {
                let len = fetched.line(s, i).len() as u64;
                out.bytes += len;
                if bytes { len as f64 } else { 1.0 }
            })
            .collect();
        out.lines += s.ts.len() as u64;
        if let Some(r) = stored.remove(&fp) {
            if r.spans.iter().any(|&(lo, hi)| first <= hi && last >= lo) {
                return Ok(None);
            }
            let mut merged: Vec<(i64, f64)> = ts.into_iter().zip(vals).collect();
            merged.extend(out.samples_of(&r.points, bytes));
            merged.sort_by_key(|p| p.0);
            (ts, vals) = merged.into_iter().unzip();
        }
        out.series.push(SampleSeries {
            labels: s.labels.clone(),
            ts,
            vals,
        });
    }
    for (fp, r) in stored {
        if r.points.is_empty() {
            continue;
        }
        let Some(labels) = resolved.labels_of(fp) else {
            continue;
        };
        let (ts, vals) = out.samples_of(&r.points, bytes).into_iter().unzip();
        out.series.push(SampleSeries {
            labels: labels.clone(),
            ts,
            vals,
        });
    }
    Ok(Some(out))
}
