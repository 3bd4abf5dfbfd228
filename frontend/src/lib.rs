//! Fenrir's query frontend: the entry point of every query, built the way Loki's is.
//!
//! A query is parsed, range queries are split by `split_queries_by_interval` (metric
//! queries step-aligned first, [`split`]), each sub-query goes on its tenant's bounded
//! queue ([`queue`]; a full queue answers 429), queriers take sub-queries fairly across
//! tenants — in-process workers ([`worker`]) in single-binary mode, remote
//! `-target=querier` processes over gRPC ([`grpc`]) otherwise — and the answers are merged
//! ([`merge`]) into exactly the unsplit answer. Failed sub-queries are retried, completed
//! metric splits are cached ([`cache`]), and a client that goes away or a query that
//! times out abandons its pending sub-queries.

pub mod cache;
pub mod config;
pub mod execute;
pub mod grpc;
pub mod merge;
pub mod metrics;
pub mod queue;
pub mod request;
pub mod shard;
pub mod split;
pub mod wire;
pub mod worker;

pub use config::FrontendConfig;
pub use metrics::FrontendMetrics;
pub use queue::{Job, RequestQueue};
pub use request::{Shard, SubError, SubRequest, SubResponse, SubResult};
pub use split::step_align;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use logql::ast::{Expr, VectorOp};
use logql::{Dialect, LabelSet};
use querier::{
    InstantQuery, Querier, QueryData, QueryError, QueryResponse, QueryStats, RangeQuery, Result,
};
use tokio::task::JoinHandle;

use crate::cache::{CacheKey, ResultsCache};
use crate::merge::{
    add_stats, combine_matrices, combine_vectors, divide_matrices, divide_vectors,
    merge_log_splits, merge_matrices,
};
use crate::queue::QueueFull;
use crate::shard::{Combine, ShardPlan};

/// Loki's answer when a query runs past `query_timeout` (HTTP 504).
pub const DEADLINE_EXCEEDED: &str = "Request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed.";

/// The query entry point used by the HTTP layer.
pub struct Frontend {
    queue: Arc<RequestQueue>,
    config: FrontendConfig,
    dialect: Dialect,
    max_query_series: usize,
    cache: Option<ResultsCache>,
    metrics: FrontendMetrics,
    local_workers: Vec<JoinHandle<()>>,
}

impl Drop for Frontend {
    fn drop(&mut self) {
        for w in &self.local_workers {
            w.abort();
        }
    }
}

