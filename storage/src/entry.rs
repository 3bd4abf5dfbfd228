//! The data model shared by the write and read paths: entries, streams, and the Arrow
//! schema of log batches.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use logql::LabelSet;

/// One log entry: timestamp (ns since epoch), line, structured metadata pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
    /// The log line.
    pub line: String,
    /// Structured metadata (name, value), in push order; usually empty.
    pub metadata: Vec<(String, String)>,
}

/// One stream's entries, sorted by timestamp, handed to storage at flush.
#[derive(Clone, Debug)]
pub struct StreamData {
    /// The stream's labels.
    pub labels: LabelSet,
    /// `labels.fingerprint()`.
    pub fingerprint: u64,
    /// Entries sorted by `ts` (ties in push order), exact duplicates removed.
    pub entries: Vec<Entry>,
}

/// A stream known to the index or to an ingester.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamInfo {
    /// `labels.fingerprint()`.
    pub fingerprint: u64,
    /// The stream's labels.
    pub labels: LabelSet,
}

/// Column names of [`log_schema`].
pub mod columns {
    /// `UInt64`: the stream fingerprint.
    pub const FINGERPRINT: &str = "fingerprint";
    /// `Int64`: nanoseconds since epoch.
    pub const TS: &str = "ts";
    /// `Utf8`: the line.
    pub const LINE: &str = "line";
    /// `Utf8`, nullable: structured metadata as a JSON array of `[name, value]` pairs;
    /// null when the entry has none.
    pub const METADATA: &str = "metadata";

    /// Position of `ts` in the schema (and its leaf column index in segments: the
    /// schema is flat).
    pub const TS_INDEX: usize = 1;
    /// Position of `line` in the schema (and its leaf column index in segments).
    pub const LINE_INDEX: usize = 2;
}

/// The schema of every log record batch (ingester reads, segment reads, query input).
pub fn log_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new(columns::FINGERPRINT, DataType::UInt64, false),
                Field::new(columns::TS, DataType::Int64, false),
                Field::new(columns::LINE, DataType::Utf8, false),
                Field::new(columns::METADATA, DataType::Utf8, true),
            ]))
        })
        .clone()
}
