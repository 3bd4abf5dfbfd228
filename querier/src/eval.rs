//! Evaluation of a metric expression tree over pre-fetched range inputs.
//!
//! The querier first fetches every range aggregation's entries (I/O, async), in the
//! depth-first order of [`range_aggregations`]; then [`Evaluator`] walks the tree on a
//! rayon thread, consuming the inputs in the same order.

use logql::ast::{Grouping, MetricExpr, RangeAggregation, VectorOp};

use crate::Result;
use crate::binary::{eval_binary, label_replace};
use crate::matrix::{SeriesVals, Steps, Value};
use crate::range::{ERROR_LABEL, RangeInput, eval_range, pushdown_grouping};
use crate::vector::eval_vector;

/// Every range aggregation of `expr`, depth first, left to right, with the grouping its
/// samples get (its own, or the one an enclosing `sum` pushes down).
pub(crate) fn range_aggregations(expr: &MetricExpr) -> Vec<(&RangeAggregation, Option<Grouping>)> {
    let mut out = Vec::new();
    collect(expr, &mut out);
    out
}

fn collect<'a>(expr: &'a MetricExpr, out: &mut Vec<(&'a RangeAggregation, Option<Grouping>)>) {
    match expr {
        MetricExpr::Range(r) => out.push((r, r.grouping.clone())),
        MetricExpr::Vector(v) => match pushdown_grouping(v) {
            Some((r, grouping)) => out.push((r, Some(grouping))),
            None => collect(&v.expr, out),
        },
        MetricExpr::Binary(b) => {
            collect(&b.lhs, out);
            collect(&b.rhs, out);
        }
        MetricExpr::LabelReplace(l) => collect(&l.expr, out),
        MetricExpr::Paren(e) => collect(e, out),
        MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => {}
    }
}

/// Walks a metric expression, consuming range inputs in [`range_aggregations`] order.
pub(crate) struct Evaluator {
    inputs: std::vec::IntoIter<RangeInput>,
    steps: Steps,
}

impl Evaluator {
    /// An evaluator over `inputs` (one per range aggregation) at `steps`.
    pub fn new(inputs: Vec<RangeInput>, steps: Steps) -> Self {
        Self {
            inputs: inputs.into_iter(),
            steps,
        }
    }

    /// Evaluates `expr`.
    pub fn eval(&mut self, expr: &MetricExpr) -> Result<Value> {
        self.eval_inner(expr, false)
    }

    fn eval_inner(&mut self, expr: &MetricExpr, allow_errors: bool) -> Result<Value> {
        let steps = self.steps;
        Ok(match expr {
            MetricExpr::Range(r) => Value::Vector(self.eval_range(r, allow_errors)?),
            MetricExpr::Vector(v) => {
                let allow = allow_errors
                    || v.grouping
                        .as_ref()
                        .is_some_and(|g| !g.without && g.labels.iter().any(|l| l == ERROR_LABEL));
                let inner = match pushdown_grouping(v) {
                    Some((r, _)) => Value::Vector(self.eval_range(r, allow)?),
                    None => self.eval_inner(&v.expr, allow)?,
                };
                let inner = match inner {
                    Value::Vector(s) => s,
                    Value::Scalar(x) => vec![constant(x, &steps)],
                };
                Value::Vector(eval_vector(
                    v.op,
                    v.grouping.as_ref(),
                    v.param,
                    inner,
                    &steps,
                ))
            }
            MetricExpr::Binary(b) => {
                let lhs = self.eval_inner(&b.lhs, allow_errors)?;
                let rhs = self.eval_inner(&b.rhs, allow_errors)?;
                eval_binary(b.op, b.return_bool, b.matching.as_ref(), lhs, rhs, &steps)?
            }
            MetricExpr::Literal(x) => Value::Scalar(*x),
            MetricExpr::VectorLiteral(x) => Value::Vector(vec![constant(*x, &steps)]),
            MetricExpr::LabelReplace(l) => match self.eval_inner(&l.expr, allow_errors)? {
                Value::Vector(s) => Value::Vector(label_replace(l, s)?),
                Value::Scalar(x) => Value::Vector(label_replace(l, vec![constant(x, &steps)])?),
            },
            MetricExpr::Paren(e) => self.eval_inner(e, allow_errors)?,
        })
    }
}

impl Evaluator {
    /// Evaluates the range aggregation `r` over the next input (its samples grouped as
    /// [`range_aggregations`] said).
    fn eval_range(&mut self, r: &RangeAggregation, allow_errors: bool) -> Result<Vec<SeriesVals>> {
        let input = self.inputs.next().ok_or_else(|| {
            crate::QueryError::Internal("missing input of a range aggregation".into())
        })?;
        let allow = allow_errors
            || r.grouping
                .as_ref()
                .is_some_and(|g| !g.without && g.labels.iter().any(|l| l == ERROR_LABEL));
        eval_range(r, input, &self.steps, allow)
    }
}

/// A series without labels holding `x` at every step.
fn constant(x: f64, steps: &Steps) -> SeriesVals {
    SeriesVals {
        labels: logql::LabelSet::new(),
        vals: vec![Some(x); steps.n],
    }
}

/// True when the query's outermost operator orders the result by value.
pub(crate) fn value_order(expr: &MetricExpr) -> Option<bool> {
    match expr {
        MetricExpr::Paren(e) => value_order(e),
        MetricExpr::Vector(v) if v.op == VectorOp::Sort => Some(true),
        MetricExpr::Vector(v) if v.op == VectorOp::SortDesc => Some(false),
        _ => None,
    }
}
