//! The unit of work the frontend hands to queriers: one sub-request of a tenant's query,
//! and its answer. The same types travel in-process (single binary) and over gRPC
//! (`-target=querier`), so a querier process answers exactly what the local one does.

use logql::LabelSet;
pub use querier::Shard;
use querier::{InstantQuery, QueryError, QueryResponse, RangeQuery};

/// One piece of work for a querier.
#[derive(Clone, Debug)]
pub enum SubRequest {
    /// A (split and possibly sharded) range query.
    Range {
        /// The query over this split's time range.
        query: RangeQuery,
        /// Streams to read; `None` reads all.
        shard: Option<Shard>,
        /// Not the query's last split: also read entries at its last step.
        through_end: bool,
    },
    /// An instant query.
    Instant {
        /// The query.
        query: InstantQuery,
        /// Streams to read; `None` reads all.
        shard: Option<Shard>,
    },
    /// `/loki/api/v1/labels`.
    LabelNames {
        /// Start (ns).
        start: i64,
        /// End (ns).
        end: i64,
        /// Optional selector restricting the streams.
        query: Option<String>,
    },
    /// `/loki/api/v1/label/<name>/values`.
    LabelValues {
        /// Label name.
        name: String,
        /// Start (ns).
        start: i64,
        /// End (ns).
        end: i64,
        /// Optional selector restricting the streams.
        query: Option<String>,
    },
    /// `/loki/api/v1/series`.
    Series {
        /// `match[]` selectors.
        selectors: Vec<String>,
        /// Start (ns).
        start: i64,
        /// End (ns).
        end: i64,
    },
}

/// A querier's answer to a [`SubRequest`].
#[derive(Clone, Debug, PartialEq)]
pub enum SubResponse {
    /// Answer to `Range` and `Instant`.
    Query(QueryResponse),
    /// Answer to `LabelNames` and `LabelValues`.
    Strings(Vec<String>),
    /// Answer to `Series`.
    Series(Vec<LabelSet>),
}

/// A failed sub-request as it crosses process boundaries: Loki's HTTP status and text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SubError {
    /// HTTP status the client should see (4xx: the query's fault, not retried).
    pub status: u16,
    /// Error text, Loki's wording.
    pub message: String,
}

impl SubError {
    /// True for failures worth retrying on another querier (5xx, lost querier).
    pub fn is_retryable(&self) -> bool {
        self.status >= 500
    }
}

impl From<QueryError> for SubError {
    fn from(e: QueryError) -> Self {
        SubError {
            status: e.http_status(),
            message: e.to_string(),
        }
    }
}

/// The result of one sub-request.
pub type SubResult = std::result::Result<SubResponse, SubError>;
