//! Operational endpoints: `/ready`, `/metrics`, `/flush`, `/config`, `/services`,
//! `/loki/api/v1/status/buildinfo`, and `/loki/api/v1/index/stats`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::Encoder;

use super::backend::Backend;
use super::{AppState, error_response, json_response};

/// The version reported by `-version` and the build-info endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `GET /ready`: 200 once the server is serving (the WAL is replayed before it starts).
pub async fn ready() -> Response {
    text(
        StatusCode::OK,
        "ready\n".to_string(),
        "text/plain; charset=utf-8",
    )
}

/// `GET /metrics`: every registered metric in Prometheus text format.
pub async fn metrics<B: Backend>(State(state): State<AppState<B>>) -> Response {
    let encoder = prometheus::TextEncoder::new();
    let mut out = Vec::new();
    if let Err(e) = encoder.encode(&state.registry.gather(), &mut out) {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encode metrics: {e}"),
        );
    }
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// `POST /flush`: writes all in-memory data to storage, then answers 204.
pub async fn flush<B: Backend>(State(state): State<AppState<B>>) -> Response {
    match state.backend.flush().await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(status, e)
        }
    }
}

/// `GET /config`: the effective configuration as YAML, secrets masked.
pub async fn config<B: Backend>(State(state): State<AppState<B>>) -> Response {
    text(
        StatusCode::OK,
        state.config_yaml.to_string(),
        "text/plain; charset=utf-8",
    )
}

/// `GET /services`: the state of each module, as Loki lists it.
pub async fn services() -> Response {
    let body = [
        "server",
        "store",
        "ingester",
        "distributor",
        "querier",
        "query-frontend",
    ]
    .iter()
    .map(|s| format!("{s} => Running\n"))
    .collect::<String>();
    text(StatusCode::OK, body, "text/plain; charset=utf-8")
}

/// `GET /loki/api/v1/status/buildinfo`: version information in Loki's shape.
pub async fn buildinfo() -> Response {
    let body = format!(
        "{{\"version\":\"{VERSION}\",\"revision\":\"\",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}}"
    );
    json_response(body.into_bytes())
}

/// `GET|POST /loki/api/v1/index/stats`: Grafana asks this before running a query to
/// estimate its size. Fenrir does not track these statistics yet and answers zeros,
/// which Grafana treats as "unknown".
pub async fn index_stats() -> Response {
    json_response(b"{\"streams\":0,\"chunks\":0,\"bytes\":0,\"entries\":0}".to_vec())
}
