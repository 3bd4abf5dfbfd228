//! Byte searches eight bytes at a time in a `u64` (SWAR), for the parsers' scans over
//! short tokens (keys, values, JSON strings), where a SIMD search call costs more than
//! it saves and a byte-by-byte loop branches on every byte.

/// Eight copies of `b`.
pub(crate) const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

const ONES: u64 = splat(0x01);
const HIGHS: u64 = splat(0x80);

/// The high bit of every zero byte of `word`. Only the lowest set bit is exact: a borrow
/// out of a zero byte may also flag the byte above it.
pub(crate) const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The high bit of every byte of `word` below `n` (`n` at most 0x80; the lowest set bit
/// exact, as in [`zero_bytes`]).
pub(crate) const fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(splat(n)) & !word & HIGHS
}

/// The high bit of every byte of `word` equal to `b` (the lowest set bit exact).
pub(crate) const fn bytes_equal(word: u64, b: u8) -> u64 {
    zero_bytes(word ^ splat(b))
}

/// Position of the first byte of `bytes` that `is_hit` accepts; `hits` is the same test
/// on eight bytes at once (little-endian), flagging at least the first hit's high bit.
pub(crate) fn find(
    bytes: &[u8],
    hits: impl Fn(u64) -> u64,
    is_hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in words.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let flags = hits(u64::from_le_bytes(word));
        if flags != 0 {
            return Some(base + (flags.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| is_hit(c))
        .map(|p| base + p)
}

/// Position of the first `"` or `\\` in `bytes`: the end of a quoted string that holds no
/// escape, or where escape handling has to begin.
pub(crate) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    find(
        bytes,
        |w| bytes_equal(w, b'"') | bytes_equal(w, b'\\'),
        |c| c == b'"' || c == b'\\',
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value as the first hit at every position, behind every other value.
    #[test]
    fn word_tests_agree_with_byte_tests() {
        for hit in 0..=255u8 {
            for other in 0..=255u8 {
                if other == hit {
                    continue;
                }
                for pos in 0..8 {
                    let mut word = [other; 8];
                    word[pos] = hit;
                    let w = u64::from_le_bytes(word);
                    let first =
                        |flags: u64| (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize);
                    let want = |test: fn(u8) -> bool| word.iter().position(|&b| test(b));
                    assert_eq!(
                        first(zero_bytes(w)),
                        want(|b| b == 0),
                        "{hit} {other} {pos}"
                    );
                    assert_eq!(first(bytes_equal(w, b'"')), want(|b| b == b'"'));
                    assert_eq!(first(bytes_below(w, b'!')), want(|b| b < b'!'));
                    assert_eq!(first(bytes_below(w, 0x80)), want(|b| b < 0x80));
                }
            }
        }
    }

    #[test]
    fn find_matches_a_byte_loop() {
        let is_hit = |c: u8| c == b'"' || c == b'\\' || c < b' ';
        let hits = |w: u64| bytes_equal(w, b'"') | bytes_equal(w, b'\\') | bytes_below(w, b' ');
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if seed.is_multiple_of(8) {
                            [b'"', b'\\', 0, b'\t', 0x80, 0xff][(seed >> 8) as usize % 6]
                        } else {
                            b' ' + (seed >> 8) as u8 % 95
                        }
                    })
                    .collect();
                let want = bytes.iter().position(|&c| is_hit(c));
                assert_eq!(find(&bytes, hits, is_hit), want, "{bytes:?}");
            }
        }
    }
}
