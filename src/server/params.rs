//! Request parameters of the query API, parsed exactly as Loki's `pkg/loghttp` parses
//! them: the same defaults, the same accepted forms, the same error texts.
//!
//! Times (`start`, `end`, `time`) are integers (up to 10 digits: seconds, longer:
//! nanoseconds), float seconds with millisecond precision, or RFC3339. `step` and
//! `interval` are float seconds or a Prometheus duration (`5m`). `limit` defaults to
//! 100, `direction` to backward, `end` to now and `start` to `end - since` (1h).

use logql::labels::go_quote;
use querier::{Direction, InstantQuery, RangeQuery};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const DEFAULT_LIMIT: u32 = 100;
const DEFAULT_SINCE_NS: i64 = 3600 * NANOS_PER_SEC;
const MAX_POINTS: i64 = 11_000;

/// A bad parameter; the text is Loki's and goes back as a 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Form values of a request: the URL query plus a form-encoded body, like Go's `r.Form`.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses the URL query and, when present, an `application/x-www-form-urlencoded`
    /// body (body values come first, as in Go's `ParseForm`).
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> Result<Self, ParamError> {
        let mut pairs = Vec::new();
        if let Some(body) = form_body {
            let body_pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|e| ParamError(format!("invalid form body: {e}")))?;
            pairs.extend(body_pairs);
        }
        if let Some(q) = query {
            let query_pairs: Vec<(String, String)> = serde_urlencoded::from_str(q)
                .map_err(|e| ParamError(format!("invalid query string: {e}")))?;
            pairs.extend(query_pairs);
        }
        Ok(Self { pairs })
    }

    /// The parameters of an HTTP request: its query string, plus its body when that is
    /// a form (`Content-Type: application/x-www-form-urlencoded`).
    pub fn from_request(
        headers: &axum::http::HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ParamError> {
        let is_form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        Self::parse(query, (is_form && !body.is_empty()).then_some(body))
    }

    /// Builds parameters from pairs (tests, internal callers).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `name`, or `""` (Go's `Form.Get`).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name` in order (`match[]`).
    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn quoted(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    go_quote(value, &mut s);
    s
}

/// Go's `strconv.ParseInt(value, 10, 64)` with its error text.
fn go_parse_int(func: &str, value: &str) -> Result<i64, String> {
    value.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.{func}: parsing {}: {why}", quoted(value))
    })
}

/// Parses one timestamp as Loki does; `default` is used for an empty value.
pub fn parse_timestamp(value: &str, default: i64) -> Result<i64, String> {
    if value.is_empty() {
        return Ok(default);
    }
    if value.contains('.')
        && let Ok(t) = value.parse::<f64>()
        && t.is_finite()
    {
        let secs = t.trunc();
        let frac = ((t - secs) * 1000.0).round() / 1000.0;
        let nanos = (frac * NANOS_PER_SEC as f64) as i64;
        return Ok((secs as i64)
            .saturating_mul(NANOS_PER_SEC)
            .saturating_add(nanos));
    }
    match go_parse_int("ParseInt", value) {
        Ok(n) if value.len() <= 10 => Ok(n.saturating_mul(NANOS_PER_SEC)),
        Ok(n) => Ok(n),
        Err(e) => chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .ok_or(e),
    }
}

/// Prometheus' `model.ParseDuration`: `1y2w3d4h5m6s7ms` with units in that order, or `0`.
pub fn parse_prometheus_duration(value: &str) -> Result<i64, String> {
    let bad = || format!("not a valid duration string: {}", quoted(value));
    if value == "0" {
        return Ok(0);
    }
    if value.is_empty() {
        return Err("empty duration string".to_string());
    }
    const MS: i64 = 1_000_000;
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000 * MS),
        ("w", 7 * 86_400_000 * MS),
        ("d", 86_400_000 * MS),
        ("h", 3_600_000 * MS),
        ("m", 60_000 * MS),
        ("s", 1000 * MS),
        ("ms", MS),
    ];
    let mut rest = value;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let pos = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        let (_, scale) = UNITS[next_unit + pos];
        next_unit += pos + 1;
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "duration out of range".to_string())?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// `step`/`interval`: float seconds or a Prometheus duration, in ns.
pub fn parse_seconds_or_duration(value: &str) -> Result<i64, String> {
    if let Ok(d) = value.parse::<f64>() {
        let ns = d * NANOS_PER_SEC as f64;
        if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                quoted(value)
            ));
        }
        return Ok(ns as i64);
    }
    parse_prometheus_duration(value)
        .map_err(|_| format!("cannot parse {} to a valid duration", quoted(value)))
}

