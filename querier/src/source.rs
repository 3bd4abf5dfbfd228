//! Where the querier reads log entries from: the ingester's memory, storage's segments,
//! or (in tests and benchmarks) an in-memory table.
//!
//! Every source answers the same two questions as Loki's ingester and store do: which
//! streams match these matchers, and what are their entries in `[start, end)` as record
//! batches in [`storage::log_schema`] sorted by (fingerprint, ts). The engine merges the
//! answers of all sources and removes exact duplicates.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use ingest::ingester::Ingester;
use ingest::{RowFilter, ScanStats};
use logql::matcher::matches_all;
use logql::{LabelMatcher, LabelSet};
use parking_lot::RwLock;
use storage::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, StringArray, StringViewArray, UInt64Array,
};
use storage::arrow::record_batch::RecordBatch;
use storage::{Entry, LiteralQuery, ReadOptions, Storage, StreamInfo, StreamRollup, log_schema};

use crate::{QueryError, Result};

/// What kind of source this is; Loki's ingester ignores the time range of label queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Recent data held in memory (Loki's ingester): label names/values ignore time.
    Ingester,
    /// Flushed data (Loki's store): every call honours the time range.
    Store,
}

/// A place the querier reads streams and entries from.
pub trait LogSource: Send + Sync {
    /// Whether this is ingester memory or the store.
    fn kind(&self) -> SourceKind;

    /// Streams of `tenant` matching all `matchers` with data in `[start, end)`.
    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<StreamInfo>>>;

    /// Entries of `fingerprints` with `start <= ts < end`, sorted by (fingerprint, ts).
    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>>>;

    /// [`Self::read`] with hints a source may use to do less: leave the `line` column
    /// empty when the query does not look at lines, drop rows whose line fails the
    /// query's leading line filters. By default it reads everything.
    fn read_with<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        (start, end): (i64, i64),
        _hints: ReadHints<'a>,
    ) -> BoxFuture<'a, Result<SourceRead>> {
        Box::pin(async move {
            Ok(SourceRead::counted(
                self.read(tenant, fingerprints, start, end).await?,
            ))
        })
    }

    /// Per-minute counts of `fingerprints` in `[start, end)` (see
    /// [`storage::index::rollup_point`]) when the source keeps them; `None` when the
    /// rows must be read instead (the default).
    fn rollups<'a>(
        &'a self,
        _tenant: &'a str,
        _fingerprints: &'a [u64],
        (_start, _end): (i64, i64),
    ) -> BoxFuture<'a, Result<Option<Rollups>>> {
        Box::pin(async { Ok(None) })
    }
}

/// What [`LogSource::rollups`] answers: per stream, its entries as rollup points.
pub type Rollups = Vec<StreamRollup>;

/// A line predicate a source may apply while reading.
pub type LineKeep<'a> = dyn Fn(&str) -> bool + Sync + 'a;

/// What a query needs from a read (see [`LogSource::read_with`]).
#[derive(Clone, Copy)]
pub struct ReadHints<'a> {
    /// The query looks at lines.
    pub lines: bool,
    /// Rows whose line fails this are not needed.
    pub keep: Option<&'a LineKeep<'a>>,
    /// Every line `keep` accepts holds these literals: data known to hold none of
    /// them may be skipped unread (storage's page trigram filters).
    pub literals: Option<&'a LiteralQuery>,
}

/// The answer of [`LogSource::read_with`]: batches plus what was scanned to get them
/// (Loki's processed lines and bytes count lines before filtering).
pub struct SourceRead {
    /// Batches in [`log_schema`], sorted by (fingerprint, ts).
    pub batches: Vec<RecordBatch>,
    /// Lines scanned.
    pub lines_scanned: u64,
    /// Bytes of those lines.
    pub bytes_scanned: u64,
    /// The source already dropped the lines `ReadHints::keep` rejects.
    pub filtered: bool,
}

impl SourceRead {
    /// A read whose batches hold every scanned row.
    pub fn counted(batches: Vec<RecordBatch>) -> Self {
        let (mut lines, mut bytes) = (0u64, 0u64);
        for b in &batches {
            if let Some(col) = b.column(2).as_string_view_opt() {
                lines += col.len() as u64;
                bytes += col.lengths().map(u64::from).sum::<u64>();
            }
        }
        Self {
            batches,
            lines_scanned: lines,
            bytes_scanned: bytes,
            filtered: false,
        }
    }
}

impl LogSource for Storage {
    fn kind(&self) -> SourceKind {
        SourceKind::Store
    }

    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<StreamInfo>>> {
        Box::pin(async move { Ok(Storage::series(self, tenant, matchers, start, end).await?) })
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>>> {
        Box::pin(async move { Ok(Storage::read(self, tenant, fingerprints, start, end).await?) })
    }

    fn read_with<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        (start, end): (i64, i64),
        hints: ReadHints<'a>,
    ) -> BoxFuture<'a, Result<SourceRead>> {
        Box::pin(async move {
            let options = ReadOptions {
                lines: hints.lines,
                literals: hints.literals,
            };
            let batches =
                Storage::read_columns(self, tenant, fingerprints, start, end, options).await?;
            Ok(SourceRead::counted(batches))
        })
    }

    fn rollups<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        (start, end): (i64, i64),
    ) -> BoxFuture<'a, Result<Option<Rollups>>> {
        Box::pin(async move { Ok(Storage::rollups(self, tenant, fingerprints, start, end).await?) })
    }
}

