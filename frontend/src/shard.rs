//! Which metric queries can run as one sub-query per stream shard, and how the shards'
//! answers combine — the frontend's version of Loki's shard mapper.
//!
//! A shard reads the streams whose fingerprint is `i` modulo `n`, so every stream is read
//! by exactly one shard. A range aggregation's series comes from exactly one stream as
//! long as the pipeline cannot make two streams' label sets equal (no `drop`, `keep`,
//! `label_format`, no `by`/`without` on the range aggregation) and it does not invent
//! series for streams it did not see (`absent_over_time`). Then:
//! - the range aggregation alone: shards hold disjoint series (union);
//! - `sum`/`count` over it: partial sums per group add up; `min`/`max`: min/max of
//!   partials;
//! - `avg`: the shards answer `sum` and `count`, divided per group at the end.
//!
//! Everything else (binary operators, `topk`, `stddev`, `quantile` across series, ...)
//! runs unsharded.

use logql::ast::{Expr, MetricExpr, RangeAggregation, RangeOp, Stage, VectorOp};

/// How the answers of the shards of one query combine per series and step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// Shards hold disjoint series.
    Union,
    /// Add the shards' values.
    Sum,
    /// Smallest of the shards' values.
    Min,
    /// Largest of the shards' values.
    Max,
}

/// What a shardable query runs per shard.
#[derive(Clone, Debug, PartialEq)]
pub enum ShardPlan {
    /// The query itself per shard, answers combined with `Combine`.
    Direct(Combine),
    /// `avg`: these two queries per shard (each combined by sum), divided per series.
    Avg {
        /// The query with `avg` replaced by `sum`.
        sum: String,
        /// The query with `avg` replaced by `count`.
        count: String,
    },
}

/// The plan for `query`, or `None` when it must run whole.
pub fn plan(expr: &Expr) -> Option<ShardPlan> {
    let Expr::Metric(m) = expr else {
        return None;
    };
    let m = unparen(m);
    match m {
        MetricExpr::Range(r) if range_is_shardable(r) => Some(ShardPlan::Direct(Combine::Union)),
        MetricExpr::Vector(v) => {
            let MetricExpr::Range(r) = unparen(&v.expr) else {
                return None;
            };
            if !range_is_shardable(r) {
                return None;
            }
            match v.op {
                VectorOp::Sum | VectorOp::Count => Some(ShardPlan::Direct(Combine::Sum)),
                VectorOp::Min => Some(ShardPlan::Direct(Combine::Min)),
                VectorOp::Max => Some(ShardPlan::Direct(Combine::Max)),
                VectorOp::Avg => {
                    let with = |op: VectorOp| {
                        let mut v = v.clone();
                        v.op = op;
                        Expr::Metric(MetricExpr::Vector(v)).to_string()
                    };
                    Some(ShardPlan::Avg {
                        sum: with(VectorOp::Sum),
                        count: with(VectorOp::Count),
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn unparen(mut m: &MetricExpr) -> &MetricExpr {
    while let MetricExpr::Paren(inner) = m {
        m = inner;
    }
    m
}

/// True when every series of the range aggregation comes from one stream.
fn range_is_shardable(r: &RangeAggregation) -> bool {
    r.op != RangeOp::Absent
        && r.grouping.is_none()
        && !r
            .range
            .log
            .pipeline
            .iter()
            .any(|s| matches!(s, Stage::Drop(_) | Stage::Keep(_) | Stage::LabelFormat(_)))
}

/// Combines one value into an accumulated one.
pub fn combine(how: Combine, acc: f64, v: f64) -> f64 {
    match how {
        Combine::Union | Combine::Sum => acc + v,
        Combine::Min => acc.min(v),
        Combine::Max => acc.max(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Option<ShardPlan> {
        plan(&logql::parse_expr(q).unwrap())
    }

    #[test]
    fn shardable_shapes() {
        assert_eq!(
            p(r#"sum by (app) (rate({env="prod"} |= "x" [5m]))"#),
            Some(ShardPlan::Direct(Combine::Sum))
        );
        assert_eq!(
            p(r#"count(count_over_time({env="prod"} | json [5m]))"#),
            Some(ShardPlan::Direct(Combine::Sum))
        );
        assert_eq!(
            p(r#"max without (host) (max_over_time({a="b"} | unwrap x [1m]))"#),
            Some(ShardPlan::Direct(Combine::Max))
        );
        assert_eq!(
            p(r#"rate({env="prod"}[5m])"#),
            Some(ShardPlan::Direct(Combine::Union))
        );
        assert_eq!(
            p(r#"avg by (app) (rate({env="prod"}[5m]))"#),
            Some(ShardPlan::Avg {
                sum: r#"sum by (app)(rate({env="prod"}[5m]))"#.to_string(),
                count: r#"count by (app)(rate({env="prod"}[5m]))"#.to_string(),
            })
        );
    }

    #[test]
    fn unshardable_shapes() {
        for q in [
            r#"topk(3, sum by (app) (rate({env="prod"}[5m])))"#,
            r#"sum(rate({env="prod"}[5m])) / 2"#,
            r#"sum(rate({env="prod"} | drop host [5m]))"#,
            r#"sum(rate({env="prod"} | label_format a=b [5m]))"#,
            r#"sum(absent_over_time({env="prod"}[5m]))"#,
            r#"sum(max_over_time({a="b"} | unwrap x [1m]) by (app))"#,
            r#"stddev(rate({env="prod"}[5m]))"#,
            r#"{env="prod"}"#,
        ] {
            assert_eq!(p(q), None, "{q}");
        }
    }
}
