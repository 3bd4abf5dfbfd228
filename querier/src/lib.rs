//! Fenrir's querier: evaluates LogQL over Arrow record batches.
//!
//! Data flow: a query string is parsed ([`logql::parse_expr`]); the stream selector is
//! resolved to stream fingerprints through the ingester's memory and storage's index;
//! the entries of those streams in the needed time range arrive as record batches
//! (`storage::log_schema`); line filters run over whole string buffers, the remaining
//! pipeline stages ([`pipeline`]) turn entries into (line, labels, value); log queries
//! then merge streams under `limit`/`direction`, metric queries slide range windows over
//! sorted timestamps and aggregate vectors. CPU-heavy work runs on rayon.

pub mod error;
pub mod model;
pub mod pipeline;
pub mod template;

pub use error::{QueryError, Result};
pub use model::{
    Direction, InstantQuery, QueryData, QueryLimits, QueryResponse, QueryStats, RangeQuery, Sample,
    Series, Stream,
};

use std::sync::Arc;

use ingest::ingester::Ingester;
use logql::LabelSet;
use storage::Storage;

/// Answers Loki's query API for one process: reads ingester memory and storage.
pub struct Querier {
    _storage: Arc<Storage>,
    _ingester: Arc<Ingester>,
    _limits: QueryLimits,
}

impl Querier {
    /// A querier over the given storage and ingester.
    pub fn new(storage: Arc<Storage>, ingester: Arc<Ingester>, limits: QueryLimits) -> Self {
        Self {
            _storage: storage,
            _ingester: ingester,
            _limits: limits,
        }
    }

    /// `/loki/api/v1/query_range`.
    pub async fn query_range(&self, _tenant: &str, _q: &RangeQuery) -> Result<QueryResponse> {
        todo!("query_range")
    }

    /// `/loki/api/v1/query`.
    pub async fn query_instant(&self, _tenant: &str, _q: &InstantQuery) -> Result<QueryResponse> {
        todo!("query_instant")
    }

    /// `/loki/api/v1/labels`: label names of streams in `[start, end)`, optionally only of
    /// streams matching the selector `query`. Sorted, deduplicated.
    pub async fn label_names(
        &self,
        _tenant: &str,
        _start: i64,
        _end: i64,
        _query: Option<&str>,
    ) -> Result<Vec<String>> {
        todo!("label_names")
    }

    /// `/loki/api/v1/label/<name>/values`. Sorted, deduplicated.
    pub async fn label_values(
        &self,
        _tenant: &str,
        _name: &str,
        _start: i64,
        _end: i64,
        _query: Option<&str>,
    ) -> Result<Vec<String>> {
        todo!("label_values")
    }

    /// `/loki/api/v1/series`: label sets of streams matching any of the selectors.
    pub async fn series(
        &self,
        _tenant: &str,
        _selectors: &[String],
        _start: i64,
        _end: i64,
    ) -> Result<Vec<LabelSet>> {
        todo!("series")
    }
}
