//! Head blocks: one stream's unflushed entries in memory.
//!
//! Lines live in one append buffer per stream (no allocation per line); entries are
//! small fixed-size records pointing into it, kept in push order. Entries may arrive out
//! of order: the timestamp order (ties in push order) is computed lazily by a stable
//! sort of entry indices and cached until the next append. Exact duplicates (same
//! timestamp and line, as Loki compares them) are stored once, wherever they occur.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use storage::arrow::array::{
    Int64Array, Int64Builder, StringArray, StringBuilder, StringViewBuilder, UInt64Builder,
};

/// A hasher for keys that already are good 64-bit hashes.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type DedupMap = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

const NO_META: u32 = u32::MAX;

/// One entry: its timestamp and where its line and metadata are.
#[derive(Clone, Copy, Debug)]
struct HeadEntry {
    ts: i64,
    start: usize,
    end: usize,
    meta: u32,
}

fn entry_hash(ts: i64, line: &str) -> u64 {
    // one-shot with the timestamp as seed: the streaming hasher's buffering cost as
    // much as the hashing (7 % of ingest CPU)
    xxhash_rust::xxh3::xxh3_64_with_seed(line.as_bytes(), ts as u64)
}

/// Smallest growth of a head's line buffer.
const LINES_GROWTH_MIN: usize = 4 << 10;

/// Largest growth of a head's line buffer (see [`HeadBlock::reserve_lines`]).
const LINES_GROWTH_MAX: usize = 256 << 10;

/// The unflushed entries of one stream.
#[derive(Debug)]
pub struct HeadBlock {
    lines: String,
    entries: Vec<HeadEntry>,
    metadata: Vec<Vec<(String, String)>>,
    /// Entries in push order are also in timestamp order.
    sorted: bool,
    /// Cached timestamp order when not `sorted`.
    order: Option<Vec<u32>>,
    dedup: DedupMap,
    raw_bytes: usize,
    min_ts: i64,
    max_ts: i64,
    /// When the oldest entry in memory arrived.
    first_arrival: Option<Instant>,
    /// When the last entry arrived.
    last_arrival: Option<Instant>,
    /// Sequence number of the last WAL record that appended here.
    pub last_seq: u64,
    /// Oldest WAL segment that may hold entries of this block.
    pub min_segment: u64,
    /// (ts, hash of line) of the last appended entry; survives flushes, as in Loki.
    last_line: Option<(i64, u64)>,
    /// Highest timestamp ever appended; survives flushes, as in Loki.
    highest_ts: Option<i64>,
}

/// An entry kept by a flush snapshot: how many entries (in push order) it covers.
#[derive(Debug)]
pub struct Snapshot {
    /// Timestamps, sorted (ties in push order).
    pub ts: Int64Array,
    /// The lines, one per `ts`.
    pub lines: StringArray,
    /// Structured metadata per entry as segments store it (JSON), null where none.
    pub metadata: StringArray,
    /// Bytes of the metadata names and values.
    pub metadata_bytes: u64,
    /// Number of head entries (push order) the snapshot holds.
    pub cut: usize,
    /// `last_seq` at snapshot time.
    pub through_seq: u64,
}

impl Default for HeadBlock {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadBlock {
    /// An empty block.
    pub fn new() -> Self {
        Self {
            lines: String::new(),
            entries: Vec::new(),
            metadata: Vec::new(),
            sorted: true,
            order: None,
            dedup: DedupMap::default(),
            raw_bytes: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            first_arrival: None,
            last_arrival: None,
            last_seq: 0,
            min_segment: 0,
            last_line: None,
            highest_ts: None,
        }
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of lines and metadata held.
    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// When the oldest held entry arrived.
    pub fn first_arrival(&self) -> Option<Instant> {
        self.first_arrival
    }

    /// When the last entry arrived.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.last_arrival
    }

    /// Highest timestamp ever appended (kept across flushes).
    pub fn highest_ts(&self) -> Option<i64> {
        self.highest_ts
    }

    /// True if (`ts`, `line`) repeats the last appended entry (Loki skips it silently).
    pub fn is_last_line(&self, ts: i64, line: &str) -> bool {
        // the timestamp first: it rarely repeats, and then the line need not be hashed
        matches!(self.last_line, Some((t, h)) if t == ts && h == entry_hash(ts, line))
    }

    fn line(&self, e: &HeadEntry) -> &str {
        self.lines.get(e.start..e.end).unwrap_or("")
    }

    fn is_duplicate_at(&self, idx: u32, ts: i64, line: &str) -> bool {
        self.entries
            .get(idx as usize)
            .is_some_and(|e| e.ts == ts && self.line(e) == line)
    }

