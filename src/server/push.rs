//! `POST /loki/api/v1/push` and the legacy `POST /api/prom/push`: body decoding and the
//! handler.
//!
//! Bodies are Loki's three formats: JSON (`{"streams":[{"stream":{...},"values":[["<ns>",
//! "line", {metadata}]]}]}`), legacy JSON on `/api/prom/push` (`{"streams":[{"labels":
//! "{a=\"b\"}","entries":[{"ts":"<RFC3339>","line":"..."}]}]}`), and snappy block
//! compressed `logproto.PushRequest` protobuf (any other content type, what Promtail
//! sends). `Content-Encoding: gzip`/`deflate` is undone first; every decompression is
//! capped at `distributor.max_recv_msg_size`. As in Loki, a stream whose label string
//! does not parse is skipped, the other streams are stored, and the push answers 400
//! naming the bad labels.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest::{PushRequest, PushStream};
use logql::LabelSet;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use storage::Entry;

use super::backend::Backend;
use super::logproto;
use super::{AppState, error_response, tenant};

/// Bodies above this size are decoded on the blocking pool.
const BLOCKING_DECODE_THRESHOLD: usize = 64 * 1024;

/// Why a push body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Malformed body or unsupported framing (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body, or what it decompresses to, exceeds the configured maximum (413).
    #[error("received message larger than max ({size} vs {max})")]
    TooLarge {
        /// Bytes seen (a lower bound when decompression was cut off).
        size: usize,
        /// `distributor.max_recv_msg_size`.
        max: usize,
    },
}

impl PushError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            PushError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PushError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

/// How a body is framed: from the request's headers and path.
#[derive(Debug, Clone, Default)]
pub struct PushFormat {
    /// `Content-Type` media type, lowercased, without parameters.
    pub media_type: String,
    /// `Content-Encoding`, lowercased.
    pub encoding: String,
    /// The legacy `/api/prom/push` JSON shape.
    pub legacy: bool,
}

impl PushFormat {
    /// Reads the framing from request headers.
    pub fn from_headers(headers: &HeaderMap, legacy: bool) -> Self {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        };
        let content_type = get(header::CONTENT_TYPE);
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        Self {
            media_type,
            encoding: get(header::CONTENT_ENCODING),
            legacy,
        }
    }
}

/// A decoded push: the streams whose labels parsed, and Loki's error for the last stream
/// whose labels did not.
#[derive(Debug, Default)]
pub struct DecodedPush {
    /// Streams to store.
    pub request: PushRequest,
    /// `Error parsing labels '<labels>' with error: <why>`, if any stream was skipped.
    pub invalid_labels: Option<String>,
}

/// Decodes a push body; no allocation grows beyond `max_size` bytes of decompressed data.
pub fn decode_push(
    body: &[u8],
    format: &PushFormat,
    max_size: usize,
) -> Result<DecodedPush, PushError> {
    if body.len() > max_size {
        return Err(PushError::TooLarge {
            size: body.len(),
            max: max_size,
        });
    }
    let inflated;
    let body = match format.encoding.as_str() {
        "" | "identity" | "snappy" => body,
        "gzip" | "x-gzip" => {
            inflated = read_capped(flate2::read::GzDecoder::new(body), max_size, "gzip")?;
            &inflated[..]
        }
        "deflate" => {
            inflated = read_capped(flate2::read::DeflateDecoder::new(body), max_size, "flate")?;
            &inflated[..]
        }
        other => {
            return Err(PushError::BadRequest(format!(
                "Content-Encoding {other:?} not supported"
            )));
        }
    };
    if format.media_type == "application/json" {
        // A JSON body sent with `Content-Encoding: snappy` is snappy-compressed JSON.
        let unsnappied;
        let json = if format.encoding == "snappy" {
            unsnappied = snappy_decode(body, max_size)?;
            &unsnappied[..]
        } else {
            body
        };
        return if format.legacy {
            decode_legacy_json(json)
        } else {
            decode_json(json)
        };
    }
    decode_protobuf(&snappy_decode(body, max_size)?)
}

