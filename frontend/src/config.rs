//! Frontend settings (Loki's `query_range` / `limits_config` knobs the frontend uses).

use std::time::Duration;

/// How the frontend prepares queries before the querier runs them.
#[derive(Clone, Debug)]
pub struct FrontendConfig {
    /// Loki's `split_queries_by_interval` (default 30m); non-zero enables Loki's step
    /// alignment of metric range queries.
    pub split_queries_by_interval: Duration,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            split_queries_by_interval: Duration::from_secs(30 * 60),
        }
    }
}