impl LogSource for Ingester {
    fn kind(&self) -> SourceKind {
        SourceKind::Ingester
    }

    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<StreamInfo>>> {
        Box::pin(async move { Ok(Ingester::series(self, tenant, matchers, start, end)) })
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>>> {
        Box::pin(async move { Ok(Ingester::read(self, tenant, fingerprints, start, end)?) })
    }

    fn read_with<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        (start, end): (i64, i64),
        hints: ReadHints<'a>,
    ) -> BoxFuture<'a, Result<SourceRead>> {
        Box::pin(async move {
            let scanned = ScanStats::default();
            let filter = RowFilter {
                lines: hints.lines,
                keep: hints.keep,
                scanned: &scanned,
            };
            let batches = Ingester::read_filtered(self, tenant, fingerprints, start, end, filter)?;
            Ok(SourceRead {
                batches,
                lines_scanned: scanned.lines.get(),
                bytes_scanned: scanned.bytes.get(),
                filtered: hints.keep.is_some(),
            })
        })
    }
}

/// One stream held by [`MemorySource`]: its entries as one sorted batch.
struct MemStream {
    labels: LabelSet,
    entries: Vec<Entry>,
    batch: RecordBatch,
}

/// An in-memory source (tests, benchmarks, golden files): stores pushed entries like
/// Loki's ingester does, sorted by time with exact duplicates removed.
pub struct MemorySource {
    kind: SourceKind,
    tenants: RwLock<BTreeMap<String, BTreeMap<u64, Arc<MemStream>>>>,
}

impl MemorySource {
    /// An empty source that behaves like an ingester (`SourceKind::Ingester`).
    pub fn new() -> Self {
        Self::with_kind(SourceKind::Ingester)
    }

    /// An empty source of the given kind.
    pub fn with_kind(kind: SourceKind) -> Self {
        Self {
            kind,
            tenants: RwLock::new(BTreeMap::new()),
        }
    }

    /// Appends entries to the stream `labels` of `tenant`. Entries are kept sorted by
    /// timestamp (ties in push order); an entry equal to one already stored (same
    /// timestamp and line) is dropped.
    pub fn push(&self, tenant: &str, labels: &LabelSet, entries: &[Entry]) -> Result<()> {
        let fp = labels.fingerprint();
        let mut tenants = self.tenants.write();
        let streams = tenants.entry(tenant.to_string()).or_default();
        let mut all = match streams.get(&fp) {
            Some(s) => s.entries.clone(),
            None => Vec::new(),
        };
        for e in entries {
            // position after every entry with ts <= e.ts keeps push order for ties
            let pos = all.partition_point(|x| x.ts <= e.ts);
            let dup = all[..pos]
                .iter()
                .rev()
                .take_while(|x| x.ts == e.ts)
                .any(|x| x.line == e.line);
            if !dup {
                all.insert(pos, e.clone());
            }
        }
        let batch = entries_batch(fp, &all)?;
        streams.insert(
            fp,
            Arc::new(MemStream {
                labels: labels.clone(),
                entries: all,
                batch,
            }),
        );
        Ok(())
    }
}

impl Default for MemorySource {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds a [`log_schema`] batch of one stream's entries.
pub fn entries_batch(fp: u64, entries: &[Entry]) -> Result<RecordBatch> {
    let fps = UInt64Array::from(vec![fp; entries.len()]);
    let ts = Int64Array::from_iter_values(entries.iter().map(|e| e.ts));
    let lines = StringViewArray::from_iter_values(entries.iter().map(|e| e.line.as_str()));
    let meta: StringArray = entries
        .iter()
        .map(|e| {
            if e.metadata.is_empty() {
                None
            } else {
                serde_json::to_string(&e.metadata).ok()
            }
        })
        .collect();
    let cols: Vec<ArrayRef> = vec![Arc::new(fps), Arc::new(ts), Arc::new(lines), Arc::new(meta)];
    RecordBatch::try_new(log_schema(), cols).map_err(|e| QueryError::Internal(e.to_string()))
}

impl LogSource for MemorySource {
    fn kind(&self) -> SourceKind {
        self.kind
    }

    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<StreamInfo>>> {
        let tenants = self.tenants.read();
        let out = tenants
            .get(tenant)
            .map(|streams| {
                streams
                    .iter()
                    .filter(|(_, s)| {
                        matches_all(matchers, &s.labels)
                            && s.entries.iter().any(|e| e.ts >= start && e.ts < end)
                    })
                    .map(|(fp, s)| StreamInfo {
                        fingerprint: *fp,
                        labels: s.labels.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Box::pin(async move { Ok(out) })
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>>> {
        let tenants = self.tenants.read();
        let mut fps = fingerprints.to_vec();
        fps.sort_unstable();
        fps.dedup();
        let mut out = Vec::new();
        if let Some(streams) = tenants.get(tenant) {
            for fp in fps {
                if let Some(s) = streams.get(&fp) {
                    let lo = s.entries.partition_point(|e| e.ts < start);
                    let hi = s.entries.partition_point(|e| e.ts < end);
                    if hi > lo {
                        out.push(s.batch.slice(lo, hi - lo));
                    }
                }
            }
        }
        Box::pin(async move { Ok(out) })
    }
}
