//! Range aggregations (`count_over_time`, `rate`, `sum_over_time`, ...): samples per
//! series, then one value per step over the window `(t - offset - range, t - offset]`.
//!
//! Samples come from the pipeline: 1 per entry for counting functions, the line length
//! for the byte functions, the unwrapped value otherwise. Series are keyed by the final
//! labels (reduced by `by`/`without` on unwrapped ranges). The windows slide over the
//! sorted timestamps with two cursors; counts and sums use prefix sums, so a step costs
//! O(1) for them, and only the order-statistics functions look at each window's samples.

use std::collections::HashMap;

use logql::ast::{Grouping, MetricExpr, RangeAggregation, RangeOp, VectorAggregation, VectorOp};
use logql::{LabelSet, MatchOp};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::fetch::{Fetched, MetadataPipeline};
use crate::matrix::{SeriesVals, Steps, group_labels};
use crate::pipeline::{ERROR_DETAILS_LABEL, Pipeline, StreamPipeline};
use crate::{QueryError, Result};

/// The input of one range aggregation: its samples, grouped as the evaluation needs
/// them. Samples are taken as the entries are read (a group of streams at a time), so
/// the entries themselves need not all be in memory at once.
#[derive(Default)]
pub(crate) struct RangeInput {
    /// Per grouped label set, the series each stream (or parser key) contributed, with
    /// that stream's labels: parts are evaluated in stream label order, whatever order
    /// the streams were read in (ties between streams at one timestamp resolve alike).
    series: HashMap<LabelSet, Vec<(LabelSet, SampleSeries)>>,
    /// The samples stand for several entries each (storage rollups: their count, or
    /// their line bytes), for counting functions over a bare selector at
    /// minute-aligned windows.
    weighted: bool,
}

impl RangeInput {
    /// Rollup samples per stream (each standing for several entries), grouped for
    /// `agg` under the pushed-down `grouping`.
    pub fn from_rollups(
        agg: &RangeAggregation,
        grouping: Option<&Grouping>,
        streams: Vec<SampleSeries>,
    ) -> Self {
        let grouping = unwrap_grouping(agg, grouping);
        let mut input = Self {
            series: HashMap::new(),
            weighted: true,
        };
        for mut s in streams {
            let stream = std::mem::take(&mut s.labels);
            s.labels = grouped(stream.clone(), grouping.as_ref());
            input.add(stream, s);
        }
        input
    }

    /// Adds the samples of the `fetched` entries run through `pipeline`, grouped for
    /// `agg` under the pushed-down `grouping`. CPU work: call from a rayon context.
    pub fn add_entries(
        &mut self,
        agg: &RangeAggregation,
        grouping: Option<&Grouping>,
        fetched: &Fetched,
        pipeline: Option<&Pipeline>,
    ) {
        let grouping = unwrap_grouping(agg, grouping);
        let per_stream = samples(agg, grouping.as_ref(), fetched, pipeline);
        for (stream, parts) in fetched.streams.iter().zip(per_stream) {
            for s in parts {
                self.add(stream.labels.clone(), s);
            }
        }
    }

    fn add(&mut self, stream: LabelSet, s: SampleSeries) {
        self.series
            .entry(s.labels.clone())
            .or_default()
            .push((stream, s));
    }
}

/// The label Loki sets when a pipeline stage fails.
pub(crate) const ERROR_LABEL: &str = "__error__";

/// Samples of one series, sorted by time.
pub(crate) struct SampleSeries {
    /// The series' labels.
    pub labels: LabelSet,
    /// Sample timestamps, ascending.
    pub ts: Vec<i64>,
    /// Sample values (for weighted samples: what each adds to a window holding it).
    pub vals: Vec<f64>,
}

/// Evaluates a range aggregation at every step over its grouped samples.
pub(crate) fn eval_range(
    agg: &RangeAggregation,
    input: RangeInput,
    steps: &Steps,
    allow_errors: bool,
) -> Result<Vec<SeriesVals>> {
    let RangeInput { series, weighted } = input;
    let series: HashMap<LabelSet, Vec<SampleSeries>> = series
        .into_iter()
        .map(|(labels, mut parts)| {
            parts.sort_by(|a, b| a.0.cmp(&b.0));
            (labels, parts.into_iter().map(|(_, s)| s).collect())
        })
        .collect();
    if agg.op == RangeOp::Absent {
        let all: Vec<SampleSeries> = series.into_values().flatten().collect();
        return Ok(absent(agg, &all, steps));
    }
    let additive = is_additive(agg.op);
    let mut out: Vec<SeriesVals> = series
        .into_par_iter()
        .map(|(labels, parts)| {
            let vals = if additive {
                additive_windows(agg, &parts, steps, weighted)
            } else {
                windows(agg, &merge_parts(parts), steps)
            };
            SeriesVals { labels, vals }
        })
        .filter(SeriesVals::has_any)
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    if !allow_errors {
        for i in 0..steps.n {
            if let Some(s) = out
                .iter()
                .find(|s| s.vals[i].is_some() && s.labels.get(ERROR_LABEL).is_some())
            {
                return Err(pipeline_error(&s.labels));
            }
        }
    }
    Ok(out)
}

