//! Query errors and their HTTP statuses.

/// Errors of the querier.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query does not parse or is invalid (400).
    #[error("{0}")]
    Parse(#[from] logql::ParseError),
    /// A request parameter or a limit was violated (400); the text is Loki's.
    #[error("{0}")]
    BadRequest(String),
    /// Evaluation failed on the data, e.g. `pipeline error: ...` (400).
    #[error("{0}")]
    Pipeline(String),
    /// Storage failed (500).
    #[error("{0}")]
    Storage(#[from] storage::StorageError),
    /// The ingester failed (500).
    #[error("{0}")]
    Ingest(#[from] ingest::IngestError),
    /// A count-min-sketch operator such as `approx_topk` in a range query: Loki refuses it
    /// during evaluation, hence its 500.
    #[error("{operator} error: count min sketches are only supported on instant queries")]
    InstantOnly {
        /// The operator, as written in LogQL.
        operator: &'static str,
    },
    /// An answer decided elsewhere with its own status: a remote querier's error, a full
    /// queue (429), a timeout (504).
    #[error("{message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Loki's text.
        message: String,
    },
    /// Anything else that is our fault (500).
    #[error("{0}")]
    Internal(String),
}

impl QueryError {
    /// The HTTP status Loki answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            QueryError::Parse(_) | QueryError::BadRequest(_) | QueryError::Pipeline(_) => 400,
            QueryError::Status { status, .. } => *status,
            QueryError::Storage(_)
            | QueryError::Ingest(_)
            | QueryError::InstantOnly { .. }
            | QueryError::Internal(_) => 500,
        }
    }
}

/// Result alias of the querier crate.
pub type Result<T> = std::result::Result<T, QueryError>;
