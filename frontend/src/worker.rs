//! In-process querier workers: single-binary mode runs the frontend's queue against the
//! local querier with the same fairness and cancellation as remote queriers.

use std::sync::Arc;

use querier::Querier;
use tokio::task::JoinHandle;

use crate::execute::execute;
use crate::metrics::FrontendMetrics;
use crate::queue::RequestQueue;

/// Starts a worker that takes jobs from `queue` as `worker_id` until aborted; a job
/// whose query goes away while it runs is abandoned.
pub fn spawn_local(
    queue: Arc<RequestQueue>,
    querier: Arc<Querier>,
    worker_id: String,
    metrics: FrontendMetrics,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let mut job = queue.next(&worker_id).await;
            let tenant = job.tenant.clone();
            let request = job.request.clone();
            tokio::select! {
                result = execute(&querier, &tenant, &request) => job.answer(result),
                _ = job.cancelled() => {
                    tracing::debug!(tenant, worker = worker_id, "sub-query abandoned by its client");
                    metrics.subqueries.with_label_values(&["abandoned"]).inc();
                }
            }
        }
    })
}
