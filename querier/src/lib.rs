//! Fenrir's querier: evaluates LogQL over Arrow record batches.
//!
//! Data flow: a query string is parsed ([`logql::parse_expr`]); the stream selector is
//! resolved to stream fingerprints through every [`source::LogSource`] (the ingester's
//! memory and storage's index); the entries of those streams in the needed time range
//! arrive as record batches (`storage::log_schema`); line filters run over whole string
//! buffers, the streams are merged and de-duplicated ([`fetch`]), the remaining pipeline
//! stages ([`pipeline`]) turn entries into (line, labels, value); log queries then merge
//! streams under `limit`/`direction` ([`logs`]), metric queries slide range windows over
//! sorted timestamps ([`range`]) and aggregate and combine vectors ([`vector`],
//! [`binary`]). CPU-heavy work runs on rayon.

mod binary;
pub mod error;
mod eval;
mod fetch;
mod logs;
mod matrix;
pub mod model;
pub mod pipeline;
mod range;
pub mod remote;
mod rollup;
pub mod source;
pub mod template;
mod vector;

#[cfg(test)]
mod tests;

pub use error::{QueryError, Result};
pub use model::{
    Direction, InstantQuery, Part, QueryData, QueryLimits, QueryResponse, QueryStats, RangeQuery,
    Sample, Series, Shard, Stream,
};

use std::collections::BTreeSet;
use std::sync::Arc;

use ingest::ingester::Ingester;
use logql::ast::{Expr, LogExpr, MetricExpr, RangeOp, VectorOp};
use logql::{LabelMatcher, LabelSet};
use storage::Storage;

use crate::eval::{Evaluator, range_aggregations, value_order};
use crate::fetch::Fetched;
use crate::matrix::{Steps, Value};
use crate::pipeline::{ParserHints, Pipeline};
use crate::range::RangeInput;
use crate::source::{LogSource, SourceKind};

/// How far back an instant query of a log selector looks (Loki: 30s).
pub const INSTANT_LOG_LOOKBACK_NS: i64 = 30_000_000_000;

/// The entries a log query asks for: `[start, end)`, cut to `limit` in `direction`.
#[derive(Clone, Copy, Debug)]
struct LogWindow {
    start: i64,
    end: i64,
    limit: u32,
    direction: Direction,
    interval: Option<i64>,
}

/// Answers Loki's query API for one process: reads ingester memory and storage.
pub struct Querier {
    sources: Vec<Arc<dyn LogSource>>,
    limits: QueryLimits,
}

impl Querier {
    /// A querier over the given storage and ingester.
    pub fn new(storage: Arc<Storage>, ingester: Arc<Ingester>, limits: QueryLimits) -> Self {
        Self::with_sources(vec![storage as Arc<dyn LogSource>, ingester], limits)
    }

    /// A querier over arbitrary sources (tests, benchmarks); earlier sources win ties
    /// between identical timestamps.
    pub fn with_sources(sources: Vec<Arc<dyn LogSource>>, limits: QueryLimits) -> Self {
        Self { sources, limits }
    }

