//! Go's `time.Time` as templates see it: layout-based formatting and parsing
//! (`2006-01-02 15:04:05`), `String()`, Unix conversions. A time carries the offset and
//! abbreviation of its zone at that instant (`+0200 CEST`), which is all that printing
//! needs; named zones come from [`Location`]. Loki runs with the `Local` zone set to
//! UTC, so `Local` is UTC here.

use std::fmt::Write;

use super::location::Location;

/// An instant with the zone offset and abbreviation it is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
    /// Zone offset east of UTC in seconds.
    pub offset: i32,
    /// Zone abbreviation; empty for an unnamed fixed zone (printed as `-0700`).
    pub zone: ZoneName,
}

/// A zone abbreviation (`UTC`, `CEST`, `GMT+3`) stored inline so that times stay `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZoneName {
    len: u8,
    buf: [u8; 15],
}

impl ZoneName {
    /// The name of UTC.
    pub const UTC: ZoneName = ZoneName {
        len: 3,
        buf: *b"UTC\0\0\0\0\0\0\0\0\0\0\0\0",
    };
    /// No name: Go prints the numeric offset instead.
    pub const NONE: ZoneName = ZoneName {
        len: 0,
        buf: [0; 15],
    };

    /// A name, cut to 15 bytes at a character boundary (abbreviations are 3 to 6).
    pub fn new(s: &str) -> Self {
        let mut n = s.len().min(15);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let mut buf = [0; 15];
        buf[..n].copy_from_slice(&s.as_bytes()[..n]);
        ZoneName { len: n as u8, buf }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero time as a Unix time).
const ZERO_UNIX: i64 = -62_135_596_800;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(m: u32, y: i64) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Broken-down local fields of a time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    yday: u32,
    wday: usize,
    hour: u32,
    min: u32,
    sec: u32,
}

