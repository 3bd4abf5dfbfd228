//! `/loki/api/v1/query_range`, `/loki/api/v1/query`, `/loki/api/v1/format_query` and the
//! legacy `/api/prom/query`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use querier::{QueryData, QueryError, QueryResponse};

use super::backend::Backend;
use super::params::{self, Params};
use super::{ApiError, AppState, error_response, json_response, response, tenant};

/// Loki's answer when a query runs past `query_timeout`.
pub const TIMEOUT_MESSAGE: &str = "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed";

/// Results with more entries or points than this are encoded on the blocking pool.
const BLOCKING_ENCODE_THRESHOLD: usize = 20_000;

/// The status and body of a failed query.
pub fn query_error(e: &QueryError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_response(status, e)
}

fn size(data: &QueryData) -> usize {
    match data {
        QueryData::Streams(s) => s.iter().map(|s| s.entries.len()).sum(),
        QueryData::Matrix(s) => s.iter().map(|s| s.points.len()).sum(),
        QueryData::Vector(s) => s.len(),
        QueryData::Scalar(..) => 1,
    }
}

/// Encodes a query result, off the async runtime when it is large.
pub async fn encode(resp: QueryResponse, legacy: bool) -> Response {
    let big = size(&resp.data) > BLOCKING_ENCODE_THRESHOLD;
    let run = move || match (&resp.data, legacy) {
        (QueryData::Streams(streams), true) => response::legacy_streams_body(streams),
        _ => response::query_body(&resp),
    };
    if !big {
        return json_response(run());
    }
    match tokio::task::spawn_blocking(run).await {
        Ok(body) => json_response(body),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encode query response: {e}"),
        ),
    }
}

/// Parses the request's parameters or answers 400.
fn params_or_400(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Params, ApiError> {
    Params::from_request(headers, query, body).map_err(ApiError::bad_request)
}

/// The tenant (401 without one when auth is on), the parameters and the query `parse`
/// reads from them (400 when either does not parse) of a query request.
fn parse_request<B: Backend, Q, E: std::fmt::Display>(
    state: &AppState<B>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    parse: impl FnOnce(&Params, i64) -> Result<Q, E>,
) -> Result<(String, Params, Q), Box<Response>> {
    let tenant = tenant::query_tenant(headers, state.auth_enabled, state.multi_tenant)
        .map_err(|e| Box::new(e.into_response()))?;
    let params = params_or_400(headers, query, body).map_err(|e| Box::new(e.into_response()))?;
    let q = parse(&params, params::now_ns())
        .map_err(|e| Box::new(error_response(StatusCode::BAD_REQUEST, e)))?;
    Ok((tenant, params, q))
}

async fn run_query<B, F>(state: &AppState<B>, fut: F, legacy: bool) -> Response
where
    B: Backend,
    F: std::future::Future<Output = Result<QueryResponse, QueryError>>,
{
    match tokio::time::timeout(state.query_timeout, fut).await {
        Err(_) => error_response(StatusCode::GATEWAY_TIMEOUT, TIMEOUT_MESSAGE),
        Ok(Err(e)) => query_error(&e),
        Ok(Ok(resp)) => encode(resp, legacy).await,
    }
}

/// `GET|POST /loki/api/v1/query_range`.
pub async fn query_range<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (tenant, _, q) = match parse_request(
        &state,
        &headers,
        query.as_deref(),
        &body,
        params::parse_range_query,
    ) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    run_query(&state, state.backend.query_range(&tenant, &q), false).await
}

/// `GET|POST /loki/api/v1/query`.
pub async fn query_instant<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (tenant, _, q) = match parse_request(
        &state,
        &headers,
        query.as_deref(),
        &body,
        params::parse_instant_query,
    ) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    run_query(&state, state.backend.query_instant(&tenant, &q), false).await
}

/// `GET|POST /api/prom/query`: Loki's legacy log query (`query`, `limit`, `start`,
/// `end`, `direction`, `regexp`), answered in the legacy stream shape.
pub async fn legacy_query<B: Backend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (tenant, params, mut q) = match parse_request(
        &state,
        &headers,
        query.as_deref(),
        &body,
        params::parse_range_query,
    ) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let regexp = params.get("regexp");
    if !regexp.is_empty() {
        let mut quoted = String::new();
        logql::labels::go_quote(regexp, &mut quoted);
        q.query = format!("{} |~ {quoted}", q.query);
    }
    run_query(&state, state.backend.query_range(&tenant, &q), true).await
}

/// `GET|POST /loki/api/v1/format_query`: the query in canonical form.
pub async fn format_query<B: Backend>(
    State(_state): State<AppState<B>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = match params_or_400(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let text = params.get("query");
    match logql::parse_expr(text) {
        Err(e) => error_response(StatusCode::BAD_REQUEST, e),
        Ok(expr) => {
            let formatted = logql::printer::format_query(&expr);
            let mut out = Vec::with_capacity(formatted.len() + 40);
            out.extend_from_slice(b"{\"status\":\"success\",\"data\":");
            response::write_str(&mut out, &formatted);
            out.push(b'}');
            json_response(out)
        }
    }
}