    /// The limits this querier enforces.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// `/loki/api/v1/query_range`.
    pub async fn query_range(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse> {
        self.query_range_part(tenant, q, Part::default()).await
    }

    /// The `part` of a range query the frontend asks for (one shard, one split).
    pub async fn query_range_part(
        &self,
        tenant: &str,
        q: &RangeQuery,
        part: Part,
    ) -> Result<QueryResponse> {
        let t0 = std::time::Instant::now();
        let mut r = self.range_inner(tenant, q, part).await?;
        r.stats.exec_time_secs = t0.elapsed().as_secs_f64();
        Ok(r)
    }

    async fn range_inner(&self, tenant: &str, q: &RangeQuery, part: Part) -> Result<QueryResponse> {
        let expr = logql::parse_expr_with(&q.query, self.limits.dialect)?;
        match expr {
            Expr::Log(log) => {
                let window = LogWindow {
                    start: q.start,
                    end: q.end,
                    limit: q.limit,
                    direction: q.direction,
                    interval: q.interval,
                };
                self.log_query(tenant, &log, window, part.shard).await
            }
            Expr::Metric(m) => {
                if m.contains_vector_op(VectorOp::ApproxTopk) {
                    return Err(QueryError::InstantOnly {
                        operator: "approx_topk",
                    });
                }
                let steps = Steps::new(q.start, q.end, q.step);
                let (value, order, stats) = self.metric_query(tenant, m, steps, part).await?;
                let data = match value {
                    Value::Scalar(x) => QueryData::Matrix(vec![Series {
                        labels: LabelSet::new(),
                        points: (0..steps.n).map(|i| (steps.at(i), x)).collect(),
                    }]),
                    Value::Vector(series) => {
                        let _ = order;
                        let mut out: Vec<Series> = series
                            .into_iter()
                            .map(|s| Series {
                                points: s
                                    .vals
                                    .iter()
                                    .enumerate()
                                    .filter_map(|(i, v)| v.map(|v| (steps.at(i), v)))
                                    .collect(),
                                labels: s.labels,
                            })
                            .filter(|s| !s.points.is_empty())
                            .collect();
                        out.sort_by(|a, b| a.labels.cmp(&b.labels));
                        self.check_series(out.len())?;
                        QueryData::Matrix(out)
                    }
                };
                Ok(QueryResponse { data, stats })
            }
        }
    }

    /// `/loki/api/v1/query`.
    pub async fn query_instant(&self, tenant: &str, q: &InstantQuery) -> Result<QueryResponse> {
        self.query_instant_shard(tenant, q, None).await
    }

    /// An instant query over one shard of the streams (`None`: all of them).
    pub async fn query_instant_shard(
        &self,
        tenant: &str,
        q: &InstantQuery,
        shard: Option<Shard>,
    ) -> Result<QueryResponse> {
        let t0 = std::time::Instant::now();
        let mut r = self.instant_inner(tenant, q, shard).await?;
        r.stats.exec_time_secs = t0.elapsed().as_secs_f64();
        Ok(r)
    }

    async fn instant_inner(
        &self,
        tenant: &str,
        q: &InstantQuery,
        shard: Option<Shard>,
    ) -> Result<QueryResponse> {
        let expr = logql::parse_expr_with(&q.query, self.limits.dialect)?;
        match expr {
            Expr::Log(log) => {
                let window = LogWindow {
                    start: q.time - INSTANT_LOG_LOOKBACK_NS,
                    end: q.time,
                    limit: q.limit,
                    direction: q.direction,
                    interval: None,
                };
                self.log_query(tenant, &log, window, shard).await
            }
            Expr::Metric(m) => {
                let steps = Steps::new(q.time, q.time, 1);
                let part = Part {
                    shard,
                    through_end: false,
                };
                let (value, order, stats) = self.metric_query(tenant, m, steps, part).await?;
                let data = match value {
                    Value::Scalar(x) => QueryData::Scalar(q.time, x),
                    Value::Vector(series) => {
                        let mut out: Vec<Sample> = series
                            .into_iter()
                            .filter_map(|s| {
                                s.vals[0].map(|value| Sample {
                                    labels: s.labels,
                                    ts: q.time,
                                    value,
                                })
                            })
                            .collect();
                        out.sort_by(|a, b| a.labels.cmp(&b.labels));
                        match order {
                            Some(true) => out.sort_by(|a, b| a.value.total_cmp(&b.value)),
                            Some(false) => out.sort_by(|a, b| b.value.total_cmp(&a.value)),
                            None => {}
                        }
                        self.check_series(out.len())?;
                        QueryData::Vector(out)
                    }
                };
                Ok(QueryResponse { data, stats })
            }
        }
    }

    /// `/loki/api/v1/labels`: label names of streams in `[start, end)`, optionally only of
    /// streams matching the selector `query`. Sorted, deduplicated.
    pub async fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>> {
        let sets = self.label_sets(tenant, start, end, query).await?;
        let names: BTreeSet<String> = sets
            .iter()
            .flat_map(|l| l.iter().map(|(k, _)| k.to_string()))
            .collect();
        Ok(names.into_iter().collect())
    }

    /// `/loki/api/v1/label/<name>/values`. Sorted, deduplicated.
    pub async fn label_values(
        &self,
        tenant: &str,
        name: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>> {
        let sets = self.label_sets(tenant, start, end, query).await?;
        let values: BTreeSet<String> = sets
            .iter()
            .filter_map(|l| l.get(name))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        Ok(values.into_iter().collect())
    }

    /// `/loki/api/v1/series`: label sets of streams matching any of the selectors.
    pub async fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> Result<Vec<LabelSet>> {
        let mut out = BTreeSet::new();
        for sel in selectors {
            let matchers = logql::parse_selector(sel)?;
            for src in &self.sources {
                for info in src.series(tenant, &matchers, start, end).await? {
                    out.insert(info.labels);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Label sets for the labels APIs: the ingester ignores the time range, the store
    /// honours it (Loki's behaviour).
    async fn label_sets(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<BTreeSet<LabelSet>> {
        let matchers: Vec<LabelMatcher> = match query {
            Some(q) if !q.trim().is_empty() => logql::parse_selector(q)?,
            _ => Vec::new(),
        };
        let mut out = BTreeSet::new();
        for src in &self.sources {
            let (s, e) = match src.kind() {
                SourceKind::Ingester => (i64::MIN, i64::MAX),
                SourceKind::Store => (start, end),
            };
            for info in src.series(tenant, &matchers, s, e).await? {
                out.insert(info.labels);
            }
        }
        Ok(out)
    }

    /// A log query over `[start, end)`.
    async fn log_query(
        &self,
        tenant: &str,
        log: &LogExpr,
        window: LogWindow,
        shard: Option<Shard>,
    ) -> Result<QueryResponse> {
        let LogWindow {
            start,
            end,
            limit,
            direction,
            interval,
        } = window;
        let max = self.limits.max_entries_limit_per_query;
        if max > 0 && limit > max {
            return Err(QueryError::BadRequest(format!(
                "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {max})"
            )));
        }
        let pipeline = compile(log, None)?;
        let (fetched, pipeline) = self
            .fetch(tenant, log, (start, end), pipeline, shard, true)
            .await?;
        let stats = QueryStats {
            bytes_processed: fetched.bytes_read,
            lines_processed: fetched.lines_read,
            exec_time_secs: 0.0,
        };
        let streams = cpu(move || {
            Ok(logs::eval_logs(
                &fetched,
                pipeline.as_ref(),
                limit as usize,
                direction,
                interval,
            ))
        })
        .await?;
        Ok(QueryResponse {
            data: QueryData::Streams(streams),
            stats,
        })
    }

    /// Fetches a selector's streams in `[start, end)` and runs the hoisted line filters.
    /// Without `lines` (a query that only counts entries) sources may skip the lines.
    async fn fetch(
        &self,
        tenant: &str,
        log: &LogExpr,
        window: (i64, i64),
        pipeline: Option<Pipeline>,
        shard: Option<Shard>,
        lines: bool,
    ) -> Result<(Fetched, Option<Pipeline>)> {
        let resolved = self.resolve(tenant, log, window, shard).await?;
        self.fetch_resolved(tenant, resolved, window, pipeline, lines)
            .await
    }

    /// The streams of a selector with data in `[start, end)`, within `shard`.
    async fn resolve(
        &self,
        tenant: &str,
        log: &LogExpr,
        (start, end): (i64, i64),
        shard: Option<Shard>,
    ) -> Result<fetch::Resolved> {
        let mut resolved = fetch::resolve(&self.sources, tenant, &log.selector, start, end).await?;
        if let Some(shard) = shard {
            resolved.retain(|fp| shard.contains(fp));
        }
        Ok(resolved)
    }

    /// [`Self::fetch`] over already resolved streams.
    async fn fetch_resolved(
        &self,
        tenant: &str,
        resolved: fetch::Resolved,
        window: (i64, i64),
        pipeline: Option<Pipeline>,
        lines: bool,
    ) -> Result<(Fetched, Option<Pipeline>)> {
        let (fetched, pipeline, resolved) = self
            .read_assembled(tenant, resolved, window, pipeline, lines)
            .await?;
        if lines || !fetched.ties_without_lines {
            return Ok((fetched, pipeline));
        }
        // entries sharing a timestamp may be duplicates: read again with lines
        let (fetched, pipeline, _) = self
            .read_assembled(tenant, resolved, window, pipeline, true)
            .await?;
        Ok((fetched, pipeline))
    }

    /// Reads the resolved streams (with or without lines) and assembles them.
    async fn read_assembled(
        &self,
        tenant: &str,
        resolved: fetch::Resolved,
        window: (i64, i64),
        pipeline: Option<Pipeline>,
        lines: bool,
    ) -> Result<(Fetched, Option<Pipeline>, fetch::Resolved)> {
        let raw = fetch::read(
            &self.sources,
            tenant,
            &resolved,
            window,
            lines,
            pipeline.as_ref(),
        )
        .await?;
        cpu(move || {
            let fetched = fetch::assemble(&resolved, raw, pipeline.as_ref(), lines)?;
            Ok((fetched, pipeline, resolved))
        })
        .await
    }

    /// Evaluates a metric expression at `steps`; also says whether the result is ordered
    /// by value (`Some(true)` ascending) instead of by labels.
    async fn metric_query(
        &self,
        tenant: &str,
        expr: MetricExpr,
        steps: Steps,
        part: Part,
    ) -> Result<(Value, Option<bool>, QueryStats)> {
        let mut inputs = Vec::new();
        let mut stats = QueryStats::default();
        for (r, grouping) in range_aggregations(&expr) {
            let hints = ParserHints::for_range(
                &r.range.log.pipeline,
                r.range.unwrap.as_ref(),
                grouping.as_ref(),
            );
            let pipeline =
                compile(&r.range.log, r.range.unwrap.as_ref())?.map(|p| p.with_hints(hints));
            let start = steps.start - r.range.range - r.range.offset;
            let end = steps.end() - r.range.offset + i64::from(part.through_end);
            let window = (start, end);
            let resolved = self
                .resolve(tenant, &r.range.log, window, part.shard)
                .await?;
            if rollup::eligible(r, &steps) {
                let bytes = matches!(r.op, RangeOp::Bytes | RangeOp::BytesRate);
                if let Some(rolled) =
                    rollup::read(&self.sources, tenant, &resolved, window, bytes).await?
                {
                    stats.lines_processed += rolled.lines;
                    stats.bytes_processed += rolled.bytes;
                    inputs.push(RangeInput::from_rollups(
                        r,
                        grouping.as_ref(),
                        rolled.series,
                    ));
                    continue;
                }
            }
            // counting functions over a bare selector never look at a line
            let lines = pipeline.is_some()
                || !matches!(r.op, RangeOp::Count | RangeOp::Rate | RangeOp::Absent);
            let mut input = RangeInput::default();
            let mut pipeline = pipeline;
            // a group of streams at a time: only its entries are in memory, then only
            // their samples; later groups are sized by the bytes per stream seen so far
            let mut groups = resolved.into_groups();
            let (mut streams_read, mut bytes_read) = (0u64, 0u64);
            let mut size = FIRST_READ_GROUP_STREAMS;
            while let Some(group) = groups.next_group(size) {
                streams_read += group.len() as u64;
                let (fetched, p) = self
                    .fetch_resolved(tenant, group, window, pipeline, lines)
                    .await?;
                stats.lines_processed += fetched.lines_read;
                stats.bytes_processed += fetched.bytes_read;
                bytes_read += fetched.bytes_read;
                let (agg, grouping) = (r.clone(), grouping.clone());
                (input, pipeline) = cpu(move || {
                    input.add_entries(&agg, grouping.as_ref(), &fetched, p.as_ref());
                    Ok((input, p))
                })
                .await?;
                let per_stream = (bytes_read / streams_read.max(1)).max(1);
                size = usize::try_from(READ_GROUP_BYTES / per_stream)
                    .unwrap_or(usize::MAX)
                    .max(1);
            }
            inputs.push(input);
        }
        let order = value_order(&expr);
        let value = cpu(move || Evaluator::new(inputs, steps).eval(&expr)).await?;
        Ok((value, order, stats))
    }

    /// Loki's `max_query_series` check on a metric result.
    fn check_series(&self, n: usize) -> Result<()> {
        let max = self.limits.max_query_series;
        if max > 0 && n > max {
            return Err(QueryError::BadRequest(format!(
                "maximum of series ({max}) reached for a single query"
            )));
        }
        Ok(())
    }
}

/// Raw line bytes a metric query reads and turns into samples at once (a group of
/// streams, see [`fetch::StreamGroups`]). What one read holds in memory is about 2.5x its
/// raw bytes (fetched pages, decoded lines, filtered copies), and a querier runs
/// `max_concurrent` (4) reads: 16 MiB keeps that near 160 MiB.
const READ_GROUP_BYTES: u64 = 16 << 20;

/// Streams in a metric query's first read group, before bytes per stream are known.
pub(crate) const FIRST_READ_GROUP_STREAMS: usize = 8;

/// Compiles the pipeline of a selector; `None` when there is nothing to run.
fn compile(log: &LogExpr, unwrap: Option<&logql::ast::Unwrap>) -> Result<Option<Pipeline>> {
    if log.pipeline.is_empty() && unwrap.is_none() {
        return Ok(None);
    }
    Ok(Some(Pipeline::new(&log.pipeline, unwrap)?))
}

/// Runs CPU-heavy work on the rayon pool and waits for it without blocking the runtime.
pub(crate) async fn cpu<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await
        .map_err(|_| QueryError::Internal("query evaluation panicked".into()))?
}
