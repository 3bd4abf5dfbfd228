//! Loki's HTTP API on axum.
//!
//! [`router`] maps Loki's routes to handlers, one module per concern: [`push`] (write
//! path), [`query`] (LogQL queries), [`labels`] (labels, label values, series),
//! [`admin`] (ready, metrics, flush, config, build info). Request parameters are parsed
//! in [`params`], results encoded in [`response`], tenants resolved in [`tenant`].
//! Every route runs inside a middleware that records `loki_request_duration_seconds`
//! and turns a panicking handler into a 500 answer instead of a dead connection.
//! Errors are plain-text bodies with Loki's status codes and wording.

pub mod admin;
pub mod backend;
pub mod labels;
pub mod logproto;
pub mod metrics;
pub mod params;
pub mod push;
pub mod query;
pub mod response;
pub mod tenant;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::FutureExt;

use crate::config::Config;
pub use backend::{Backend, Services};
use metrics::HttpMetrics;

/// Everything a handler needs; cheap to clone.
pub struct AppState<B> {
    /// The write/read services.
    pub backend: Arc<B>,
    /// `auth_enabled`.
    pub auth_enabled: bool,
    /// `querier.multi_tenant_queries_enabled`.
    pub multi_tenant: bool,
    /// `distributor.max_recv_msg_size` in bytes.
    pub max_recv_msg_size: usize,
    /// `frontend.max_body_size` in bytes (query requests sent as POST forms).
    pub max_query_body_size: usize,
    /// `limits_config.query_timeout`.
    pub query_timeout: Duration,
    /// The effective config as YAML, for `GET /config`.
    pub config_yaml: Arc<str>,
    /// The process's metrics registry, for `GET /metrics`.
    pub registry: prometheus::Registry,
    /// HTTP request metrics.
    pub metrics: Arc<HttpMetrics>,
}

impl<B> Clone for AppState<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            auth_enabled: self.auth_enabled,
            multi_tenant: self.multi_tenant,
            max_recv_msg_size: self.max_recv_msg_size,
            max_query_body_size: self.max_query_body_size,
            query_timeout: self.query_timeout,
            config_yaml: self.config_yaml.clone(),
            registry: self.registry.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl<B: Backend> AppState<B> {
    /// State for `backend` configured by `config`; registers the HTTP metrics in
    /// `registry`.
    pub fn new(
        backend: Arc<B>,
        config: &Config,
        registry: prometheus::Registry,
    ) -> Result<Self, prometheus::Error> {
        let metrics = Arc::new(HttpMetrics::register(&registry)?);
        let query_timeout = match config.limits_config.query_timeout.get() {
            d if d.is_zero() => Duration::from_secs(300),
            d => d,
        };
        Ok(Self {
            backend,
            auth_enabled: config.auth_enabled,
            multi_tenant: config.querier.multi_tenant_queries_enabled,
            max_recv_msg_size: usize::try_from(config.distributor.max_recv_msg_size.0)
                .unwrap_or(usize::MAX),
            max_query_body_size: usize::try_from(config.frontend.max_body_size.0)
                .unwrap_or(usize::MAX),
            query_timeout,
            config_yaml: config.to_yaml().into(),
            registry,
            metrics,
        })
    }
}

/// A plain-text error answer, as Go's `http.Error` writes it.
pub fn error_response(status: StatusCode, message: impl std::fmt::Display) -> Response {
    let mut body = message.to_string();
    body.push('\n');
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// An error answer not yet rendered: keeps `Result`s of helpers small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Plain-text body (without the trailing newline).
    pub message: String,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, self.message)
    }
}

