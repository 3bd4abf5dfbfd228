//! Router-level tests against a fake backend.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use ingest::{IngestError, PushRequest};
use logql::LabelSet;
use querier::{
    InstantQuery, QueryData, QueryError, QueryResponse, QueryStats, RangeQuery, Sample, Stream,
};
use tower::ServiceExt;

use super::*;

/// (tenant, selectors, start, end) of a `/series` call.
type SeriesCall = (String, Vec<String>, i64, i64);

/// Records calls; answers canned data.
#[derive(Default)]
struct Fake {
    pushes: Mutex<Vec<(String, PushRequest)>>,
    ranges: Mutex<Vec<(String, RangeQuery)>>,
    instants: Mutex<Vec<(String, InstantQuery)>>,
    label_calls: Mutex<Vec<String>>,
    series_calls: Mutex<Vec<SeriesCall>>,
    flushes: Mutex<usize>,
    fail_push: Option<u16>,
    panic_on_query: bool,
}

impl Backend for Fake {
    async fn push(&self, tenant: &str, req: PushRequest) -> Result<(), IngestError> {
        if let Some(status) = self.fail_push {
            return Err(if status == 429 {
                IngestError::RateLimited("ingestion rate limit exceeded".into())
            } else {
                IngestError::BadRequest("stream has no labels".into())
            });
        }
        self.pushes.lock().unwrap().push((tenant.to_string(), req));
        Ok(())
    }

    async fn query_range(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse, QueryError> {
        if self.panic_on_query {
            panic!("not implemented yet");
        }
        self.ranges
            .lock()
            .unwrap()
            .push((tenant.to_string(), q.clone()));
        if q.query == "bad" {
            return Err(QueryError::BadRequest(
                "max entries limit per query exceeded, limit > max_entries_limit (6000 > 5000)"
                    .into(),
            ));
        }
        Ok(QueryResponse {
            data: QueryData::Streams(vec![Stream {
                labels: LabelSet::from_pairs([("job", "a")]),
                entries: vec![(1_795_136_400_000_000_000, "hello".to_string())],
            }]),
            stats: QueryStats::default(),
        })
    }

    async fn query_instant(
        &self,
        tenant: &str,
        q: &InstantQuery,
    ) -> Result<QueryResponse, QueryError> {
        self.instants
            .lock()
            .unwrap()
            .push((tenant.to_string(), q.clone()));
        Ok(QueryResponse {
            data: QueryData::Vector(vec![Sample {
                labels: LabelSet::from_pairs([("app", "x")]),
                ts: q.time,
                value: 1.5,
            }]),
            stats: QueryStats::default(),
        })
    }

    async fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        self.label_calls
            .lock()
            .unwrap()
            .push(format!("{tenant} {start} {end} {query:?}"));
        Ok(vec!["app".into(), "job".into()])
    }

    async fn label_values(
        &self,
        tenant: &str,
        name: &str,
        _start: i64,
        _end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        self.label_calls
            .lock()
            .unwrap()
            .push(format!("{tenant} {name} {query:?}"));
        if name == "nope" {
            return Ok(vec![]);
        }
        Ok(vec!["api".into()])
    }

    async fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> Result<Vec<LabelSet>, QueryError> {
        self.series_calls.lock().unwrap().push((
            tenant.to_string(),
            selectors.to_vec(),
            start,
            end,
        ));
        Ok(vec![LabelSet::from_pairs([("job", "api")])])
    }

    async fn flush(&self) -> Result<(), IngestError> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
}

fn app_with(fake: Fake, yaml: &str) -> (Router, Arc<Fake>) {
    let config = Config::from_yaml(yaml, "test").unwrap();
    let fake = Arc::new(fake);
    let state = AppState::new(fake.clone(), &config, prometheus::Registry::new()).unwrap();
    (router(state, &config.server.http_path_prefix), fake)
}

fn app() -> (Router, Arc<Fake>) {
    app_with(Fake::default(), "auth_enabled: false\n")
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn push_json_answers_204_and_reaches_backend() {
    let (app, fake) = app();
    let req = Request::post("/loki/api/v1/push")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"streams":[{"stream":{"job":"a"},"values":[["1","x"]]}]}"#,
        ))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let pushes = fake.pushes.lock().unwrap();
    assert_eq!(pushes[0].0, "fake");
    assert_eq!(pushes[0].1.streams[0].entries[0].line, "x");
}

