//! The data model shared by the write and read paths: entries, streams, and the Arrow
//! schema of log batches.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Int64Array, StringArray, StringBuilder};
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

/// One stream's entries, sorted by timestamp, handed to storage at flush as the columns a
/// segment stores, so that a flush copies each line once (from the ingester's head
/// buffer into `lines`) and segment row groups are slices of these arrays.
#[derive(Clone, Debug)]
pub struct StreamData {
    /// The stream's labels.
    pub labels: LabelSet,
    /// `labels.fingerprint()`.
    pub fingerprint: u64,
    /// Nanoseconds since the epoch, sorted (ties in push order); exact duplicates
    /// removed by the ingester.
    pub ts: Int64Array,
    /// The lines, one per `ts`.
    pub lines: StringArray,
    /// Structured metadata per entry as in the segment's `metadata` column (JSON array of
    /// pairs, see [`append_metadata`]); null where an entry has none.
    pub metadata: StringArray,
    /// Bytes of the metadata names and values (Loki counts them as entry bytes).
    pub metadata_bytes: u64,
}

impl StreamData {
    /// The columns of `entries`, sorted by timestamp (stable: ties keep their order).
    pub fn from_entries(labels: LabelSet, mut entries: Vec<Entry>) -> Self {
        entries.sort_by_key(|e| e.ts);
        let line_bytes = entries.iter().map(|e| e.line.len()).sum();
        let mut lines = StringBuilder::with_capacity(entries.len(), line_bytes);
        let mut metadata = StringBuilder::new();
        let mut metadata_bytes = 0u64;
        let mut json = Vec::new();
        for e in &entries {
            lines.append_value(&e.line);
            metadata_bytes += append_metadata(&mut metadata, &e.metadata, &mut json);
        }
        Self {
            fingerprint: labels.fingerprint(),
            labels,
            ts: entries.iter().map(|e| e.ts).collect(),
            lines: lines.finish(),
            metadata: metadata.finish(),
            metadata_bytes,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Raw bytes as Loki counts them: lines plus metadata names and values.
    pub fn raw_bytes(&self) -> u64 {
        self.line_bytes() + self.metadata_bytes
    }

    /// Bytes of the lines alone.
    pub fn line_bytes(&self) -> u64 {
        let offsets = self.lines.value_offsets();
        match (offsets.first(), offsets.last()) {
            (Some(first), Some(last)) => (last - first) as u64,
            _ => 0,
        }
    }
}

/// Appends one entry's structured metadata to a `metadata` column as segments store it (a
/// JSON array of `[name, value]` pairs, null when there are none; `json` is scratch
/// space) and returns its bytes as Loki counts them (names plus values).
pub fn append_metadata(
    column: &mut StringBuilder,
    pairs: &[(String, String)],
    json: &mut Vec<u8>,
) -> u64 {
    if pairs.is_empty() {
        column.append_null();
        return 0;
    }
    json.clear();
    // serializing strings into a Vec cannot fail
    let _ = serde_json::to_writer(&mut *json, pairs);
    // JSON text serialized from `String`s: valid UTF-8
    column.append_value(String::from_utf8_lossy(json));
    pairs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
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
/// `line` is a string view: a segment read points into the decompressed pages instead
/// of copying every line out of them.
pub fn log_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| schema_with_lines(DataType::Utf8View))
        .clone()
}

/// The schema segments are written in: [`log_schema`] with `line` as plain `Utf8`, the
/// arrays [`StreamData`] holds (parquet stores both alike; readers pick the view).
pub(crate) fn segment_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| schema_with_lines(DataType::Utf8))
        .clone()
}

/// The log columns with `line` of type `line`.
fn schema_with_lines(line: DataType) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(columns::FINGERPRINT, DataType::UInt64, false),
        Field::new(columns::TS, DataType::Int64, false),
        Field::new(columns::LINE, line, false),
        Field::new(columns::METADATA, DataType::Utf8, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;

    #[test]
    fn entries_become_sorted_columns_with_metadata_as_json() {
        let e = |ts: i64, line: &str, md: &[(&str, &str)]| Entry {
            ts,
            line: line.to_string(),
            metadata: md
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let labels = LabelSet::from_pairs([("app", "a")]);
        let s = StreamData::from_entries(
            labels.clone(),
            vec![
                e(5, "late", &[]),
                e(1, "first", &[("trace", "x\"1")]),
                e(5, "tie", &[]),
            ],
        );
        assert_eq!(s.fingerprint, labels.fingerprint());
        assert_eq!(s.ts.values().to_vec(), vec![1, 5, 5]);
        let lines: Vec<&str> = (0..s.len()).map(|i| s.lines.value(i)).collect();
        assert_eq!(lines, vec!["first", "late", "tie"]);
        assert_eq!(s.metadata.value(0), r#"[["trace","x\"1"]]"#);
        assert!(s.metadata.is_null(1) && s.metadata.is_null(2));
        assert_eq!(s.metadata_bytes, 8);
        assert_eq!(s.line_bytes(), 12);
        assert_eq!(s.raw_bytes(), 20);
        // a slice's line bytes count only its own lines
        let tail = StreamData {
            lines: s.lines.slice(1, 2),
            ..s.clone()
        };
        assert_eq!(tail.line_bytes(), 7);
    }
}
