//! Per-tenant request queues with fair dispatch, as Loki's frontend and scheduler keep
//! them: each tenant has its own bounded FIFO (`max_outstanding_per_tenant`; past it the
//! request is refused with 429), queriers take work round-robin over the tenants that
//! have some, and `max_queriers_per_tenant` pins a tenant to a stable subset of queriers
//! so one tenant cannot occupy all of them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use parking_lot::Mutex;
use prometheus::{Histogram, IntGauge, IntGaugeVec};
use tokio::sync::{Notify, oneshot};

use crate::request::{SubRequest, SubResult};

/// Loki's answer when a tenant's queue is full (HTTP 429).
pub const TOO_MANY_OUTSTANDING: &str = "too many outstanding requests";

/// One queued sub-request and the way back to the query waiting for it.
#[derive(Debug)]
pub struct Job {
    /// Tenant that asked.
    pub tenant: String,
    /// What to run.
    pub request: SubRequest,
    /// When it was queued (queue wait metric).
    pub enqueued: Instant,
    reply: oneshot::Sender<SubResult>,
}

impl Job {
    /// A job and the receiver its answer arrives on.
    pub fn new(tenant: &str, request: SubRequest) -> (Job, oneshot::Receiver<SubResult>) {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            tenant: tenant.to_string(),
            request,
            enqueued: Instant::now(),
            reply,
        };
        (job, rx)
    }

    /// True once nobody waits for the answer (client gone, query timed out or already
    /// answered elsewhere): the work can be skipped or abandoned.
    pub fn is_cancelled(&self) -> bool {
        self.reply.is_closed()
    }

    /// Completes when the waiting query goes away; used to abort running work.
    pub async fn cancelled(&mut self) {
        self.reply.closed().await
    }

    /// Hands the answer back; a vanished waiter is not an error.
    pub fn answer(self, result: SubResult) {
        let _ = self.reply.send(result);
    }
}

/// The queue is full for this tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many outstanding requests")]
pub struct QueueFull;

#[derive(Default)]
struct State {
    /// Pending jobs per tenant; a tenant is present only while it has jobs.
    pending: BTreeMap<String, VecDeque<Job>>,
    /// Round-robin cursor: the tenant served last.
    last_tenant: Option<String>,
    /// Connected queriers (worker ids), each with its number of connections.
    queriers: BTreeMap<String, usize>,
}

/// Fair, bounded per-tenant queues shared by the frontend and every querier worker.
pub struct RequestQueue {
    state: Mutex<State>,
    ready: Notify,
    max_outstanding_per_tenant: usize,
    max_queriers_per_tenant: usize,
    metrics: Option<QueueMetrics>,
}

/// Queue length per tenant, queue wait and connected queriers.
struct QueueMetrics {
    length: IntGaugeVec,
    wait: Histogram,
    connected: Option<IntGauge>,
}