/// Loki's error for a metric series that carries `__error__`.
pub(crate) fn pipeline_error(labels: &LabelSet) -> QueryError {
    let err = labels.get(ERROR_LABEL).unwrap_or_default();
    QueryError::Pipeline(format!(
        "pipeline error: '{err}' for series: '{labels}'.\n\
         Use a label filter to intentionally skip this error. (e.g | __error__!=\"{err}\").\n\
         To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n\
         The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )"
    ))
}

/// Loki's grouping push-down: `sum` over a range aggregation without its own grouping
/// whose function adds up across series hands its `by`/`without` (or `by ()` when it
/// has none) to the range aggregation, so series are reduced while samples are
/// extracted instead of after every per-line label set became a series. Returns `None`
/// when the shapes do not allow it.
pub(crate) fn pushdown_grouping(
    vector: &VectorAggregation,
) -> Option<(&RangeAggregation, Grouping)> {
    if vector.op != VectorOp::Sum {
        return None;
    }
    let mut inner = vector.expr.as_ref();
    while let MetricExpr::Paren(e) = inner {
        inner = e;
    }
    let MetricExpr::Range(r) = inner else {
        return None;
    };
    if r.grouping.is_some() || !is_additive(r.op) {
        return None;
    }
    let grouping = vector.grouping.clone().unwrap_or(Grouping {
        without: false,
        labels: Vec::new(),
    });
    Some((r, grouping))
}

/// The grouping samples get: Loki removes the unwrapped label by adding it to an
/// ungrouped or `without` grouping of an unwrapped range (a `by` keeps it only if named).
fn unwrap_grouping(agg: &RangeAggregation, grouping: Option<&Grouping>) -> Option<Grouping> {
    let Some(u) = &agg.range.unwrap else {
        return grouping.cloned();
    };
    match grouping {
        Some(g) if !g.without => Some(g.clone()),
        _ => {
            let mut labels = grouping.map(|g| g.labels.clone()).unwrap_or_default();
            labels.push(u.label.clone());
            Some(Grouping {
                without: true,
                labels,
            })
        }
    }
}

/// Functions whose value over the union of several series is the sum of their values.
fn is_additive(op: RangeOp) -> bool {
    matches!(
        op,
        RangeOp::Count | RangeOp::Rate | RangeOp::Bytes | RangeOp::BytesRate | RangeOp::Sum
    )
}

/// Loki's grouped labels of one sample: the grouping applied, except that a sample
/// whose pipeline failed keeps every label so that its `__error__` is not lost.
fn grouped(labels: LabelSet, grouping: Option<&Grouping>) -> LabelSet {
    match grouping {
        Some(_) if labels.get(ERROR_LABEL).is_some_and(|e| !e.is_empty()) => labels,
        Some(_) => group_labels(&labels, grouping),
        None => labels,
    }
}

/// The `by` labels of `grouping` when samples can be keyed on their values alone
/// (a `by` that names neither error label).
fn by_labels(grouping: Option<&Grouping>) -> Option<&[String]> {
    let g = grouping?;
    if g.without
        || g.labels
            .iter()
            .any(|l| l == ERROR_LABEL || l == ERROR_DETAILS_LABEL)
    {
        return None;
    }
    Some(&g.labels)
}

/// Samples of one stream, keyed by grouped label set. The maps are looked up once per
/// sample, so they hash with FxHash (SipHash was 2-3 % of a parsing query's CPU).
#[derive(Default)]
struct StreamSeries {
    /// Series keyed by [`StreamPipeline::group_key`] (grouping `by`, no error).
    by_key: FxHashMap<String, usize>,
    /// Series keyed by their whole labels (no `by`, or a failed pipeline).
    by_labels: FxHashMap<LabelSet, usize>,
    /// The series of the entries whose grouped values are the stream's own.
    stream_idx: Option<usize>,
    series: Vec<SampleSeries>,
}

