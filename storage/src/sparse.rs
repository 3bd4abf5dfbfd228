//! A Parquet [`ChunkReader`] over the byte ranges fetched from a segment object, so that
//! decoding can run synchronously on a blocking thread after the (async) fetch, without
//! downloading the whole object.

use std::ops::Range;

use bytes::{Buf, Bytes};
use datafusion::parquet::errors::{ParquetError, Result};
use datafusion::parquet::file::reader::{ChunkReader, Length};

/// Byte ranges of one object, fetched ahead of decoding.
#[derive(Debug)]
pub struct FetchedRanges {
    /// Size of the whole object.
    len: u64,
    /// Fetched ranges: (start offset, bytes), sorted by start, not overlapping.
    parts: Vec<(u64, Bytes)>,
}

impl FetchedRanges {
    /// Wraps fetched `ranges` (as returned for `merge_ranges` output) of an object of `len`
    /// bytes.
    pub fn new(len: u64, ranges: &[Range<u64>], data: Vec<Bytes>) -> Self {
        let mut parts: Vec<(u64, Bytes)> = ranges.iter().map(|r| r.start).zip(data).collect();
        parts.sort_by_key(|(start, _)| *start);
        Self { len, parts }
    }

    /// The fetched bytes holding `start..start + length`, if any part holds all of them.
    fn slice(&self, start: u64, length: u64) -> Result<Bytes> {
        let i = self.parts.partition_point(|(s, _)| *s <= start);
        let missing = || {
            ParquetError::General(format!(
                "segment bytes {start}..{} were not fetched",
                start.saturating_add(length)
            ))
        };
        let (part_start, part) = i
            .checked_sub(1)
            .and_then(|i| self.parts.get(i))
            .ok_or_else(missing)?;
        let from = usize::try_from(start - part_start).map_err(|_| missing())?;
        let to = usize::try_from(length)
            .ok()
            .and_then(|l| from.checked_add(l))
            .filter(|to| *to <= part.len())
            .ok_or_else(missing)?;
        Ok(part.slice(from..to))
    }
}

/// Sorts and merges overlapping or touching ranges, so that every range a reader asks
/// for lies inside one fetched part.
pub fn merge_ranges(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

impl Length for FetchedRanges {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for FetchedRanges {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        let i = self.parts.partition_point(|(s, _)| *s <= start);
        let (part_start, part) = i
            .checked_sub(1)
            .and_then(|i| self.parts.get(i))
            .filter(|(s, p)| start - s <= p.len() as u64)
            .ok_or_else(|| {
                ParquetError::General(format!("segment bytes from {start} were not fetched"))
            })?;
        let from = usize::try_from(start - part_start)
            .map_err(|_| ParquetError::General("offset out of range".to_string()))?;
        Ok(part.slice(from..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        self.slice(start, length as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn serves_only_fetched_bytes() {
        let r = FetchedRanges::new(
            100,
            &[50..60, 10..20],
            vec![
                Bytes::from_static(b"abcdefghij"),
                Bytes::from_static(b"0123456789"),
            ],
        );
        assert_eq!(r.get_bytes(12, 3).unwrap(), Bytes::from_static(b"234"));
        assert_eq!(
            r.get_bytes(50, 10).unwrap(),
            Bytes::from_static(b"abcdefghij")
        );
        assert!(r.get_bytes(18, 3).is_err());
        assert!(r.get_bytes(5, 1).is_err());
        assert!(r.get_bytes(60, 1).is_err());
        let mut s = String::new();
        r.get_read(57).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "hij");
        assert!(r.get_read(30).is_err());
    }

    #[test]
    fn merges_touching_ranges() {
        assert_eq!(
            merge_ranges(vec![5..10, 0..5, 20..30, 25..26, 40..40]),
            vec![0..10, 20..30]
        );
    }
}