/// `limit`: a positive integer, default 100.
pub fn parse_limit(params: &Params) -> Result<u32, ParamError> {
    let value = params.get("limit");
    if value.is_empty() {
        return Ok(DEFAULT_LIMIT);
    }
    let l = go_parse_int("Atoi", value).map_err(ParamError)?;
    if l <= 0 {
        return Err(ParamError("limit must be a positive value".to_string()));
    }
    Ok(u32::try_from(l).unwrap_or(u32::MAX))
}

/// `direction`: `forward` or `backward` in any case, default backward.
pub fn parse_direction(params: &Params) -> Result<Direction, ParamError> {
    let value = params.get("direction");
    match value.to_ascii_uppercase().as_str() {
        "" => Ok(Direction::Backward),
        "FORWARD" => Ok(Direction::Forward),
        "BACKWARD" => Ok(Direction::Backward),
        _ => Err(ParamError(format!("invalid direction '{value}'"))),
    }
}

/// `start`/`end` (ns): end defaults to now, start to `min(end, now) - since` (1h).
pub fn parse_bounds(params: &Params, now: i64) -> Result<(i64, i64), ParamError> {
    let since = match params.get("since") {
        "" => DEFAULT_SINCE_NS,
        s => parse_prometheus_duration(s)
            .map_err(|e| ParamError(format!("could not parse 'since' parameter: {e}")))?,
    };
    let end = parse_timestamp(params.get("end"), now)
        .map_err(|e| ParamError(format!("could not parse 'end' parameter: {e}")))?;
    let end_or_now = end.min(now);
    let start = parse_timestamp(params.get("start"), end_or_now.saturating_sub(since))
        .map_err(|e| ParamError(format!("could not parse 'start' parameter: {e}")))?;
    Ok((start, end))
}

/// Parses a `/loki/api/v1/query_range` request, checking in Loki's order.
pub fn parse_range_query(params: &Params, now: i64) -> Result<RangeQuery, ParamError> {
    let (start, end) = parse_bounds(params, now)?;
    if end < start {
        return Err(ParamError(
            "end timestamp must not be before or equal to start time".to_string(),
        ));
    }
    let limit = parse_limit(params)?;
    let direction = parse_direction(params)?;
    let step = match params.get("step") {
        "" => {
            let secs = ((end - start) as f64 / NANOS_PER_SEC as f64 / 250.0).floor();
            (secs.max(1.0) as i64).saturating_mul(NANOS_PER_SEC)
        }
        s => parse_seconds_or_duration(s).map_err(ParamError)?,
    };
    if step <= 0 {
        return Err(ParamError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .to_string(),
        ));
    }
    if (end - start) / step > MAX_POINTS {
        return Err(ParamError(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .to_string(),
        ));
    }
    let interval = match params.get("interval") {
        "" => 0,
        s => parse_seconds_or_duration(s).map_err(ParamError)?,
    };
    if interval < 0 {
        return Err(ParamError("interval must be >= 0".to_string()));
    }
    Ok(RangeQuery {
        query: params.get("query").to_string(),
        start,
        end,
        step,
        interval: (interval > 0).then_some(interval),
        limit,
        direction,
    })
}

/// Parses a `/loki/api/v1/query` request.
pub fn parse_instant_query(params: &Params, now: i64) -> Result<InstantQuery, ParamError> {
    let limit = parse_limit(params)?;
    let time = parse_timestamp(params.get("time"), now).map_err(ParamError)?;
    let direction = parse_direction(params)?;
    Ok(InstantQuery {
        query: params.get("query").to_string(),
        time,
        limit,
        direction,
    })
}