impl StreamSeries {
    fn push(&mut self, idx: usize, ts: i64, v: f64) {
        let s = &mut self.series[idx];
        s.ts.push(ts);
        s.vals.push(v);
    }

    fn add(&mut self, labels: LabelSet) -> usize {
        self.series.push(SampleSeries {
            labels,
            ts: Vec::new(),
            vals: Vec::new(),
        });
        self.series.len() - 1
    }

    /// The series of the current entry of `sp` grouped `by (names)`; `key` is a scratch
    /// buffer. An entry whose grouped values are its stream's (no stage set or deleted
    /// one) takes the stream's series without building its key.
    fn index_by(&mut self, sp: &StreamPipeline<'_>, names: &[String], key: &mut String) -> usize {
        let stream_values = sp.keeps_stream_values(names);
        if stream_values && let Some(i) = self.stream_idx {
            return i;
        }
        sp.group_key(names, key);
        let i = match self.by_key.get(key.as_str()) {
            Some(&i) => i,
            None => {
                let i = self.add(sp.grouped_labels(names));
                self.by_key.insert(key.clone(), i);
                i
            }
        };
        if stream_values {
            self.stream_idx = Some(i);
        }
        i
    }

    fn index_of_labels(&mut self, labels: LabelSet) -> usize {
        if let Some(&i) = self.by_labels.get(&labels) {
            return i;
        }
        let i = self.add(labels.clone());
        self.by_labels.insert(labels, i);
        i
    }
}

/// Runs the pipeline over every fetched entry: per fetched stream (in order), its series
/// (one per grouped label set it produced), each sorted by time.
fn samples(
    agg: &RangeAggregation,
    grouping: Option<&Grouping>,
    fetched: &Fetched,
    pipeline: Option<&Pipeline>,
) -> Vec<Vec<SampleSeries>> {
    let bytes = matches!(agg.op, RangeOp::Bytes | RangeOp::BytesRate);
    let metadata_pipeline = MetadataPipeline::new(pipeline);
    let fast_pipeline = pipeline.filter(|p| agg.range.unwrap.is_some() || !p.is_filter_only());
    let by = by_labels(grouping);
    fetched
        .streams
        .par_iter()
        .map(|s| {
            let n = s.ts.len();
            let has_metadata = fetched.has_metadata(s);
            let pipeline = if has_metadata {
                metadata_pipeline.get()
            } else {
                fast_pipeline
            };
            let Some(p) = pipeline else {
                let vals = if bytes {
                    (0..n).map(|i| fetched.line(s, i).len() as f64).collect()
                } else {
                    vec![1.0; n]
                };
                return vec![SampleSeries {
                    labels: grouped(s.labels.clone(), grouping),
                    ts: s.ts.clone(),
                    vals,
                }];
            };
            let mut sp = p.for_stream(&s.labels);
            let mut out = StreamSeries::default();
            let mut key = String::new();
            let unwrap = agg.range.unwrap.is_some();
            for i in 0..n {
                // most streams carry no metadata: no per-entry lookup then
                let meta = if has_metadata {
                    fetched.metadata(s, i)
                } else {
                    Vec::new()
                };
                let Some((line, value)) = sp.run(s.ts[i], fetched.line(s, i), &meta) else {
                    continue;
                };
                let v = if unwrap {
                    match value {
                        Some(v) => v,
                        None => continue,
                    }
                } else if bytes {
                    line.len() as f64
                } else {
                    1.0
                };
                let idx = match by {
                    Some(names) if !sp.has_err() => out.index_by(&sp, names, &mut key),
                    _ => out.index_of_labels(grouped(sp.labels(), grouping)),
                };
                out.push(idx, s.ts[i], v);
            }
            out.series
        })
        .collect()
}

/// One series from the parts several streams (or keys) contributed, sorted by time.
fn merge_parts(mut parts: Vec<SampleSeries>) -> SampleSeries {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let labels = parts[0].labels.clone();
    let mut pts: Vec<(i64, f64)> = parts
        .iter()
        .flat_map(|p| p.ts.iter().copied().zip(p.vals.iter().copied()))
        .collect();
    pts.sort_by_key(|p| p.0);
    SampleSeries {
        labels,
        ts: pts.iter().map(|p| p.0).collect(),
        vals: pts.iter().map(|p| p.1).collect(),
    }
}

