//! The index record of one segment: what it holds, stream by stream, so that queries can
//! resolve matchers and find rows without opening the segment. Byte layout and naming are
//! specified in `layout.rs`.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StorageError};

/// Current index record format version.
pub const INDEX_VERSION: u32 = 1;

/// zstd level of index records (small objects; read once per process).
const INDEX_ZSTD_LEVEL: i32 = 3;

/// Largest decompressed index record accepted (a cap against corrupt or hostile objects).
const MAX_INDEX_BYTES: u64 = 512 * 1024 * 1024;

/// The index record of one segment, stored as zstd-compressed JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRecord {
    /// Format version ([`INDEX_VERSION`]).
    pub version: u32,
    /// The segment id (see `layout.rs`).
    pub segment: String,
    /// Size of the segment object in bytes.
    pub size: u64,
    /// Number of rows in the segment.
    pub rows: u64,
    /// Smallest timestamp in the segment.
    pub min_ts: i64,
    /// Largest timestamp in the segment.
    pub max_ts: i64,
    /// Row count of each row group, in file order.
    pub row_groups: Vec<u64>,
    /// The streams of the segment, sorted by fingerprint (the segment's row order).
    pub streams: Vec<IndexStream>,
}

/// One stream inside a segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStream {
    /// `labels.fingerprint()`.
    pub fingerprint: u64,
    /// The stream's labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Smallest timestamp of the stream in this segment.
    pub min_ts: i64,
    /// Largest timestamp of the stream in this segment.
    pub max_ts: i64,
    /// Number of entries (rows).
    pub entries: u64,
    /// Raw bytes: line bytes plus structured metadata name and value bytes.
    pub bytes: u64,
    /// First row of the stream in the segment.
    pub row_start: u64,
    /// One past the last row of the stream in the segment.
    pub row_end: u64,
    /// First row group holding rows of the stream.
    pub first_row_group: u32,
    /// Last row group holding rows of the stream (inclusive).
    pub last_row_group: u32,
    /// The stream's entries counted per minute, for queries that only count entries or
    /// line bytes over minute-aligned windows: `[ts, entries, line bytes]` per point,
    /// sorted by `ts` (see [`rollup_point`]). Empty in records written before rollups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollup: Vec<(i64, u64, u64)>,
}

/// One minute in nanoseconds: the alignment rollups serve.
pub const ROLLUP_NANOS: i64 = 60_000_000_000;

/// The rollup point an entry at `ts` is counted in. A window `(a, b]` whose ends are
/// whole minutes holds either all or none of the entries of a minute `((k-1)m, km]`;
/// a read of `[start, end)` with whole-minute ends cuts only at `km` itself. So entries
/// strictly inside a minute share the point `km - 1`, an entry exactly on the boundary
/// has the point `km`, and a window's count is the sum of the points inside it.
pub fn rollup_point(ts: i64) -> i64 {
    let r = ts.rem_euclid(ROLLUP_NANOS);
    if r == 0 {
        ts
    } else {
        ts - r + ROLLUP_NANOS - 1
    }
}

