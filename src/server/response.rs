//! Loki's JSON encoding of query results, written straight into a byte buffer.
//!
//! The shapes and number formats are Loki's: stream entries as `["<ns>", "line"]`,
//! matrix and vector points as `[<seconds>, "<value>"]` with the time in seconds at
//! millisecond precision (Prometheus `model.Time`) and the value in Go's shortest
//! `'f'` format (`NaN`, `+Inf`, `-Inf`), scalar results with the time in milliseconds,
//! and `data.stats` in Loki's summary/querier/ingester/cache layout. Strings are escaped
//! like Go's encoder with HTML escaping (`<` as `\u003c`), as Loki's jsoniter does.

use logql::LabelSet;
use querier::{QueryData, QueryResponse, QueryStats};

/// Appends `s` as a JSON string literal, escaped the way Loki's encoder does.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            // U+2028 and U+2029 (E2 80 A8/A9) break JavaScript; Go escapes them.
            0xE2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xA8) | Some(0xA9)) =>
            {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(if bytes[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 3;
                start = i;
                continue;
            }
            c if c < 0x20 => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 0xf) as usize]);
                i += 1;
                start = i;
                continue;
            }
            _ => None,
        };
        if let Some(e) = escape {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(e);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a sample value as Go's `strconv.FormatFloat(v, 'f', -1, 64)` (unquoted).
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else {
        // Rust's Display prints the shortest round-tripping digits without an exponent,
        // exactly like Go's 'f' format with precision -1.
        use std::io::Write;
        let _ = write!(out, "{v}");
    }
}

/// Appends a point time (ns) as Prometheus' `model.Time` JSON: seconds with up to
/// three decimals, e.g. `1795136400` or `1795140007.5`.
pub fn write_point_time(out: &mut Vec<u8>, ts_ns: i64) {
    use std::io::Write;
    let ms = ts_ns.div_euclid(1_000_000);
    let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        let _ = write!(out, "{secs}");
    } else if secs < 0 {
        // -0.5 s is ms=-500: secs=-1, frac=500; print via float for negative times.
        let _ = write!(out, "{}", ms as f64 / 1000.0);
    } else {
        let mut digits = format!("{frac:03}");
        while digits.ends_with('0') {
            digits.pop();
        }
        let _ = write!(out, "{secs}.{digits}");
    }
}

/// Appends a label set as a JSON object in label order.
pub fn write_labels(out: &mut Vec<u8>, labels: &LabelSet) {
    out.push(b'{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_str(out, v);
    }
    out.push(b'}');
}

/// Appends a float as Go's `encoding/json` does (exponent form outside [1e-6, 1e21)).
fn write_json_float(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{v:e}");
        // Go writes at least two exponent digits: 1e-07, 1e+21.
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let _ = write!(out, "{mant}e{sign}{digits:0>2}");
            return;
        }
    }
    let _ = write!(out, "{v}");
}

fn write_streams(out: &mut Vec<u8>, streams: &[querier::Stream]) {
    use std::io::Write;
    out.push(b'[');
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"stream\":");
        write_labels(out, &s.labels);
        out.extend_from_slice(b",\"values\":[");
        for (j, (ts, line)) in s.entries.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            let _ = write!(out, "[\"{ts}\",");
            write_str(out, line);
            out.push(b']');
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
}

fn write_point(out: &mut Vec<u8>, ts: i64, v: f64) {
    out.push(b'[');
    write_point_time(out, ts);
    out.extend_from_slice(b",\"");
    write_value(out, v);
    out.extend_from_slice(b"\"]");
}