/// The value at every step of an additive function over the union of `parts`: the
/// parts' counts or sums per window are added, then divided by the range for rates.
/// `weighted` samples stand for several entries: counting functions add their values.
fn additive_windows(
    agg: &RangeAggregation,
    parts: &[SampleSeries],
    steps: &Steps,
    weighted: bool,
) -> Vec<Option<f64>> {
    let range = agg.range.range;
    let offset = agg.range.offset;
    let counts = !weighted
        && (agg.op == RangeOp::Count || (agg.op == RangeOp::Rate && agg.range.unwrap.is_none()));
    let mut acc: Vec<Option<f64>> = vec![None; steps.n];
    for part in parts {
        let prefix: Vec<f64> = if counts {
            Vec::new()
        } else {
            prefix_sums(&part.vals)
        };
        for (slot, w) in acc
            .iter_mut()
            .zip(step_windows(&part.ts, steps, range, offset))
        {
            let (lo, hi) = (w.start, w.end);
            if lo >= hi {
                continue;
            }
            let x = if counts {
                (hi - lo) as f64
            } else {
                prefix[hi] - prefix[lo]
            };
            *slot = Some(slot.unwrap_or(0.0) + x);
        }
    }
    let range_secs = range as f64 / 1e9;
    if matches!(agg.op, RangeOp::Rate | RangeOp::BytesRate) {
        for v in acc.iter_mut().flatten() {
            *v /= range_secs;
        }
    }
    acc
}

/// `[0, v0, v0 + v1, ...]`: the sum of `vals[lo..hi]` is `p[hi] - p[lo]`.
fn prefix_sums(vals: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(vals.len() + 1);
    let mut acc = 0.0;
    p.push(0.0);
    for v in vals {
        acc += v;
        p.push(acc);
    }
    p
}

/// For every step, the indexes of the sorted `ts` inside its window
/// `(t - offset - range, t - offset]`, found with two cursors that only move forward.
fn step_windows<'a>(
    ts: &'a [i64],
    steps: &'a Steps,
    range: i64,
    offset: i64,
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let (mut lo, mut hi) = (0usize, 0usize);
    (0..steps.n).map(move |i| {
        let end = steps.at(i) - offset;
        let start = end - range;
        while hi < ts.len() && ts[hi] <= end {
            hi += 1;
        }
        while lo < hi && ts[lo] <= start {
            lo += 1;
        }
        lo..hi
    })
}

/// The value of one series at every step.
fn windows(agg: &RangeAggregation, s: &SampleSeries, steps: &Steps) -> Vec<Option<f64>> {
    let range = agg.range.range;
    let range_secs = range as f64 / 1e9;
    let offset = agg.range.offset;
    let sums = matches!(agg.op, RangeOp::Bytes | RangeOp::BytesRate | RangeOp::Sum)
        || (agg.op == RangeOp::Rate && agg.range.unwrap.is_some());
    let prefix = sums.then(|| prefix_sums(&s.vals));
    let mut out = vec![None; steps.n];
    for (slot, win) in out
        .iter_mut()
        .zip(step_windows(&s.ts, steps, range, offset))
    {
        let (lo, hi) = (win.start, win.end);
        if lo >= hi {
            continue;
        }
        let w = &s.vals[lo..hi];
        let count = (hi - lo) as f64;
        let sum = || prefix.as_ref().map(|p| p[hi] - p[lo]).unwrap_or(0.0);
        *slot = Some(match agg.op {
            RangeOp::Count => count,
            RangeOp::Rate => {
                if agg.range.unwrap.is_some() {
                    sum() / range_secs
                } else {
                    count / range_secs
                }
            }
            RangeOp::Bytes | RangeOp::Sum => sum(),
            RangeOp::BytesRate => sum() / range_secs,
            RangeOp::RateCounter => rate_counter(&s.ts[lo..hi], w, range),
            RangeOp::Avg => avg(w),
            RangeOp::Min => w
                .iter()
                .copied()
                .fold(w[0], |m, v| if v < m || m.is_nan() { v } else { m }),
            RangeOp::Max => w
                .iter()
                .copied()
                .fold(w[0], |m, v| if v > m || m.is_nan() { v } else { m }),
            RangeOp::Stdvar => stdvar(w),
            RangeOp::Stddev => stdvar(w).sqrt(),
            RangeOp::Quantile => quantile(agg.param.unwrap_or(0.0), w),
            RangeOp::First => w[0],
            RangeOp::Last => w[w.len() - 1],
            RangeOp::Absent => 1.0,
        });
    }
    out
}

