//! Binary operators between scalars and vectors, and `label_replace`, with Prometheus
//! semantics: arithmetic, comparisons (filtering, or 0/1 with `bool`), the set operators
//! `and`/`or`/`unless`, `on`/`ignoring` matching and `group_left`/`group_right`.

use std::collections::HashMap;

use logql::LabelSet;
use logql::ast::{BinOp, Cardinality, LabelReplace, VectorMatching};
use regex::Regex;

use crate::matrix::{SeriesVals, Steps, Value};
use crate::{QueryError, Result};

/// Applies `op` to two evaluated operands.
pub(crate) fn eval_binary(
    op: BinOp,
    return_bool: bool,
    matching: Option<&VectorMatching>,
    lhs: Value,
    rhs: Value,
    steps: &Steps,
) -> Result<Value> {
    Ok(match (lhs, rhs) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            let (v, keep) = apply(op, a, b);
            if op.is_comparison() {
                Value::Scalar(if keep { 1.0 } else { 0.0 })
            } else {
                Value::Scalar(v)
            }
        }
        (Value::Vector(l), Value::Scalar(b)) => {
            Value::Vector(vector_scalar(op, return_bool, l, b, false))
        }
        (Value::Scalar(a), Value::Vector(r)) => {
            Value::Vector(vector_scalar(op, return_bool, r, a, true))
        }
        (Value::Vector(l), Value::Vector(r)) => {
            if op.is_set() {
                Value::Vector(set_op(op, matching, l, r, steps))
            } else {
                Value::Vector(vector_vector(op, return_bool, matching, l, r, steps)?)
            }
        }
    })
}

/// The arithmetic result and, for comparisons, whether the comparison holds.
fn apply(op: BinOp, a: f64, b: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (a + b, true),
        BinOp::Sub => (a - b, true),
        BinOp::Mul => (a * b, true),
        // Loki answers NaN for any division or modulo by zero
        BinOp::Div => (if b == 0.0 { f64::NAN } else { a / b }, true),
        BinOp::Mod => (if b == 0.0 { f64::NAN } else { a % b }, true),
        BinOp::Pow => (a.powf(b), true),
        BinOp::Eq => (a, a == b),
        BinOp::Neq => (a, a != b),
        BinOp::Gt => (a, a > b),
        BinOp::Gte => (a, a >= b),
        BinOp::Lt => (a, a < b),
        BinOp::Lte => (a, a <= b),
        BinOp::And | BinOp::Or | BinOp::Unless => (a, true),
    }
}

fn vector_scalar(
    op: BinOp,
    return_bool: bool,
    series: Vec<SeriesVals>,
    scalar: f64,
    scalar_left: bool,
) -> Vec<SeriesVals> {
    series
        .into_iter()
        .filter_map(|mut s| {
            for slot in s.vals.iter_mut() {
                let Some(v) = *slot else { continue };
                let (a, b) = if scalar_left {
                    (scalar, v)
                } else {
                    (v, scalar)
                };
                let (res, keep) = apply(op, a, b);
                *slot = if op.is_comparison() {
                    if return_bool {
                        Some(if keep { 1.0 } else { 0.0 })
                    } else if keep {
                        Some(v)
                    } else {
                        None
                    }
                } else {
                    Some(res)
                };
            }
            s.has_any().then_some(s)
        })
        .collect()
}

/// The matching signature of a series: the `on` labels, or all but the `ignoring` ones.
fn signature(labels: &LabelSet, matching: Option<&VectorMatching>) -> LabelSet {
    match matching {
        None => labels.clone(),
        Some(m) if m.on => LabelSet::from_pairs(
            labels
                .iter()
                .filter(|(k, _)| m.labels.iter().any(|n| n == k)),
        ),
        Some(m) => {
            let mut out = labels.clone();
            for n in &m.labels {
                out.remove(n);
            }
            out
        }
    }
}

fn set_op(
    op: BinOp,
    matching: Option<&VectorMatching>,
    lhs: Vec<SeriesVals>,
    rhs: Vec<SeriesVals>,
    steps: &Steps,
) -> Vec<SeriesVals> {
    let lsig: Vec<LabelSet> = lhs.iter().map(|s| signature(&s.labels, matching)).collect();
    let rsig: Vec<LabelSet> = rhs.iter().map(|s| signature(&s.labels, matching)).collect();
    // per signature, at which steps the other side has a sample
    let presence = |sigs: &[LabelSet], side: &[SeriesVals]| {
        let mut m: HashMap<LabelSet, Vec<bool>> = HashMap::new();
        for (sig, s) in sigs.iter().zip(side) {
            let p = m.entry(sig.clone()).or_insert_with(|| vec![false; steps.n]);
            for (i, v) in s.vals.iter().enumerate() {
                if v.is_some() {
                    p[i] = true;
                }
            }
        }
        m
    };
    let mut out = Vec::new();
    match op {
        BinOp::And | BinOp::Unless => {
            let rp = presence(&rsig, &rhs);
            let want = op == BinOp::And;
            for (mut s, sig) in lhs.into_iter().zip(lsig) {
                let p = rp.get(&sig);
                for (i, v) in s.vals.iter_mut().enumerate() {
                    let present = p.is_some_and(|p| p[i]);
                    if present != want {
                        *v = None;
                    }
                }
                if s.has_any() {
                    out.push(s);
                }
            }
        }
        _ => {
            let lp = presence(&lsig, &lhs);
            out.extend(lhs.into_iter().filter(SeriesVals::has_any));
            for (mut s, sig) in rhs.into_iter().zip(rsig) {
                if let Some(p) = lp.get(&sig) {
                    for (i, v) in s.vals.iter_mut().enumerate() {
                        if p[i] {
                            *v = None;
                        }
                    }
                }
                if s.has_any() {
                    out.push(s);
                }
            }
            merge_same_labels(&mut out);
        }
    }
    out
}