impl RequestQueue {
    /// A queue refusing more than `max_outstanding_per_tenant` pending jobs per tenant;
    /// `max_queriers_per_tenant` 0 lets every querier serve every tenant.
    pub fn new(max_outstanding_per_tenant: usize, max_queriers_per_tenant: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            max_outstanding_per_tenant,
            max_queriers_per_tenant,
            metrics: None,
        }
    }

    /// Like [`RequestQueue::new`], reporting queue length per tenant to `length` and time
    /// spent queued to `wait`.
    pub fn with_metrics(
        max_outstanding_per_tenant: usize,
        max_queriers_per_tenant: usize,
        length: IntGaugeVec,
        wait: Histogram,
    ) -> Self {
        Self {
            metrics: Some(QueueMetrics {
                length,
                wait,
                connected: None,
            }),
            ..Self::new(max_outstanding_per_tenant, max_queriers_per_tenant)
        }
    }

    /// Also reports the number of querier connections to `connected`.
    pub fn with_connected_gauge(mut self, connected: IntGauge) -> Self {
        if let Some(m) = &mut self.metrics {
            m.connected = Some(connected);
        }
        self
    }

    fn report_connected(&self, st: &State) {
        if let Some(g) = self.metrics.as_ref().and_then(|m| m.connected.as_ref()) {
            let n: usize = st.queriers.values().sum();
            g.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    fn report_len(&self, tenant: &str, len: usize) {
        if let Some(m) = &self.metrics {
            m.length
                .with_label_values(&[tenant])
                .set(i64::try_from(len).unwrap_or(i64::MAX));
        }
    }

    /// Queues `job`, or refuses it when its tenant already has the maximum pending.
    pub fn enqueue(&self, job: Job) -> Result<(), QueueFull> {
        let mut st = self.state.lock();
        let q = st.pending.entry(job.tenant.clone()).or_default();
        q.retain(|j| !j.is_cancelled());
        if q.len() >= self.max_outstanding_per_tenant {
            return Err(QueueFull);
        }
        let tenant = job.tenant.clone();
        q.push_back(job);
        let len = q.len();
        drop(st);
        self.report_len(&tenant, len);
        self.ready.notify_waiters();
        Ok(())
    }

    /// Pending jobs of `tenant`.
    pub fn len(&self, tenant: &str) -> usize {
        self.state
            .lock()
            .pending
            .get(tenant)
            .map_or(0, VecDeque::len)
    }

    /// True when no tenant has pending jobs.
    pub fn is_empty(&self) -> bool {
        self.state.lock().pending.is_empty()
    }

    /// Announces a querier worker; call [`RequestQueue::unregister_querier`] when it goes.
    pub fn register_querier(&self, querier_id: &str) {
        let mut st = self.state.lock();
        *st.queriers.entry(querier_id.to_string()).or_default() += 1;
        self.report_connected(&st);
        drop(st);
        self.ready.notify_waiters();
    }

    /// Forgets one connection of a querier worker.
    pub fn unregister_querier(&self, querier_id: &str) {
        let mut st = self.state.lock();
        if let Some(n) = st.queriers.get_mut(querier_id) {
            *n -= 1;
            if *n == 0 {
                st.queriers.remove(querier_id);
            }
        }
        self.report_connected(&st);
        drop(st);
        self.ready.notify_waiters();
    }

    /// The next job `querier_id` may run, waiting until there is one: tenants are served
    /// round-robin, skipping tenants whose querier subset excludes this querier and jobs
    /// whose waiter has gone.
    pub async fn next(&self, querier_id: &str) -> Job {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(job) = self.try_next(querier_id) {
                return job;
            }
            notified.await;
        }
    }

    /// The next job for `querier_id`, if one is pending now.
    pub fn try_next(&self, querier_id: &str) -> Option<Job> {
        let mut st = self.state.lock();
        let tenants: Vec<String> = st.pending.keys().cloned().collect();
        if tenants.is_empty() {
            return None;
        }
        // round-robin: start after the tenant served last
        let first = match &st.last_tenant {
            Some(last) => tenants.iter().position(|t| t > last).unwrap_or(0),
            None => 0,
        };
        for i in 0..tenants.len() {
            let tenant = &tenants[(first + i) % tenants.len()];
            if !self.may_serve(&st.queriers, tenant, querier_id) {
                continue;
            }
            let Some(q) = st.pending.get_mut(tenant) else {
                continue;
            };
            let mut found = None;
            while let Some(job) = q.pop_front() {
                if !job.is_cancelled() {
                    found = Some(job);
                    break;
                }
            }
            let left = q.len();
            if left == 0 {
                st.pending.remove(tenant);
            }
            self.report_len(tenant, left);
            if let Some(job) = found {
                st.last_tenant = Some(tenant.clone());
                if let Some(m) = &self.metrics {
                    m.wait.observe(job.enqueued.elapsed().as_secs_f64());
                }
                return Some(job);
            }
        }
        None
    }

    /// Whether `querier_id` is among the queriers `tenant` may use.
    fn may_serve(
        &self,
        queriers: &BTreeMap<String, usize>,
        tenant: &str,
        querier_id: &str,
    ) -> bool {
        let limit = self.max_queriers_per_tenant;
        if limit == 0 || queriers.len() <= limit || !queriers.contains_key(querier_id) {
            // unknown ids (in-process callers) and small fleets serve everyone
            return true;
        }
        tenant_queriers(tenant, queriers.keys(), limit).contains(querier_id)
    }
}