/// One layout element (Go's `std*` codes).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000` (digits, separator).
    Frac0(usize, u8),
    /// `.999`.
    Frac9(usize, u8),
}

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: literal prefix length, element, bytes consumed by the element.
fn next_chunk(l: &[u8]) -> Option<(usize, Std, usize)> {
    let has = |i: usize, s: &str| l.len() >= i + s.len() && &l[i..i + s.len()] == s.as_bytes();
    for i in 0..l.len() {
        match l[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    return Some((i, Std::LongMonth, 7));
                }
                if !starts_lower(&l[i + 3..]) {
                    return Some((i, Std::Month, 3));
                }
            }
            b'M' => {
                if has(i, "Mon") {
                    if has(i, "Monday") {
                        return Some((i, Std::LongWeekDay, 6));
                    }
                    if !starts_lower(&l[i + 3..]) {
                        return Some((i, Std::WeekDay, 3));
                    }
                }
                if has(i, "MST") {
                    return Some((i, Std::Tz, 3));
                }
            }
            b'0' => {
                if let Some(&c) = l.get(i + 1)
                    && (b'1'..=b'6').contains(&c)
                {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(c - b'1')];
                    return Some((i, std, 2));
                }
                if has(i, "002") {
                    return Some((i, Std::ZeroYearDay, 3));
                }
            }
            b'1' => {
                if l.get(i + 1) == Some(&b'5') {
                    return Some((i, Std::Hour, 2));
                }
                return Some((i, Std::NumMonth, 1));
            }
            b'2' => {
                if has(i, "2006") {
                    return Some((i, Std::LongYear, 4));
                }
                return Some((i, Std::Day, 1));
            }
            b'_' => {
                if l.get(i + 1) == Some(&b'2') {
                    if has(i + 1, "2006") {
                        return Some((i + 1, Std::LongYear, 4));
                    }
                    return Some((i, Std::UnderDay, 2));
                }
                if has(i, "__2") {
                    return Some((i, Std::UnderYearDay, 3));
                }
            }
            b'3' => return Some((i, Std::Hour12, 1)),
            b'4' => return Some((i, Std::Minute, 1)),
            b'5' => return Some((i, Std::Second, 1)),
            b'P' if l.get(i + 1) == Some(&b'M') => return Some((i, Std::PM, 2)),
            b'p' if l.get(i + 1) == Some(&b'm') => return Some((i, Std::Pm, 2)),
            b'-' => {
                for (pat, std) in [
                    ("-070000", Std::NumSecondsTz),
                    ("-07:00:00", Std::NumColonSecondsTz),
                    ("-0700", Std::NumTz),
                    ("-07:00", Std::NumColonTz),
                    ("-07", Std::NumShortTz),
                ] {
                    if has(i, pat) {
                        return Some((i, std, pat.len()));
                    }
                }
            }
            b'Z' => {
                for (pat, std) in [
                    ("Z070000", Std::Iso8601SecondsTz),
                    ("Z07:00:00", Std::Iso8601ColonSecondsTz),
                    ("Z0700", Std::Iso8601Tz),
                    ("Z07:00", Std::Iso8601ColonTz),
                    ("Z07", Std::Iso8601ShortTz),
                ] {
                    if has(i, pat) {
                        return Some((i, std, pat.len()));
                    }
                }
            }
            sep @ (b'.' | b',') => {
                if let Some(&ch) = l.get(i + 1)
                    && (ch == b'0' || ch == b'9')
                {
                    let mut j = i + 1;
                    while j < l.len() && l[j] == ch {
                        j += 1;
                    }
                    if !l.get(j).is_some_and(u8::is_ascii_digit) {
                        let n = j - (i + 1);
                        let std = if ch == b'0' {
                            Std::Frac0(n, sep)
                        } else {
                            Std::Frac9(n, sep)
                        };
                        return Some((i, std, j - i));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", v.unsigned_abs(), width = width);
}

impl GoTime {
    /// `time.Unix(0, ns)`.
    pub fn from_unix_nanos(ns: i64) -> Self {
        Self {
            secs: ns.div_euclid(1_000_000_000),
            nsec: ns.rem_euclid(1_000_000_000) as u32,
            offset: 0,
            zone: ZoneName::UTC,
        }
    }

    /// `time.Unix(s, 0)`.
    pub fn from_unix_secs(s: i64) -> Self {
        Self {
            secs: s,
            nsec: 0,
            offset: 0,
            zone: ZoneName::UTC,
        }
    }

    /// Go's zero `time.Time` (0001-01-01 00:00:00 UTC).
    pub fn zero() -> Self {
        Self::from_unix_secs(ZERO_UNIX)
    }

    /// The current time (`time.Now()`).
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
            offset: 0,
            zone: ZoneName::UTC,
        }
    }

    /// `t.Unix()`.
    pub fn unix(&self) -> i64 {
        self.secs
    }

    /// `t.UnixMilli()`.
    pub fn unix_milli(&self) -> i64 {
        self.secs
            .wrapping_mul(1000)
            .wrapping_add(i64::from(self.nsec / 1_000_000))
    }

    /// `t.UnixNano()` (wraps outside 1678..2262 like Go's overflowing arithmetic).
    pub fn unix_nano(&self) -> i64 {
        self.secs
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(self.nsec))
    }

    /// `t.IsZero()`.
    pub fn is_zero(&self) -> bool {
        self.secs == ZERO_UNIX && self.nsec == 0
    }

    /// The same instant in UTC.
    pub fn utc(self) -> Self {
        Self {
            offset: 0,
            zone: ZoneName::UTC,
            ..self
        }
    }

    /// `t.In(loc)`: the same instant shown in `loc`.
    pub fn in_location(self, loc: &Location) -> Self {
        let (offset, zone) = loc.lookup(self.secs);
        Self {
            offset,
            zone: ZoneName::new(zone),
            ..self
        }
    }

    fn civil(&self) -> Civil {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
            wday: (days + 4).rem_euclid(7) as usize,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
        }
    }

    /// Fields for the `Year`, `Day`, ... methods.
    pub fn field(&self, name: &str) -> Option<i64> {
        let c = self.civil();
        Some(match name {
            "Year" => c.year,
            "Month" => i64::from(c.month),
            "Day" => i64::from(c.day),
            "Hour" => i64::from(c.hour),
            "Minute" => i64::from(c.min),
            "Second" => i64::from(c.sec),
            "Nanosecond" => i64::from(self.nsec),
            "YearDay" => i64::from(c.yday),
            "Weekday" => c.wday as i64,
            _ => return None,
        })
    }

    fn zone_name(&self) -> Option<&str> {
        Some(self.zone.as_str()).filter(|n| !n.is_empty())
    }

    /// `t.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let mut out = String::with_capacity(layout.len() + 10);
        let c = self.civil();
        let mut l = layout.as_bytes();
        while let Some((prefix, std, len)) = next_chunk(l) {
            out.push_str(&String::from_utf8_lossy(&l[..prefix]));
            l = &l[prefix + len..];
            self.format_std(std, &c, &mut out);
        }
        out.push_str(&String::from_utf8_lossy(l));
        out
    }

    fn format_std(&self, std: Std, c: &Civil, out: &mut String) {
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => pad(out, c.year.rem_euclid(100), 2),
            Std::LongYear => pad(out, c.year, 4),
            Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
            Std::NumMonth => pad(out, i64::from(c.month), 0),
            Std::ZeroMonth => pad(out, i64::from(c.month), 2),
            Std::WeekDay => out.push_str(&DAYS[c.wday][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.wday]),
            Std::Day => pad(out, i64::from(c.day), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                pad(out, i64::from(c.day), 0);
            }
            Std::ZeroDay => pad(out, i64::from(c.day), 2),
            Std::UnderYearDay => {
                let _ = write!(out, "{:>3}", c.yday);
            }
            Std::ZeroYearDay => pad(out, i64::from(c.yday), 3),
            Std::Hour => pad(out, i64::from(c.hour), 2),
            Std::Hour12 => pad(out, i64::from(hour12), 0),
            Std::ZeroHour12 => pad(out, i64::from(hour12), 2),
            Std::Minute => pad(out, i64::from(c.min), 0),
            Std::ZeroMinute => pad(out, i64::from(c.min), 2),
            Std::Second => pad(out, i64::from(c.sec), 0),
            Std::ZeroSecond => pad(out, i64::from(c.sec), 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Iso8601Tz
            | Std::Iso8601ColonTz
            | Std::Iso8601SecondsTz
            | Std::Iso8601ShortTz
            | Std::Iso8601ColonSecondsTz
            | Std::NumTz
            | Std::NumColonTz
            | Std::NumSecondsTz
            | Std::NumShortTz
            | Std::NumColonSecondsTz => {
                let iso = matches!(
                    std,
                    Std::Iso8601Tz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && self.offset == 0 {
                    out.push('Z');
                    return;
                }
                let mut zone = self.offset / 60;
                let mut abs = self.offset;
                if zone < 0 {
                    out.push('-');
                    zone = -zone;
                    abs = -abs;
                } else {
                    out.push('+');
                }
                pad(out, i64::from(zone / 60), 2);
                let colon = matches!(
                    std,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                if !matches!(std, Std::NumShortTz | Std::Iso8601ShortTz) {
                    if colon {
                        out.push(':');
                    }
                    pad(out, i64::from(zone % 60), 2);
                }
                if matches!(
                    std,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                        | Std::Iso8601ColonSecondsTz
                ) {
                    if colon {
                        out.push(':');
                    }
                    pad(out, i64::from(abs % 60), 2);
                }
            }
            Std::Tz => match self.zone_name() {
                Some(n) => out.push_str(n),
                None => {
                    let mut zone = self.offset / 60;
                    if zone < 0 {
                        out.push('-');
                        zone = -zone;
                    } else {
                        out.push('+');
                    }
                    pad(out, i64::from(zone / 60), 2);
                    pad(out, i64::from(zone % 60), 2);
                }
            },
            Std::Frac0(n, sep) => {
                out.push(char::from(sep));
                let digits = format!("{:09}", self.nsec);
                out.push_str(&digits[..n.min(9)]);
            }
            Std::Frac9(n, sep) => {
                let digits = format!("{:09}", self.nsec);
                let d = digits[..n.min(9)].trim_end_matches('0');
                if !d.is_empty() {
                    out.push(char::from(sep));
                    out.push_str(d);
                }
            }
        }
    }

    /// `t.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn write_string(&self, out: &mut String) {
        out.push_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"));
    }

    /// `time.ParseInLocation(layout, value, UTC)`.
    pub fn parse(layout: &str, value: &str) -> Result<Self, String> {
        Self::parse_in(layout, value, &Location::Utc)
    }

    /// `time.ParseInLocation(layout, value, loc)`: a wall clock without a zone in the
    /// value is read in `loc`; a zone offset or abbreviation in the value is kept
    /// (shown in `loc` when `loc` has that offset or name at that time).
    pub fn parse_in(layout: &str, value: &str, loc: &Location) -> Result<Self, String> {
        let err = |elem: &str, v: &str| {
            Err(format!(
                "parsing time {} as {}: cannot parse {} as {}",
                super::gofmt::quote(value),
                super::gofmt::quote(layout),
                super::gofmt::quote(v),
                super::gofmt::quote(elem)
            ))
        };
        let (mut year, mut month, mut day, mut yday) = (1i64, 0u32, 0u32, 0u32);
        let (mut hour, mut min, mut sec, mut nsec) = (0u32, 0u32, 0u32, 0u32);
        let mut pm: Option<bool> = None;
        // `Z` or `UTC` in the value (Go's `z = UTC`), a numeric offset, a zone name
        let mut z_utc = false;
        let mut zone_offset: Option<i32> = None;
        let mut zone_name: Option<&str> = None;
        let mut l = layout.as_bytes();
        let mut v = value;
        let mut month_set = false;
        while let Some((prefix, std, len)) = next_chunk(l) {
            let lit = std::str::from_utf8(&l[..prefix]).unwrap_or("");
            let Some(rest) = v.strip_prefix(lit) else {
                return err(lit, v);
            };
            v = rest;
            let elem = std::str::from_utf8(&l[prefix..prefix + len]).unwrap_or("");
            l = &l[prefix + len..];
            let vb = v.as_bytes();
            let num = |v: &str, fixed: bool| -> Option<(u32, usize)> {
                let b = v.as_bytes();
                if !b.first()?.is_ascii_digit() {
                    return None;
                }
                if b.get(1).is_some_and(u8::is_ascii_digit) {
                    return Some((u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'), 2));
                }
                if fixed {
                    return None;
                }
                Some((u32::from(b[0] - b'0'), 1))
            };
            macro_rules! getnum {
                ($fixed:expr) => {
                    match num(v, $fixed) {
                        Some((n, used)) => {
                            v = &v[used..];
                            n
                        }
                        None => return err(elem, v),
                    }
                };
            }
            match std {
                Std::Year => {
                    let n = getnum!(true);
                    year = i64::from(n) + if n >= 69 { 1900 } else { 2000 };
                }
                Std::LongYear => {
                    if vb.len() < 4 || !vb[..4].iter().all(u8::is_ascii_digit) {
                        return err(elem, v);
                    }
                    year = v[..4].parse().unwrap_or(0);
                    v = &v[4..];
                }
                Std::Month | Std::LongMonth => {
                    let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                        let name = if std == Std::Month { &m[..3] } else { m };
                        v.get(..name.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(name))
                            .then_some((i, name.len()))
                    });
                    let Some((i, n)) = found else {
                        return err(elem, v);
                    };
                    month = i as u32 + 1;
                    v = &v[n..];
                    month_set = true;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    month = getnum!(std == Std::ZeroMonth);
                    month_set = true;
                    if !(1..=12).contains(&month) {
                        return err(elem, v);
                    }
                }
                Std::WeekDay | Std::LongWeekDay => {
                    let found = DAYS.iter().find_map(|d| {
                        let name = if std == Std::WeekDay { &d[..3] } else { d };
                        v.get(..name.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(name))
                            .then_some(name.len())
                    });
                    let Some(n) = found else {
                        return err(elem, v);
                    };
                    v = &v[n..];
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && v.starts_with(' ') {
                        v = &v[1..];
                    }
                    day = getnum!(std == Std::ZeroDay);
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    let t = v.trim_start_matches(' ');
                    let n = t.bytes().take(3).take_while(u8::is_ascii_digit).count();
                    if n == 0 {
                        return err(elem, v);
                    }
                    yday = t[..n].parse().unwrap_or(0);
                    v = &t[n..];
                }
                Std::Hour => {
                    hour = getnum!(false);
                    if hour >= 24 {
                        return err(elem, v);
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    hour = getnum!(std == Std::ZeroHour12);
                    if hour > 12 {
                        return err(elem, v);
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    min = getnum!(std == Std::ZeroMinute);
                    if min >= 60 {
                        return err(elem, v);
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    sec = getnum!(std == Std::ZeroSecond);
                    if sec >= 60 {
                        return err(elem, v);
                    }
                    // a fractional second in the value that the layout does not spell out
                    let b = v.as_bytes();
                    if b.len() >= 2
                        && matches!(b[0], b'.' | b',')
                        && b[1].is_ascii_digit()
                        && !matches!(next_chunk(l), Some((0, Std::Frac0(..) | Std::Frac9(..), _)))
                    {
                        let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nsec = frac_nanos(&v[1..1 + n]);
                        v = &v[1 + n..];
                    }
                }
                Std::PM | Std::Pm => {
                    if v.len() < 2 {
                        return err(elem, v);
                    }
                    match v.get(..2).unwrap_or("") {
                        "PM" | "pm" => pm = Some(true),
                        "AM" | "am" => pm = Some(false),
                        _ => return err(elem, v),
                    }
                    v = &v[2..];
                }
                Std::Frac0(n, _) => {
                    let b = v.as_bytes();
                    if b.len() < n + 1 || !b[1..=n].iter().all(u8::is_ascii_digit) {
                        return err(elem, v);
                    }
                    nsec = frac_nanos(&v[1..=n]);
                    v = &v[n + 1..];
                }
                Std::Frac9(..) => {
                    let b = v.as_bytes();
                    if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                        let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nsec = frac_nanos(&v[1..1 + n]);
                        v = &v[1 + n..];
                    }
                }
                Std::Tz => {
                    if let Some(rest) = v.strip_prefix("UTC") {
                        z_utc = true;
                        v = rest;
                    } else {
                        let Some(n) = zone_name_len(v) else {
                            return err(elem, v);
                        };
                        zone_name = Some(&v[..n]);
                        v = &v[n..];
                    }
                }
                _ => {
                    // numeric / ISO 8601 zones
                    let iso = matches!(
                        std,
                        Std::Iso8601Tz
                            | Std::Iso8601ColonTz
                            | Std::Iso8601SecondsTz
                            | Std::Iso8601ShortTz
                            | Std::Iso8601ColonSecondsTz
                    );
                    if iso && v.starts_with('Z') {
                        v = &v[1..];
                        z_utc = true;
                        continue;
                    }
                    let b = v.as_bytes();
                    let sign = match b.first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => return err(elem, v),
                    };
                    let colon = elem.contains(':');
                    let parts = if matches!(std, Std::NumShortTz | Std::Iso8601ShortTz) {
                        1
                    } else if elem.len() >= 7 && !colon || elem.len() >= 9 {
                        3
                    } else {
                        2
                    };
                    let mut idx = 1;
                    let mut total = 0i32;
                    for (p, mult) in [3600, 60, 1].into_iter().take(parts).enumerate() {
                        if p > 0 && colon {
                            if b.get(idx) != Some(&b':') {
                                return err(elem, v);
                            }
                            idx += 1;
                        }
                        if b.len() < idx + 2 || !b[idx..idx + 2].iter().all(u8::is_ascii_digit) {
                            return err(elem, v);
                        }
                        total +=
                            (i32::from(b[idx] - b'0') * 10 + i32::from(b[idx + 1] - b'0')) * mult;
                        idx += 2;
                    }
                    zone_offset = Some(sign * total);
                    v = &v[idx..];
                }
            }
        }
        let lit = std::str::from_utf8(l).unwrap_or("");
        if v != lit {
            return Err(format!(
                "parsing time {}: extra text: {}",
                super::gofmt::quote(value),
                super::gofmt::quote(v.strip_prefix(lit).unwrap_or(v))
            ));
        }
        if let Some(pm) = pm {
            if pm && hour < 12 {
                hour += 12;
            } else if !pm && hour == 12 {
                hour = 0;
            }
        }
        if yday > 0 && !month_set {
            let mut d = yday;
            month = 1;
            while month <= 12 && d > days_in(month, year) {
                d -= days_in(month, year);
                month += 1;
            }
            day = d;
        }
        if month == 0 {
            month = 1;
        }
        if day == 0 && !month_set && yday == 0 {
            day = 1;
        }
        if day < 1 || day > days_in(month, year) {
            return Err(format!(
                "parsing time {}: day out of range",
                super::gofmt::quote(value)
            ));
        }
        // the wall clock read as UTC
        let wall =
            days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60 + sec);
        let at = |secs: i64, offset: i32, zone: ZoneName| Self {
            secs,
            nsec,
            offset,
            zone,
        };
        let in_loc = |secs: i64| {
            let (offset, name) = loc.lookup(secs);
            at(secs, offset, ZoneName::new(name))
        };
        if z_utc {
            return Ok(at(wall, 0, ZoneName::UTC));
        }
        if let Some(offset) = zone_offset {
            let secs = wall - i64::from(offset);
            let (loc_offset, loc_name) = loc.lookup(secs);
            if loc_offset == offset && zone_name.is_none_or(|n| n == loc_name) {
                return Ok(in_loc(secs));
            }
            return Ok(at(
                secs,
                offset,
                zone_name.map_or(ZoneName::NONE, ZoneName::new),
            ));
        }
        if let Some(name) = zone_name {
            if let Some(offset) = loc.lookup_name(name, wall) {
                return Ok(in_loc(wall - i64::from(offset)));
            }
            // an unknown abbreviation: Go keeps the wall clock as UTC and shows it in a
            // made-up zone of that name, offset 0 except for `GMT+h`
            let offset = match name.strip_prefix("GMT") {
                Some(h) if !h.is_empty() => h.parse::<i32>().unwrap_or(0) * 3600,
                _ => 0,
            };
            return Ok(at(wall, offset, ZoneName::new(name)));
        }
        Ok(in_loc(loc.wall_to_unix(wall)))
    }
}

