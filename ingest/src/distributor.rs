//! The distributor: validates pushes and applies per-tenant rate limits.

use std::sync::Arc;

use crate::{Limits, PushRequest, Result, ingester::Ingester};

/// Validates and rate-limits pushes, then hands them to the ingester.
pub struct Distributor {
    _limits: Limits,
    _ingester: Arc<Ingester>,
}

impl Distributor {
    /// A distributor in front of one ingester (single-binary mode).
    pub fn new(limits: Limits, ingester: Arc<Ingester>) -> Self {
        Self {
            _limits: limits,
            _ingester: ingester,
        }
    }

    /// Validates `req` for `tenant` and writes it; returns once it is durable.
    pub async fn push(&self, _tenant: &str, _req: PushRequest) -> Result<()> {
        todo!("distributor push")
    }
}
