//! Go's string-to-number conversions as Loki uses them in label filters and `unwrap`:
//! `strconv.ParseFloat`, `time.ParseDuration` and go-humanize's `ParseBytes`, with the
//! exact error texts Loki puts into `__error_details__`.

use logql::labels::go_quote;

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    go_quote(s, &mut out);
    out
}

/// `strconv.ParseFloat(s, 64)`.
pub(crate) fn parse_float(s: &str) -> Result<f64, String> {
    if let Some(v) = parse_short_decimal(s.as_bytes()) {
        return Ok(v);
    }
    let invalid = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quoted(s));
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    // compared in place: a lower-cased copy cost an allocation per parsed value
    let is_special = ["inf", "infinity", "nan"]
        .iter()
        .any(|w| body.eq_ignore_ascii_case(w));
    if !is_special {
        // Rust also accepts forms Go rejects ("1." is fine in both); reject what Go rejects.
        let ok_chars = body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        if body.is_empty()
            || !ok_chars
            || !body.as_bytes()[0].is_ascii_digit() && body.as_bytes()[0] != b'.'
        {
            return Err(invalid());
        }
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_infinite() && !is_special => Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quoted(s)
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(invalid()),
    }
}

/// Powers of ten a double holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The value of `s` when it is digits with at most one point and 15 digits at most
/// (`10.7`, `500`, `.5`, `1.`): the digits make an integer below 2^53 and the point a
/// power of ten below 10^16, both exact doubles, so one division gives the correctly
/// rounded value a full parse gives (Clinger's fast path). `None` for anything else.
fn parse_short_decimal(s: &[u8]) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let (mut digits, mut fraction_digits, mut point) = (0usize, 0usize, false);
    for &b in s {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                digits += 1;
                fraction_digits += usize::from(point);
                if digits > 15 {
                    return None;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    Some(mantissa as f64 / EXACT_POWERS_OF_TEN[fraction_digits])
}

/// `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
    match parse_simple_duration(orig.as_bytes()) {
        Some(ns) => Ok(ns),
        None => parse_duration_general(orig),
    }
}

/// [`parse_duration`]'s common case, one unsigned term such as `12.3ms` or `1.234s`, in
/// one pass with Go's arithmetic; `None` for everything else (signs, several terms, `µs`,
/// long numbers, errors), which the general parse takes. `unwrap duration(..)` runs this
/// on every line, and the general parse cost as much per line as finding the value.
fn parse_simple_duration(s: &[u8]) -> Option<i64> {
    /// Digits per part read here: the values stay far from overflow.
    const MAX_DIGITS: usize = 12;
    let digits = |from: usize| {
        let (mut end, mut value) = (from, 0u64);
        while let Some(&c) = s.get(end)
            && c.is_ascii_digit()
        {
            // wraps only past MAX_DIGITS, where the value is not used
            value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            end += 1;
        }
        let len = end - from;
        (len <= MAX_DIGITS).then_some((len, value))
    };
    let (int_len, int) = digits(0)?;
    let mut i = int_len;
    let (mut frac_len, mut frac) = (0, 0);
    if s.get(i) == Some(&b'.') {
        (frac_len, frac) = digits(i + 1)?;
        i += 1 + frac_len;
    }
    if int_len == 0 && frac_len == 0 {
        return None;
    }
    let mult: u64 = match &s[i..] {
        b"ns" => 1,
        b"us" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => 3_600_000_000_000,
        _ => return None,
    };
    let mut v = int.checked_mul(mult)?;
    if frac > 0 {
        // Go: v += uint64(float64(f) * (float64(unit) / scale)), scale = 10^digits
        v = v.checked_add((frac as f64 * (mult as f64 / EXACT_POWERS_OF_TEN[frac_len])) as u64)?;
    }
    i64::try_from(v).ok()
}

