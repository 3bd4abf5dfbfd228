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
}

/// Result alias of the storage crate.
pub type Result<T> = std::result::Result<T, StorageError>;