/// Combines series that ended up with the same labels (first value wins per step).
fn merge_same_labels(out: &mut Vec<SeriesVals>) {
    let mut idx: HashMap<LabelSet, usize> = HashMap::new();
    let mut merged: Vec<SeriesVals> = Vec::with_capacity(out.len());
    for s in out.drain(..) {
        match idx.get(&s.labels) {
            Some(&i) => {
                for (a, b) in merged[i].vals.iter_mut().zip(s.vals) {
                    if a.is_none() {
                        *a = b;
                    }
                }
            }
            None => {
                idx.insert(s.labels.clone(), merged.len());
                merged.push(s);
            }
        }
    }
    *out = merged;
}

fn vector_vector(
    op: BinOp,
    return_bool: bool,
    matching: Option<&VectorMatching>,
    lhs: Vec<SeriesVals>,
    rhs: Vec<SeriesVals>,
    steps: &Steps,
) -> Result<Vec<SeriesVals>> {
    let card = matching
        .map(|m| m.card.clone())
        .unwrap_or(Cardinality::OneToOne);
    // the "many" side is iterated, the "one" side is looked up by signature
    let (many, one, swapped, include) = match &card {
        Cardinality::OneToMany(inc) => (rhs, lhs, true, inc.clone()),
        Cardinality::ManyToOne(inc) => (lhs, rhs, false, inc.clone()),
        Cardinality::OneToOne => (lhs, rhs, false, Vec::new()),
    };
    let mut by_sig: HashMap<LabelSet, Vec<usize>> = HashMap::new();
    for (i, s) in one.iter().enumerate() {
        by_sig
            .entry(signature(&s.labels, matching))
            .or_default()
            .push(i);
    }
    let mut out: Vec<SeriesVals> = Vec::new();
    for m in &many {
        let sig = signature(&m.labels, matching);
        let Some(cands) = by_sig.get(&sig) else {
            continue;
        };
        for &oi in cands {
            let o = &one[oi];
            let (l, r) = if swapped { (o, m) } else { (m, o) };
            let labels = result_labels(&m.labels, &o.labels, &card, matching, &include);
            let mut vals = vec![None; steps.n];
            for (i, slot) in vals.iter_mut().enumerate() {
                let (Some(a), Some(b)) = (l.vals[i], r.vals[i]) else {
                    continue;
                };
                let (res, keep) = apply(op, a, b);
                *slot = if op.is_comparison() {
                    if return_bool {
                        Some(if keep { 1.0 } else { 0.0 })
                    } else if keep {
                        Some(a)
                    } else {
                        None
                    }
                } else {
                    Some(res)
                };
            }
            let s = SeriesVals { labels, vals };
            if s.has_any() {
                out.push(s);
            }
        }
    }
    merge_same_labels(&mut out);
    Ok(out)
}

/// Prometheus' `resultMetric`: one-to-one keeps the `on` labels (or drops the
/// `ignoring` ones); group modifiers keep the many side's labels plus `include` ones
/// copied from the one side.
fn result_labels(
    many: &LabelSet,
    one: &LabelSet,
    card: &Cardinality,
    matching: Option<&VectorMatching>,
    include: &[String],
) -> LabelSet {
    let mut out = many.clone();
    if let (Cardinality::OneToOne, Some(m)) = (card, matching) {
        out = signature(many, Some(m));
    }
    for name in include {
        match one.get(name) {
            Some(v) if !v.is_empty() => out.set(name.clone(), v.to_string()),
            _ => {
                out.remove(name);
            }
        }
    }
    out
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(crate) fn label_replace(lr: &LabelReplace, input: Vec<SeriesVals>) -> Result<Vec<SeriesVals>> {
    let re = Regex::new(&format!("^(?:{})$", lr.regex))
        .map_err(|e| QueryError::BadRequest(format!("invalid regex in label_replace: {e}")))?;
    let mut out: Vec<SeriesVals> = input
        .into_iter()
        .map(|mut s| {
            let src = s.labels.get(&lr.src).unwrap_or("").to_string();
            if let Some(caps) = re.captures(&src) {
                let mut res = String::new();
                caps.expand(&lr.replacement, &mut res);
                if res.is_empty() {
                    s.labels.remove(&lr.dst);
                } else {
                    s.labels.set(lr.dst.clone(), res);
                }
            }
            s
        })
        .collect();
    merge_same_labels(&mut out);
    Ok(out)
}
