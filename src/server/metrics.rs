//! HTTP request metrics with Loki's names, so Loki's dashboards work unchanged.

use prometheus::{HistogramOpts, HistogramVec, IntGaugeVec, Opts, Registry};

/// Request metrics of the HTTP server.
pub struct HttpMetrics {
    /// `loki_request_duration_seconds{method,route,status_code,ws}`.
    pub request_duration: HistogramVec,
    /// `loki_inflight_requests{method,route}`.
    pub inflight: IntGaugeVec,
}

impl HttpMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "loki_request_duration_seconds",
                "Time (in seconds) spent serving HTTP requests.",
            ),
            &["method", "route", "status_code", "ws"],
        )?;
        let inflight = IntGaugeVec::new(
            Opts::new(
                "loki_inflight_requests",
                "Current number of inflight requests.",
            ),
            &["method", "route"],
        )?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(inflight.clone()))?;
        Ok(Self {
            request_duration,
            inflight,
        })
    }
}
