//! Ingester settings and per-tenant limits, with Loki's names and defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Ingester settings (Loki's `ingester` block).
#[derive(Clone, Debug)]
pub struct IngesterConfig {
    /// Directory of the write-ahead log (Loki: `ingester.wal.dir`).
    pub wal_dir: PathBuf,
    /// Flush a stream's chunk when it received nothing for this long (Loki default 30m).
    pub chunk_idle_period: Duration,
    /// Flush a chunk at this age (Loki default 2h).
    pub max_chunk_age: Duration,
    /// Cut a chunk when its raw size reaches this many bytes (Loki default 1572864).
    pub chunk_target_size: usize,
    /// How often the flush loop looks for chunks to flush (Loki default 30s).
    pub flush_check_period: Duration,
    /// Flush every in-memory stream at once when the raw bytes held in memory reach
    /// this (Fenrir-only; 0 turns it off). Loki bounds memory by compressing chunks in
    /// memory; Fenrir keeps raw lines, so it bounds them by flushing early.
    pub flush_memory_bytes: usize,
}

impl IngesterConfig {
    /// Loki's defaults with the WAL under `wal_dir`.
    pub fn with_wal_dir(wal_dir: PathBuf) -> Self {
        Self {
            wal_dir,
            chunk_idle_period: Duration::from_secs(30 * 60),
            max_chunk_age: Duration::from_secs(2 * 3600),
            chunk_target_size: 1_572_864,
            flush_check_period: Duration::from_secs(30),
            flush_memory_bytes: 32 << 20,
        }
    }
}

/// Per-tenant limits (Loki's `limits_config`).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Reject entries older than `reject_old_samples_max_age` (default true).
    pub reject_old_samples: bool,
    /// Default 1w.
    pub reject_old_samples_max_age: Duration,
    /// Entries further than this in the future are rejected (default 10m).
    pub creation_grace_period: Duration,
    /// Maximum line size in bytes; 0 means unlimited (default 256KB).
    pub max_line_size: usize,
    /// Truncate instead of rejecting long lines (default false).
    pub max_line_size_truncate: bool,
    /// Per-tenant ingestion rate in MB/s (default 4).
    pub ingestion_rate_mb: f64,
    /// Per-tenant burst in MB (default 6).
    pub ingestion_burst_size_mb: f64,
    /// Default 15.
    pub max_label_names_per_series: usize,
    /// Default 1024.
    pub max_label_name_length: usize,
    /// Default 2048.
    pub max_label_value_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            reject_old_samples: true,
            reject_old_samples_max_age: Duration::from_secs(7 * 24 * 3600),
            creation_grace_period: Duration::from_secs(600),
            max_line_size: 256 * 1024,
            max_line_size_truncate: false,
            ingestion_rate_mb: 4.0,
            ingestion_burst_size_mb: 6.0,
            max_label_names_per_series: 15,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
        }
    }
}
