//! Frontend settings: Loki's `frontend`, `query_range`, `querier` and `limits_config`
//! knobs that shape how a query is split, queued, retried and cached.

use std::time::Duration;

/// How the frontend splits, queues, retries and caches queries.
#[derive(Clone, Debug)]
pub struct FrontendConfig {
    /// `split_queries_by_interval` (Loki default 30m): range queries run as one
    /// sub-query per interval; metric queries are also step-aligned. Zero disables both.
    pub split_queries_by_interval: Duration,
    /// `frontend.max_outstanding_per_tenant` (default 2048): pending sub-queries a tenant
    /// may have queued; beyond it a query gets 429 `too many outstanding requests`.
    pub max_outstanding_per_tenant: usize,
    /// `limits_config.max_query_parallelism` (default 32): sub-queries of one query in
    /// flight at once.
    pub max_query_parallelism: usize,
    /// `limits_config.max_queriers_per_tenant` (default 0 = all): queriers one tenant's
    /// sub-queries may run on.
    pub max_queriers_per_tenant: usize,
    /// `query_range.max_retries` (default 5): attempts of a sub-query that failed with a
    /// server error (e.g. its querier died).
    pub max_retries: u32,
    /// `limits_config.query_timeout` (default 1m): the whole query, queue wait included.
    pub query_timeout: Duration,
    /// `query_range.cache_results`: cache completed splits of metric queries.
    pub cache_results: bool,
    /// Results cache size in bytes (`query_range.results_cache.cache.embedded_cache.max_size_mb`).
    pub cache_max_bytes: u64,
    /// `limits_config.max_cache_freshness_per_query` (default 10m): splits ending later
    /// than now minus this are never cached (ingesters may still receive data for them).
    pub max_cache_freshness: Duration,
    /// Most shards per split of a shardable metric query (`query_range.
    /// parallelise_shardable_queries`: 16 as Loki's default `row_shards`; false: 1). A
    /// query gets `max_query_parallelism / splits` shards, at most this many.
    pub max_shards: usize,
    /// `querier.max_concurrent` (default 10): in-process workers (single binary, `read`).
    /// Zero runs no local querier: sub-queries wait for remote queriers.
    pub local_workers: usize,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            split_queries_by_interval: Duration::from_secs(30 * 60),
            max_outstanding_per_tenant: 2048,
            max_query_parallelism: 32,
            max_queriers_per_tenant: 0,
            max_retries: 5,
            query_timeout: Duration::from_secs(60),
            cache_results: false,
            cache_max_bytes: 100 << 20,
            max_cache_freshness: Duration::from_secs(10 * 60),
            max_shards: 16,
            local_workers: 10,
        }
    }
}
