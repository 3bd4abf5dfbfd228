//! The ingester: WAL, per-stream head blocks, chunk cutting and flushing.

use std::sync::Arc;

use logql::LabelMatcher;
use storage::arrow::record_batch::RecordBatch;
use storage::{Storage, StreamInfo};

use crate::{IngesterConfig, PushStream, Result};

/// Holds recent entries in memory, durable through the WAL, until flushed to storage.
pub struct Ingester {
    _config: IngesterConfig,
    _storage: Arc<Storage>,
}

impl Ingester {
    /// Opens the WAL under `config.wal_dir`, replays it, and returns the ingester.
    pub async fn open(_config: IngesterConfig, _storage: Arc<Storage>) -> Result<Arc<Self>> {
        todo!("ingester open")
    }

    /// Appends validated streams for `tenant`; returns after the WAL is synced.
    pub async fn push(&self, _tenant: &str, _streams: Vec<PushStream>) -> Result<()> {
        todo!("ingester push")
    }

    /// In-memory streams of `tenant` matching `matchers` with entries in `[start, end)`.
    pub fn series(
        &self,
        _tenant: &str,
        _matchers: &[LabelMatcher],
        _start: i64,
        _end: i64,
    ) -> Vec<StreamInfo> {
        todo!("ingester series")
    }

    /// In-memory entries of the given streams with `start <= ts < end`, in
    /// `storage::log_schema`, sorted by (fingerprint, ts).
    pub fn read(
        &self,
        _tenant: &str,
        _fingerprints: &[u64],
        _start: i64,
        _end: i64,
    ) -> Result<Vec<RecordBatch>> {
        todo!("ingester read")
    }

    /// Flushes every in-memory entry to storage (`POST /flush`, shutdown).
    pub async fn flush_all(&self) -> Result<()> {
        todo!("flush_all")
    }

    /// Starts the background loop that flushes chunks by size, age and idleness.
    pub fn spawn_flush_loop(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        todo!("flush loop")
    }
}
