//! Where objects live in the store, and what each object holds.
//!
//! # Objects
//!
//! ```text
//! segments/<tenant>/<period>/<segment-id>.parquet   one segment: the rows of many streams
//! segments/<tenant>/<period>/<segment-id>.grams     trigram filters of its `line` pages
//! index/<tenant>/<period>/<segment-id>.json.zst     one index record per segment and period
//! ```
//!
//! - `<tenant>` is the tenant id as one object-store path part (characters that are not
//!   safe in object names are percent-encoded by `object_store`; `.` and `..` are escaped).
//!   Every object of a tenant lives under its own prefix, so tenants never share objects.
//! - `<period>` is the number of whole 24h periods since the Unix epoch
//!   (`ts.div_euclid(86_400_000_000_000)`; Loki's index table number), printed in decimal
//!   (negative for timestamps before 1970).
//! - `<segment-id>` is `<20-digit write time in ns>-<16 hex digits of randomness>`, so ids
//!   sort by the time they were written and two writers never pick the same id.
//!
//! # Segment object (Parquet)
//!
//! Columns as in [`crate::log_schema`]: `fingerprint` (UInt64, dictionary + RLE,
//! uncompressed), `ts` (Int64, DELTA_BINARY_PACKED, uncompressed), `line` (Utf8, plain,
//! zstd level 6, 256 KiB pages), `metadata` (nullable Utf8: a JSON array of
//! `[name, value]` pairs, dictionary, uncompressed). Rows are
//! sorted by (fingerprint, ts, push order) and the sort order is recorded in the file's
//! `sorting_columns`. Row groups hold at most [`crate::segment::ROW_GROUP_ROWS`] rows and
//! start only at a stream's first row: a stream with a page's worth of lines has row groups
//! of its own, smaller neighbours share one (older segments cut them at equal row counts;
//! readers take row groups from the index record either way);
//! `fingerprint` and `ts` carry page statistics (column index) and every column has an
//! offset index, so a reader can fetch and decode only the pages holding the rows it needs.
//!
//! # Page filters (`.grams`)
//!
//! Written just before its segment (so a segment has its filters unless it was written
//! before they existed; readers then skip nothing). Little-endian: magic `FNGR`,
//! version byte `2`, block count (u32), then per block of consecutive data pages of the
//! `line` column (about 1 MiB of text), in row order: first row and end row of the
//! block (u64 each, segment row numbers), the filter's length in 64-bit words (u32) and
//! the words: a Bloom filter (two probes at splitmix64 of the hash) over the 16-bit
//! hashes (`key * 0x9E3779B1 >> 16`, key = the three bytes big-endian) of every
//! three-byte window inside the block's lines (see [`crate::grams`]).
//!
//! # Index record (`.json.zst`)
//!
//! A zstd-compressed JSON object ([`crate::index::IndexRecord`]) describing one segment:
//! its id, byte size, row count, per-row-group row counts, time bounds, and per stream:
//! fingerprint, labels (as `[name, value]` pairs), min/max ts, entry count, raw bytes
//! (line plus structured metadata bytes), the exact row range `[start, end)` it occupies
//! in the segment, and the (inclusive) range of row groups holding those rows.
//!
//! # Invariants
//!
//! - The segment of a record is `segments/<tenant>/<period of min_ts>/<segment-id>.parquet`.
//! - A segment whose rows span several periods has one identical index record in every
//!   period from `period(min_ts)` to `period(max_ts)`; readers deduplicate by segment id.
//!   So a query for `[start, end)` finds every segment with data in that range by listing
//!   only the periods `period(start) ..= period(end - 1)`.
//! - A stream's rows are contiguous in its segment and sorted by ts.
//! - Objects are immutable once written; they are only ever replaced whole by the
//!   compactor (not yet written).
//!
//! # Crash behaviour
//!
//! The segment object is written first and the index records after it, each with a single
//! atomic PUT (the filesystem backend writes a temporary file and renames it). A crash
//! between the two leaves an orphan segment that no index points to: it is invisible to
//! queries and can be deleted by the compactor. An index record therefore never points to
//! a missing segment. A crash between two index records of a multi-period segment leaves
//! the segment visible in the periods written so far; the writer (the ingester) retries the
//! flush from its WAL, which writes a new segment, so readers may see some entries twice
//! until compaction; queries deduplicate identical entries. Unreadable index records are
//! logged and skipped instead of failing the whole store.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use object_store::path::{Path, PathPart};

use crate::error::{Result, StorageError};

/// Length of one index period in nanoseconds (24h, as Loki's index tables).
pub const PERIOD_NANOS: i64 = 86_400 * 1_000_000_000;

/// Top-level prefix of segment objects.
pub const SEGMENTS_DIR: &str = "segments";
/// Top-level prefix of index records.
pub const INDEX_DIR: &str = "index";
/// File name suffix of segment objects.
pub const SEGMENT_SUFFIX: &str = ".parquet";
/// File name suffix of page filter objects.
pub const GRAMS_SUFFIX: &str = ".grams";
/// File name suffix of index records.
pub const INDEX_SUFFIX: &str = ".json.zst";

/// The period (24h bucket number since the epoch) holding `ts`.
pub fn period_of(ts: i64) -> i64 {
    ts.div_euclid(PERIOD_NANOS)
}

/// The tenant id as the path part used in object names; also the key of in-memory maps,
/// so that a tenant is looked up exactly as it is stored.
pub fn tenant_part(tenant: &str) -> Result<String> {
    if tenant.is_empty() {
        return Err(StorageError::InvalidTenant(tenant.to_string()));
    }
    Ok(PathPart::from(tenant).as_ref().to_string())
}

