//! Trigram filters per block of `line` pages, so that a query with a literal line
//! filter (`|= "needle"`) skips the pages that cannot hold a matching line without
//! fetching or decompressing them.
//!
//! Every segment gets a sidecar object (format in `layout.rs`) holding, for each block
//! of consecutive data pages of its `line` column (about 1 MiB of raw text), the
//! block's row range and a small Bloom filter of the byte trigrams occurring inside its
//! lines. A line contains a literal only if it contains every trigram of the literal,
//! so a block whose filter lacks one of them cannot match.
//!
//! Trigrams are first hashed to 16 bits (so the set of a block's trigrams is a bitmap
//! that stays in L1 cache while the lines stream past: building costs about a
//! nanosecond per byte), then the distinct hashes go into a Bloom filter sized at
//! four bits per hash (a false positive rate near 20 % per trigram, collisions
//! included). A literal has many trigrams and a block survives only when all of them
//! hit, so small filters still skip well while costing about 2 KiB per MiB of text.

use std::ops::Range;

use crate::error::{Result, StorageError};

/// First bytes of a filter object.
const MAGIC: &[u8; 4] = b"FNGR";

/// Format version of filter objects.
const VERSION: u8 = 2;

/// Filter bits per distinct trigram hash of a block.
const BITS_PER_GRAM: usize = 4;

/// Number of distinct trigram hashes.
const GRAM_SPACE: usize = 1 << 16;

/// The 16-bit hashes of every window of three bytes in `bytes`.
fn grams(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .windows(3)
        .map(|w| gram_hash(trigram_key(w[0], w[1], w[2])))
}

/// The 24-bit key of three bytes, first byte highest.
fn trigram_key(a: u8, b: u8, c: u8) -> u32 {
    (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c)
}

/// Multiplicative hash of a 24-bit trigram key to 16 bits.
fn gram_hash(key: u32) -> u16 {
    (key.wrapping_mul(0x9E37_79B1) >> 16) as u16
}

/// The two bit positions of `gram` in a filter of `bits` bits.
fn positions(gram: u16, bits: u64) -> [u64; 2] {
    // splitmix64 finalizer: spreads the 16-bit hash over 64 bits
    let mut h = u64::from(gram).wrapping_add(0x9E37_79B9_7F4A_7C15);
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    let fast_range = |x: u64| (x * bits) >> 32;
    [fast_range(h >> 32), fast_range(h & 0xFFFF_FFFF)]
}

/// A Bloom filter over trigram hashes (two probes per hash).
#[derive(Debug, Clone, PartialEq)]
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    /// An empty filter for about `grams` distinct hashes.
    fn with_grams(grams: usize) -> Self {
        let words = (grams * BITS_PER_GRAM).div_ceil(64).max(1);
        Self {
            words: vec![0; words],
        }
    }

    fn bits(&self) -> u64 {
        self.words.len() as u64 * 64
    }

    fn insert(&mut self, gram: u16) {
        for p in positions(gram, self.bits()) {
            self.words[(p / 64) as usize] |= 1 << (p % 64);
        }
    }

    fn contains(&self, gram: u16) -> bool {
        positions(gram, self.bits())
            .iter()
            .all(|p| self.words[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }
}

/// What lines must contain for a query to match any of them: every clause must be
/// satisfied, a clause by containing one of its literals. Literals shorter than three
/// bytes say nothing about trigrams, so a clause holding one is dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiteralQuery {
    /// Per clause, per literal, its distinct trigram hashes.
    clauses: Vec<Vec<Vec<u16>>>,
}

impl LiteralQuery {
    /// A query from clauses of alternative literals (`[["a"], ["b", "c"]]`: lines hold
    /// `a`, and `b` or `c`).
    pub fn new<C, L>(clauses: C) -> Self
    where
        C: IntoIterator<Item = L>,
        L: IntoIterator<Item = Vec<u8>>,
    {
        let mut out = Vec::new();
        for clause in clauses {
            let literals: Vec<Vec<u8>> = clause.into_iter().collect();
            if literals.is_empty() || literals.iter().any(|l| l.len() < 3) {
                continue;
            }
            let keys = literals
                .iter()
                .map(|l| {
                    let mut keys: Vec<u16> = grams(l).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    keys
                })
                .collect();
            out.push(keys);
        }
        Self { clauses: out }
    }