fn write_result(out: &mut Vec<u8>, data: &QueryData) {
    use std::io::Write;
    match data {
        QueryData::Streams(streams) => {
            out.extend_from_slice(b"\"resultType\":\"streams\",\"result\":");
            write_streams(out, streams);
        }
        QueryData::Matrix(series) => {
            out.extend_from_slice(b"\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"metric\":");
                write_labels(out, &s.labels);
                out.extend_from_slice(b",\"values\":[");
                for (j, (ts, v)) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    write_point(out, *ts, *v);
                }
                out.extend_from_slice(b"]}");
            }
            out.push(b']');
        }
        QueryData::Vector(samples) => {
            out.extend_from_slice(b"\"resultType\":\"vector\",\"result\":[");
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"metric\":");
                write_labels(out, &s.labels);
                out.extend_from_slice(b",\"value\":");
                write_point(out, s.ts, s.value);
                out.push(b'}');
            }
            out.push(b']');
        }
        QueryData::Scalar(ts, v) => {
            // Loki answers scalars with the time in milliseconds: [1795136400000, "6"].
            let _ = write!(
                out,
                "\"resultType\":\"scalar\",\"result\":[{},\"",
                ts.div_euclid(1_000_000)
            );
            write_value(out, *v);
            out.extend_from_slice(b"\"]");
        }
    }
}

const ZERO_CHUNK: &str = "\"chunk\":{\"headChunkBytes\":0,\"headChunkLines\":0,\"decompressedBytes\":0,\"decompressedLines\":0,\"compressedBytes\":0,\"totalDuplicates\":0,\"postFilterLines\":0,\"headChunkStructuredMetadataBytes\":0,\"decompressedStructuredMetadataBytes\":0}";
const ZERO_CACHE: &str = "{\"entriesFound\":0,\"entriesRequested\":0,\"entriesStored\":0,\"bytesReceived\":0,\"bytesSent\":0,\"requests\":0,\"downloadTime\":0}";

/// Counts of entries in a result, for `totalEntriesReturned`.
fn entries_returned(data: &QueryData) -> usize {
    match data {
        QueryData::Streams(s) => s.iter().map(|s| s.entries.len()).sum(),
        QueryData::Matrix(s) => s.len(),
        QueryData::Vector(s) => s.len(),
        QueryData::Scalar(..) => 1,
    }
}

/// Appends Loki 2.9's `stats` object, filled from what Fenrir measures.
fn write_stats(out: &mut Vec<u8>, stats: &QueryStats, returned: usize) {
    use std::io::Write;
    let per_sec = |n: u64| {
        if stats.exec_time_secs > 0.0 {
            (n as f64 / stats.exec_time_secs) as i64
        } else {
            0
        }
    };
    let _ = write!(
        out,
        "{{\"summary\":{{\"bytesProcessedPerSecond\":{},\"linesProcessedPerSecond\":{},\"totalBytesProcessed\":{},\"totalLinesProcessed\":{},\"execTime\":",
        per_sec(stats.bytes_processed),
        per_sec(stats.lines_processed),
        stats.bytes_processed,
        stats.lines_processed
    );
    write_json_float(out, stats.exec_time_secs);
    let _ = write!(
        out,
        ",\"queueTime\":0,\"subqueries\":0,\"totalEntriesReturned\":{returned},\"splits\":0,\"shards\":0,\"totalPostFilterLines\":0,\"totalStructuredMetadataBytesProcessed\":0}},"
    );
    let store = format!(
        "\"store\":{{\"totalChunksRef\":0,\"totalChunksDownloaded\":0,\"chunksDownloadTime\":0,{ZERO_CHUNK},\"chunkRefsFetchTime\":0}}"
    );
    let _ = write!(
        out,
        "\"querier\":{{{store}}},\"ingester\":{{\"totalReached\":0,\"totalChunksMatched\":0,\"totalBatches\":0,\"totalLinesSent\":0,{store}}},\"cache\":{{\"chunk\":{ZERO_CACHE},\"index\":{ZERO_CACHE},\"result\":{ZERO_CACHE},\"statsResult\":{ZERO_CACHE},\"volumeResult\":{ZERO_CACHE}}}}}"
    );
}

/// The body of a successful `query`/`query_range` answer.
pub fn query_body(resp: &QueryResponse) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(&resp.data));
    out.extend_from_slice(b"{\"status\":\"success\",\"data\":{");
    write_result(&mut out, &resp.data);
    out.extend_from_slice(b",\"stats\":");
    write_stats(&mut out, &resp.stats, entries_returned(&resp.data));
    out.extend_from_slice(b"}}");
    out
}

