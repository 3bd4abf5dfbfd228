//! Query requests and results, independent of their JSON encoding.

use logql::LabelSet;

/// Order of entries in a log query result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first (Loki's default).
    #[default]
    Backward,
}

/// A range query (`/loki/api/v1/query_range`). Times in ns.
#[derive(Clone, Debug)]
pub struct RangeQuery {
    /// LogQL text.
    pub query: String,
    /// Inclusive start (ns).
    pub start: i64,
    /// End (ns): exclusive for log queries, the last step for metric queries.
    pub end: i64,
    /// Step (ns) for metric queries.
    pub step: i64,
    /// Optional `interval` (ns) for log queries: keep one entry per interval.
    pub interval: Option<i64>,
    /// Maximum entries for log queries.
    pub limit: u32,
    /// Entry order for log queries.
    pub direction: Direction,
}

/// An instant query (`/loki/api/v1/query`). Times in ns.
#[derive(Clone, Debug)]
pub struct InstantQuery {
    /// LogQL text.
    pub query: String,
    /// Evaluation time (ns).
    pub time: i64,
    /// Maximum entries for log queries.
    pub limit: u32,
    /// Entry order for log queries.
    pub direction: Direction,
}

/// Which part of the streams a sharded query reads: streams whose fingerprint is `index`
/// modulo `of`. The frontend runs one sub-query per shard and merges the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This shard, `0..of`.
    pub index: u32,
    /// Number of shards (at least 1).
    pub of: u32,
}

impl Shard {
    /// True when the stream with `fingerprint` belongs to this shard.
    pub fn contains(&self, fingerprint: u64) -> bool {
        self.of <= 1 || fingerprint % u64::from(self.of) == u64::from(self.index)
    }
}

/// Which part of a query a sub-query computes, when the frontend splits or shards it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Part {
    /// Only the streams of this shard (`None`: all).
    pub shard: Option<Shard>,
    /// A metric split that is not the query's last: also read entries exactly at its last
    /// step. Loki reads `[start - range, end)`, so only the whole query's last step misses
    /// entries at its own timestamp; without this every split boundary would.
    pub through_end: bool,
}

/// Limits that shape query results (Loki's `limits_config`).
#[derive(Clone, Debug)]
pub struct QueryLimits {
    /// `max_entries_limit_per_query` (Loki default 5000).
    pub max_entries_limit_per_query: u32,
    /// `max_query_series` (Loki default 500).
    pub max_query_series: usize,
    /// The LogQL syntax accepted (Loki 3 by default; Loki 2.9 rejects `|= "a" or "b"`).
    pub dialect: logql::Dialect,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_entries_limit_per_query: 5000,
            max_query_series: 500,
            dialect: logql::Dialect::LOKI_3,
        }
    }
}

/// One stream of a log query result.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    /// Stream labels plus labels added by the pipeline.
    pub labels: LabelSet,
    /// (ts ns, line) in result order.
    pub entries: Vec<(i64, String)>,
}

/// One series of a matrix result.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Series labels.
    pub labels: LabelSet,
    /// (ts ns, value) in time order.
    pub points: Vec<(i64, f64)>,
}

/// One sample of a vector result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Series labels.
    pub labels: LabelSet,
    /// Evaluation time (ns).
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// The `data.result` of a query, by `resultType`.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryData {
    /// `streams`
    Streams(Vec<Stream>),
    /// `matrix`
    Matrix(Vec<Series>),
    /// `vector` (in result order: label order, or value order after `sort`)
    Vector(Vec<Sample>),
    /// `scalar`: (ts ns, value)
    Scalar(i64, f64),
}

/// A query's result plus execution statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResponse {
    /// The result.
    pub data: QueryData,
    /// Statistics for `data.stats`.
    pub stats: QueryStats,
}

/// Execution statistics reported in `data.stats.summary`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryStats {
    /// Raw bytes of lines scanned.
    pub bytes_processed: u64,
    /// Lines scanned.
    pub lines_processed: u64,
    /// Wall time in seconds.
    pub exec_time_secs: f64,
}
