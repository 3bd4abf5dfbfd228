//! Durations, byte sizes and numbers as Loki reads and writes them.
//!
//! Loki uses three different readers: Prometheus' `model.ParseDuration` for `[range]`
//! (units `y w d h m s ms`, integers, biggest unit first), Go's `time.ParseDuration` as a
//! fallback for durations in label filters and `offset` (fractions, `ns us µs`, a sign),
//! and go-humanize's `ParseBytes` for byte sizes. The printers mirror Prometheus'
//! `model.Duration.String`, Go's `time.Duration.String` and Go's `%v` / `%f` float forms.

use std::fmt::Write;

const NS_PER_MS: i64 = 1_000_000;

/// Prometheus `model.ParseDuration`; the error is Prometheus' own text.
pub fn parse_prom_duration(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".to_string());
    }
    let invalid = || format!("not a valid duration string: {}", go_quote_str(s));
    let units: [(&str, u64, u8); 7] = [
        ("y", 365 * 24 * 3600 * 1000, 1),
        ("w", 7 * 24 * 3600 * 1000, 2),
        ("d", 24 * 3600 * 1000, 3),
        ("h", 3600 * 1000, 4),
        ("m", 60 * 1000, 5),
        ("s", 1000, 6),
        ("ms", 1, 7),
    ];
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    let mut last_pos = 0u8;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            return Err(invalid());
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let v: u64 = s[start..i].parse().map_err(|_| invalid())?;
        let ustart = i;
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == ustart {
            return Err(invalid());
        }
        let unit = &s[ustart..i];
        let Some(&(_, mult, pos)) = units.iter().find(|(u, _, _)| *u == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                go_quote_str(unit),
                go_quote_str(s)
            ));
        };
        if pos <= last_pos {
            return Err(invalid());
        }
        last_pos = pos;
        let ms_max = (i64::MAX as u64) / (NS_PER_MS as u64);
        let add = v
            .checked_mul(mult)
            .filter(|a| *a <= ms_max)
            .ok_or_else(|| "duration out of range".to_string())?;
        total_ms = total_ms
            .checked_add(add)
            .filter(|t| *t <= ms_max)
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(total_ms as i64 * NS_PER_MS)
}

/// Go `time.ParseDuration` (nanoseconds), without its error text (Loki never shows it).
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut total_int: i128 = 0;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &rest[..i];
        let mut frac_part = "";
        if i < b.len() && b[i] == b'.' {
            let fs = i + 1;
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &rest[fs..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let ustart = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let unit = &rest[ustart..i];
        let mult: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let iv: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        total_int = total_int.checked_add(iv.checked_mul(mult)?)?;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().ok()?;
            total += f * mult as f64;
        }
        rest = &rest[i..];
    }
    let v = total_int + total as i128;
    if v > i64::MAX as i128 {
        return None;
    }
    let v = v as i64;
    Some(if neg { -v } else { v })
}

/// Loki's `parseDuration`: Prometheus syntax first, then Go's.
pub fn parse_loki_duration(s: &str) -> Option<i64> {
    parse_prom_duration(s).ok().or_else(|| parse_go_duration(s))
}

/// go-humanize `ParseBytes` (only the success case matters to the lexer).
pub fn parse_humanize_bytes(s: &str) -> Option<u64> {
    let mut last = 0;
    let mut has_comma = false;
    for (i, c) in s.char_indices() {
        if !(c.is_ascii_digit() || c == '.' || c == ',') {
            break;
        }
        if c == ',' {
            has_comma = true;
        }
        last = i + c.len_utf8();
    }
    let mut num = s[..last].to_string();
    if has_comma {
        num = num.replace(',', "");
    }
    let f: f64 = num.parse().ok()?;
    let extra = s[last..].trim().to_lowercase();
    let m: u64 = match extra.as_str() {
        "b" => 1,
        "kib" | "ki" => 1 << 10,
        "kb" | "k" => 1_000,
        "mib" | "mi" => 1 << 20,
        "mb" | "m" => 1_000_000,
        "gib" | "gi" => 1 << 30,
        "gb" | "g" => 1_000_000_000,
        "tib" | "ti" => 1 << 40,
        "tb" | "t" => 1_000_000_000_000,
        "pib" | "pi" => 1 << 50,
        "pb" | "p" => 1_000_000_000_000_000,
        "eib" | "ei" => 1 << 60,
        "eb" | "e" => 1_000_000_000_000_000_000,
        _ => return None,
    };
    let v = f * m as f64;
    if v >= u64::MAX as f64 {
        return None;
    }
    Some(v as u64)
}

/// Prometheus `model.Duration.String` of a nanosecond duration (`5m`, `1h30m`, `90d`).
pub fn format_prom_duration(ns: i64) -> String {
    let mut ms = ns / NS_PER_MS;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if ms < 0 {
        // Prometheus prints negative durations digit by digit; they never reach a range.
        out.push('-');
        ms = -ms;
    }
    let unit = |u: &str, mult: i64, exact: bool, ms: &mut i64, out: &mut String| {
        if exact && *ms % mult != 0 {
            return;
        }
        let v = *ms / mult;
        if v > 0 {
            let _ = write!(out, "{v}{u}");
            *ms -= v * mult;
        }
    };
    unit("y", 1000 * 60 * 60 * 24 * 365, true, &mut ms, &mut out);
    unit("w", 1000 * 60 * 60 * 24 * 7, true, &mut ms, &mut out);
    unit("d", 1000 * 60 * 60 * 24, false, &mut ms, &mut out);
    unit("h", 1000 * 60 * 60, false, &mut ms, &mut out);
    unit("m", 1000 * 60, false, &mut ms, &mut out);
    unit("s", 1000, false, &mut ms, &mut out);
    unit("ms", 1, false, &mut ms, &mut out);
    out
}