/// A stable subset of `limit` queriers for `tenant` (shuffle sharding): the queriers with
/// the smallest hash of (tenant, querier id), so the subset changes little when queriers
/// come and go.
fn tenant_queriers<'a>(
    tenant: &str,
    queriers: impl Iterator<Item = &'a String>,
    limit: usize,
) -> BTreeSet<&'a str> {
    let mut ranked: Vec<(u64, &str)> = queriers
        .map(|q| {
            let key = format!("{tenant}\u{0}{q}");
            (xxhash_rust::xxh3::xxh3_64(key.as_bytes()), q.as_str())
        })
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().take(limit).map(|(_, q)| q).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(tenant: &str, n: i64) -> Job {
        Job::new(
            tenant,
            SubRequest::LabelNames {
                start: n,
                end: n,
                query: None,
            },
        )
        .0
    }

    fn start_of(job: &Job) -> i64 {
        match job.request {
            SubRequest::LabelNames { start, .. } => start,
            _ => -1,
        }
    }

    #[test]
    fn full_tenant_queue_refuses_but_other_tenants_still_queue() {
        let q = RequestQueue::new(2, 0);
        let mut keep = Vec::new();
        for i in 0..2 {
            let (job, rx) = Job::new("a", labels("a", i).request);
            keep.push(rx);
            q.enqueue(job).unwrap();
        }
        let (job, _rx) = Job::new("a", labels("a", 9).request);
        assert_eq!(q.enqueue(job), Err(QueueFull));
        let (job, _rx_b) = Job::new("b", labels("b", 0).request);
        assert_eq!(q.enqueue(job), Ok(()));
        assert_eq!((q.len("a"), q.len("b")), (2, 1));
    }

    #[test]
    fn tenants_are_served_round_robin_and_cancelled_jobs_skipped() {
        let q = RequestQueue::new(10, 0);
        let mut keep = Vec::new();
        for (t, n) in [("a", 0), ("a", 1), ("a", 2), ("b", 10), ("b", 11)] {
            let (job, rx) = Job::new(t, labels(t, n).request);
            keep.push((n, rx));
            q.enqueue(job).unwrap();
        }
        // the waiter of a/1 goes away
        keep.retain(|(n, _)| *n != 1);
        let order: Vec<i64> = std::iter::from_fn(|| q.try_next("w"))
            .map(|j| start_of(&j))
            .collect();
        assert_eq!(order, [0, 10, 2, 11]);
        assert!(q.is_empty());
    }

    #[test]
    fn max_queriers_per_tenant_pins_a_tenant_to_a_subset() {
        let q = RequestQueue::new(100, 1);
        for w in ["q1", "q2", "q3"] {
            q.register_querier(w);
        }
        let mut keep = Vec::new();
        for n in 0..6 {
            let (job, rx) = Job::new("t", labels("t", n).request);
            keep.push(rx);
            q.enqueue(job).unwrap();
        }
        let served: Vec<&str> = ["q1", "q2", "q3"]
            .into_iter()
            .filter(|w| q.try_next(w).is_some())
            .collect();
        assert_eq!(
            served.len(),
            1,
            "only one querier may serve the tenant: {served:?}"
        );
        q.unregister_querier("q1");
        q.unregister_querier("q2");
        q.unregister_querier("q3");
        // with no fleet registered anyone serves
        assert!(q.try_next("anyone").is_some());
    }

    #[tokio::test]
    async fn next_waits_for_work() {
        let q = std::sync::Arc::new(RequestQueue::new(10, 0));
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { start_of(&q2.next("w").await) });
        tokio::task::yield_now().await;
        let (job, _rx) = Job::new("t", labels("t", 7).request);
        q.enqueue(job).unwrap();
        assert_eq!(waiter.await.unwrap(), 7);
    }
}