/// The selectors of a `/series` request: `match[]`, else Loki's `match`, deduplicated.
pub fn series_selectors(params: &Params) -> Vec<String> {
    let mut xs = params.get_all("match[]");
    if xs.is_empty() {
        xs = params.get_all("match");
    }
    let mut seen = std::collections::HashSet::new();
    xs.retain(|x| seen.insert(x.clone()));
    xs
}

/// Nanoseconds since the epoch now.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_140_000_000_000_000;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    fn range_err(pairs: &[(&str, &str)]) -> String {
        parse_range_query(&p(pairs), NOW).unwrap_err().0
    }

    #[test]
    fn timestamps_in_every_loki_form() {
        assert_eq!(parse_timestamp("", 7), Ok(7));
        assert_eq!(
            parse_timestamp("1795136400000000000", 0),
            Ok(1_795_136_400_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1795136400", 0),
            Ok(1_795_136_400_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1795136700.5", 0),
            Ok(1_795_136_700_500_000_000)
        );
        // float seconds keep millisecond precision only
        assert_eq!(
            parse_timestamp("1795136700.1234", 0),
            Ok(1_795_136_700_123_000_000)
        );
        assert_eq!(
            parse_timestamp("2026-11-20T01:00:00Z", 0),
            Ok(1_795_136_400_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2026-11-20T01:00:00.25+01:00", 0),
            Ok(1_795_132_800_250_000_000)
        );
        assert_eq!(
            parse_timestamp("abc", 0),
            Err("strconv.ParseInt: parsing \"abc\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_timestamp("99999999999999999999", 0),
            Err(
                "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
                    .to_string()
            )
        );
    }

    #[test]
    fn range_defaults() {
        let q = parse_range_query(&p(&[("query", "{a=\"b\"}")]), NOW).unwrap();
        assert_eq!(q.end, NOW);
        assert_eq!(q.start, NOW - 3600 * NANOS_PER_SEC);
        assert_eq!(q.limit, 100);
        assert_eq!(q.direction, Direction::Backward);
        // floor(3600 / 250) = 14 s
        assert_eq!(q.step, 14 * NANOS_PER_SEC);
        assert_eq!(q.interval, None);
        assert_eq!(q.query, "{a=\"b\"}");
        // short ranges get the 1s minimum step
        let q =
            parse_range_query(&p(&[("start", "1795136400"), ("end", "1795136460")]), NOW).unwrap();
        assert_eq!(q.step, NANOS_PER_SEC);
        // end in the future: start is relative to now
        let q = parse_range_query(&p(&[("end", &(NOW + 100).to_string())]), NOW).unwrap();
        assert_eq!(q.start, NOW - 3600 * NANOS_PER_SEC);
        let q = parse_range_query(&p(&[("since", "5m")]), NOW).unwrap();
        assert_eq!(q.start, NOW - 300 * NANOS_PER_SEC);
    }

    #[test]
    fn steps_as_seconds_floats_and_durations() {
        let base = [
            ("start", "1795140000000000000"),
            ("end", "1795140300000000000"),
        ];
        let step = |s: &str| {
            let mut v = base.to_vec();
            v.push(("step", s));
            parse_range_query(&p(&v), NOW).map(|q| q.step)
        };
        assert_eq!(step("7.5"), Ok(7_500_000_000));
        assert_eq!(step("60"), Ok(60 * NANOS_PER_SEC));
        assert_eq!(step("5m"), Ok(300 * NANOS_PER_SEC));
        assert_eq!(step("1m30s"), Ok(90 * NANOS_PER_SEC));
        assert_eq!(
            step("0").unwrap_err().0,
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        );
        assert_eq!(
            step("-1").unwrap_err().0,
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        );
        assert_eq!(
            step("5x").unwrap_err().0,
            "cannot parse \"5x\" to a valid duration"
        );
        assert_eq!(
            step("30s5m").unwrap_err().0,
            "cannot parse \"30s5m\" to a valid duration"
        );
        assert_eq!(
            step("1e300").unwrap_err().0,
            "cannot parse \"1e300\" to a valid duration. It overflows int64"
        );
    }

    #[test]
    fn range_errors_use_loki_wording() {
        assert_eq!(
            range_err(&[
                ("start", "1795136400000000000"),
                ("end", "1795132800000000000")
            ]),
            "end timestamp must not be before or equal to start time"
        );
        assert_eq!(
            range_err(&[("limit", "0")]),
            "limit must be a positive value"
        );
        assert_eq!(
            range_err(&[("limit", "ten")]),
            "strconv.Atoi: parsing \"ten\": invalid syntax"
        );
        assert_eq!(
            range_err(&[("direction", "sideways")]),
            "invalid direction 'sideways'"
        );
        assert_eq!(
            range_err(&[
                ("start", "1795132800"),
                ("end", "1795143600"),
                ("step", "0.5")
            ]),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        );
        assert_eq!(
            range_err(&[("start", "x")]),
            "could not parse 'start' parameter: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(range_err(&[("interval", "-5")]), "interval must be >= 0");
        // start == end is allowed (a single step)
        let q = parse_range_query(
            &p(&[
                ("start", "1795136400000000000"),
                ("end", "1795136400000000000"),
                ("step", "60"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!((q.start, q.end), (q.start, q.start));
        // error order: end before start wins over a bad limit
        assert_eq!(
            range_err(&[("start", "2"), ("end", "1"), ("limit", "0")]),
            "end timestamp must not be before or equal to start time"
        );
    }

    #[test]
    fn interval_and_direction() {
        let q =
            parse_range_query(&p(&[("interval", "30s"), ("direction", "FORWARD")]), NOW).unwrap();
        assert_eq!(q.interval, Some(30 * NANOS_PER_SEC));
        assert_eq!(q.direction, Direction::Forward);
    }

    #[test]
    fn instant_query() {
        let q = parse_instant_query(
            &p(&[
                ("query", "x"),
                ("time", "1795136400000000000"),
                ("limit", "5"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (q.time, q.limit, q.direction),
            (1_795_136_400_000_000_000, 5, Direction::Backward)
        );
        assert_eq!(parse_instant_query(&p(&[]), NOW).unwrap().time, NOW);
        assert_eq!(
            parse_instant_query(&p(&[("time", "soon")]), NOW)
                .unwrap_err()
                .0,
            "strconv.ParseInt: parsing \"soon\": invalid syntax"
        );
    }

    #[test]
    fn form_body_and_query_merge() {
        let params = Params::parse(
            Some("match%5B%5D=%7Bjob%3D%22a%22%7D&start=1"),
            Some(b"match[]={job=\"b\"}&start=2&query=%7Bx%3D%22y%22%7D"),
        )
        .unwrap();
        assert_eq!(params.get("start"), "2");
        assert_eq!(params.get("query"), "{x=\"y\"}");
        assert_eq!(params.get("missing"), "");
        assert_eq!(
            series_selectors(&params),
            vec!["{job=\"b\"}".to_string(), "{job=\"a\"}".to_string()]
        );
        let dup = p(&[("match[]", "{a=\"1\"}"), ("match[]", "{a=\"1\"}")]);
        assert_eq!(series_selectors(&dup).len(), 1);
        assert_eq!(series_selectors(&p(&[("match", "{a=\"1\"}")])).len(), 1);
    }

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_prometheus_duration("1h30m"), Ok(5400 * NANOS_PER_SEC));
        assert_eq!(parse_prometheus_duration("1w"), Ok(604_800 * NANOS_PER_SEC));
        assert_eq!(parse_prometheus_duration("150ms"), Ok(150_000_000));
        assert_eq!(parse_prometheus_duration("0"), Ok(0));
        assert!(parse_prometheus_duration("1.5h").is_err());
        assert!(parse_prometheus_duration("5m1h").is_err());
        assert!(parse_prometheus_duration("m").is_err());
    }
}