/// Go's `parseTimeZone`: the length of the zone abbreviation `value` starts with.
fn zone_name_len(value: &str) -> Option<usize> {
    let b = value.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if b.starts_with(b"ChST") || b.starts_with(b"MeST") {
        return Some(4);
    }
    if let Some(rest) = value.strip_prefix("GMT") {
        // `GMT` or `GMT` followed by a signed hour offset
        return Some(3 + signed_offset_len(rest).unwrap_or(0));
    }
    if b[0] == b'+' || b[0] == b'-' {
        return signed_offset_len(value);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || &b[..4] == b"WITA" => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseSignedOffset`: a sign and an hour of at most 12.
fn signed_offset_len(value: &str) -> Option<usize> {
    let b = value.as_bytes();
    if !matches!(b.first(), Some(b'+' | b'-')) {
        return None;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    // Go's leadingInt overflows (an error) long before 19 digits
    let hour: u64 = value[1..1 + digits.min(18)].parse().ok()?;
    (digits <= 18 && hour <= 12).then_some(1 + digits)
}

fn frac_nanos(digits: &str) -> u32 {
    let mut n = 0u32;
    for (i, c) in digits.bytes().take(9).enumerate() {
        n += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_layouts() {
        // 2026-11-20T00:01:37.549Z
        let t = GoTime::from_unix_nanos(1_795_132_897_549_000_000);
        assert_eq!(t.format("15:04"), "00:01");
        assert_eq!(
            t.format("2006-01-02T15:04:05.000Z07:00"),
            "2026-11-20T00:01:37.549Z"
        );
        assert_eq!(
            t.format("Mon Jan _2 3:04PM .999999"),
            "Fri Nov 20 12:01AM .549"
        );
        assert_eq!(
            t.format("January 2, 06 -0700 MST"),
            "November 20, 26 +0000 UTC"
        );
        let mut s = String::new();
        t.write_string(&mut s);
        assert_eq!(s, "2026-11-20 00:01:37.549 +0000 UTC");
        let mut z = String::new();
        GoTime::zero().write_string(&mut z);
        assert_eq!(z, "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn parses_go_layouts() {
        let t = GoTime::parse("2006-01-02 15:04:05", "2026-11-20 00:01:37").unwrap();
        assert_eq!(t.unix(), 1_795_132_897);
        let t = GoTime::parse("2006-01-02T15:04:05Z07:00", "2026-11-20T01:01:37.5+01:00").unwrap();
        assert_eq!(
            (t.unix(), t.nsec, t.offset),
            (1_795_132_897, 500_000_000, 3600)
        );
        assert_eq!(t.format("15:04 -07:00"), "01:01 +01:00");
        assert!(GoTime::parse("2006-01-02", "2026-13-01").is_err());
        assert!(GoTime::parse("2006-01-02", "2026-11-20x").is_err());
        let t = GoTime::parse("02/Jan/2006:15:04:05 -0700", "20/Nov/2026:00:00:59 +0000").unwrap();
        assert_eq!(t.unix(), 1_795_132_859);
    }
}