    /// True when the query cannot rule out any page.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// True when a page with this filter may hold a matching line.
    fn may_match(&self, bloom: &Bloom) -> bool {
        self.clauses.iter().all(|literals| {
            literals
                .iter()
                .any(|keys| keys.iter().all(|&k| bloom.contains(k)))
        })
    }
}

/// The filter of one block of pages.
#[derive(Debug, Clone, PartialEq)]
struct PageFilter {
    /// Rows of the block (segment row numbers).
    rows: Range<u64>,
    bloom: Bloom,
}

/// The trigram filters of one segment's `line` page blocks, sorted by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageFilters {
    pages: Vec<PageFilter>,
}

/// Reusable state for building filters: a bitmap over all trigram hashes marking those
/// seen in the current block (8 KiB, stays in L1 cache).
pub struct FilterBuilder {
    seen: Box<[u64; GRAM_SPACE / 64]>,
}

impl Default for FilterBuilder {
    fn default() -> Self {
        Self {
            seen: Box::new([0; GRAM_SPACE / 64]),
        }
    }
}

impl FilterBuilder {
    /// Filters for `blocks` (sorted, disjoint row ranges) over `lines`, the segment's
    /// lines in row order. Rows beyond `lines` are ignored.
    pub fn build(&mut self, lines: &[&str], blocks: &[Range<u64>]) -> PageFilters {
        let mut out = Vec::with_capacity(blocks.len());
        for rows in blocks {
            let start = usize::try_from(rows.start).unwrap_or(usize::MAX);
            let end = usize::try_from(rows.end).unwrap_or(usize::MAX);
            let Some(page_lines) = lines.get(start.min(lines.len())..end.min(lines.len())) else {
                continue;
            };
            for line in page_lines {
                self.mark(line.as_bytes());
            }
            out.push(PageFilter {
                rows: rows.clone(),
                bloom: self.take_bloom(),
            });
        }
        PageFilters { pages: out }
    }

    /// Marks every trigram hash of `bytes` as seen. Setting a bit unconditionally (no
    /// test, no list of new hashes) keeps the loop free of unpredictable branches.
    fn mark(&mut self, bytes: &[u8]) {
        // two trigrams per four-byte load: no loop-carried key
        let mut quads = bytes.windows(4).step_by(2);
        for quad in quads.by_ref() {
            let w = u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]);
            self.set(w >> 8);
            self.set(w & 0xFF_FFFF);
        }
        // pairs start at even offsets, so an odd length leaves the last trigram
        if bytes.len() >= 3 && bytes.len() % 2 == 1 {
            let t = &bytes[bytes.len() - 3..];
            self.set(trigram_key(t[0], t[1], t[2]));
        }
    }

    fn set(&mut self, key: u32) {
        let gram = gram_hash(key);
        // `gram / 64` < GRAM_SPACE / 64: in bounds by type
        self.seen[usize::from(gram / 64)] |= 1 << (gram % 64);
    }

    /// A Bloom filter of the hashes marked since the last call, which it clears.
    fn take_bloom(&mut self) -> Bloom {
        let distinct: u32 = self.seen.iter().map(|w| w.count_ones()).sum();
        let mut bloom = Bloom::with_grams(distinct as usize);
        for (i, word) in self.seen.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let gram = (i * 64) as u16 | bits.trailing_zeros() as u16;
                bloom.insert(gram);
                bits &= bits - 1;
            }
        }
        bloom
    }
}

