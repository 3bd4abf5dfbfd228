//! Durations and byte sizes written the way Loki's YAML writes them.
//!
//! Loki mixes Go's `time.Duration` (`1h30m`, `1.5h`, `300ms`) and Prometheus'
//! `model.Duration` (`1d`, `1w`, `1y`) in one file, and sizes as `flagext.ByteSize`
//! (`256KB`, `1.5MB`, 1024-based) or plain integers. [`Duration`] accepts both duration
//! forms and [`ByteSize`] accepts integers and unit suffixes, so any value a Loki config
//! holds loads here.

use std::fmt;
use std::time::Duration as StdDuration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A config duration (Go `time.Duration` or Prometheus `model.Duration` syntax).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub StdDuration);

/// A size in bytes (Loki's `flagext.ByteSize` syntax, 1024-based units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl Duration {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        Self(StdDuration::from_secs(n))
    }

    /// The std duration.
    pub fn get(self) -> StdDuration {
        self.0
    }
}

const NS_PER: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("μs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
    ("d", 86400e9),
    ("w", 7.0 * 86400e9),
    ("y", 365.0 * 86400e9),
];

/// Parses `1h30m`, `1.5h`, `300ms`, `7d`, `1w`, `0`; negative values are rejected.
pub fn parse_duration(text: &str) -> Result<StdDuration, String> {
    let bad = || format!("invalid duration {text:?}");
    let s = text.trim();
    if s == "0" {
        return Ok(StdDuration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut total_ns = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = NS_PER
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, s)| *s)
            .ok_or_else(|| format!("unknown unit {unit:?} in duration {text:?}"))?;
        total_ns += number * scale;
        rest = &rest[unit_len..];
    }
    if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(StdDuration::from_nanos(total_ns.round() as u64))
}

/// Formats a duration compactly with the largest whole units: `1w`, `1h30m`, `500ms`, `0s`.
pub fn format_duration(d: StdDuration) -> String {
    let mut ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    // Weeks and days only when they divide exactly, like Prometheus prints them.
    for (unit, size) in [
        ("w", 7 * 86_400_000_000_000u128),
        ("d", 86_400_000_000_000u128),
    ] {
        if ns.is_multiple_of(size) {
            return format!("{}{unit}", ns / size);
        }
    }
    for (unit, size) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if ns >= size {
            out.push_str(&format!("{}{unit}", ns / size));
            ns %= size;
        }
    }
    out
}

/// Parses `256KB`, `1.5MB`, `100MiB`, `1g`, `1024`; units are 1024-based as in Loki.
pub fn parse_bytesize(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let bad = || format!("invalid size {text:?}");
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if split == 0 {
        return Err(bad());
    }
    let number: f64 = s[..split].parse().map_err(|_| bad())?;
    let unit = s[split..].trim().to_ascii_lowercase();
    let scale: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        "p" | "pb" | "pib" => 1024.0f64.powi(5),
        _ => return Err(format!("unknown unit {:?} in size {text:?}", &s[split..])),
    };
    let bytes = number * scale;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// Formats bytes with the largest exact 1024-based unit: `256KB`, `100MB`, `1000B`.
pub fn format_bytesize(bytes: u64) -> String {
    if bytes == 0 {
        return "0B".to_string();
    }
    for (unit, size) in [
        ("TB", 1u64 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ] {
        if bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// Accepts a YAML string or number and hands back its text.
struct TextOrNumber(&'static str);

impl Visitor<'_> for TextOrNumber {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(TextOrNumber("a duration such as 30m or 1h"))?;
        parse_duration(&text)
            .map(Duration)
            .map_err(de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(TextOrNumber("a size such as 256KB or 1048576"))?;
        parse_bytesize(&text)
            .map(ByteSize)
            .map_err(de::Error::custom)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_bytesize(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> StdDuration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn durations_in_go_and_prometheus_syntax() {
        assert_eq!(d("30m"), StdDuration::from_secs(1800));
        assert_eq!(d("1h30m"), StdDuration::from_secs(5400));
        assert_eq!(d("1.5h"), StdDuration::from_secs(5400));
        assert_eq!(d("168h"), StdDuration::from_secs(168 * 3600));
        assert_eq!(d("1w"), StdDuration::from_secs(168 * 3600));
        assert_eq!(d("7d"), StdDuration::from_secs(168 * 3600));
        assert_eq!(d("300ms"), StdDuration::from_millis(300));
        assert_eq!(d("0"), StdDuration::ZERO);
        assert_eq!(d("2m3.5s"), StdDuration::from_millis(123_500));
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_duration("10").unwrap_err(),
            "missing unit in duration \"10\""
        );
        assert!(parse_duration("-1h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn durations_print_compactly() {
        assert_eq!(format_duration(d("168h")), "1w");
        assert_eq!(format_duration(d("24h")), "1d");
        assert_eq!(format_duration(d("1h30m")), "1h30m");
        assert_eq!(format_duration(d("1500ms")), "1s500ms");
        assert_eq!(format_duration(StdDuration::ZERO), "0s");
        assert_eq!(d(&format_duration(d("2h3m4s"))), d("2h3m4s"));
    }

    #[test]
    fn sizes_are_1024_based() {
        assert_eq!(parse_bytesize("256KB").unwrap(), 262_144);
        assert_eq!(parse_bytesize("1.5MB").unwrap(), 1_572_864);
        assert_eq!(parse_bytesize("100MiB").unwrap(), 104_857_600);
        assert_eq!(parse_bytesize("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytesize("1572864").unwrap(), 1_572_864);
        assert_eq!(parse_bytesize("0").unwrap(), 0);
        assert!(parse_bytesize("12XB").is_err());
        assert!(parse_bytesize("MB").is_err());
        assert_eq!(format_bytesize(262_144), "256KB");
        assert_eq!(format_bytesize(1000), "1000B");
    }
}
