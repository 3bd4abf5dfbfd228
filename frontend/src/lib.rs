//! Fenrir's query frontend: the entry point of every query. It will split range queries
//! by time, shard them by stream, queue them fairly per tenant and cache results; today it
//! aligns metric range queries to their step (as Loki's frontend does) and hands them to
//! the querier in-process.

pub mod config;

pub use config::FrontendConfig;

use std::sync::Arc;

use logql::LabelSet;
use querier::{InstantQuery, Querier, QueryResponse, RangeQuery, Result};

/// The query entry point used by the HTTP layer; wraps a querier.
pub struct Frontend {
    querier: Arc<Querier>,
    config: FrontendConfig,
}

impl Frontend {
    /// A frontend in front of one in-process querier.
    pub fn new(querier: Arc<Querier>, config: FrontendConfig) -> Self {
        Self { querier, config }
    }

    /// The querier behind this frontend.
    pub fn querier(&self) -> &Arc<Querier> {
        &self.querier
    }

    /// `/loki/api/v1/query_range`; metric queries are step-aligned first when
    /// `split_queries_by_interval` is set, as Loki's frontend does.
    pub async fn query_range(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse> {
        if self.config.split_queries_by_interval.is_zero() || !is_metric(&q.query) {
            return self.querier.query_range(tenant, q).await;
        }
        let aligned = step_align(q);
        self.querier.query_range(tenant, &aligned).await
    }

    /// `/loki/api/v1/query`.
    pub async fn query_instant(&self, tenant: &str, q: &InstantQuery) -> Result<QueryResponse> {
        self.querier.query_instant(tenant, q).await
    }

    /// `/loki/api/v1/labels`.
    pub async fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>> {
        self.querier.label_names(tenant, start, end, query).await
    }

    /// `/loki/api/v1/label/<name>/values`.
    pub async fn label_values(
        &self,
        tenant: &str,
        name: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>> {
        self.querier
            .label_values(tenant, name, start, end, query)
            .await
    }

    /// `/loki/api/v1/series`.
    pub async fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> Result<Vec<LabelSet>> {
        self.querier.series(tenant, selectors, start, end).await
    }
}

/// True when `query` parses as a metric query (a parse error is left to the querier).
fn is_metric(query: &str) -> bool {
    matches!(logql::parse_expr(query), Ok(logql::Expr::Metric(_)))
}

/// Loki's step alignment: start rounded down and end rounded up to multiples of step
/// (epoch based).
pub fn step_align(q: &RangeQuery) -> RangeQuery {
    let mut out = q.clone();
    if q.step > 0 {
        out.start = q.start.div_euclid(q.step) * q.step;
        let rem = q.end.rem_euclid(q.step);
        out.end = if rem == 0 {
            q.end
        } else {
            q.end - rem + q.step
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use querier::Direction;

    fn rq(start: i64, end: i64, step: i64) -> RangeQuery {
        RangeQuery {
            query: String::new(),
            start,
            end,
            step,
            interval: None,
            limit: 100,
            direction: Direction::Backward,
        }
    }

    #[test]
    fn step_align_rounds_start_down_and_end_up() {
        let a = step_align(&rq(
            1_795_136_401_000_000_000,
            1_795_136_999_000_000_000,
            60_000_000_000,
        ));
        assert_eq!(a.start, 1_795_136_400_000_000_000);
        assert_eq!(a.end, 1_795_137_000_000_000_000);
        let b = step_align(&rq(120, 240, 60));
        assert_eq!((b.start, b.end), (120, 240));
    }
}
