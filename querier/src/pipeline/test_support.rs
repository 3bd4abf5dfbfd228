//! What the tests of the hinted parser walks share: a metric query's parser stages, hints
//! and label filters, the builder states a line may meet, a seeded generator of random
//! inputs, and the comparison of a walk with the general parse over many lines.

use std::sync::Arc;

use logql::LabelSet;
use logql::ast::{Expr, MetricExpr, Stage};

use super::hints::ParserHints;
use super::label_filter::LabelFilter;
use super::labels::LabelsBuilder;

/// The stream every test line belongs to.
pub(crate) fn stream() -> LabelSet {
    LabelSet::from_pairs([("app", "x"), ("host", "h1")])
}

/// The parts of a metric query a parser stage runs with: its log pipeline, its hints
/// bound to [`stream`], and its label filter stages.
pub(crate) struct RangeQuery {
    pub stages: Vec<Stage>,
    pub hints: ParserHints,
    pub filters: Vec<Arc<LabelFilter>>,
}

/// Parses the range aggregation `q` (alone or under a vector aggregation).
pub(crate) fn range_query(q: &str) -> RangeQuery {
    let (r, outer) = match logql::parse_expr(q) {
        Ok(Expr::Metric(MetricExpr::Range(r))) => (r, None),
        Ok(Expr::Metric(MetricExpr::Vector(v))) => match *v.expr {
            MetricExpr::Range(r) => (r, v.grouping),
            _ => panic!("not over a range aggregation: {q}"),
        },
        _ => panic!("not a range or vector aggregation: {q}"),
    };
    let stages = r.range.log.pipeline.clone();
    let grouping = r.grouping.as_ref().or(outer.as_ref());
    let hints = ParserHints::for_range(&stages, r.range.unwrap.as_ref(), grouping)
        .expect("hints")
        .for_stream(&stream());
    let filters = stages
        .iter()
        .filter_map(|s| match s {
            Stage::LabelFilter(f) => Some(Arc::new(LabelFilter::new(f).unwrap())),
            _ => None,
        })
        .collect();
    RangeQuery {
        stages,
        hints,
        filters,
    }
}

/// What an earlier stage may have left on the builder: nothing, a label the walk also
/// wants, a suffixed one, or an error.
pub(crate) const PRE_STATES: [Option<(&str, &str)>; 4] = [
    None,
    Some(("level", "pre")),
    Some(("host_extracted", "pre")),
    Some(("__error__", "JSONParserErr")),
];

/// A builder over [`stream`] in the state `pre` (see [`PRE_STATES`]).
pub(crate) fn builder(pre: Option<(&str, &str)>) -> LabelsBuilder {
    let mut lbs = LabelsBuilder::new(stream());
    match pre {
        Some(("__error__", v)) => lbs.set_err(v),
        Some((k, v)) => lbs.set(k, v),
        None => {}
    }
    lbs
}

/// Runs the label filters after a parser that returned `parsed`: the line's verdict.
pub(crate) fn filtered(
    parsed: bool,
    filters: &[Arc<LabelFilter>],
    lbs: &mut LabelsBuilder,
) -> bool {
    parsed && filters.iter().all(|f| f.process(lbs))
}

/// Asserts that `outcome(line, pre, general)` (verdict and labels) is the same by the
/// walk (`general` false) and by the general parse, for every line and builder state.
/// A dropped line's labels are not compared: they are never read.
pub(crate) fn assert_same_outcomes<'l>(
    q: &str,
    lines: impl IntoIterator<Item = &'l str>,
    outcome: impl Fn(&str, Option<(&str, &str)>, bool) -> (bool, String),
) {
    for line in lines {
        for pre in PRE_STATES {
            let (kept, labels) = outcome(line, pre, false);
            let (want_kept, want_labels) = outcome(line, pre, true);
            assert_eq!(kept, want_kept, "{q}\n{line:?}\n{pre:?}");
            if kept {
                assert_eq!(labels, want_labels, "{q}\n{line:?}\n{pre:?}");
            }
        }
    }
}

/// A seeded xorshift generator: random test inputs that are the same on every run.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
