//! The value model of metric evaluation: a set of series with one optional value per
//! evaluation step, or a scalar.
//!
//! Every operator works on whole step columns of a series at once; an instant query is
//! a range query with one step. Missing values (`None`) are samples that do not exist at
//! that step, as in a Prometheus instant vector.

use logql::LabelSet;
use logql::ast::Grouping;

/// The evaluation steps `start, start + step, ..., start + (n - 1) * step` (ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Steps {
    /// First step (ns).
    pub start: i64,
    /// Distance between steps (ns); 1 for instant queries.
    pub step: i64,
    /// Number of steps (at least 1).
    pub n: usize,
}

impl Steps {
    /// Steps from `start` to `end` inclusive.
    pub fn new(start: i64, end: i64, step: i64) -> Self {
        let step = step.max(1);
        let n = if end < start {
            1
        } else {
            ((end - start) / step) as usize + 1
        };
        Self { start, step, n }
    }

    /// The timestamp of step `i`.
    pub fn at(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// The last step.
    pub fn end(&self) -> i64 {
        self.at(self.n - 1)
    }
}

/// One series: labels and a value (or none) per step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SeriesVals {
    /// The series labels.
    pub labels: LabelSet,
    /// One slot per step.
    pub vals: Vec<Option<f64>>,
}

impl SeriesVals {
    /// True when the series has a value at some step.
    pub fn has_any(&self) -> bool {
        self.vals.iter().any(Option::is_some)
    }
}

/// The result of evaluating a metric expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A number, the same at every step.
    Scalar(f64),
    /// Series with values per step.
    Vector(Vec<SeriesVals>),
}

/// The labels a `by`/`without` grouping keeps.
pub(crate) fn group_labels(labels: &LabelSet, grouping: Option<&Grouping>) -> LabelSet {
    match grouping {
        None => LabelSet::new(),
        Some(g) if g.without => {
            let mut out = labels.clone();
            for name in &g.labels {
                out.remove(name);
            }
            out
        }
        Some(g) => LabelSet::from_pairs(
            labels
                .iter()
                .filter(|(k, _)| g.labels.iter().any(|n| n == k)),
        ),
    }
}