#[tokio::test]
async fn push_protobuf_with_bad_labels_stores_the_rest_and_answers_400() {
    let (app, fake) = app();
    let msg = logproto::PushRequest {
        streams: vec![
            logproto::StreamAdapter {
                labels: br#"{job="ok"}"#.to_vec(),
                entries: vec![logproto::EntryAdapter {
                    timestamp: Some(logproto::Timestamp {
                        seconds: 1,
                        nanos: 5,
                    }),
                    line: b"l".to_vec(),
                    structured_metadata: vec![],
                }],
                hash: 0,
            },
            logproto::StreamAdapter {
                labels: b"{job=}".to_vec(),
                entries: vec![],
                hash: 0,
            },
        ],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(&msg))
        .unwrap();
    let req = Request::post("/loki/api/v1/push")
        .header("content-type", "application/x-protobuf")
        .body(Body::from(body))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("Error parsing labels '{job=}' with error: "),
        "{body}"
    );
    assert_eq!(
        fake.pushes.lock().unwrap()[0].1.streams[0].entries[0].ts,
        1_000_000_005
    );
}

#[tokio::test]
async fn push_errors_carry_ingest_status() {
    let (app, _) = app_with(
        Fake {
            fail_push: Some(429),
            ..Fake::default()
        },
        "auth_enabled: false\n",
    );
    let req = Request::post("/loki/api/v1/push")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"streams":[]}"#))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "ingestion rate limit exceeded\n"
        )
    );
    let req = Request::post("/loki/api/v1/push")
        .header("content-type", "application/json")
        .body(Body::from("{"))
        .unwrap();
    let (status, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auth_enabled_requires_org_id() {
    let (app, fake) = app_with(Fake::default(), "auth_enabled: true\n");
    let (status, body) = send(&app, get("/loki/api/v1/labels")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "no org id\n")
    );
    let req = Request::post("/loki/api/v1/push")
        .header("content-type", "application/json")
        .header("X-Scope-OrgID", "team-a")
        .body(Body::from(
            r#"{"streams":[{"stream":{"a":"b"},"values":[]}]}"#,
        ))
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::NO_CONTENT);
    assert_eq!(fake.pushes.lock().unwrap()[0].0, "team-a");
}

#[tokio::test]
async fn query_range_parses_params_and_encodes_streams() {
    let (app, fake) = app();
    let (status, body) = send(
        &app,
        get("/loki/api/v1/query_range?query=%7Bjob%3D%22a%22%7D&start=1795136400&end=1795136700.5&limit=10&direction=forward"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"a"},"values":[["1795136400000000000","hello"]]}],"stats":{"#), "{body}");
    let (tenant, q) = fake.ranges.lock().unwrap()[0].clone();
    assert_eq!(tenant, "fake");
    assert_eq!(q.query, "{job=\"a\"}");
    assert_eq!(
        (q.start, q.end),
        (1_795_136_400_000_000_000, 1_795_136_700_500_000_000)
    );
    assert_eq!((q.limit, q.direction), (10, querier::Direction::Forward));
}

#[tokio::test]
async fn query_range_form_post() {
    let (app, fake) = app();
    let req = Request::post("/loki/api/v1/query_range")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "query=%7Bjob%3D%22a%22%7D&start=1795136400&end=1795136460&step=5m",
        ))
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
    assert_eq!(fake.ranges.lock().unwrap()[0].1.step, 300_000_000_000);
}

#[tokio::test]
async fn query_errors_are_plain_text_with_loki_status() {
    let (app, _) = app();
    let (status, body) = send(
        &app,
        get("/loki/api/v1/query_range?query=x&start=1795136400000000000&end=1795132800000000000"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "end timestamp must not be before or equal to start time\n"
        )
    );
    let (status, body) = send(&app, get("/loki/api/v1/query?query=x&direction=sideways")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "invalid direction 'sideways'\n")
    );
    let (status, body) = send(&app, get("/loki/api/v1/query_range?query=bad")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("max entries limit per query exceeded"),
        "{body}"
    );
}

