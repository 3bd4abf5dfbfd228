//! `| unwrap [duration|duration_seconds|bytes](label) | post filters`: the sample value
//! of unwrapped range aggregations.
//!
//! An entry whose label is missing or empty is skipped silently (Loki issue 6713). A
//! value that does not convert gives 0 with `__error__="SampleExtractionErr"` and the
//! conversion error in `__error_details__` (so the query fails unless the post filters
//! drop it). The unwrapped label stays in the builder: the range aggregation's grouping
//! removes it (Loki adds it to an ungrouped or `without` grouping), and a sample that
//! failed keeps it, as in Loki, where failed samples keep every label.

use logql::ast::{Unwrap, UnwrapConv};

use super::convert::{parse_bytes, parse_duration, parse_float};
use super::label_filter::LabelFilter;
use super::labels::{ERR_SAMPLE_EXTRACTION, LabelsBuilder};

/// The compiled unwrap with its post filters.
#[derive(Debug)]
pub(crate) struct UnwrapStage {
    label: String,
    conv: UnwrapConv,
    post_filters: Vec<LabelFilter>,
}

/// Go's `Duration.Seconds()`.
fn seconds(ns: i64) -> f64 {
    let sec = ns / 1_000_000_000;
    let nsec = ns % 1_000_000_000;
    sec as f64 + nsec as f64 / 1e9
}

impl UnwrapStage {
    /// Compiles the unwrap.
    pub(crate) fn new(u: &Unwrap) -> Result<Self, String> {
        Ok(Self {
            label: u.label.clone(),
            conv: u.conv,
            post_filters: u
                .post_filters
                .iter()
                .map(LabelFilter::new)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The sample value; `None` when the entry yields no sample.
    pub(crate) fn extract(&self, lbs: &mut LabelsBuilder) -> Option<f64> {
        let raw = lbs.get(&self.label).unwrap_or("");
        if raw.is_empty() {
            return None;
        }
        let converted = match self.conv {
            UnwrapConv::None => parse_float(raw),
            UnwrapConv::Duration => parse_duration(raw).map(seconds),
            UnwrapConv::Bytes => parse_bytes(raw).map(|b| b as f64),
        };
        let value = match converted {
            Ok(v) => v,
            Err(e) => {
                lbs.set_err(ERR_SAMPLE_EXTRACTION);
                lbs.set_err_details(&e);
                0.0
            }
        };
        for f in &self.post_filters {
            if !f.process(lbs) {
                return None;
            }
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::ast::LabelFilter as Ast;
    use logql::{LabelMatcher, LabelSet, MatchOp};

    fn stage(conv: UnwrapConv, post: Vec<Ast>) -> UnwrapStage {
        UnwrapStage::new(&Unwrap {
            label: "v".into(),
            conv,
            post_filters: post,
        })
        .unwrap()
    }

    fn with(v: Option<&str>) -> LabelsBuilder {
        let mut b = LabelsBuilder::new(LabelSet::from_pairs([("app", "a")]));
        if let Some(v) = v {
            b.set("v", v);
        }
        b
    }

    #[test]
    fn conversions() {
        let s = stage(UnwrapConv::None, vec![]);
        let mut b = with(Some("39.5"));
        assert_eq!(s.extract(&mut b), Some(39.5));
        assert_eq!(b.to_label_set().to_string(), r#"{app="a", v="39.5"}"#);
        assert_eq!(
            stage(UnwrapConv::Duration, vec![]).extract(&mut with(Some("2m3.5s"))),
            Some(123.5)
        );
        assert_eq!(
            stage(UnwrapConv::Bytes, vec![]).extract(&mut with(Some("1.5KB"))),
            Some(1500.0)
        );
    }

    #[test]
    fn missing_or_empty_label_is_skipped() {
        let s = stage(UnwrapConv::None, vec![]);
        assert_eq!(s.extract(&mut with(None)), None);
        assert_eq!(s.extract(&mut with(Some(""))), None);
    }

    #[test]
    fn conversion_error_sets_error_and_post_filters_apply() {
        let s = stage(UnwrapConv::None, vec![]);
        let mut b = with(Some("12ms"));
        assert_eq!(s.extract(&mut b), Some(0.0));
        assert_eq!(
            b.to_label_set().to_string(),
            r#"{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"12ms\": invalid syntax", app="a", v="12ms"}"#
        );
        let s = stage(
            UnwrapConv::None,
            vec![Ast::Matcher(
                LabelMatcher::new("__error__", MatchOp::Eq, "").unwrap(),
            )],
        );
        assert_eq!(s.extract(&mut with(Some("12ms"))), None);
        assert_eq!(s.extract(&mut with(Some("12"))), Some(12.0));
    }
}