impl PageFilters {
    /// `rows` (sorted, disjoint) without the rows of pages that cannot match `query`.
    /// Rows no filter covers are kept.
    pub fn narrow(&self, rows: &[Range<u64>], query: &LiteralQuery) -> Vec<Range<u64>> {
        if query.is_empty() {
            return rows.to_vec();
        }
        let mut out = Vec::with_capacity(rows.len());
        let mut page = 0;
        for r in rows {
            let mut cursor = r.start;
            // skip pages that end before this range
            while page < self.pages.len() && self.pages[page].rows.end <= cursor {
                page += 1;
            }
            let mut p = page;
            while cursor < r.end {
                let Some(f) = self.pages.get(p).filter(|f| f.rows.start < r.end) else {
                    out.push(cursor..r.end);
                    break;
                };
                let page_start = f.rows.start.max(cursor);
                if page_start > cursor {
                    out.push(cursor..page_start); // rows between pages: unknown, kept
                }
                let page_end = f.rows.end.min(r.end);
                if query.may_match(&f.bloom) {
                    out.push(page_start..page_end);
                }
                cursor = page_end;
                p += 1;
            }
        }
        // adjacent kept pieces become one range
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(out.len());
        for r in out {
            match merged.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ if r.is_empty() => {}
                _ => merged.push(r),
            }
        }
        merged
    }

    /// Bytes held in memory (for cache weighing).
    pub fn memory_size(&self) -> usize {
        self.pages
            .iter()
            .map(|p| std::mem::size_of::<PageFilter>() + p.bloom.words.len() * 8)
            .sum::<usize>()
            + std::mem::size_of::<Self>()
    }

    /// The filter object's bytes (format in `layout.rs`).
    pub fn encode(&self) -> Vec<u8> {
        let words: usize = self.pages.iter().map(|p| p.bloom.words.len()).sum();
        let mut out = Vec::with_capacity(9 + self.pages.len() * 20 + words * 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.pages.len() as u32).to_le_bytes());
        for p in &self.pages {
            out.extend_from_slice(&p.rows.start.to_le_bytes());
            out.extend_from_slice(&p.rows.end.to_le_bytes());
            out.extend_from_slice(&(p.bloom.words.len() as u32).to_le_bytes());
            for w in &p.bloom.words {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Parses a filter object named `name` (for errors).
    pub fn decode(name: &str, data: &[u8]) -> Result<Self> {
        let corrupt = |reason: &str| StorageError::Corrupt {
            path: name.to_string(),
            reason: reason.to_string(),
        };
        let mut cur = Cursor { data, pos: 0 };
        if cur.take(4).ok_or_else(|| corrupt("truncated header"))? != MAGIC {
            return Err(corrupt("not a page filter object"));
        }
        let version = cur.take(1).ok_or_else(|| corrupt("truncated header"))?[0];
        if version != VERSION {
            return Err(corrupt(&format!("unknown page filter version {version}")));
        }
        let pages = cur.u32().ok_or_else(|| corrupt("truncated header"))?;
        let mut out = Vec::new();
        for _ in 0..pages {
            let truncated = || corrupt("truncated page filter");
            let start = cur.u64().ok_or_else(truncated)?;
            let end = cur.u64().ok_or_else(truncated)?;
            let n = cur.u32().ok_or_else(truncated)? as usize;
            if n == 0 || start > end {
                return Err(corrupt("invalid page filter"));
            }
            let bytes = cur.take(n * 8).ok_or_else(truncated)?;
            let words = bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            out.push(PageFilter {
                rows: start..end,
                bloom: Bloom { words },
            });
        }
        if cur.pos != data.len() {
            return Err(corrupt("trailing bytes"));
        }
        if !out.is_sorted_by(|a, b| a.rows.end <= b.rows.start) {
            return Err(corrupt("page filters out of order"));
        }
        Ok(Self { pages: out })
    }
}

/// Reads little-endian values off a byte slice.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(clauses: &[&[&str]]) -> LiteralQuery {
        LiteralQuery::new(
            clauses
                .iter()
                .map(|c| c.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>()),
        )
    }

    /// One row range as a list (a one-element array literal of a range reads like a
    /// typo to clippy).
    fn one(r: Range<u64>) -> Vec<Range<u64>> {
        std::iter::once(r).collect()
    }

    fn filters() -> PageFilters {
        let lines = [
            "GET /api/v1 200",
            "GET /api/v2 500",
            "needle-7f3a9c found",
            "plain text",
            "other words",
            "level=error",
        ];
        FilterBuilder::default().build(&lines, &[0..2, 2..3, 3..6])
    }

    #[test]
    fn marking_sees_every_trigram_of_lines_of_any_length() {
        let text = b"GET /api/v1/users?id=42";
        for len in 0..text.len() {
            let line = &text[..len];
            let mut b = FilterBuilder::default();
            b.mark(line);
            let mut marked = Vec::new();
            for (i, word) in b.seen.iter().enumerate() {
                for bit in 0..64 {
                    if word & (1 << bit) != 0 {
                        marked.push((i * 64 + bit) as u16);
                    }
                }
            }
            let mut want: Vec<u16> = grams(line).collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(marked, want, "line of {len} bytes");
        }
    }

    #[test]
    fn pages_without_every_trigram_of_a_literal_are_dropped() {
        let f = filters();
        let q = query(&[&["needle-7f3a9c"]]);
        assert_eq!(f.narrow(&one(0..6), &q), vec![2..3]);
        // a literal spread over two lines of a page is still ruled out only when some
        // trigram is missing: "200GET" spans a line boundary and is not in the filter
        let q = query(&[&["200GET"]]);
        assert_eq!(f.narrow(&one(0..6), &q), Vec::<Range<u64>>::new());
    }

    #[test]
    fn clauses_are_anded_and_literals_ored() {
        let f = filters();
        let q = query(&[&["api/v2", "level=error"]]);
        assert_eq!(f.narrow(&one(0..6), &q), vec![0..2, 3..6]);
        let q = query(&[&["api/v2"], &["level=error"]]);
        assert!(f.narrow(&one(0..6), &q).is_empty());
        // short literals say nothing: the clause is dropped
        let q = query(&[&["ab", "needle"]]);
        assert!(q.is_empty());
        assert_eq!(f.narrow(&one(1..5), &q), vec![1..5]);
    }

    #[test]
    fn narrowing_cuts_requested_ranges_and_keeps_uncovered_rows() {
        let f = filters();
        let q = query(&[&["needle"]]);
        assert_eq!(f.narrow(&[1..2, 2..4], &q), vec![2..3]);
        // rows past the last page are not covered: kept
        assert_eq!(f.narrow(&one(5..9), &q), vec![6..9]);
        let q = query(&[&["words"]]);
        assert_eq!(f.narrow(&[0..1, 4..5], &q), vec![4..5]);
    }

    #[test]
    fn filters_round_trip_and_reject_garbage() {
        let f = filters();
        let bytes = f.encode();
        assert_eq!(PageFilters::decode("x", &bytes).unwrap(), f);
        assert!(PageFilters::decode("x", &bytes[..bytes.len() - 1]).is_err());
        assert!(PageFilters::decode("x", b"nope").is_err());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(PageFilters::decode("x", &extra).is_err());
    }

    #[test]
    fn false_positive_rate_is_near_the_design_rate() {
        // a block of 4000 lines of one distinct trigram each (about a 1 MiB block of
        // log text), 4000 absent trigrams probed: hash collisions plus Bloom false
        // positives stay near the design rate of 20 %
        let mut b = FilterBuilder::default();
        let lines: Vec<String> = (0..4000u32)
            .map(|i| {
                let k = i.wrapping_mul(2_654_435_761) % 26u32.pow(3);
                let c = |d: u32| char::from(b'a' + (d % 26) as u8);
                format!("{}{}{}", c(k / 676), c(k / 26), c(k))
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let f = b.build(&refs, &one(0..4000));
        let bloom = &f.pages[0].bloom;
        for line in &refs {
            assert!(grams(line.as_bytes()).all(|g| bloom.contains(g)));
        }
        let hits = (0..4000u32)
            .map(|i| gram_hash((u32::from(b'0') << 16) | i))
            .filter(|&g| bloom.contains(g))
            .count();
        assert!(hits < 4000 * 28 / 100, "{hits} false positives of 4000");
    }
}