    /// Appends one entry; false if it is an exact duplicate (not stored).
    pub fn append<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        ts: i64,
        line: &str,
        metadata: &[(K, V)],
        now: Instant,
    ) -> bool {
        let hash = entry_hash(ts, line);
        if self.last_line == Some((ts, hash)) {
            return false;
        }
        // like Loki, the last line is remembered even when it was a duplicate
        self.last_line = Some((ts, hash));
        self.highest_ts = Some(self.highest_ts.map_or(ts, |h| h.max(ts)));
        let idx = self.entries.len() as u32;
        match self.dedup.get(&hash) {
            Some(&prev) => {
                if self.is_duplicate_at(prev, ts, line) {
                    return false;
                }
                // a hash collision: compare against every entry of that timestamp
                if self
                    .entries
                    .iter()
                    .any(|e| e.ts == ts && self.line(e) == line)
                {
                    return false;
                }
            }
            None => {
                self.dedup.insert(hash, idx);
            }
        }
        let meta = if metadata.is_empty() {
            NO_META
        } else {
            self.metadata.push(
                metadata
                    .iter()
                    .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
                    .collect(),
            );
            self.raw_bytes += metadata
                .iter()
                .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
                .sum::<usize>();
            (self.metadata.len() - 1) as u32
        };
        let start = self.lines.len();
        self.reserve_lines(line.len());
        self.lines.push_str(line);
        if ts < self.max_ts {
            self.sorted = false;
        }
        self.order = None;
        self.entries.push(HeadEntry {
            ts,
            start,
            end: self.lines.len(),
            meta,
        });
        self.raw_bytes += line.len();
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
        self.first_arrival.get_or_insert(now);
        self.last_arrival = Some(now);
        true
    }

    /// Makes room for `additional` line bytes: the buffer doubles while small, then
    /// grows by [`LINES_GROWTH_MAX`] at a time, so a large head wastes at most that much
    /// (doubling left a third of every large buffer empty on average).
    fn reserve_lines(&mut self, additional: usize) {
        let (len, capacity) = (self.lines.len(), self.lines.capacity());
        if len + additional <= capacity {
            return;
        }
        let grow = capacity.clamp(LINES_GROWTH_MIN, LINES_GROWTH_MAX);
        self.lines.reserve_exact(grow.max(additional));
    }

    /// Entry indices in timestamp order (ties in push order).
    fn ordered(&mut self) -> &[u32] {
        if self.order.is_none() {
            let mut idx: Vec<u32> = (0..self.entries.len() as u32).collect();
            if !self.sorted {
                let entries = &self.entries;
                idx.sort_by_key(|&i| entries[i as usize].ts);
            }
            self.order = Some(idx);
        }
        self.order.as_deref().unwrap_or(&[])
    }

    /// Positions in [`Self::ordered`] of the entries with `start <= ts < end`.
    fn range(&mut self, start: i64, end: i64) -> std::ops::Range<usize> {
        if self.entries.is_empty() || start >= end || self.max_ts < start || self.min_ts >= end {
            return 0..0;
        }
        self.ordered();
        let order = self.order.as_deref().unwrap_or(&[]);
        let entries = &self.entries;
        let lo = order.partition_point(|&i| entries[i as usize].ts < start);
        let hi = order.partition_point(|&i| entries[i as usize].ts < end);
        lo..hi
    }

    /// True if some entry has `start <= ts < end`.
    pub fn overlaps(&mut self, start: i64, end: i64) -> bool {
        !self.range(start, end).is_empty()
    }

    /// Appends the entries with `start <= ts < end`, in order, to batch builders.
    pub fn append_rows(
        &mut self,
        fingerprint: u64,
        start: i64,
        end: i64,
        out: &mut RowBuilders,
        filter: RowFilter<'_>,
    ) -> usize {
        let range = self.range(start, end);
        let order = self.order.as_deref().unwrap_or(&[]);
        let mut json = Vec::new();
        let mut n = 0;
        for &i in &order[range] {
            let e = &self.entries[i as usize];
            let text = self.lines.get(e.start..e.end).unwrap_or("");
            filter.scanned.lines.set(filter.scanned.lines.get() + 1);
            filter
                .scanned
                .bytes
                .set(filter.scanned.bytes.get() + text.len() as u64);
            if filter.keep.is_some_and(|keep| !keep(text)) {
                continue;
            }
            n += 1;
            out.fingerprint.append_value(fingerprint);
            out.ts.append_value(e.ts);
            out.line.append_value(if filter.lines { text } else { "" });
            let pairs = self
                .metadata
                .get(e.meta as usize)
                .map_or(&[][..], Vec::as_slice);
            storage::entry::append_metadata(&mut out.metadata, pairs, &mut json);
        }
        n
    }

