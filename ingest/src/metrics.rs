//! Prometheus metrics of the write path, with Loki's names where Loki has one.
//!
//! The metrics are process-wide statics; [`register`] adds them to a registry (the one
//! `/metrics` serves). Label values are limited to `tenant`, `reason` and a few fixed
//! strings.

use std::sync::LazyLock;

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    match IntCounterVec::new(Opts::new(name, help), labels) {
        Ok(c) => c,
        Err(e) => unreachable!("static metric {name} is malformed: {e}"),
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    match IntCounter::new(name, help) {
        Ok(c) => c,
        Err(e) => unreachable!("static metric {name} is malformed: {e}"),
    }
}

fn gauge(name: &str, help: &str) -> IntGauge {
    match IntGauge::new(name, help) {
        Ok(g) => g,
        Err(e) => unreachable!("static metric {name} is malformed: {e}"),
    }
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    match IntGaugeVec::new(Opts::new(name, help), labels) {
        Ok(g) => g,
        Err(e) => unreachable!("static metric {name} is malformed: {e}"),
    }
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    match Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)) {
        Ok(h) => h,
        Err(e) => unreachable!("static metric {name} is malformed: {e}"),
    }
}

/// Lines accepted by the distributor, per tenant.
pub static LINES_RECEIVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_distributor_lines_received_total",
        "The total number of lines received.",
        &["tenant"],
    )
});

/// Line bytes accepted by the distributor, per tenant.
pub static BYTES_RECEIVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_distributor_bytes_received_total",
        "The total number of uncompressed bytes received per tenant.",
        &["tenant"],
    )
});

/// Entries dropped by validation or limits, per reason and tenant.
pub static DISCARDED_SAMPLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_discarded_samples_total",
        "The total number of samples that were discarded.",
        &["reason", "tenant"],
    )
});

/// Line bytes dropped by validation or limits, per reason and tenant.
pub static DISCARDED_BYTES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_discarded_bytes_total",
        "The total number of bytes that were discarded.",
        &["reason", "tenant"],
    )
});

/// Entries changed before storing (truncated lines), per reason and tenant.
pub static MUTATED_SAMPLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_mutated_samples_total",
        "The total number of samples that have been mutated.",
        &["reason", "tenant"],
    )
});

/// Bytes removed from mutated entries, per reason and tenant.
pub static MUTATED_BYTES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_mutated_bytes_total",
        "The total number of bytes that have been mutated.",
        &["reason", "tenant"],
    )
});

/// WAL records written.
pub static WAL_RECORDS_LOGGED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_wal_records_logged_total",
        "Total number of WAL records logged.",
    )
});

/// WAL bytes written.
pub static WAL_LOGGED_BYTES: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_wal_logged_bytes_total",
        "Total number of bytes written to disk for WAL records.",
    )
});

/// Torn or corrupt WAL tails found (and truncated) on replay.
pub static WAL_CORRUPTIONS: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_wal_corruptions_total",
        "Total number of WAL corruptions encountered.",
    )
});

/// WAL write or sync failures.
pub static WAL_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_wal_failures_total",
        "Total number of failed WAL writes or syncs.",
    )
});

/// Duration of each WAL group write + fdatasync.
pub static WAL_SYNC_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "loki_ingester_wal_sync_duration_seconds",
        "Duration of WAL group writes including fdatasync.",
        prometheus::exponential_buckets(0.0001, 4.0, 10).unwrap_or_default(),
    )
});

/// Records per WAL group commit.
pub static WAL_GROUP_RECORDS: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "loki_ingester_wal_group_records",
        "Number of records written per WAL group commit.",
        prometheus::exponential_buckets(1.0, 2.0, 12).unwrap_or_default(),
    )
});

/// Seconds the last WAL replay took.
pub static WAL_REPLAY_DURATION: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "loki_ingester_wal_replay_duration_seconds",
        "Time taken to replay the checkpoint and the WAL.",
    )
});

/// Chunks (one stream's entries) flushed to storage, per reason.
pub static CHUNKS_FLUSHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_ingester_chunks_flushed_total",
        "Total flushed chunks per reason.",
        &["reason"],
    )
});

/// Failed segment writes.
pub static CHUNKS_FLUSH_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_chunks_flush_failures_total",
        "Total number of flush failures.",
    )
});

/// Entries flushed to storage.
pub static CHUNK_ENTRIES_FLUSHED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_chunk_entries_flushed_total",
        "Total number of entries flushed to storage.",
    )
});

/// Streams held in memory, per tenant.
pub static MEMORY_STREAMS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "loki_ingester_memory_streams",
        "The total number of streams in memory per tenant.",
        &["tenant"],
    )
});

/// Streams created, per tenant.
pub static STREAMS_CREATED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_ingester_streams_created_total",
        "The total number of streams created per tenant.",
        &["tenant"],
    )
});

/// Streams removed after flushing, per tenant.
pub static STREAMS_REMOVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "loki_ingester_streams_removed_total",
        "The total number of streams removed per tenant.",
        &["tenant"],
    )
});

/// Exact duplicates dropped by the ingester.
pub static DUPLICATES_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "loki_ingester_duplicate_entries_total",
        "Total number of exact duplicate entries dropped.",
    )
});

/// Registers every write-path metric in `registry` (idempotent per registry).
pub fn register(registry: &Registry) {
    let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
        Box::new(LINES_RECEIVED.clone()),
        Box::new(BYTES_RECEIVED.clone()),
        Box::new(DISCARDED_SAMPLES.clone()),
        Box::new(DISCARDED_BYTES.clone()),
        Box::new(MUTATED_SAMPLES.clone()),
        Box::new(MUTATED_BYTES.clone()),
        Box::new(WAL_RECORDS_LOGGED.clone()),
        Box::new(WAL_LOGGED_BYTES.clone()),
        Box::new(WAL_CORRUPTIONS.clone()),
        Box::new(WAL_FAILURES.clone()),
        Box::new(WAL_SYNC_DURATION.clone()),
        Box::new(WAL_GROUP_RECORDS.clone()),
        Box::new(WAL_REPLAY_DURATION.clone()),
        Box::new(CHUNKS_FLUSHED.clone()),
        Box::new(CHUNKS_FLUSH_FAILURES.clone()),
        Box::new(CHUNK_ENTRIES_FLUSHED.clone()),
        Box::new(MEMORY_STREAMS.clone()),
        Box::new(STREAMS_CREATED.clone()),
        Box::new(STREAMS_REMOVED.clone()),
        Box::new(DUPLICATES_DROPPED.clone()),
    ];
    for c in collectors {
        // AlreadyReg on a second call is fine: the metric is already served
        if let Err(e) = registry.register(c) {
            tracing::debug!(error = %e, "write-path metric not registered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_twice_and_gather_names() {
        let r = Registry::new();
        register(&r);
        register(&r);
        DISCARDED_SAMPLES
            .with_label_values(&["line_too_long", "t"])
            .inc();
        CHUNKS_FLUSHED.with_label_values(&["idle"]).inc();
        MEMORY_STREAMS.with_label_values(&["t"]).set(0);
        LINES_RECEIVED.with_label_values(&["t"]).inc();
        let names: Vec<String> = r.gather().iter().map(|m| m.name().to_string()).collect();
        for n in [
            "loki_discarded_samples_total",
            "loki_ingester_chunks_flushed_total",
            "loki_ingester_memory_streams",
            "loki_distributor_lines_received_total",
            "loki_ingester_wal_records_logged_total",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing in {names:?}");
        }
    }
}
