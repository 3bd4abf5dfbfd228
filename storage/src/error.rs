//! Storage errors.

/// Errors of the storage crate.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Parquet encoding or decoding failed.
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A stored object is not what it should be.
    #[error("corrupt object {path}: {reason}")]
    Corrupt {
        /// Object path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Bad configuration.
    #[error("storage config: {0}")]
    Config(String),
    /// A tenant id that cannot name objects (empty).
    #[error("invalid tenant id {0:?}")]
    InvalidTenant(String),
    /// Local filesystem setup failed.
    #[error("storage directory {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A background task failed (panicked or was cancelled).
    #[error("storage task failed: {0}")]
    Task(String),
}

impl StorageError {
    /// HTTP status this error maps to when it ends a request.
    pub fn http_status(&self) -> u16 {
        match self {
            StorageError::InvalidTenant(_) => 400,
            _ => 500,
        }
    }

    /// True when retrying the same operation may succeed (transient store failures).
    pub fn is_retryable(&self) -> bool {
        match self {
            StorageError::ObjectStore(e) => !matches!(
                e,
                object_store::Error::NotFound { .. }
                    | object_store::Error::InvalidPath { .. }
                    | object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented { .. }
                    | object_store::Error::UnknownConfigurationKey { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            ),
            StorageError::Io { .. } | StorageError::Task(_) => true,
            StorageError::Parquet(_)
            | StorageError::Arrow(_)
            | StorageError::Corrupt { .. }
            | StorageError::Config(_)
            | StorageError::InvalidTenant(_) => false,
        }
    }
}

/// Result alias of the storage crate.
pub type Result<T> = std::result::Result<T, StorageError>;
