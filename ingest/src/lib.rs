//! Fenrir's write path.
//!
//! Data flow: the HTTP layer decodes a push body into a [`PushRequest`]; the
//! [`distributor::Distributor`] validates it (label names and values, line size, sample
//! age) and applies the tenant's rate limit, answering with Loki's wording; the
//! [`ingester::Ingester`] appends the accepted entries to its write-ahead log, syncs it,
//! and only then acknowledges; entries live in per-stream head blocks until a chunk is cut
//! (size, age, idleness) and flushed to storage as a segment. On start the WAL is replayed.
//! Queries read the ingester's in-memory data through [`ingester::Ingester::read`].

pub mod config;
pub mod distributor;
pub mod error;
pub mod flush;
mod head;
pub mod ingester;
pub mod limiter;
pub mod metrics;
pub mod query_service;
pub mod validation;
pub mod wal;

#[cfg(test)]
mod testutil;

pub use config::{IngesterConfig, Limits};
pub use error::{IngestError, Result};
pub use head::{RowFilter, ScanStats};

use logql::LabelSet;
use storage::Entry;

/// A decoded push: streams with their entries, before validation.
#[derive(Clone, Debug, Default)]
pub struct PushRequest {
    /// Streams in body order.
    pub streams: Vec<PushStream>,
}

/// One stream of a push body.
#[derive(Clone, Debug)]
pub struct PushStream {
    /// The stream's labels as sent (validated by the distributor).
    pub labels: LabelSet,
    /// Entries in body order.
    pub entries: Vec<Entry>,
}