fn estimate(data: &QueryData) -> usize {
    match data {
        QueryData::Streams(s) => {
            1024 + s
                .iter()
                .map(|s| 128 + s.entries.iter().map(|(_, l)| l.len() + 28).sum::<usize>())
                .sum::<usize>()
        }
        QueryData::Matrix(s) => 1024 + s.iter().map(|s| 128 + s.points.len() * 32).sum::<usize>(),
        QueryData::Vector(s) => 1024 + s.len() * 160,
        QueryData::Scalar(..) => 2048,
    }
}

/// The body of `/labels` and `/label/<name>/values`: `data` is omitted when empty, as
/// Loki does (`omitempty`).
pub fn labels_body(values: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + values.iter().map(|v| v.len() + 3).sum::<usize>());
    out.extend_from_slice(b"{\"status\":\"success\"");
    if !values.is_empty() {
        out.extend_from_slice(b",\"data\":[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(&mut out, v);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// The body of `/series`: a list of label maps.
pub fn series_body(series: &[LabelSet]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + series.len() * 128);
    out.extend_from_slice(b"{\"status\":\"success\",\"data\":[");
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_labels(&mut out, s);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The body of a legacy `/api/prom/query` log answer:
/// `{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"<RFC3339Nano>","line":"..."}]}]}`.
pub fn legacy_streams_body(streams: &[querier::Stream]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"streams\":[");
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"labels\":");
        write_str(&mut out, &s.labels.to_string());
        out.extend_from_slice(b",\"entries\":[");
        for (j, (ts, line)) in s.entries.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"ts\":");
            write_str(&mut out, &rfc3339_nano(*ts));
            out.extend_from_slice(b",\"line\":");
            write_str(&mut out, line);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
    out
}

/// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped.
pub fn rfc3339_nano(ts_ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(ts_ns);
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    if nanos != 0 {
        let mut frac = format!("{nanos:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
        s.push('.');
        s.push_str(&frac);
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use querier::{Sample, Series, Stream};

    fn s(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    fn value(v: f64) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        s(out)
    }

    fn time(ns: i64) -> String {
        let mut out = Vec::new();
        write_point_time(&mut out, ns);
        s(out)
    }

    #[test]
    fn values_like_go_format_float() {
        assert_eq!(value(6.0), "6");
        assert_eq!(value(44.2), "44.2");
        assert_eq!(value(0.6333333333333333), "0.6333333333333333");
        assert_eq!(value(28708.499999999996), "28708.499999999996");
        assert_eq!(value(1e21), "1000000000000000000000");
        assert_eq!(value(1e-7), "0.0000001");
        assert_eq!(value(-0.5), "-0.5");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn point_times_in_seconds() {
        assert_eq!(time(1_795_136_400_000_000_000), "1795136400");
        assert_eq!(time(1_795_140_007_500_000_000), "1795140007.5");
        assert_eq!(time(1_795_140_007_120_000_000), "1795140007.12");
        assert_eq!(time(1_795_140_007_001_999_999), "1795140007.001");
        assert_eq!(time(0), "0");
    }

    #[test]
    fn strings_escaped_like_loki() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\nd\te<f>&g\u{1}h\u{2028}ü\u{1b}[31m");
        assert_eq!(
            s(out),
            r#""a\"b\\c\nd\te\u003cf\u003e\u0026g\u0001h\u2028ü\u001b[31m""#
        );
    }

    #[test]
    fn streams_body_exact() {
        let resp = QueryResponse {
            data: QueryData::Streams(vec![Stream {
                labels: LabelSet::from_pairs([("job", "edge"), ("app", "a")]),
                entries: vec![
                    (1_795_136_400_000_000_000, "boundary marker".to_string()),
                    (1_795_136_550_500_000_000, "x \"q\"".to_string()),
                ],
            }]),
            stats: QueryStats::default(),
        };
        let body = s(query_body(&resp));
        assert!(body.starts_with(
            r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"a","job":"edge"},"values":[["1795136400000000000","boundary marker"],["1795136550500000000","x \"q\""]]}],"stats":{"summary":{"bytesProcessedPerSecond":0,"#
        ), "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["data"]["stats"]["summary"]["totalEntriesReturned"], 2);
        assert_eq!(
            v["data"]["stats"]["ingester"]["store"]["chunk"]["headChunkBytes"],
            0
        );
        assert_eq!(v["data"]["stats"]["cache"]["result"]["requests"], 0);
    }

    #[test]
    fn matrix_vector_scalar_exact() {
        let labels = LabelSet::from_pairs([("app", "mailer")]);
        let m = QueryResponse {
            data: QueryData::Matrix(vec![Series {
                labels: labels.clone(),
                points: vec![
                    (1_795_140_000_000_000_000, 2.0),
                    (1_795_140_007_500_000_000, f64::NAN),
                ],
            }]),
            stats: QueryStats::default(),
        };
        let body = s(query_body(&m));
        assert!(body.starts_with(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"mailer"},"values":[[1795140000,"2"],[1795140007.5,"NaN"]]}],"stats":"#
        ), "{body}");
        let v = QueryResponse {
            data: QueryData::Vector(vec![Sample {
                labels: LabelSet::new(),
                ts: 1_795_136_400_000_000_000,
                value: 0.25,
            }]),
            stats: QueryStats::default(),
        };
        assert!(s(query_body(&v)).starts_with(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795136400,"0.25"]}],"stats":"#
        ));
        let sc = QueryResponse {
            data: QueryData::Scalar(1_795_136_400_000_000_000, 6.0),
            stats: QueryStats::default(),
        };
        assert!(s(query_body(&sc)).starts_with(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1795136400000,"6"],"stats":"#
        ));
        let empty = QueryResponse {
            data: QueryData::Matrix(vec![]),
            stats: QueryStats::default(),
        };
        assert!(s(query_body(&empty)).contains(r#""resultType":"matrix","result":[],"stats""#));
    }

    #[test]
    fn stats_rates_and_exec_time() {
        let resp = QueryResponse {
            data: QueryData::Vector(vec![]),
            stats: QueryStats {
                bytes_processed: 1000,
                lines_processed: 10,
                exec_time_secs: 0.5,
            },
        };
        let v: serde_json::Value = serde_json::from_slice(&query_body(&resp)).unwrap();
        let summary = &v["data"]["stats"]["summary"];
        assert_eq!(summary["bytesProcessedPerSecond"], 2000);
        assert_eq!(summary["linesProcessedPerSecond"], 20);
        assert_eq!(summary["totalBytesProcessed"], 1000);
        assert_eq!(summary["execTime"], 0.5);
        let mut out = Vec::new();
        write_json_float(&mut out, 1.5e-7);
        assert_eq!(s(out), "1.5e-07");
    }

    #[test]
    fn labels_and_series_bodies() {
        assert_eq!(
            s(labels_body(&["app".to_string(), "job".to_string()])),
            r#"{"status":"success","data":["app","job"]}"#
        );
        assert_eq!(s(labels_body(&[])), r#"{"status":"success"}"#);
        assert_eq!(
            s(series_body(&[
                LabelSet::from_pairs([("job", "api"), ("app", "checkout")]),
                LabelSet::from_pairs([("job", "x")])
            ])),
            r#"{"status":"success","data":[{"app":"checkout","job":"api"},{"job":"x"}]}"#
        );
        assert_eq!(s(series_body(&[])), r#"{"status":"success","data":[]}"#);
    }

    #[test]
    fn legacy_body_and_rfc3339() {
        assert_eq!(
            rfc3339_nano(1_795_136_400_000_000_000),
            "2026-11-20T01:00:00Z"
        );
        assert_eq!(
            rfc3339_nano(1_795_136_400_120_000_000),
            "2026-11-20T01:00:00.12Z"
        );
        let body = s(legacy_streams_body(&[Stream {
            labels: LabelSet::from_pairs([("job", "a")]),
            entries: vec![(1_795_136_400_000_000_001, "l".to_string())],
        }]));
        assert_eq!(
            body,
            r#"{"streams":[{"labels":"{job=\"a\"}","entries":[{"ts":"2026-11-20T01:00:00.000000001Z","line":"l"}]}]}"#
        );
    }
}
