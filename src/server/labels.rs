//! `/loki/api/v1/labels`, `/loki/api/v1/label/<name>/values`, `/loki/api/v1/series` and
//! their legacy `/api/prom/...` forms.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use querier::QueryError;

use super::backend::Backend;
use super::params::{self, Params};
use super::query::{TIMEOUT_MESSAGE, query_error};
use super::{ApiError, AppState, error_response, json_response, response, tenant};

/// Tenant, parameters and time bounds shared by the metadata endpoints.
struct Meta {
    tenant: String,
    params: Params,
    start: i64,
    end: i64,
}

fn meta<B: Backend>(
    state: &AppState<B>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Meta, ApiError> {
    let tenant =
        tenant::query_tenant(headers, state.auth_enabled, state.multi_tenant).map_err(|e| {
            ApiError {
                status: if e == tenant::TenantError::Missing {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                },
                message: e.to_string(),
            }
        })?;
    let params = Params::from_request(headers, query, body).map_err(ApiError::bad_request)?;
    let (start, end) =
        params::parse_bounds(&params, params::now_ns()).map_err(ApiError::bad_request)?;
    Ok(Meta {
        tenant,
        params,
        start,
        end,
    })
}

async fn with_timeout<B: Backend, T>(
    state: &AppState<B>,
    fut: impl std::future::Future<Output = Result<T, QueryError>>,
    encode: impl FnOnce(T) -> Vec<u8>,
) -> Response {
    match tokio::time::timeout(state.query_timeout, fut).await {
        Err(_) => error_response(StatusCode::GATEWAY_TIMEOUT, TIMEOUT_MESSAGE),
        Ok(Err(e)) => query_error(&e),
        Ok(Ok(v)) => json_response(encode(v)),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The legacy label body: `{"values":[...]}`.
fn legacy_values_body(values: Vec<String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + values.iter().map(|v| v.len() + 3).sum::<usize>());
    out.extend_from_slice(b"{\"values\":[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        response::write_str(&mut out, v);
    }
    out.extend_from_slice(b"]}");
    out
}

async fn names<B: Backend>(
    state: AppState<B>,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    encode: fn(Vec<String>) -> Vec<u8>,
) -> Response {
    let m = match meta(&state, &headers, query.as_deref(), &body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let selector = non_empty(m.params.get("query"));
    let fut = state
        .backend
        .label_names(&m.tenant, m.start, m.end, selector);
    with_timeout(&state, fut, encode).await
}

async fn values<B: Backend>(
    state: AppState<B>,
    name: String,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    encode: fn(Vec<String>) -> Vec<u8>,
) -> Response {
    let m = match meta(&state, &headers, query.as_deref(), &body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let selector = non_empty(m.params.get("query"));
    let fut = state
        .backend
        .label_values(&m.tenant, &name, m.start, m.end, selector);
    with_timeout(&state, fut, encode).await
}

/// `GET|POST /loki/api/v1/labels`.
pub async fn label_names<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    names(state, headers, query, body, |v| response::labels_body(&v)).await
}

/// `GET|POST /loki/api/v1/label/<name>/values`.
pub async fn label_values<B: Backend>(
    State(state): State<AppState<B>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    values(state, name, headers, query, body, |v| {
        response::labels_body(&v)
    })
    .await
}

/// `GET|POST /api/prom/label`.
pub async fn legacy_label_names<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    names(state, headers, query, body, legacy_values_body).await
}

/// `GET|POST /api/prom/label/<name>/values`.
pub async fn legacy_label_values<B: Backend>(
    State(state): State<AppState<B>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    values(state, name, headers, query, body, legacy_values_body).await
}

/// `GET|POST /loki/api/v1/series` (and `/api/prom/series`): `match[]` selectors,
/// repeated, in the query string or a form body.
pub async fn series<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let m = match meta(&state, &headers, query.as_deref(), &body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let selectors = params::series_selectors(&m.params);
    let fut = state.backend.series(&m.tenant, &selectors, m.start, m.end);
    with_timeout(&state, fut, |s| response::series_body(&s)).await
}