impl Frontend {
    /// A frontend; with `querier`, `config.local_workers` in-process workers answer its
    /// queue (single binary), without one only remote queriers do. Must be called inside
    /// a tokio runtime.
    pub fn new(
        querier: Option<Arc<Querier>>,
        config: FrontendConfig,
        metrics: FrontendMetrics,
    ) -> Self {
        let queue = Arc::new(
            RequestQueue::with_metrics(
                config.max_outstanding_per_tenant,
                config.max_queriers_per_tenant,
                metrics.queue_length.clone(),
                metrics.queue_duration.clone(),
            )
            .with_connected_gauge(metrics.connected_clients.clone()),
        );
        let (dialect, max_query_series) = querier
            .as_ref()
            .map(|q| (q.limits().dialect, q.limits().max_query_series))
            .unwrap_or((Dialect::LOKI_3, 500));
        let local_workers = match &querier {
            Some(q) => (0..config.local_workers.max(1))
                .map(|i| {
                    worker::spawn_local(
                        queue.clone(),
                        q.clone(),
                        format!("local-{i}"),
                        metrics.clone(),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let cache = config
            .cache_results
            .then(|| ResultsCache::new(config.cache_max_bytes));
        Self {
            queue,
            config,
            dialect,
            max_query_series,
            cache,
            metrics,
            local_workers,
        }
    }

    /// Sets the LogQL dialect and `max_query_series` the frontend applies when it has no
    /// local querier to take them from (`-target=query-frontend`).
    pub fn with_query_limits(mut self, dialect: Dialect, max_query_series: usize) -> Self {
        self.dialect = dialect;
        self.max_query_series = max_query_series;
        self
    }

    /// The queue remote queriers pull from.
    pub fn queue(&self) -> &Arc<RequestQueue> {
        &self.queue
    }

    /// The frontend's metrics.
    pub fn metrics(&self) -> &FrontendMetrics {
        &self.metrics
    }

    /// `/loki/api/v1/query_range`: split, queued, merged.
    pub async fn query_range(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse> {
        self.timed_query("query_range", self.range_inner(tenant, q))
            .await
    }

    /// `/loki/api/v1/query`.
    pub async fn query_instant(&self, tenant: &str, q: &InstantQuery) -> Result<QueryResponse> {
        self.timed_query("query", self.instant_inner(tenant, q))
            .await
    }

    /// `/loki/api/v1/labels`.
    pub async fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>> {
        let req = SubRequest::LabelNames {
            start,
            end,
            query: query.map(str::to_string),
        };
        match self.with_timeout(self.run(tenant, req)).await? {
            SubResponse::Strings(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
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
        let req = SubRequest::LabelValues {
            name: name.to_string(),
            start,
            end,
            query: query.map(str::to_string),
        };
        match self.with_timeout(self.run(tenant, req)).await? {
            SubResponse::Strings(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    /// `/loki/api/v1/series`.
    pub async fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> Result<Vec<LabelSet>> {
        let req = SubRequest::Series {
            selectors: selectors.to_vec(),
            start,
            end,
        };
        match self.with_timeout(self.run(tenant, req)).await? {
            SubResponse::Series(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    fn observe(&self, op: &str, t0: Instant) {
        self.metrics
            .query_duration
            .with_label_values(&[op])
            .observe(t0.elapsed().as_secs_f64());
    }

    /// Runs `fut` under `query_timeout`; abandoning it cancels its pending sub-queries.
    /// Runs a query under the timeout, records its duration as `op` and puts the
    /// execution time in its stats.
    async fn timed_query(
        &self,
        op: &str,
        work: impl Future<Output = Result<QueryResponse>>,
    ) -> Result<QueryResponse> {
        let t0 = Instant::now();
        let answer = self.with_timeout(work).await.map(|mut r| {
            r.stats.exec_time_secs = t0.elapsed().as_secs_f64();
            r
        });
        self.observe(op, t0);
        answer
    }

    async fn with_timeout<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        if self.config.query_timeout.is_zero() {
            return fut.await;
        }
        match tokio::time::timeout(self.config.query_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(QueryError::Status {
                status: 504,
                message: DEADLINE_EXCEEDED.to_string(),
            }),
        }
    }

    /// An instant query, sharded when its shape allows.
    async fn instant_inner(&self, tenant: &str, q: &InstantQuery) -> Result<QueryResponse> {
        let whole = SubRequest::Instant {
            query: q.clone(),
            shard: None,
        };
        let plan = logql::parse_expr_with(&q.query, self.dialect)
            .ok()
            .and_then(|e| shard::plan(&e));
        let shards = self.shard_count(1);
        let Some(plan) = plan.filter(|_| shards > 1) else {
            return self.run_query(tenant, whole).await;
        };
        let run = |query: &str| {
            let q = InstantQuery {
                query: query.to_string(),
                ..q.clone()
            };
            self.run_shards(tenant, shards, move |shard| SubRequest::Instant {
                query: q.clone(),
                shard: Some(shard),
            })
        };
        let mut stats = QueryStats::default();
        let mut vectors = |answers| {
            shard_results(answers, &mut stats, |d| match d {
                QueryData::Vector(v) => Ok(v),
                other => Err(other),
            })
        };
        let samples = match plan {
            ShardPlan::Direct(how) => combine_vectors(vectors(run(&q.query).await?)?, how),
            ShardPlan::Avg { sum, count } => {
                let (sums, counts) = futures::try_join!(run(&sum), run(&count))?;
                divide_vectors(
                    combine_vectors(vectors(sums)?, Combine::Sum),
                    combine_vectors(vectors(counts)?, Combine::Sum),
                )
            }
        };
        self.check_series(samples.len())?;
        Ok(QueryResponse {
            data: QueryData::Vector(samples),
            stats,
        })
    }

    /// Shards per split for a query of `splits` splits.
    fn shard_count(&self, splits: usize) -> u32 {
        let n = (self.config.max_query_parallelism / splits.max(1))
            .clamp(1, self.config.max_shards.max(1));
        u32::try_from(n).unwrap_or(1)
    }

    /// Loki's `max_query_series` on a merged answer.
    fn check_series(&self, n: usize) -> Result<()> {
        let max = self.max_query_series;
        if max > 0 && n > max {
            return Err(QueryError::BadRequest(format!(
                "maximum of series ({max}) reached for a single query"
            )));
        }
        Ok(())
    }

    async fn range_inner(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse> {
        let interval =
            i64::try_from(self.config.split_queries_by_interval.as_nanos()).unwrap_or(i64::MAX);
        let whole = || SubRequest::Range {
            query: q.clone(),
            shard: None,
            through_end: false,
        };
        let expr = match logql::parse_expr_with(&q.query, self.dialect) {
            Ok(e) => e,
            // the querier answers with the parse error
            Err(_) => return self.run_query(tenant, whole()).await,
        };
        if interval <= 0 {
            return self.run_query(tenant, whole()).await;
        }
        let plan = shard::plan(&expr);
        match expr {
            Expr::Metric(m) => {
                let aligned = step_align(q);
                if m.contains_vector_op(VectorOp::ApproxTopk) {
                    // refused by the querier, unsplit
                    return self
                        .run_query(
                            tenant,
                            SubRequest::Range {
                                query: aligned,
                                shard: None,
                                through_end: false,
                            },
                        )
                        .await;
                }
                let splits = split::split_metric(&aligned, interval);
                let shards = self.shard_count(splits.len());
                let plan = plan.filter(|_| shards > 1).map(|p| (p, shards));
                self.metric_splits(tenant, splits, aligned.end, plan).await
            }
            Expr::Log(_) => {
                let splits = split::split_logs(q, interval);
                self.log_splits(tenant, q, splits).await
            }
        }
    }

    /// Runs metric splits in parallel (cache first) and unions their matrices.
    async fn metric_splits(
        &self,
        tenant: &str,
        splits: Vec<RangeQuery>,
        query_end: i64,
        plan: Option<(ShardPlan, u32)>,
    ) -> Result<QueryResponse> {
        let parallelism = self.config.max_query_parallelism.max(1);
        // the first error ends the query and drops (cancels) the remaining splits
        let answers: Vec<QueryResponse> = futures::stream::iter(splits)
            .map(|split| {
                let through_end = split.end < query_end;
                self.cached_split(tenant, split, through_end, plan.as_ref())
            })
            .buffered(parallelism)
            .try_collect()
            .await?;
        let mut stats = QueryStats::default();
        let mut parts = Vec::with_capacity(answers.len());
        for answer in answers {
            add_stats(&mut stats, &answer.stats);
            match answer.data {
                QueryData::Matrix(series) => parts.push(series),
                other => {
                    return Err(QueryError::Internal(format!(
                        "metric split answered with {} instead of a matrix",
                        kind(&other)
                    )));
                }
            }
        }
        let series = merge_matrices(parts);
        self.check_series(series.len())?;
        Ok(QueryResponse {
            data: QueryData::Matrix(series),
            stats,
        })
    }

    /// One metric split, from the results cache when it is there and old enough.
    async fn cached_split(
        &self,
        tenant: &str,
        split: RangeQuery,
        through_end: bool,
        plan: Option<&(ShardPlan, u32)>,
    ) -> Result<QueryResponse> {
        let cacheable = self.cache.is_some() && self.is_settled(split.end);
        let key = cacheable.then(|| CacheKey::new(tenant, &split, None, through_end));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            self.metrics.cache_fetched.inc();
            if let Some(hit) = cache.get(key) {
                self.metrics.cache_hits.inc();
                self.metrics
                    .subqueries
                    .with_label_values(&["cache_hit"])
                    .inc();
                return Ok(QueryResponse {
                    data: hit.data.clone(),
                    stats: QueryStats::default(),
                });
            }
        }
        let answer = match plan {
            None => {
                self.run_query(
                    tenant,
                    SubRequest::Range {
                        query: split,
                        shard: None,
                        through_end,
                    },
                )
                .await?
            }
            Some((plan, shards)) => {
                self.sharded_split(tenant, split, through_end, plan, *shards)
                    .await?
            }
        };
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.insert(key, answer.clone());
        }
        Ok(answer)
    }

    /// One metric split as `shards` sub-queries, combined as `plan` says.
    async fn sharded_split(
        &self,
        tenant: &str,
        split: RangeQuery,
        through_end: bool,
        plan: &ShardPlan,
        shards: u32,
    ) -> Result<QueryResponse> {
        let run = |query: &str| {
            let q = RangeQuery {
                query: query.to_string(),
                ..split.clone()
            };
            self.run_shards(tenant, shards, move |shard| SubRequest::Range {
                query: q.clone(),
                shard: Some(shard),
                through_end,
            })
        };
        let mut stats = QueryStats::default();
        let mut matrices = |answers| {
            shard_results(answers, &mut stats, |d| match d {
                QueryData::Matrix(m) => Ok(m),
                other => Err(other),
            })
        };
        let series = match plan {
            ShardPlan::Direct(how) => combine_matrices(matrices(run(&split.query).await?)?, *how),
            ShardPlan::Avg { sum, count } => {
                let (sums, counts) = futures::try_join!(run(sum), run(count))?;
                divide_matrices(
                    combine_matrices(matrices(sums)?, Combine::Sum),
                    combine_matrices(matrices(counts)?, Combine::Sum),
                )
            }
        };
        Ok(QueryResponse {
            data: QueryData::Matrix(series),
            stats,
        })
    }

    /// True when `end_ns` is older than `max_cache_freshness_per_query`.
    fn is_settled(&self, end_ns: i64) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let freshness =
            i64::try_from(self.config.max_cache_freshness.as_nanos()).unwrap_or(i64::MAX);
        end_ns < now.saturating_sub(freshness)
    }

    /// Runs log splits in reading order — the first alone, then `max_query_parallelism`
    /// at a time — and stops once `limit` entries are in hand.
    async fn log_splits(
        &self,
        tenant: &str,
        q: &RangeQuery,
        splits: Vec<RangeQuery>,
    ) -> Result<QueryResponse> {
        let limit = q.limit as usize;
        let parallelism = self.config.max_query_parallelism.max(1);
        let mut stats = QueryStats::default();
        let mut parts = Vec::new();
        let mut entries = 0usize;
        let mut pending = splits.into_iter().peekable();
        while pending.peek().is_some() && (entries < limit || parts.is_empty()) {
            // the first split alone: the newest (backward) or oldest (forward) interval
            // often holds `limit` entries already, and then the others never run
            let size = if parts.is_empty() { 1 } else { parallelism };
            let batch: Vec<RangeQuery> = pending.by_ref().take(size).collect();
            let answers = futures::future::try_join_all(batch.into_iter().map(|split| {
                self.run_query(
                    tenant,
                    SubRequest::Range {
                        query: split,
                        shard: None,
                        through_end: false,
                    },
                )
            }))
            .await?;
            for answer in answers {
                add_stats(&mut stats, &answer.stats);
                match answer.data {
                    QueryData::Streams(streams) => {
                        entries += streams.iter().map(|s| s.entries.len()).sum::<usize>();
                        parts.push(streams);
                    }
                    other => {
                        return Err(QueryError::Internal(format!(
                            "log split answered with {} instead of streams",
                            kind(&other)
                        )));
                    }
                }
            }
        }
        Ok(QueryResponse {
            data: QueryData::Streams(merge_log_splits(parts, limit, q.direction)),
            stats,
        })
    }

    /// Runs one sub-request per shard at once; `request` builds the one for a shard.
    async fn run_shards(
        &self,
        tenant: &str,
        shards: u32,
        request: impl Fn(Shard) -> SubRequest,
    ) -> Result<Vec<QueryResponse>> {
        futures::future::try_join_all(
            (0..shards).map(|index| self.run_query(tenant, request(Shard { index, of: shards }))),
        )
        .await
    }

    /// Runs a query sub-request and expects a query answer.
    async fn run_query(&self, tenant: &str, req: SubRequest) -> Result<QueryResponse> {
        match self.run(tenant, req).await? {
            SubResponse::Query(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    /// Queues one sub-request and waits for its answer, retrying server errors up to
    /// `max_retries` times.
    async fn run(&self, tenant: &str, req: SubRequest) -> Result<SubResponse> {
        let mut attempt = 0;
        loop {
            let (job, rx) = Job::new(tenant, req.clone());
            if let Err(QueueFull) = self.queue.enqueue(job) {
                self.metrics
                    .discarded_requests
                    .with_label_values(&[tenant])
                    .inc();
                return Err(QueryError::Status {
                    status: 429,
                    message: queue::TOO_MANY_OUTSTANDING.to_string(),
                });
            }
            let mut waiting = Waiting {
                metrics: &self.metrics,
                answered: false,
            };
            let answer = rx.await;
            waiting.answered = true;
            let answer = answer.unwrap_or_else(|_| {
                Err(SubError {
                    status: 500,
                    message: "sub-query was dropped by its querier".to_string(),
                })
            });
            match answer {
                Ok(r) => {
                    self.metrics
                        .subqueries
                        .with_label_values(&["success"])
                        .inc();
                    return Ok(r);
                }
                Err(e) if e.is_retryable() && attempt < self.config.max_retries => {
                    attempt += 1;
                    self.metrics.subqueries.with_label_values(&["retry"]).inc();
                    tracing::warn!(tenant, attempt, error = %e.message, "retrying sub-query");
                }
                Err(e) => {
                    self.metrics.subqueries.with_label_values(&["error"]).inc();
                    return Err(QueryError::Status {
                        status: e.status,
                        message: e.message,
                    });
                }
            }
        }
    }
}

/// Counts a sub-query as cancelled when the query stops waiting for it (client gone,
/// timeout) before its answer came.
struct Waiting<'a> {
    metrics: &'a FrontendMetrics,
    answered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.metrics.cancelled.inc();
        }
    }
}

/// The results of a query's shard answers, their statistics added to `stats`; `take`
/// hands back the data when it is not of the expected kind.
fn shard_results<T>(
    answers: Vec<QueryResponse>,
    stats: &mut QueryStats,
    take: impl Fn(QueryData) -> std::result::Result<T, QueryData>,
) -> Result<Vec<T>> {
    answers
        .into_iter()
        .map(|a| {
            add_stats(stats, &a.stats);
            take(a.data).map_err(|other| {
                QueryError::Internal(format!("shard answered with {}", kind(&other)))
            })
        })
        .collect()
}

fn kind(data: &QueryData) -> &'static str {
    match data {
        QueryData::Streams(_) => "streams",
        QueryData::Matrix(_) => "matrix",
        QueryData::Vector(_) => "vector",
        QueryData::Scalar(..) => "scalar",
    }
}

fn unexpected(r: &SubResponse) -> QueryError {
    let what = match r {
        SubResponse::Query(_) => "a query answer",
        SubResponse::Strings(_) => "label names or values",
        SubResponse::Series(_) => "series",
    };
    QueryError::Internal(format!("querier answered with unexpected {what}"))
}
