//! Vector aggregations (`sum`, `avg`, `topk`, ...), step by step, Prometheus semantics.

use std::collections::BTreeMap;

use logql::LabelSet;
use logql::ast::{Grouping, VectorOp};

use crate::matrix::{SeriesVals, Steps, group_labels};

/// Aggregates `input` per group and step.
pub(crate) fn eval_vector(
    op: VectorOp,
    grouping: Option<&Grouping>,
    param: Option<i64>,
    input: Vec<SeriesVals>,
    steps: &Steps,
) -> Vec<SeriesVals> {
    match op {
        VectorOp::Sort | VectorOp::SortDesc => input,
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk => select_k(
            op != VectorOp::Bottomk,
            grouping,
            param.unwrap_or(0),
            input,
            steps,
        ),
        _ => aggregate(op, grouping, &input, steps),
    }
}

fn groups(grouping: Option<&Grouping>, input: &[SeriesVals]) -> BTreeMap<LabelSet, Vec<usize>> {
    let mut groups: BTreeMap<LabelSet, Vec<usize>> = BTreeMap::new();
    for (i, s) in input.iter().enumerate() {
        groups
            .entry(group_labels(&s.labels, grouping))
            .or_default()
            .push(i);
    }
    groups
}

fn aggregate(
    op: VectorOp,
    grouping: Option<&Grouping>,
    input: &[SeriesVals],
    steps: &Steps,
) -> Vec<SeriesVals> {
    let mut out = Vec::new();
    for (labels, members) in groups(grouping, input) {
        let mut vals = vec![None; steps.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            let mut it = members.iter().filter_map(|&m| input[m].vals[i]).peekable();
            if it.peek().is_none() {
                continue;
            }
            *slot = Some(match op {
                VectorOp::Sum => it.sum(),
                VectorOp::Count => it.count() as f64,
                VectorOp::Min => it.fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
                VectorOp::Max => it.fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
                VectorOp::Avg => {
                    let (mut mean, mut count) = (0.0f64, 0.0f64);
                    for v in it {
                        count += 1.0;
                        mean += (v - mean) / count;
                    }
                    mean
                }
                VectorOp::Stdvar | VectorOp::Stddev => {
                    let w: Vec<f64> = it.collect();
                    let var = crate::range::stdvar(&w);
                    if op == VectorOp::Stddev {
                        var.sqrt()
                    } else {
                        var
                    }
                }
                _ => continue,
            });
        }
        let s = SeriesVals { labels, vals };
        if s.has_any() {
            out.push(s);
        }
    }
    out
}

/// `topk`/`bottomk`: per group and step keep the k largest (smallest) samples, with the
/// input series' labels.
fn select_k(
    top: bool,
    grouping: Option<&Grouping>,
    k: i64,
    input: Vec<SeriesVals>,
    steps: &Steps,
) -> Vec<SeriesVals> {
    if k < 1 {
        return Vec::new();
    }
    let k = k as usize;
    let mut keep = vec![vec![false; steps.n]; input.len()];
    for (_, members) in groups(grouping, &input) {
        // `i` indexes the step of several series at once
        #[allow(clippy::needless_range_loop)]
        for i in 0..steps.n {
            let mut present: Vec<(usize, f64)> = members
                .iter()
                .filter_map(|&m| input[m].vals[i].map(|v| (m, v)))
                .collect();
            present.sort_by(|a, b| {
                let ord = if top {
                    b.1.total_cmp(&a.1)
                } else {
                    a.1.total_cmp(&b.1)
                };
                // NaN sorts last either way
                match (a.1.is_nan(), b.1.is_nan()) {
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => ord,
                }
            });
            for (m, _) in present.into_iter().take(k) {
                keep[m][i] = true;
            }
        }
    }
    input
        .into_iter()
        .zip(keep)
        .filter_map(|(mut s, keep)| {
            for (v, k) in s.vals.iter_mut().zip(keep) {
                if !k {
                    *v = None;
                }
            }
            s.has_any().then_some(s)
        })
        .collect()
}