    /// Copies every entry (timestamp order) for a flush, straight into the columns a
    /// segment stores: each line is copied once, into one buffer.
    pub fn snapshot(&mut self) -> Snapshot {
        self.ordered();
        let order = self.order.as_deref().unwrap_or(&[]);
        let line_bytes = self.entries.iter().map(|e| e.end - e.start).sum();
        let mut ts = Vec::with_capacity(order.len());
        let mut lines = StringBuilder::with_capacity(order.len(), line_bytes);
        let mut metadata = StringBuilder::with_capacity(order.len(), 0);
        let mut metadata_bytes = 0u64;
        let mut json = Vec::new();
        for &i in order {
            let e = &self.entries[i as usize];
            ts.push(e.ts);
            lines.append_value(self.line(e));
            let pairs = self
                .metadata
                .get(e.meta as usize)
                .map_or(&[][..], Vec::as_slice);
            metadata_bytes += storage::entry::append_metadata(&mut metadata, pairs, &mut json);
        }
        Snapshot {
            ts: Int64Array::from(ts),
            lines: lines.finish(),
            metadata: metadata.finish(),
            metadata_bytes,
            cut: self.entries.len(),
            through_seq: self.last_seq,
        }
    }

    /// Drops the first `cut` entries (push order) after they were flushed; the rest
    /// arrived during the flush, from WAL segment `segment` on, not before `now`.
    pub fn remove_flushed(&mut self, cut: usize, segment: u64, now: Instant) {
        let cut = cut.min(self.entries.len());
        if cut == self.entries.len() {
            let (last_line, last_seq, highest_ts) =
                (self.last_line, self.last_seq, self.highest_ts);
            *self = Self::new();
            self.last_line = last_line;
            self.last_seq = last_seq;
            self.highest_ts = highest_ts;
            return;
        }
        let byte_cut = self.entries[cut].start;
        self.lines.drain(..byte_cut);
        let old_meta = std::mem::take(&mut self.metadata);
        let mut kept: Vec<HeadEntry> = self.entries.drain(cut..).collect();
        self.dedup.clear();
        self.raw_bytes = 0;
        self.min_ts = i64::MAX;
        self.max_ts = i64::MIN;
        self.sorted = true;
        for (i, e) in kept.iter_mut().enumerate() {
            e.start -= byte_cut;
            e.end -= byte_cut;
            if let Some(m) = old_meta.get(e.meta as usize) {
                self.raw_bytes += m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
                self.metadata.push(m.clone());
                e.meta = (self.metadata.len() - 1) as u32;
            }
            if e.ts < self.max_ts {
                self.sorted = false;
            }
            self.raw_bytes += e.end - e.start;
            self.min_ts = self.min_ts.min(e.ts);
            self.max_ts = self.max_ts.max(e.ts);
            let hash = entry_hash(e.ts, self.lines.get(e.start..e.end).unwrap_or(""));
            self.dedup.entry(hash).or_insert(i as u32);
        }
        self.entries = kept;
        self.order = None;
        self.min_segment = segment;
        self.first_arrival = Some(now);
        self.lines.shrink_to(self.lines.len() * 2);
    }
}

/// Lines and bytes a read looked at (before its line filter).
#[derive(Debug, Default)]
pub struct ScanStats {
    /// Entries looked at.
    pub lines: std::cell::Cell<u64>,
    /// Their line bytes.
    pub bytes: std::cell::Cell<u64>,
}

/// What [`HeadBlock::append_rows`] copies: lines or not, and only rows whose line
/// passes `keep` (the query's line filters, so non-matching lines are never copied).
#[derive(Clone, Copy)]
pub struct RowFilter<'a> {
    /// Copy the lines (else the `line` column holds empty strings).
    pub lines: bool,
    /// Keeps a row when it returns true.
    pub keep: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
    /// Counts what was looked at.
    pub scanned: &'a ScanStats,
}

impl<'a> RowFilter<'a> {
    /// Every row with its line.
    pub fn all(scanned: &'a ScanStats) -> Self {
        Self {
            lines: true,
            keep: None,
            scanned,
        }
    }
}

/// Column builders of one `log_schema` batch.
pub struct RowBuilders {
    /// `fingerprint` column.
    pub fingerprint: UInt64Builder,
    /// `ts` column.
    pub ts: Int64Builder,
    /// `line` column.
    pub line: StringViewBuilder,
    /// `metadata` column.
    pub metadata: StringBuilder,
}

