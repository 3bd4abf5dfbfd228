//! Helpers shared by the crate's tests.

use std::path::Path;
use std::sync::Arc;

use logql::LabelSet;
use storage::arrow::array::{Array, AsArray};
use storage::arrow::datatypes::{Int64Type, UInt64Type};
use storage::arrow::record_batch::RecordBatch;
use storage::{Entry, Storage, StorageConfig};

use crate::PushStream;

/// A label set from pairs.
pub fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

/// An entry without metadata.
pub fn entry(ts: i64, line: &str) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: vec![],
    }
}

/// A push stream from labels and (ts, line) pairs.
pub fn stream(labels: &[(&str, &str)], entries: &[(i64, &str)]) -> PushStream {
    PushStream {
        labels: ls(labels),
        entries: entries.iter().map(|(t, l)| entry(*t, l)).collect(),
    }
}

/// Filesystem storage under `root`.
pub async fn fs_storage(root: &Path) -> Arc<Storage> {
    Arc::new(
        Storage::open(&StorageConfig::Filesystem {
            root: root.to_path_buf(),
        })
        .await
        .unwrap()
        .with_refresh_interval(std::time::Duration::ZERO),
    )
}

/// Rows of batches as (fingerprint, ts, line, metadata).
pub fn rows(batches: &[RecordBatch]) -> Vec<(u64, i64, String, Option<String>)> {
    let mut out = Vec::new();
    for b in batches {
        let fp = b.column(0).as_primitive::<UInt64Type>();
        let ts = b.column(1).as_primitive::<Int64Type>();
        let line = b.column(2).as_string_view();
        let meta = b.column(3).as_string::<i32>();
        for i in 0..b.num_rows() {
            out.push((
                fp.value(i),
                ts.value(i),
                line.value(i).to_string(),
                (!meta.is_null(i)).then(|| meta.value(i).to_string()),
            ));
        }
    }
    out
}

/// (ts, line) of rows.
pub fn ts_lines(batches: &[RecordBatch]) -> Vec<(i64, String)> {
    rows(batches).into_iter().map(|r| (r.1, r.2)).collect()
}