/// Incremental mean, as Loki computes `avg_over_time`.
fn avg(w: &[f64]) -> f64 {
    let mut mean = 0.0f64;
    let mut count = 0.0f64;
    for &v in w {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// Population variance (Welford), as Loki computes `stdvar_over_time`.
pub(crate) fn stdvar(w: &[f64]) -> f64 {
    let (mut aux, mut count, mut mean) = (0.0f64, 0.0f64, 0.0f64);
    for &v in w {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// The q-quantile with linear interpolation between neighbours (Prometheus' method).
pub(crate) fn quantile(q: f64, w: &[f64]) -> f64 {
    if w.is_empty() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // two order statistics, not a sorted copy: selecting the lower rank leaves every
    // larger value after it, and the upper rank is the least of those
    let mut v = w.to_vec();
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let weight = rank - rank.floor();
    let (_, &mut low, above) = v.select_nth_unstable_by(lower, |a, b| a.total_cmp(b));
    let high = above
        .iter()
        .copied()
        .min_by(|a, b| a.total_cmp(b))
        .unwrap_or(low);
    low * (1.0 - weight) + high * weight
}

/// Loki 2.9's `rate_counter`: Prometheus' extrapolated counter rate, computed (as Loki
/// does) with nanosecond sample times against a millisecond range.
fn rate_counter(ts: &[i64], w: &[f64], range: i64) -> f64 {
    if w.len() < 2 {
        return 0.0;
    }
    let first_t = ts[0];
    let last_t = ts[ts.len() - 1];
    let range_ms = range / 1_000_000;
    let range_start = first_t - range_ms;
    let range_end = last_t;
    let mut result = w[w.len() - 1] - w[0];
    let mut last_value = 0.0;
    for &v in w {
        if v < last_value {
            result += last_value;
        }
        last_value = v;
    }
    let mut duration_to_start = (first_t - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_between = sampled / (w.len() - 1) as f64;
    if result > 0.0 && w[0] >= 0.0 {
        let to_zero = sampled * (w[0] / result);
        if to_zero < duration_to_start {
            duration_to_start = to_zero;
        }
    }
    let threshold = avg_between * 1.1;
    let mut interval = sampled;
    interval += if duration_to_start < threshold {
        duration_to_start
    } else {
        avg_between / 2.0
    };
    interval += if duration_to_end < threshold {
        duration_to_end
    } else {
        avg_between / 2.0
    };
    result *= interval / sampled;
    result / (range as f64 / 1e9)
}

/// `absent_over_time`: 1 at the steps where no series has a sample in the window,
/// labelled with the selector's equality matchers.
fn absent(agg: &RangeAggregation, series: &[SampleSeries], steps: &Steps) -> Vec<SeriesVals> {
    let range = agg.range.range;
    let offset = agg.range.offset;
    let mut vals = vec![Some(1.0); steps.n];
    for s in series {
        for (slot, win) in vals
            .iter_mut()
            .zip(step_windows(&s.ts, steps, range, offset))
        {
            if !win.is_empty() {
                *slot = None;
            }
        }
    }
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut repeated: Vec<&str> = Vec::new();
    for m in &agg.range.log.selector {
        if m.op != MatchOp::Eq {
            continue;
        }
        if pairs.iter().any(|(n, _)| *n == m.name) {
            repeated.push(&m.name);
        } else {
            pairs.push((&m.name, &m.value));
        }
    }
    pairs.retain(|(n, _)| !repeated.contains(n));
    let out = SeriesVals {
        labels: LabelSet::from_pairs(pairs),
        vals,
    };
    if out.has_any() { vec![out] } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    /// Prometheus' definition, over a sorted copy.
    fn sorted_quantile(q: f64, w: &[f64]) -> f64 {
        let mut v = w.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len() as f64;
        let rank = q * (n - 1.0);
        let lower = rank.floor().max(0.0);
        let upper = (lower + 1.0).min(n - 1.0);
        let weight = rank - rank.floor();
        v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight
    }

    #[test]
    fn quantile_by_selection_equals_quantile_of_sorted_values() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in [1usize, 2, 3, 7, 100, 1000] {
            for _ in 0..20 {
                let w: Vec<f64> = (0..len)
                    .map(|_| match next() % 50 {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => f64::NEG_INFINITY,
                        r => (r % 7) as f64 + (next() % 1000) as f64 / 1000.0,
                    })
                    .collect();
                for q in [0.0, 0.25, 0.5, 0.9, 0.99, 1.0] {
                    let (got, want) = (quantile(q, &w), sorted_quantile(q, &w));
                    assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "q={q} len={len}: {got} != {want}"
                    );
                }
            }
        }
        assert!(quantile(0.5, &[]).is_nan());
        assert_eq!(quantile(-1.0, &[1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &[1.0]), f64::INFINITY);
    }
}