/// Go `time.Duration.String` (`5m0s`, `1.5s`, `100ms`, `-1h0m0s`).
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // sub-second: ns, µs or ms with a fraction
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_str(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = (secs_total / 60) % 60;
        let sec_part = u % 60_000_000_000;
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(out, "{m}m");
        }
        out.push_str(&frac_str(sec_part, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / div` with the fraction's trailing zeros trimmed (Go's `fmtFrac`).
fn frac_str(v: u64, div: u64) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Go's `fmt.Sprint(float64)` (`%v`, i.e. `%g` shortest): exponent below 1e-4 and from 1e6.
pub fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // shortest round-trip digits via Rust's `{:e}`
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let (sign, digits) = match mant.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", mant),
        };
        let es = if exp < 0 { '-' } else { '+' };
        let ea = exp.unsigned_abs();
        if ea < 10 {
            format!("{sign}{digits}e{es}0{ea}")
        } else {
            format!("{sign}{digits}e{es}{ea}")
        }
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn format_go_float_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format!("{v}")
}

/// Go's `fmt.Sprintf("%f", v)`: six decimals.
pub fn format_go_float_6(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format!("{v:.6}")
}

/// Go's `strconv.ParseFloat(s, 64)` for the number texts the lexer produces.
pub fn parse_go_float(s: &str) -> Result<f64, String> {
    let clean = s;
    let lower = clean.to_ascii_lowercase();
    let invalid = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote_str(s)
        )
    };
    if let Some(hex) = lower.strip_prefix("0x") {
        // Go accepts hex floats only with a `p` exponent.
        let (m, e) = hex.split_once('p').ok_or_else(invalid)?;
        let (ip, fp) = m.split_once('.').unwrap_or((m, ""));
        if ip.is_empty() && fp.is_empty() {
            return Err(invalid());
        }
        let mut v: f64 = 0.0;
        for c in ip.chars().chain(fp.chars()) {
            let d = c.to_digit(16).ok_or_else(invalid)?;
            v = v * 16.0 + d as f64;
        }
        let e: i32 = e.parse().map_err(|_| invalid())?;
        return Ok(v * 2f64.powi(e - 4 * fp.len() as i32));
    }
    if clean.contains('_') {
        return Err(invalid());
    }
    clean.parse::<f64>().map_err(|_| invalid())
}

/// Go's `strconv.Quote` of a plain string (for error texts).
pub fn go_quote_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::labels::go_quote(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prom_durations() {
        assert_eq!(parse_prom_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_prom_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_prom_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_prom_duration("0"), Ok(0));
        assert_eq!(
            parse_prom_duration("5x"),
            Err(r#"unknown unit "x" in duration "5x""#.to_string())
        );
        assert_eq!(
            parse_prom_duration("m"),
            Err(r#"not a valid duration string: "m""#.to_string())
        );
        assert_eq!(
            parse_prom_duration("5"),
            Err(r#"not a valid duration string: "5""#.to_string())
        );
        assert_eq!(
            parse_prom_duration("5s1m"),
            Err(r#"not a valid duration string: "5s1m""#.to_string())
        );
        assert_eq!(
            parse_prom_duration(""),
            Err("empty duration string".to_string())
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-5m"), Some(-300_000_000_000));
        assert_eq!(parse_go_duration("250us"), Some(250_000));
        assert_eq!(parse_go_duration("2m3.5s"), Some(123_500_000_000));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_loki_duration("1d"), Some(86_400_000_000_000));
    }

    #[test]
    fn bytes() {
        assert_eq!(parse_humanize_bytes("20MB"), Some(20_000_000));
        assert_eq!(parse_humanize_bytes("1.5KiB"), Some(1536));
        assert_eq!(parse_humanize_bytes("5K"), Some(5000));
        assert_eq!(parse_humanize_bytes("5x"), None);
    }

    #[test]
    fn printing() {
        assert_eq!(format_prom_duration(300_000_000_000), "5m");
        assert_eq!(format_prom_duration(5_400_000_000_000), "1h30m");
        assert_eq!(format_prom_duration(90 * 86_400_000_000_000), "90d");
        assert_eq!(format_prom_duration(14 * 86_400_000_000_000), "2w");
        assert_eq!(format_go_duration(300_000_000_000), "5m0s");
        assert_eq!(format_go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(100_000_000), "100ms");
        assert_eq!(format_go_duration(-300_000_000_000), "-5m0s");
        assert_eq!(format_go_duration(1_500), "1.5µs");
        assert_eq!(format_go_float(1e6), "1e+06");
        assert_eq!(format_go_float(123456.0), "123456");
        assert_eq!(format_go_float(0.5), "0.5");
        assert_eq!(format_go_float(1e-5), "1e-05");
        assert_eq!(format_go_float(-2.0), "-2");
        assert_eq!(format_go_float_6(1.0), "1.000000");
        assert_eq!(format_go_float_f(0.9), "0.9");
    }
}