#[tokio::test]
async fn panicking_backend_gives_500_and_server_survives() {
    let (app, _) = app_with(
        Fake {
            panic_on_query: true,
            ..Fake::default()
        },
        "auth_enabled: false\n",
    );
    let (status, body) = send(&app, get("/loki/api/v1/query_range?query=x")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "internal error: not implemented yet\n");
    assert_eq!(
        send(&app, get("/ready")).await,
        (StatusCode::OK, "ready\n".to_string())
    );
}

#[tokio::test]
async fn instant_vector() {
    let (app, fake) = app();
    let (status, body) = send(&app, get("/loki/api/v1/query?query=x&time=1795136400")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"x"},"value":[1795136400,"1.5"]}],"stats":"#), "{body}");
    assert_eq!(fake.instants.lock().unwrap()[0].1.limit, 100);
}

#[tokio::test]
async fn labels_values_series() {
    let (app, fake) = app();
    let (status, body) = send(
        &app,
        get("/loki/api/v1/labels?start=1&end=2&query=%7Bjob%3D%22x%22%7D"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"status":"success","data":["app","job"]}"#
        )
    );
    assert_eq!(
        fake.label_calls.lock().unwrap()[0],
        "fake 1000000000 2000000000 Some(\"{job=\\\"x\\\"}\")"
    );
    let (_, body) = send(&app, get("/loki/api/v1/label/job/values")).await;
    assert_eq!(body, r#"{"status":"success","data":["api"]}"#);
    let (_, body) = send(&app, get("/loki/api/v1/label/nope/values")).await;
    assert_eq!(body, r#"{"status":"success"}"#);
    let (_, body) = send(&app, get("/api/prom/label/job/values")).await;
    assert_eq!(body, r#"{"values":["api"]}"#);
    let (status, body) = send(
        &app,
        get("/loki/api/v1/series?match[]=%7Bjob%3D%22api%22%7D&match%5B%5D=%7Bteam%3D%22x%22%7D&start=1795132800000000000&end=1795143600000000000"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"status":"success","data":[{"job":"api"}]}"#
        )
    );
    let call = fake.series_calls.lock().unwrap()[0].clone();
    assert_eq!(
        call.1,
        vec!["{job=\"api\"}".to_string(), "{team=\"x\"}".to_string()]
    );
    assert_eq!(
        (call.2, call.3),
        (1_795_132_800_000_000_000, 1_795_143_600_000_000_000)
    );
    let req = Request::post("/loki/api/v1/series")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("match[]=%7Ba%3D%22b%22%7D"))
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
    assert_eq!(
        fake.series_calls.lock().unwrap()[1].1,
        vec!["{a=\"b\"}".to_string()]
    );
}

#[tokio::test]
async fn admin_endpoints() {
    let (app, fake) = app();
    let req = Request::post("/flush").body(Body::empty()).unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::NO_CONTENT);
    assert_eq!(*fake.flushes.lock().unwrap(), 1);
    let (status, body) = send(&app, get("/config")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("auth_enabled: false"), "{body}");
    let (_, body) = send(&app, get("/loki/api/v1/status/buildinfo")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let _ = send(&app, get("/ready")).await;
    let (status, body) = send(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"loki_request_duration_seconds_count{method="GET",route="ready",status_code="200",ws="false"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"route="loki_api_v1_status_buildinfo""#),
        "{body}"
    );
}

#[tokio::test]
async fn path_prefix_nests_routes() {
    let (app, _) = app_with(
        Fake::default(),
        "auth_enabled: false\nserver:\n  http_path_prefix: /loki-gw\n",
    );
    assert_eq!(send(&app, get("/loki-gw/ready")).await.0, StatusCode::OK);
    assert_eq!(send(&app, get("/ready")).await.0, StatusCode::NOT_FOUND);
}

#[test]
fn route_names_like_loki() {
    assert_eq!(
        route_name("/loki/api/v1/label/{name}/values"),
        "loki_api_v1_label_name_values"
    );
    assert_eq!(
        route_name("/loki/api/v1/query_range"),
        "loki_api_v1_query_range"
    );
    assert_eq!(route_name("/ready"), "ready");
}