fn read_capped(reader: impl Read, max_size: usize, what: &str) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max_size)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| PushError::BadRequest(format!("{what}: {}", lower_first(&e.to_string()))))?;
    if out.len() > max_size {
        return Err(PushError::TooLarge {
            size: out.len(),
            max: max_size,
        });
    }
    Ok(out)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn snappy_decode(body: &[u8], max_size: usize) -> Result<Vec<u8>, PushError> {
    let corrupt = || PushError::BadRequest("snappy: corrupt input".to_string());
    let len = snap::raw::decompress_len(body).map_err(|_| corrupt())?;
    if len > max_size {
        return Err(PushError::TooLarge {
            size: len,
            max: max_size,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|_| corrupt())
}

fn labels_error(labels: &str, why: impl std::fmt::Display) -> String {
    format!("Error parsing labels '{labels}' with error: {why}")
}

/// Decodes an uncompressed `logproto.PushRequest`.
pub fn decode_protobuf(bytes: &[u8]) -> Result<DecodedPush, PushError> {
    let msg = <logproto::PushRequest as prost::Message>::decode(bytes)
        .map_err(|e| PushError::BadRequest(format!("decode protobuf push request: {e}")))?;
    let mut out = DecodedPush::default();
    out.request.streams.reserve(msg.streams.len());
    for stream in msg.streams {
        let text = logproto::into_string(stream.labels);
        let labels = match LabelSet::parse(&text) {
            Ok(l) => l,
            Err(e) => {
                out.invalid_labels = Some(labels_error(&text, e));
                continue;
            }
        };
        let mut entries = Vec::with_capacity(stream.entries.len());
        for e in stream.entries {
            let ts = match e.timestamp {
                Some(t) => t
                    .seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|s| s.checked_add(i64::from(t.nanos)))
                    .ok_or_else(|| {
                        PushError::BadRequest(format!(
                            "entry timestamp out of range: {}s {}ns",
                            t.seconds, t.nanos
                        ))
                    })?,
                None => 0,
            };
            entries.push(Entry {
                ts,
                line: logproto::into_string(e.line),
                metadata: e
                    .structured_metadata
                    .into_iter()
                    .map(|p| {
                        (
                            logproto::into_string(p.name),
                            logproto::into_string(p.value),
                        )
                    })
                    .collect(),
            });
        }
        out.request.streams.push(PushStream { labels, entries });
    }
    Ok(out)
}

/// A JSON object of string values, kept as pairs in document order.
#[derive(Default)]
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Pairs, E> {
                Ok(Pairs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, val)) = map.next_entry::<String, String>()? {
                    v.push((k, val));
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `["<ns>", "line", {metadata}]` value.
struct JsonEntry(Entry);

impl<'de> Deserialize<'de> for JsonEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "an entry [\"<unix ns>\", \"<line>\"] or [\"<unix ns>\", \"<line>\", {...}]",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonEntry, A::Error> {
                let ts: JsonTs = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let line: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let metadata: Option<Pairs> = seq.next_element()?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "error reading entry: array must contain 2 or 3 values",
                    ));
                }
                Ok(JsonEntry(Entry {
                    ts: ts.0,
                    line,
                    metadata: metadata.map(|m| m.0).unwrap_or_default(),
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A timestamp in ns: a string as Loki requires, or (leniently) a JSON integer.
struct JsonTs(i64);

impl<'de> Deserialize<'de> for JsonTs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = JsonTs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a timestamp string in unix nanoseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonTs, E> {
                v.parse::<i64>().map(JsonTs).map_err(|_| {
                    E::custom(format!(
                        "error reading entry timestamp: strconv.ParseInt: parsing {v:?}: invalid syntax"
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonTs, E> {
                Ok(JsonTs(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonTs, E> {
                i64::try_from(v)
                    .map(JsonTs)
                    .map_err(|_| E::custom("error reading entry timestamp: value out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct JsonPush {
    #[serde(default)]
    streams: Option<Vec<JsonStream>>,
}

#[derive(Deserialize)]
struct JsonStream {
    #[serde(default)]
    stream: Pairs,
    #[serde(default)]
    values: Option<Vec<JsonEntry>>,
}

/// Decodes the v1 JSON push body.
pub fn decode_json(bytes: &[u8]) -> Result<DecodedPush, PushError> {
    let push: JsonPush = serde_json::from_slice(bytes)
        .map_err(|e| PushError::BadRequest(format!("decode json push request: {e}")))?;
    let streams = push
        .streams
        .unwrap_or_default()
        .into_iter()
        .map(|s| PushStream {
            labels: LabelSet::from_pairs(s.stream.0),
            entries: s
                .values
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.0)
                .collect(),
        })
        .collect();
    Ok(DecodedPush {
        request: PushRequest { streams },
        invalid_labels: None,
    })
}

#[derive(Deserialize)]
struct LegacyPush {
    #[serde(default)]
    streams: Option<Vec<LegacyStream>>,
}

#[derive(Deserialize)]
struct LegacyStream {
    #[serde(default)]
    labels: String,
    #[serde(default)]
    entries: Option<Vec<LegacyEntry>>,
}

#[derive(Deserialize)]
struct LegacyEntry {
    ts: String,
    #[serde(default)]
    line: String,
}

/// Decodes the legacy `/api/prom/push` JSON body.
pub fn decode_legacy_json(bytes: &[u8]) -> Result<DecodedPush, PushError> {
    let push: LegacyPush = serde_json::from_slice(bytes)
        .map_err(|e| PushError::BadRequest(format!("decode json push request: {e}")))?;
    let mut out = DecodedPush::default();
    for s in push.streams.unwrap_or_default() {
        let labels = match LabelSet::parse(&s.labels) {
            Ok(l) => l,
            Err(e) => {
                out.invalid_labels = Some(labels_error(&s.labels, e));
                continue;
            }
        };
        let mut entries = Vec::new();
        for e in s.entries.unwrap_or_default() {
            let ts = chrono::DateTime::parse_from_rfc3339(&e.ts)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .ok_or_else(|| {
                    PushError::BadRequest(format!(
                        "invalid entry timestamp {:?}: want RFC3339",
                        e.ts
                    ))
                })?;
            entries.push(Entry {
                ts,
                line: e.line,
                metadata: Vec::new(),
            });
        }
        out.request.streams.push(PushStream { labels, entries });
    }
    Ok(out)
}

/// `POST /loki/api/v1/push`.
pub async fn push_v1<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle_push(state, headers, body, false).await
}

/// `POST /api/prom/push`.
pub async fn push_legacy<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle_push(state, headers, body, true).await
}

async fn handle_push<B: Backend>(
    state: AppState<B>,
    headers: HeaderMap,
    body: Bytes,
    legacy: bool,
) -> Response {
    let tenant = match tenant::push_tenant(&headers, state.auth_enabled) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let format = PushFormat::from_headers(&headers, legacy);
    let max = state.max_recv_msg_size;
    let decoded = if body.len() > BLOCKING_DECODE_THRESHOLD {
        match tokio::task::spawn_blocking(move || decode_push(&body, &format, max)).await {
            Ok(r) => r,
            Err(e) => {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("decode push request: {e}"),
                );
            }
        }
    } else {
        decode_push(&body, &format, max)
    };
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => return error_response(e.status(), e),
    };
    if (!decoded.request.streams.is_empty() || decoded.invalid_labels.is_none())
        && let Err(e) = state.backend.push(&tenant, decoded.request).await
    {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error_response(status, e);
    }
    match decoded.invalid_labels {
        Some(msg) => error_response(StatusCode::BAD_REQUEST, msg),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MAX: usize = 1 << 20;

    fn fmt(media: &str, enc: &str, legacy: bool) -> PushFormat {
        PushFormat {
            media_type: media.to_string(),
            encoding: enc.to_string(),
            legacy,
        }
    }

    const JSON: &str = r#"{"streams":[{"stream":{"job":"api","app":"a"},"values":[["1795132800000000000","line one"],["1795132800000000001","line \"two\"",{"trace_id":"abc","user":"u"}]]}]}"#;

    fn check_json_result(d: &DecodedPush) {
        assert!(d.invalid_labels.is_none());
        assert_eq!(d.request.streams.len(), 1);
        let s = &d.request.streams[0];
        assert_eq!(s.labels.to_string(), r#"{app="a", job="api"}"#);
        assert_eq!(
            s.entries,
            vec![
                Entry {
                    ts: 1_795_132_800_000_000_000,
                    line: "line one".to_string(),
                    metadata: vec![]
                },
                Entry {
                    ts: 1_795_132_800_000_000_001,
                    line: "line \"two\"".to_string(),
                    metadata: vec![
                        ("trace_id".to_string(), "abc".to_string()),
                        ("user".to_string(), "u".to_string())
                    ]
                },
            ]
        );
    }

    #[test]
    fn json_push() {
        let d = decode_push(JSON.as_bytes(), &fmt("application/json", "", false), MAX).unwrap();
        check_json_result(&d);
    }

    #[test]
    fn gzip_json_push() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(JSON.as_bytes()).unwrap();
        let body = gz.finish().unwrap();
        let d = decode_push(&body, &fmt("application/json", "gzip", false), MAX).unwrap();
        check_json_result(&d);
        // the decompressed size is capped too, not only the body
        let max = body.len() + 5;
        assert!(JSON.len() > max);
        let err = decode_push(&body, &fmt("application/json", "gzip", false), max).unwrap_err();
        assert_eq!(err, PushError::TooLarge { size: max + 1, max });
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let err =
            decode_push(b"not gzip", &fmt("application/json", "gzip", false), MAX).unwrap_err();
        assert!(
            matches!(err, PushError::BadRequest(ref m) if m.starts_with("gzip: ")),
            "{err}"
        );
    }

    fn proto_body() -> Vec<u8> {
        let req = logproto::PushRequest {
            streams: vec![
                logproto::StreamAdapter {
                    labels: br#"{job="api", app="a"}"#.to_vec(),
                    entries: vec![
                        logproto::EntryAdapter {
                            timestamp: Some(logproto::Timestamp {
                                seconds: 1_795_132_800,
                                nanos: 0,
                            }),
                            line: b"line one".to_vec(),
                            structured_metadata: vec![],
                        },
                        logproto::EntryAdapter {
                            timestamp: Some(logproto::Timestamp {
                                seconds: 1_795_132_800,
                                nanos: 1,
                            }),
                            line: b"line \"two\"".to_vec(),
                            structured_metadata: vec![
                                logproto::LabelPairAdapter {
                                    name: b"trace_id".to_vec(),
                                    value: b"abc".to_vec(),
                                },
                                logproto::LabelPairAdapter {
                                    name: b"user".to_vec(),
                                    value: b"u".to_vec(),
                                },
                            ],
                        },
                    ],
                    hash: 0,
                },
                logproto::StreamAdapter {
                    labels: br#"{job="api""#.to_vec(),
                    entries: vec![],
                    hash: 0,
                },
            ],
        };
        let raw = prost::Message::encode_to_vec(&req);
        snap::raw::Encoder::new().compress_vec(&raw).unwrap()
    }

    #[test]
    fn protobuf_snappy_push() {
        let body = proto_body();
        for media in ["application/x-protobuf", ""] {
            let d = decode_push(&body, &fmt(media, "", false), MAX).unwrap();
            assert_eq!(d.request.streams.len(), 1);
            check_json_result(&DecodedPush {
                request: d.request,
                invalid_labels: None,
            });
            let msg = d.invalid_labels.unwrap();
            assert!(
                msg.starts_with(r#"Error parsing labels '{job="api"' with error: "#),
                "{msg}"
            );
        }
        // Content-Encoding: snappy is the same body (Loki: clients sometimes set it)
        assert!(decode_push(&body, &fmt("application/x-protobuf", "snappy", false), MAX).is_ok());
        let err = decode_push(&body, &fmt("application/x-protobuf", "", false), 10).unwrap_err();
        assert!(matches!(err, PushError::TooLarge { max: 10, .. }));
        let err = decode_push(b"\xff\xff\xff\xff\xff", &fmt("", "", false), MAX).unwrap_err();
        assert_eq!(
            err,
            PushError::BadRequest("snappy: corrupt input".to_string())
        );
    }

    #[test]
    fn legacy_json_push() {
        let body = br#"{"streams":[{"labels":"{job=\"py\", level=\"INFO\"}","entries":[{"ts":"2026-11-20T00:00:00.5Z","line":"hello"}]}]}"#;
        let d = decode_push(body, &fmt("application/json", "", true), MAX).unwrap();
        assert!(d.invalid_labels.is_none());
        let s = &d.request.streams[0];
        assert_eq!(s.labels.to_string(), r#"{job="py", level="INFO"}"#);
        assert_eq!(s.entries[0].ts, 1_795_132_800_500_000_000);
        assert_eq!(s.entries[0].line, "hello");
        let bad =
            br#"{"streams":[{"labels":"{job=\"py\"}","entries":[{"ts":"yesterday","line":"x"}]}]}"#;
        assert_eq!(
            decode_push(bad, &fmt("application/json", "", true), MAX).unwrap_err(),
            PushError::BadRequest(
                "invalid entry timestamp \"yesterday\": want RFC3339".to_string()
            )
        );
    }

    #[test]
    fn bad_json_and_framing() {
        let f = fmt("application/json", "", false);
        let err = |b: &str| match decode_push(b.as_bytes(), &f, MAX).unwrap_err() {
            PushError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            err(r#"{"streams":[{"stream":{"a":"b"},"values":[["abc","x"]]}]}"#).contains(
                "error reading entry timestamp: strconv.ParseInt: parsing \"abc\": invalid syntax"
            )
        );
        assert!(
            err(r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x",{},"y"]]}]}"#)
                .contains("array must contain 2 or 3 values")
        );
        assert!(err("{").starts_with("decode json push request: "));
        // integer timestamps are accepted, empty bodies give no streams
        let d = decode_push(
            br#"{"streams":[{"stream":{"a":"b"},"values":[[5,"x"]]}]}"#,
            &f,
            MAX,
        )
        .unwrap();
        assert_eq!(d.request.streams[0].entries[0].ts, 5);
        assert!(
            decode_push(b"{}", &f, MAX)
                .unwrap()
                .request
                .streams
                .is_empty()
        );
        assert_eq!(
            decode_push(b"{}", &fmt("application/json", "br", false), MAX).unwrap_err(),
            PushError::BadRequest("Content-Encoding \"br\" not supported".to_string())
        );
        assert!(matches!(
            decode_push(&[0u8; 11], &f, 10).unwrap_err(),
            PushError::TooLarge { size: 11, max: 10 }
        ));
    }

    #[test]
    fn headers_to_format() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        h.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        let f = PushFormat::from_headers(&h, false);
        assert_eq!(
            (f.media_type.as_str(), f.encoding.as_str()),
            ("application/json", "gzip")
        );
    }
}