/// An already-encoded path part (a tenant part from [`tenant_part`] or from a listing)
/// as a [`PathPart`], without encoding it a second time.
fn encoded(part: &str) -> PathPart<'_> {
    // Parts we build or list are valid; re-encoding is only a fallback for foreign input.
    PathPart::parse(part).unwrap_or_else(|_| PathPart::from(part))
}

/// `index/<tenant>/`: every index record of a tenant.
pub fn tenant_index_prefix(tenant_part: &str) -> Path {
    Path::from(INDEX_DIR).join(encoded(tenant_part))
}

/// `index/<tenant>/<period>/`: the index records of one period.
pub fn period_index_prefix(tenant_part: &str, period: i64) -> Path {
    tenant_index_prefix(tenant_part).join(period.to_string())
}

/// `index/<tenant>/<period>/<segment-id>.json.zst`.
pub fn index_path(tenant_part: &str, period: i64, segment_id: &str) -> Path {
    period_index_prefix(tenant_part, period).join(format!("{segment_id}{INDEX_SUFFIX}"))
}

/// `segments/<tenant>/<period of min_ts>/<segment-id>.parquet`.
pub fn segment_path(tenant_part: &str, min_ts: i64, segment_id: &str) -> Path {
    Path::from(SEGMENTS_DIR)
        .join(encoded(tenant_part))
        .join(period_of(min_ts).to_string())
        .join(format!("{segment_id}{SEGMENT_SUFFIX}"))
}

/// The page filter object of the segment at `segment` (its `.parquet` path).
pub fn grams_path(segment: &Path) -> Path {
    let mut parts: Vec<PathPart<'_>> = segment.parts().collect();
    if let Some(last) = parts.pop() {
        let name = last.as_ref();
        let stem = name.strip_suffix(SEGMENT_SUFFIX).unwrap_or(name);
        parts.push(PathPart::from(format!("{stem}{GRAMS_SUFFIX}")));
    }
    Path::from_iter(parts)
}

/// A listed index record location, parsed from its object path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexLocation {
    /// The tenant's path part.
    pub tenant_part: String,
    /// The period directory it was listed under.
    pub period: i64,
    /// The segment it describes.
    pub segment_id: String,
}

/// Parses `index/<tenant>/<period>/<segment-id>.json.zst`; `None` for anything else
/// (temporary files, foreign objects).
pub fn parse_index_path(path: &Path) -> Option<IndexLocation> {
    let parts: Vec<PathPart<'_>> = path.parts().collect();
    let [dir, tenant, period, file] = parts.as_slice() else {
        return None;
    };
    if dir.as_ref() != INDEX_DIR {
        return None;
    }
    let period: i64 = period.as_ref().parse().ok()?;
    let id = file.as_ref().strip_suffix(INDEX_SUFFIX)?;
    if !is_segment_id(id) {
        return None;
    }
    Some(IndexLocation {
        tenant_part: tenant.as_ref().to_string(),
        period,
        segment_id: id.to_string(),
    })
}

/// True for `<20 digits>-<16 lowercase hex digits>`.
pub fn is_segment_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 37
        && b[..20].iter().all(u8::is_ascii_digit)
        && b[20] == b'-'
        && b[21..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// A fresh segment id: current time in ns plus 64 random bits.
pub fn new_segment_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded from the OS once per process; mixing in pid, a counter and
    // the time makes ids unique across threads, processes and hosts.
    let random = std::hash::RandomState::new().hash_one((std::process::id(), n, now));
    let now = u64::try_from(now).unwrap_or(u64::MAX);
    format!("{now:020}-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_split_at_midnight_utc() {
        assert_eq!(period_of(0), 0);
        assert_eq!(period_of(PERIOD_NANOS - 1), 0);
        assert_eq!(period_of(PERIOD_NANOS), 1);
        assert_eq!(period_of(-1), -1);
        // 2024-01-01T00:00:00Z
        assert_eq!(period_of(1_704_067_200_000_000_000), 19723);
    }

    #[test]
    fn segment_ids_sort_by_time_and_parse_back() {
        let a = new_segment_id();
        let b = new_segment_id();
        assert!(is_segment_id(&a), "{a}");
        assert_ne!(a, b);
        assert!(a[..20] <= b[..20]);
        let p = index_path("t1", 19723, &a);
        assert_eq!(p.as_ref(), format!("index/t1/19723/{a}.json.zst"));
        let loc = parse_index_path(&p).unwrap();
        assert_eq!(loc.tenant_part, "t1");
        assert_eq!(loc.period, 19723);
        assert_eq!(loc.segment_id, a);
        assert_eq!(
            parse_index_path(&Path::from("index/t1/19723/x.json.zst")),
            None
        );
        assert_eq!(
            parse_index_path(&Path::from(format!("index/t1/abc/{a}.json.zst"))),
            None
        );
    }

    #[test]
    fn page_filters_sit_beside_their_segment() {
        let part = tenant_part("a/b").unwrap();
        let seg = segment_path(&part, 0, "0001-ab");
        let grams = grams_path(&seg);
        assert_eq!(seg.as_ref(), "segments/a%2Fb/0/0001-ab.parquet");
        assert_eq!(grams.as_ref(), "segments/a%2Fb/0/0001-ab.grams");
    }

    #[test]
    fn tenant_parts_are_escaped() {
        assert_eq!(tenant_part("team-a").unwrap(), "team-a");
        assert_eq!(tenant_part("..").unwrap(), "%2E%2E");
        assert_eq!(tenant_part("a/b").unwrap(), "a%2Fb");
        assert!(tenant_part("").is_err());
        let p = segment_path("a%2Fb", 0, "x");
        assert_eq!(p.as_ref(), "segments/a%2Fb/0/x.parquet");
    }
}