impl IndexRecord {
    /// Serializes and compresses the record.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self).map_err(|e| StorageError::Corrupt {
            path: self.segment.clone(),
            reason: format!("cannot encode index record: {e}"),
        })?;
        zstd::bulk::compress(&json, INDEX_ZSTD_LEVEL).map_err(|e| StorageError::Corrupt {
            path: self.segment.clone(),
            reason: format!("cannot compress index record: {e}"),
        })
    }

    /// Decompresses, parses and validates a record read from `path`.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| StorageError::Corrupt {
            path: path.to_string(),
            reason,
        };
        let mut json = Vec::new();
        zstd::stream::read::Decoder::new(data)
            .map_err(|e| corrupt(format!("zstd: {e}")))?
            .take(MAX_INDEX_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| corrupt(format!("zstd: {e}")))?;
        if json.len() as u64 > MAX_INDEX_BYTES {
            return Err(corrupt(format!(
                "index record larger than {MAX_INDEX_BYTES} bytes"
            )));
        }
        let record: IndexRecord =
            serde_json::from_slice(&json).map_err(|e| corrupt(format!("json: {e}")))?;
        record.validate().map_err(corrupt)?;
        Ok(record)
    }

    /// Checks the invariants readers rely on; the error says which one broke.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.version != INDEX_VERSION {
            return Err(format!("unsupported index version {}", self.version));
        }
        if self.min_ts > self.max_ts {
            return Err("min_ts after max_ts".to_string());
        }
        if self.row_groups.iter().sum::<u64>() != self.rows {
            return Err("row group row counts do not add up to the row count".to_string());
        }
        let mut next_row = 0u64;
        let mut last_fp = None;
        for s in &self.streams {
            if last_fp.is_some_and(|fp| fp >= s.fingerprint) {
                return Err("streams not sorted by fingerprint".to_string());
            }
            last_fp = Some(s.fingerprint);
            if s.row_start != next_row || s.row_end <= s.row_start {
                return Err(format!(
                    "stream {:016x} has rows {}..{}, expected to start at {next_row}",
                    s.fingerprint, s.row_start, s.row_end
                ));
            }
            next_row = s.row_end;
            if s.entries != s.row_end - s.row_start {
                return Err(format!(
                    "stream {:016x} entry count differs from its rows",
                    s.fingerprint
                ));
            }
            if s.min_ts > s.max_ts || s.min_ts < self.min_ts || s.max_ts > self.max_ts {
                return Err(format!(
                    "stream {:016x} time bounds outside the segment's",
                    s.fingerprint
                ));
            }
            if s.first_row_group > s.last_row_group
                || s.last_row_group as usize >= self.row_groups.len()
            {
                return Err(format!(
                    "stream {:016x} row groups out of range",
                    s.fingerprint
                ));
            }
        }
        if next_row != self.rows {
            return Err("stream rows do not cover the segment".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> IndexRecord {
        IndexRecord {
            version: INDEX_VERSION,
            segment: "00000000000000000001-0000000000000001".to_string(),
            size: 100,
            rows: 3,
            min_ts: 1,
            max_ts: 9,
            row_groups: vec![3],
            streams: vec![
                IndexStream {
                    fingerprint: 1,
                    labels: vec![("a".into(), "b".into())],
                    min_ts: 1,
                    max_ts: 5,
                    entries: 2,
                    bytes: 10,
                    row_start: 0,
                    row_end: 2,
                    first_row_group: 0,
                    last_row_group: 0,
                    rollup: vec![(59_999_999_999, 1, 4), (60_000_000_000, 1, 6)],
                },
                IndexStream {
                    fingerprint: u64::MAX,
                    labels: vec![("a".into(), "c".into())],
                    min_ts: 9,
                    max_ts: 9,
                    entries: 1,
                    bytes: 4,
                    row_start: 2,
                    row_end: 3,
                    first_row_group: 0,
                    last_row_group: 0,
                    rollup: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn rollup_points_group_what_minute_aligned_windows_cannot_tell_apart() {
        let m = ROLLUP_NANOS;
        assert_eq!(rollup_point(1), m - 1);
        assert_eq!(rollup_point(m - 1), m - 1);
        assert_eq!(rollup_point(m), m);
        assert_eq!(rollup_point(m + 1), 2 * m - 1);
        assert_eq!(rollup_point(0), 0);
        assert_eq!(rollup_point(-1), -1);
        assert_eq!(rollup_point(-m + 1), -1);
        assert_eq!(rollup_point(-m), -m);
    }

    #[test]
    fn round_trips() {
        let r = record();
        let data = r.encode().unwrap();
        assert_eq!(IndexRecord::decode("p", &data).unwrap(), r);
    }

    #[test]
    fn rejects_broken_records() {
        let err = IndexRecord::decode("p", b"not zstd").unwrap_err();
        assert!(
            err.to_string().starts_with("corrupt object p: zstd"),
            "{err}"
        );

        let mut r = record();
        r.streams[1].row_start = 1;
        let err = IndexRecord::decode("p", &r.encode().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt object p: stream ffffffffffffffff has rows 1..3, expected to start at 2"
        );

        let mut r = record();
        r.streams[0].fingerprint = u64::MAX;
        r.streams[1].fingerprint = 1;
        assert_eq!(
            r.validate().unwrap_err(),
            "streams not sorted by fingerprint"
        );

        let mut r = record();
        r.streams[0].last_row_group = 1;
        assert_eq!(
            r.validate().unwrap_err(),
            "stream 0000000000000001 row groups out of range"
        );
    }
}