/// A 200 answer with a JSON body.
pub fn json_response(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// Loki's route label: the matched path with every non-alphanumeric run as `_`,
/// e.g. `/loki/api/v1/label/{name}/values` -> `loki_api_v1_label_name_values`.
pub fn route_name(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Times every request and converts handler panics into 500 answers.
async fn instrument(State(m): State<Arc<HttpMetrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| route_name(p.as_str()))
        .unwrap_or_else(|| "other".to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let inflight = m
        .inflight
        .with_label_values(&[method.as_str(), route.as_str()]);
    inflight.inc();
    let resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic_message(panic.as_ref());
            tracing::error!(route = %route, panic = %msg, "handler panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {msg}"),
            )
        }
    };
    inflight.dec();
    let status = resp.status().as_u16().to_string();
    m.request_duration
        .with_label_values(&[method.as_str(), route.as_str(), status.as_str(), "false"])
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// All of Loki's HTTP routes for `state`, under `http_path_prefix` if set.
pub fn router<B: Backend>(state: AppState<B>, http_path_prefix: &str) -> Router {
    router_for(state, http_path_prefix, Routes::ALL)
}

/// Which groups of routes a process mounts (its `-target` roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routes {
    /// Push endpoints (distributor).
    pub writes: bool,
    /// Query, label and series endpoints (query frontend).
    pub reads: bool,
}

impl Routes {
    /// Every route (single binary).
    pub const ALL: Routes = Routes {
        writes: true,
        reads: true,
    };
}

/// Loki's HTTP routes of the roles in `routes`, plus the operational ones.
pub fn router_for<B: Backend>(
    state: AppState<B>,
    http_path_prefix: &str,
    routes: Routes,
) -> Router {
    let push_limit = DefaultBodyLimit::max(state.max_recv_msg_size);
    let query_limit = DefaultBodyLimit::max(state.max_query_body_size);
    let writes = Router::new()
        .route("/loki/api/v1/push", post(push::push_v1::<B>))
        .route("/api/prom/push", post(push::push_legacy::<B>))
        .layer(push_limit);
    let reads = Router::new()
        .route(
            "/loki/api/v1/query_range",
            get(query::query_range::<B>).post(query::query_range::<B>),
        )
        .route(
            "/loki/api/v1/query",
            get(query::query_instant::<B>).post(query::query_instant::<B>),
        )
        .route(
            "/loki/api/v1/format_query",
            get(query::format_query::<B>).post(query::format_query::<B>),
        )
        .route(
            "/api/prom/query",
            get(query::legacy_query::<B>).post(query::legacy_query::<B>),
        )
        .route(
            "/loki/api/v1/labels",
            get(labels::label_names::<B>).post(labels::label_names::<B>),
        )
        .route(
            "/loki/api/v1/label",
            get(labels::label_names::<B>).post(labels::label_names::<B>),
        )
        .route(
            "/loki/api/v1/label/{name}/values",
            get(labels::label_values::<B>).post(labels::label_values::<B>),
        )
        .route(
            "/loki/api/v1/series",
            get(labels::series::<B>).post(labels::series::<B>),
        )
        .route(
            "/api/prom/label",
            get(labels::legacy_label_names::<B>).post(labels::legacy_label_names::<B>),
        )
        .route(
            "/api/prom/label/{name}/values",
            get(labels::legacy_label_values::<B>).post(labels::legacy_label_values::<B>),
        )
        .route(
            "/api/prom/series",
            get(labels::series::<B>).post(labels::series::<B>),
        )
        .layer(query_limit);
    let admin = Router::new()
        .route("/ready", get(admin::ready))
        .route("/metrics", get(admin::metrics::<B>))
        .route("/flush", post(admin::flush::<B>).get(admin::flush::<B>))
        .route("/config", get(admin::config::<B>))
        .route("/services", get(admin::services))
        .route("/loki/api/v1/status/buildinfo", get(admin::buildinfo))
        .route(
            "/loki/api/v1/index/stats",
            get(admin::index_stats).post(admin::index_stats),
        );
    let metrics = state.metrics.clone();
    let mut app = Router::new().merge(admin);
    if routes.writes {
        app = app.merge(writes);
    }
    if routes.reads {
        app = app.merge(reads);
    }
    let app = app
        .with_state(state)
        .layer(middleware::from_fn_with_state(metrics, instrument));
    let prefix = http_path_prefix.trim_end_matches('/');
    if prefix.is_empty() {
        app
    } else {
        let prefix = if prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        };
        Router::new().nest(&prefix, app)
    }
}

#[cfg(test)]
mod tests;