impl RowBuilders {
    /// Builders sized for `rows` rows (line text goes into blocks that grow as needed).
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            fingerprint: UInt64Builder::with_capacity(rows),
            ts: Int64Builder::with_capacity(rows),
            line: StringViewBuilder::with_capacity(rows),
            metadata: StringBuilder::with_capacity(rows, 0),
        }
    }

    /// Finishes a batch in `log_schema`.
    pub fn finish(
        &mut self,
    ) -> Result<storage::arrow::record_batch::RecordBatch, storage::arrow::error::ArrowError> {
        use std::sync::Arc;
        storage::arrow::record_batch::RecordBatch::try_new(
            storage::log_schema(),
            vec![
                Arc::new(self.fingerprint.finish()),
                Arc::new(self.ts.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.metadata.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::arrow::array::{Array, AsArray};
    use storage::arrow::datatypes::{Int64Type, UInt64Type};

    const NONE: &[(&str, &str)] = &[];

    fn lines(h: &mut HeadBlock) -> Vec<(i64, String)> {
        let s = h.snapshot();
        (0..s.ts.len())
            .map(|i| (s.ts.value(i), s.lines.value(i).to_string()))
            .collect()
    }

    #[test]
    fn dedup_including_non_adjacent_duplicates() {
        let now = Instant::now();
        let mut h = HeadBlock::new();
        assert!(h.append(10, "dup A", NONE, now));
        assert!(h.append(10, "dup B", NONE, now));
        assert!(!h.append(10, "dup A", NONE, now));
        assert!(!h.append(10, "dup B", NONE, now));
        assert!(h.append(11, "dup A", NONE, now));
        assert!(!h.append(11, "dup A", NONE, now));
        assert_eq!(
            lines(&mut h),
            vec![
                (10, "dup A".into()),
                (10, "dup B".into()),
                (11, "dup A".into())
            ]
        );
    }

    #[test]
    fn out_of_order_reads_sorted_with_ties_in_push_order() {
        let now = Instant::now();
        let mut h = HeadBlock::new();
        for (ts, l) in [
            (5, "e"),
            (1, "a"),
            (3, "c1"),
            (3, "c2"),
            (2, "b"),
            (3, "c3"),
        ] {
            assert!(h.append(ts, l, NONE, now));
        }
        let got: Vec<String> = lines(&mut h).into_iter().map(|x| x.1).collect();
        assert_eq!(got, ["a", "b", "c1", "c2", "c3", "e"]);
        assert!(h.overlaps(3, 4));
        assert!(!h.overlaps(4, 5));
        assert!(h.overlaps(5, 6));
        let mut b = RowBuilders::with_capacity(0);
        assert_eq!(
            h.append_rows(9, 2, 5, &mut b, RowFilter::all(&ScanStats::default())),
            4
        );
        let batch = b.finish().unwrap();
        let ts: Vec<i64> = batch
            .column(1)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        assert_eq!(ts, [2, 3, 3, 3]);
        let fp = batch.column(0).as_primitive::<UInt64Type>();
        assert_eq!(fp.value(0), 9);
        let l = batch.column(2).as_string_view();
        assert_eq!(l.value(1), "c1");
        assert_eq!(l.value(3), "c3");
        assert_eq!(batch.column(3).null_count(), 4);
    }

    #[test]
    fn metadata_is_json_pairs() {
        let now = Instant::now();
        let mut h = HeadBlock::new();
        h.append(1, "x", &[("trace_id", "a\"b"), ("k", "v")], now);
        h.append(2, "y", NONE, now);
        let mut b = RowBuilders::with_capacity(2);
        h.append_rows(
            1,
            i64::MIN,
            i64::MAX,
            &mut b,
            RowFilter::all(&ScanStats::default()),
        );
        let batch = b.finish().unwrap();
        let m = batch.column(3).as_string::<i32>();
        assert_eq!(m.value(0), r#"[["trace_id","a\"b"],["k","v"]]"#);
        assert!(m.is_null(1));
    }

    #[test]
    fn remove_flushed_keeps_later_entries_and_their_dedup() {
        let now = Instant::now();
        let mut h = HeadBlock::new();
        h.append(3, "a", NONE, now);
        h.append(1, "b", &[("k", "v")], now);
        let snap = h.snapshot();
        assert_eq!(snap.cut, 2);
        h.append(2, "c", &[("k2", "v2")], now);
        h.append(0, "d", NONE, now);
        h.remove_flushed(snap.cut, 4, now);
        assert_eq!(h.min_segment, 4);
        assert_eq!(h.raw_bytes(), 2 + 4);
        let s = h.snapshot();
        assert_eq!(lines(&mut h), vec![(0, "d".into()), (2, "c".into())]);
        assert!(s.metadata.is_null(0));
        assert_eq!(s.metadata.value(1), r#"[["k2","v2"]]"#);
        assert_eq!(s.metadata_bytes, 4);
        assert!(!h.append(2, "c", NONE, now));
        h.remove_flushed(2, 5, now);
        assert!(h.is_empty());
        // Loki's last-line check (the last line seen, even a duplicate) survives the flush
        assert!(!h.append(2, "c", NONE, now));
        assert!(h.append(0, "d", NONE, now));
    }
}
