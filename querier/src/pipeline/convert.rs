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
    let invalid = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quoted(s));
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let is_special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
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

/// `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
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
    const MAX: u128 = 1 << 63;
    let mut total: u128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // integer part
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u128 = 0;
        for &c in &b[..int_len] {
            v = v * 10 + u128::from(c - b'0');
            if v > MAX {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        // fraction
        let mut frac: u128 = 0;
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
                let nf = frac * 10 + u128::from(c - b'0');
                if nf > MAX {
                    overflow = true;
                    continue;
                }
                frac = nf;
                scale *= 10.0;
            }
            post = frac_len > 0;
            s = &rest[frac_len..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quoted(orig)));
        }
        let mult: u128 = match unit {
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
            v += (frac as f64 * (mult as f64 / scale)) as u128;
            if v > MAX {
                return Err(invalid());
            }
        }
        total += v;
        if total > MAX {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((total as i128).wrapping_neg() as i64);
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

    #[test]
    fn floats_like_go() {
        assert_eq!(parse_float("39.5"), Ok(39.5));
        assert_eq!(parse_float("-1e3"), Ok(-1000.0));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
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
    fn durations_like_go() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("2m3.5s"), Ok(123_500_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-1h"), Ok(-3_600_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
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
