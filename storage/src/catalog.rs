//! The in-memory label index: every loaded index record, per tenant, arranged for
//! matcher resolution (`series`) and for planning segment reads (`read`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use logql::{LabelMatcher, LabelSet};
use object_store::path::Path;
use parking_lot::RwLock;

use crate::entry::StreamInfo;
use crate::index::IndexRecord;
use crate::layout::segment_path;
use crate::reader::SegmentRead;

/// The index of one tenant.
pub struct TenantIndex {
    /// The tenant's object path part.
    part: String,
    /// Loaded records, arranged for lookups.
    state: RwLock<TenantState>,
    /// When the tenant's index records were last listed; the lock also makes concurrent
    /// queries share one refresh.
    pub refresh: tokio::sync::Mutex<RefreshState>,
}

/// When each part of a tenant's index was last listed.
#[derive(Debug, Default)]
pub struct RefreshState {
    /// Last listing of one period directory.
    pub periods: HashMap<i64, Instant>,
    /// Last listing of the whole tenant.
    pub all: Option<Instant>,
}

#[derive(Default)]
struct TenantState {
    /// Loaded segment ids.
    segments: HashSet<String>,
    /// Index records that could not be loaded (so they are not fetched again).
    skipped: HashSet<String>,
    /// Streams by fingerprint.
    streams: HashMap<u64, StreamState>,
    /// Label name -> value -> fingerprints of the streams carrying that pair.
    postings: HashMap<String, HashMap<String, Vec<u64>>>,
}

/// One segment as the reader needs it.
#[derive(Debug)]
struct SegmentRef {
    id: String,
    path: Path,
    size: u64,
}

/// Where one stream has rows in one segment.
#[derive(Debug)]
struct Chunk {
    segment: Arc<SegmentRef>,
    min_ts: i64,
    max_ts: i64,
    rows: Range<u64>,
    /// Per-minute counts (empty when the record predates rollups).
    rollup: Vec<(i64, u64, u64)>,
}

/// One stream's entries in a time range as rollup points (see
/// [`crate::index::rollup_point`]), for queries that only count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamRollup {
    /// The stream.
    pub fingerprint: u64,
    /// `(point, entries, line bytes)`, sorted by point.
    pub points: Vec<(i64, u64, u64)>,
    /// `[min_ts, max_ts]` of each segment the points come from, sorted and disjoint:
    /// another source's entries outside them cannot duplicate these.
    pub spans: Vec<(i64, i64)>,
}

struct StreamState {
    labels: LabelSet,
    chunks: Vec<Chunk>,
}

impl StreamState {
    fn has_data_in(&self, start: i64, end: i64) -> bool {
        self.chunks
            .iter()
            .any(|c| c.min_ts < end && c.max_ts >= start)
    }
}

impl TenantIndex {
    /// An empty index for the tenant with path part `part`.
    pub fn new(part: String) -> Self {
        Self {
            part,
            state: RwLock::new(TenantState::default()),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
        }
    }

    /// The tenant's object path part.
    pub fn part(&self) -> &str {
        &self.part
    }

    /// True if the segment is loaded or known to be unloadable.
    pub fn knows(&self, segment_id: &str) -> bool {
        let state = self.state.read();
        state.segments.contains(segment_id) || state.skipped.contains(segment_id)
    }

    /// Remembers an index record that could not be loaded, so it is not fetched again.
    pub fn skip(&self, segment_id: &str) {
        self.state.write().skipped.insert(segment_id.to_string());
    }

    /// Adds a segment's record; a segment already loaded (listed in another period) is
    /// ignored.
    pub fn insert(&self, record: &IndexRecord) {
        let segment = Arc::new(SegmentRef {
            id: record.segment.clone(),
            path: segment_path(&self.part, record.min_ts, &record.segment),
            size: record.size,
        });
        let mut state = self.state.write();
        if !state.segments.insert(record.segment.clone()) {
            return;
        }
        let state = &mut *state;
        for s in &record.streams {
            let chunk = Chunk {
                segment: segment.clone(),
                min_ts: s.min_ts,
                max_ts: s.max_ts,
                rows: s.row_start..s.row_end,
                rollup: s.rollup.clone(),
            };
            state
                .streams
                .entry(s.fingerprint)
                .or_insert_with(|| {
                    for (name, value) in &s.labels {
                        state
                            .postings
                            .entry(name.clone())
                            .or_default()
                            .entry(value.clone())
                            .or_default()
                            .push(s.fingerprint);
                    }
                    StreamState {
                        labels: LabelSet::from_pairs(s.labels.iter().cloned()),
                        chunks: Vec::new(),
                    }
                })
                .chunks
                .push(chunk);
        }
    }

