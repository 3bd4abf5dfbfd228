//! Write-path errors and their HTTP statuses.

/// Errors of the write path.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The push is invalid (400); the text is Loki's.
    #[error("{0}")]
    BadRequest(String),
    /// The tenant is over its rate limit (429); the text is Loki's.
    #[error("{0}")]
    RateLimited(String),
    /// The WAL could not be written or synced (500).
    #[error("wal: {0}")]
    Wal(#[from] std::io::Error),
    /// Flushing to storage failed (500).
    #[error("flush: {0}")]
    Storage(#[from] storage::StorageError),
}

impl IngestError {
    /// The HTTP status Loki answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            IngestError::BadRequest(_) => 400,
            IngestError::RateLimited(_) => 429,
            IngestError::Wal(_) | IngestError::Storage(_) => 500,
        }
    }
}

/// Result alias of the ingest crate.
pub type Result<T> = std::result::Result<T, IngestError>;