/// `time.ParseDuration` in full (Go's loop over terms, with its errors).
fn parse_duration_general(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quoted(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    // Go's arithmetic: uint64 with overflow checks (an overflowing step is over MAX too)
    const MAX: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // integer part
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..int_len] {
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
            {
                Some(v) if v <= MAX => v,
                _ => return Err(invalid()),
            };
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        // fraction
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            let fb = rest.as_bytes();
            let frac_len = fb.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &fb[..frac_len] {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(c - b'0')))
                {
                    Some(nf) if nf <= MAX => {
                        frac = nf;
                        scale *= 10.0;
                    }
                    _ => overflow = true,
                }
            }
            post = frac_len > 0;
            s = &rest[frac_len..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        // bytes, not chars: '.' and digits are ASCII, which no multi-byte char contains
        let unit_len = s
            .bytes()
            .position(|b| b == b'.' || b.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quoted(orig)));
        }
        let mult: u64 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quoted(unit),
                    quoted(orig)
                ));
            }
        };
        if v > MAX / mult {
            return Err(invalid());
        }
        v *= mult;
        if frac > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)), then v > 1<<63 fails
            match v.checked_add((frac as f64 * (mult as f64 / scale)) as u64) {
                Some(nv) if nv <= MAX => v = nv,
                _ => return Err(invalid()),
            }
        }
        total = match total.checked_add(v) {
            Some(t) if t <= MAX => t,
            _ => return Err(invalid()),
        };
    }
    if neg {
        // -(1<<63) is i64::MIN, which Go accepts
        return Ok((total as i64).wrapping_neg());
    }
    if total > MAX - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// go-humanize `ParseBytes`: `"1.5KB"` -> 1500, `"2KiB"` -> 2048.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let num_len = s
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b'.' || *c == b',')
        .count();
    let num: String = s[..num_len].chars().filter(|c| *c != ',').collect();
    let f = parse_float(&num)?;
    let extra = s[num_len..].trim().to_ascii_lowercase();
    let mult: f64 = match extra.as_str() {
        "" | "b" => 1.0,
        "kib" | "ki" => 1024.0,
        "kb" | "k" => 1000.0,
        "mib" | "mi" => 1024.0 * 1024.0,
        "mb" | "m" => 1e6,
        "gib" | "gi" => 1024.0 * 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "tib" | "ti" => 1024f64.powi(4),
        "tb" | "t" => 1e12,
        "pib" | "pi" => 1024f64.powi(5),
        "pb" | "p" => 1e15,
        "eib" | "ei" => 1024f64.powi(6),
        "eb" | "e" => 1e18,
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * mult;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass parse takes the common forms and agrees with the general parse on
    /// every string it takes (random strings of digits, dots, signs and unit letters).
    #[test]
    fn simple_durations_agree_with_the_general_parse() {
        for s in [
            "12.3ms", "1.234s", "0.5h", "7m", "250us", "3ns", ".5s", "5.s", "10s",
        ] {
            let simple = parse_simple_duration(s.as_bytes());
            assert!(simple.is_some(), "{s}");
            assert_eq!(simple.map(Ok), Some(parse_duration_general(s)), "{s}");
        }
        for s in [
            "0", "-1s", "+1s", "1h2m", "1\u{b5}s", "s", ".s", "1", "1x", "1.2.3s",
        ] {
            assert_eq!(parse_simple_duration(s.as_bytes()), None, "{s}");
        }
        const ALPHABET: &[u8] = b"0123456789999.nsumh+-";
        let mut next = crate::pipeline::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        let mut taken = 0;
        for _ in 0..200_000 {
            let len = 1 + (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| char::from(ALPHABET[(next() % ALPHABET.len() as u64) as usize]))
                .collect();
            if let Some(ns) = parse_simple_duration(s.as_bytes()) {
                taken += 1;
                assert_eq!(Ok(ns), parse_duration_general(&s), "{s}");
            }
        }
        assert!(taken > 100, "only {taken} strings took the one-pass parse");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(parse_float("39.5"), Ok(39.5));
        assert_eq!(parse_float("-1e3"), Ok(-1000.0));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-INFINITY"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("nAn").is_ok_and(f64::is_nan));
        assert_eq!(
            parse_float("infinit"),
            Err(r#"strconv.ParseFloat: parsing "infinit": invalid syntax"#.to_string())
        );
        assert_eq!(
            parse_float("12ms"),
            Err(r#"strconv.ParseFloat: parsing "12ms": invalid syntax"#.to_string())
        );
        assert_eq!(
            parse_float(""),
            Err(r#"strconv.ParseFloat: parsing "": invalid syntax"#.to_string())
        );
        assert_eq!(
            parse_float("1e400"),
            Err(r#"strconv.ParseFloat: parsing "1e400": value out of range"#.to_string())
        );
    }

    #[test]
    fn short_decimals_parse_to_the_correctly_rounded_value() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100_000 {
            let digits = (next() % 15 + 1) as usize;
            let text: String = (0..digits)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let point = (next() % (digits as u64 + 1)) as usize;
            let text = format!("{}.{}", &text[..point], &text[point..]);
            let fast = parse_short_decimal(text.as_bytes());
            assert_eq!(fast, text.parse::<f64>().ok(), "{text}");
            assert!(fast.is_some(), "{text}");
        }
        for (text, want) in [("500", Some(500.0)), (".5", Some(0.5)), ("1.", Some(1.0))] {
            assert_eq!(parse_short_decimal(text.as_bytes()), want, "{text}");
        }
        for text in [".", "", "1.2.3", "-1", "1e3", "1234567890123456", "12ms"] {
            assert_eq!(parse_short_decimal(text.as_bytes()), None, "{text}");
        }
        assert_eq!(parse_float("1234567890.123456"), Ok(1234567890.123456));
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("2m3.5s"), Ok(123_500_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-1h"), Ok(-3_600_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("12.3ms"), Ok(12_300_000));
        assert_eq!(parse_duration("1h0.000000001s"), Ok(3_600_000_000_001));
        // the limits of Go's uint64 arithmetic
        assert_eq!(parse_duration("9223372036854775807ns"), Ok(i64::MAX));
        assert_eq!(parse_duration("-9223372036854775808ns"), Ok(i64::MIN));
        for over in [
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "92233720368547758070ns",
            "2562048h",
            "2562047h47m16.854775808s",
            "5124095h5124095h",
        ] {
            assert_eq!(
                parse_duration(over),
                Err(format!("time: invalid duration \"{over}\"")),
                "{over}"
            );
        }
        assert_eq!(parse_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(
            parse_duration("1"),
            Err(r#"time: missing unit in duration "1""#.to_string())
        );
        assert_eq!(
            parse_duration("1d"),
            Err(r#"time: unknown unit "d" in duration "1d""#.to_string())
        );
        assert_eq!(
            parse_duration("abc"),
            Err(r#"time: invalid duration "abc""#.to_string())
        );
    }

    #[test]
    fn bytes_like_humanize() {
        assert_eq!(parse_bytes("1.5KB"), Ok(1500));
        assert_eq!(parse_bytes("963B"), Ok(963));
        assert_eq!(parse_bytes("2 KiB"), Ok(2048));
        assert_eq!(parse_bytes("1,000"), Ok(1000));
        assert_eq!(parse_bytes("10497"), Ok(10497));
        assert_eq!(
            parse_bytes("5 parsecs"),
            Err("unhandled size name: parsecs".to_string())
        );
        assert_eq!(
            parse_bytes("x"),
            Err(r#"strconv.ParseFloat: parsing "": invalid syntax"#.to_string())
        );
    }
}