    /// Streams matching all `matchers` with data in `[start, end)`, sorted by labels.
    pub fn series(&self, matchers: &[LabelMatcher], start: i64, end: i64) -> Vec<StreamInfo> {
        if start >= end {
            return Vec::new();
        }
        let state = self.state.read();
        // the smallest posting list of a non-empty equality matcher narrows the scan
        let narrowest = matchers
            .iter()
            .filter(|m| m.op == logql::MatchOp::Eq && !m.value.is_empty())
            .map(|m| {
                state
                    .postings
                    .get(&m.name)
                    .and_then(|values| values.get(&m.value))
                    .map_or(&[][..], |fps| fps.as_slice())
            })
            .min_by_key(|fps| fps.len());
        let candidates: Box<dyn Iterator<Item = (&u64, &StreamState)>> = match narrowest {
            Some(fps) => Box::new(fps.iter().filter_map(|fp| state.streams.get_key_value(fp))),
            None => Box::new(state.streams.iter()),
        };
        let mut out: Vec<StreamInfo> = candidates
            .filter(|(_, s)| s.has_data_in(start, end))
            .filter(|(_, s)| logql::matcher::matches_all(matchers, &s.labels))
            .map(|(fp, s)| StreamInfo {
                fingerprint: *fp,
                labels: s.labels.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// The rollup points with `start <= point < end` of each of `fingerprints` that has
    /// data in `[start, end)`. `None` when some needed segment has no rollup or two
    /// segments of one stream overlap in time (they may hold the same entries twice,
    /// which only reading the rows can tell).
    pub fn rollups(&self, fingerprints: &[u64], start: i64, end: i64) -> Option<Vec<StreamRollup>> {
        let state = self.state.read();
        let unique: HashSet<u64> = fingerprints.iter().copied().collect();
        let mut out = Vec::with_capacity(unique.len());
        for fp in unique {
            let Some(stream) = state.streams.get(&fp) else {
                continue;
            };
            let mut chunks: Vec<&Chunk> = stream
                .chunks
                .iter()
                .filter(|c| c.min_ts < end && c.max_ts >= start)
                .collect();
            if chunks.is_empty() {
                continue;
            }
            chunks.sort_by_key(|c| c.min_ts);
            if chunks.iter().any(|c| c.rollup.is_empty())
                || chunks.windows(2).any(|w| w[1].min_ts <= w[0].max_ts)
            {
                return None;
            }
            let points = chunks
                .iter()
                .flat_map(|c| c.rollup.iter())
                .filter(|p| p.0 >= start && p.0 < end)
                .copied()
                .collect();
            out.push(StreamRollup {
                fingerprint: fp,
                points,
                spans: chunks.iter().map(|c| (c.min_ts, c.max_ts)).collect(),
            });
        }
        Some(out)
    }

    /// The segment reads that return the rows of `fingerprints` in `[start, end)`, in
    /// segment id (write time) order.
    pub fn plan_reads(&self, fingerprints: &[u64], start: i64, end: i64) -> Vec<SegmentRead> {
        if start >= end {
            return Vec::new();
        }
        let state = self.state.read();
        let mut by_segment: BTreeMap<&str, SegmentRead> = BTreeMap::new();
        let unique: HashSet<u64> = fingerprints.iter().copied().collect();
        for fp in unique {
            let Some(stream) = state.streams.get(&fp) else {
                continue;
            };
            for c in &stream.chunks {
                if c.min_ts >= end || c.max_ts < start {
                    continue;
                }
                let read = by_segment
                    .entry(c.segment.id.as_str())
                    .or_insert_with(|| SegmentRead {
                        path: c.segment.path.clone(),
                        size: c.segment.size,
                        rows: Vec::new(),
                        filter_ts: false,
                    });
                read.rows.push(c.rows.clone());
                read.filter_ts |= c.min_ts < start || c.max_ts >= end;
            }
        }
        by_segment
            .into_values()
            .map(|mut r| {
                r.rows = crate::sparse::merge_ranges(std::mem::take(&mut r.rows));
                r
            })
            .collect()
    }
}

/// Every tenant's index.
#[derive(Default)]
pub struct Catalog {
    tenants: RwLock<HashMap<String, Arc<TenantIndex>>>,
}

impl Catalog {
    /// The index of the tenant with path part `part`, created empty if new.
    pub fn tenant(&self, part: &str) -> Arc<TenantIndex> {
        if let Some(t) = self.tenants.read().get(part) {
            return t.clone();
        }
        self.tenants
            .write()
            .entry(part.to_string())
            .or_insert_with(|| Arc::new(TenantIndex::new(part.to_string())))
            .clone()
    }
}
