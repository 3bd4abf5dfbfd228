//! Fenrir storage: where flushed logs live and how queries find them.
//!
//! Data flow: the ingester hands [`StreamData`] (one stream's sorted entries) to
//! [`Storage::write_segment`], which writes one columnar segment object (Parquet, zstd,
//! many streams, sorted by stream then time) and one index record for it through
//! `object_store` (local filesystem or S3). Queries resolve label matchers through the
//! in-memory copy of the index ([`Storage::series`]) and read only the row groups whose
//! stream and time statistics can match ([`Storage::read`]), as Arrow record batches in
//! [`log_schema`]. The on-disk layout is specified in `layout.rs`.

pub mod config;
pub mod entry;
pub mod error;

pub use config::StorageConfig;
/// The one arrow of the build (DataFusion's), re-exported for crates that need only arrow.
pub use datafusion::arrow;
pub use entry::{Entry, StreamData, StreamInfo, log_schema};
pub use error::{Result, StorageError};

use datafusion::arrow::record_batch::RecordBatch;
use logql::LabelMatcher;

/// Access to segments and the label index of every tenant.
pub struct Storage {
    _private: (),
}

impl Storage {
    /// Opens the configured object store and loads the label index.
    pub async fn open(_config: &StorageConfig) -> Result<Self> {
        todo!("storage open")
    }

    /// Writes the given streams (entries sorted by timestamp) as one segment object
    /// and registers it in the tenant's index. Visible to queries when this returns.
    pub async fn write_segment(&self, _tenant: &str, _streams: Vec<StreamData>) -> Result<()> {
        todo!("write_segment")
    }

    /// Streams of `tenant` matching all `matchers` with data in `[start, end)` (ns).
    pub async fn series(
        &self,
        _tenant: &str,
        _matchers: &[LabelMatcher],
        _start: i64,
        _end: i64,
    ) -> Result<Vec<StreamInfo>> {
        todo!("series")
    }

    /// Entries of the given streams with `start <= ts < end`, as batches in
    /// [`log_schema`], each sorted by (fingerprint, ts).
    pub async fn read(
        &self,
        _tenant: &str,
        _fingerprints: &[u64],
        _start: i64,
        _end: i64,
    ) -> Result<Vec<RecordBatch>> {
        todo!("read")
    }
}
