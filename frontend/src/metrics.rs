//! The frontend's metrics, with Loki's (Cortex-derived) names where Loki has one.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Queue, sub-query and cache metrics of one frontend.
#[derive(Clone)]
pub struct FrontendMetrics {
    /// `cortex_query_frontend_queue_length{user}`: pending sub-queries per tenant.
    pub queue_length: IntGaugeVec,
    /// `cortex_query_frontend_queue_duration_seconds`: time sub-queries wait in a queue.
    pub queue_duration: Histogram,
    /// `cortex_query_frontend_connected_clients`: querier worker connections.
    pub connected_clients: IntGauge,
    /// `cortex_query_frontend_discarded_requests_total{user}`: queries refused with 429.
    pub discarded_requests: IntCounterVec,
    /// `fenrir_frontend_query_duration_seconds{op}`: whole queries as the client sees them.
    pub query_duration: HistogramVec,
    /// `fenrir_frontend_subqueries_total{outcome}`: sub-queries by outcome (`success`,
    /// `error`, `retry`, `cache_hit`, `abandoned`).
    pub subqueries: IntCounterVec,
    /// `fenrir_frontend_subqueries_cancelled_total`: sub-queries abandoned because the
    /// client went away or the query timed out.
    pub cancelled: IntCounter,
    /// `loki_cache_fetched_keys{name="frontend.results-cache"}`: results cache lookups.
    pub cache_fetched: IntCounter,
    /// `loki_cache_hits{name="frontend.results-cache"}`: results cache hits.
    pub cache_hits: IntCounter,
}

impl FrontendMetrics {
    /// Fresh, unregistered metrics.
    pub fn new() -> prometheus::Result<Self> {
        let cache = |name: &str, help: &str| {
            IntCounter::with_opts(
                Opts::new(name, help).const_label("name", "frontend.results-cache"),
            )
        };
        Ok(Self {
            queue_length: IntGaugeVec::new(
                Opts::new(
                    "cortex_query_frontend_queue_length",
                    "Number of queries in the queue.",
                ),
                &["user"],
            )?,
            queue_duration: Histogram::with_opts(HistogramOpts::new(
                "cortex_query_frontend_queue_duration_seconds",
                "Time spend by requests queued.",
            ))?,
            connected_clients: IntGauge::new(
                "cortex_query_frontend_connected_clients",
                "Number of worker clients currently connected to the frontend.",
            )?,
            discarded_requests: IntCounterVec::new(
                Opts::new(
                    "cortex_query_frontend_discarded_requests_total",
                    "Total number of query requests discarded.",
                ),
                &["user"],
            )?,
            query_duration: HistogramVec::new(
                HistogramOpts::new(
                    "fenrir_frontend_query_duration_seconds",
                    "Time to answer a query through the frontend.",
                ),
                &["op"],
            )?,
            subqueries: IntCounterVec::new(
                Opts::new(
                    "fenrir_frontend_subqueries_total",
                    "Sub-queries run by the frontend, by outcome.",
                ),
                &["outcome"],
            )?,
            cancelled: IntCounter::new(
                "fenrir_frontend_subqueries_cancelled_total",
                "Sub-queries abandoned because the client went away or the query timed out.",
            )?,
            cache_fetched: cache("loki_cache_fetched_keys", "Total count of keys requested.")?,
            cache_hits: cache("loki_cache_hits", "Total count of keys found in cache.")?,
        })
    }

    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.queue_length.clone()))?;
        registry.register(Box::new(self.queue_duration.clone()))?;
        registry.register(Box::new(self.connected_clients.clone()))?;
        registry.register(Box::new(self.discarded_requests.clone()))?;
        registry.register(Box::new(self.query_duration.clone()))?;
        registry.register(Box::new(self.subqueries.clone()))?;
        registry.register(Box::new(self.cancelled.clone()))?;
        registry.register(Box::new(self.cache_fetched.clone()))?;
        registry.register(Box::new(self.cache_hits.clone()))?;
        Ok(())
    }
}
