//! Flushing head blocks to storage.
//!
//! Every `flush_check_period` the flush loop picks, per tenant, the streams whose head
//! block is due (raw bytes >= `chunk_target_size`, oldest entry arrived more than
//! `max_chunk_age` ago, or nothing arrived for `chunk_idle_period`) and writes all of
//! them as ONE segment with `Storage::write_segment`. The entries stay in memory (and
//! visible to queries) until the write returned; then the flushed entries leave memory,
//! a `flushed` WAL record tells replay to skip them, the WAL is rotated and segments that
//! hold only flushed data are deleted. A failed write keeps everything for the next try.
//! When the raw bytes held in memory reach `flush_memory_bytes`, the push that crossed
//! it wakes the loop at once and every stream is flushed (reason `full`), which bounds
//! the ingester's memory under a fast push.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use storage::StreamData;

use crate::head::{HeadBlock, Snapshot};
use crate::ingester::{Ingester, StreamSlot, TenantStreams};
use crate::wal::{self, WalWriter};
use crate::{IngestError, IngesterConfig, Result, metrics};

/// Raw bytes per segment below which a flush is not split further.
const MIN_SEGMENT_RAW_BYTES: usize = 16 << 20;

/// Segments of one flush encoded and uploaded at once.
const PARALLEL_SEGMENT_WRITES: usize = 2;

/// Splits the streams of one flush into groups of at least `target` raw bytes (only a
/// flush smaller than `target` makes a smaller one), keeping every stream whole.
fn split_segments(data: Vec<StreamData>, target: usize) -> Vec<Vec<StreamData>> {
    let mut out: Vec<Vec<StreamData>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0usize;
    for s in data {
        bytes += s.line_bytes() as usize;
        current.push(s);
        if bytes >= target {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    // a short remainder joins the last group: small segments cost every query that
    // reads them (more pages shared between streams, more footers)
    if !current.is_empty() {
        match out.last_mut() {
            Some(last) => last.extend(current),
            None => out.push(current),
        }
    }
    out
}

/// Why a stream is flushed; Loki's `reason` label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushReason {
    /// Raw size reached `chunk_target_size`.
    Full,
    /// Oldest entry older than `max_chunk_age`.
    MaxAge,
    /// Nothing arrived for `chunk_idle_period`.
    Idle,
    /// `flush_all` (shutdown, `POST /flush`).
    Forced,
}

impl FlushReason {
    /// Loki's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FlushReason::Full => "full",
            FlushReason::MaxAge => "max_age",
            FlushReason::Idle => "idle",
            FlushReason::Forced => "forced",
        }
    }
}

/// Why `head` should be flushed at `now` under `cfg`, if it should.
pub(crate) fn flush_reason(
    cfg: &IngesterConfig,
    head: &HeadBlock,
    now: Instant,
) -> Option<FlushReason> {
    if head.is_empty() {
        return None;
    }
    if head.raw_bytes() >= cfg.chunk_target_size {
        return Some(FlushReason::Full);
    }
    if head
        .first_arrival()
        .is_some_and(|t| now.saturating_duration_since(t) >= cfg.max_chunk_age)
    {
        return Some(FlushReason::MaxAge);
    }
    if head
        .last_arrival()
        .is_some_and(|t| now.saturating_duration_since(t) >= cfg.chunk_idle_period)
    {
        return Some(FlushReason::Idle);
    }
    None
}

struct Pending {
    slot: Arc<StreamSlot>,
    snapshot_cut: usize,
    through_seq: u64,
    segment: u64,
    reason: FlushReason,
}

impl Ingester {
    /// Flushes every in-memory entry to storage (`POST /flush`, shutdown).
    pub async fn flush_all(&self) -> Result<()> {
        self.flush_cycle(true).await
    }

    /// Starts the background loop that flushes chunks by size, age and idleness.
    /// The loop ends when the ingester is dropped.
    pub fn spawn_flush_loop(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        let period = self.config.flush_check_period.max(Duration::from_millis(1));
        let wakeup = self.flush_wakeup.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = wakeup.notified() => {}
                }
                let Some(ingester) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = ingester.flush_cycle(false).await {
                    tracing::warn!(error = %e, "flush failed; will retry");
                }
            }
        })
    }

    /// One pass over all tenants; `force` flushes every stream. Returns the first error
    /// after trying every tenant.
    pub(crate) async fn flush_cycle(&self, force: bool) -> Result<()> {
        let _serial = self.flush_lock.lock().await;
        let limit = self.config.flush_memory_bytes;
        // memory pressure: every stream goes, so one large segment frees it all
        let pressure = limit > 0 && self.memory_bytes.load(Ordering::Relaxed) >= limit;
        let tenants: Vec<(String, Arc<TenantStreams>)> = self
            .tenants
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut first_err: Option<IngestError> = None;
        let mut flushed_any = false;
        for (tenant, streams) in tenants {
            match self.flush_tenant(&tenant, &streams, force, pressure).await {
                Ok(n) => flushed_any |= n > 0,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if flushed_any {
            self.release_wal().await?;
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Flushes the due streams of one tenant as one segment; returns how many.
    async fn flush_tenant(
        &self,
        tenant: &str,
        streams: &TenantStreams,
        force: bool,
        pressure: bool,
    ) -> Result<usize> {
        let now = Instant::now();
        let slots: Vec<Arc<StreamSlot>> = streams.streams.read().values().cloned().collect();
        let mut pending = Vec::new();
        let mut data = Vec::new();
        for slot in slots {
            let mut head = slot.head.lock();
            let reason = if force && !head.is_empty() {
                Some(FlushReason::Forced)
            } else if pressure && !head.is_empty() {
                Some(FlushReason::Full)
            } else {
                flush_reason(&self.config, &head, now)
            };
            let Some(reason) = reason else { continue };
            let segment = self.wal.current_segment();
            let Snapshot {
                ts,
                lines,
                metadata,
                metadata_bytes,
                cut,
                through_seq,
            } = head.snapshot();
            drop(head);
            data.push(StreamData {
                labels: slot.labels.clone(),
                fingerprint: slot.fingerprint,
                ts,
                lines,
                metadata,
                metadata_bytes,
            });
            pending.push(Pending {
                slot,
                snapshot_cut: cut,
                through_seq,
                segment,
                reason,
            });
        }
        if pending.is_empty() {
            return Ok(0);
        }
        let entries: usize = data.iter().map(StreamData::len).sum();
        // a flush under memory pressure is one segment, encoded on one core while pushes
        // go on on the other; a larger flush (e.g. shutdown) becomes several segments
        // encoded at once
        let target = self.config.flush_memory_bytes.max(MIN_SEGMENT_RAW_BYTES);
        let writes = split_segments(data, target)
            .into_iter()
            .map(|part| self.storage.write_segment(tenant, part));
        let written = futures::stream::iter(writes)
            .buffer_unordered(PARALLEL_SEGMENT_WRITES)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::result::Result<Vec<()>, _>>();
        if let Err(e) = written {
            metrics::CHUNKS_FLUSH_FAILURES.inc();
            tracing::warn!(tenant, streams = pending.len(), error = %e, "segment write failed");
            return Err(e.into());
        }
        metrics::CHUNK_ENTRIES_FLUSHED.inc_by(entries as u64);
        let now = Instant::now();
        let mut marks = Vec::with_capacity(pending.len());
        for p in &pending {
            metrics::CHUNKS_FLUSHED
                .with_label_values(&[p.reason.as_str()])
                .inc();
            let mut head = p.slot.head.lock();
            let before = head.raw_bytes();
            head.remove_flushed(p.snapshot_cut, p.segment, now);
            let freed = before.saturating_sub(head.raw_bytes());
            drop(head);
            self.memory_bytes.fetch_sub(freed, Ordering::Relaxed);
            marks.push((p.slot.fingerprint, p.through_seq));
        }
        self.flushed.notify_waiters();
        // the marker only saves replay work: a lost one means a second flush, no loss
        if let Err(e) = WalWriter::wait(self.wal.append(wal::encode_flushed(tenant, &marks))).await
        {
            tracing::warn!(tenant, error = %e, "could not log flushed streams");
        }
        self.remove_empty_streams(tenant, streams);
        Ok(pending.len())
    }

    /// Drops streams whose head block is empty (under the append lock, so no push is
    /// adding to them).
    fn remove_empty_streams(&self, tenant: &str, streams: &TenantStreams) {
        let _append = self.append.lock();
        let mut map = streams.streams.write();
        let before = map.len();
        map.retain(|_, s| !s.head.lock().is_empty());
        let removed = before - map.len();
        if removed > 0 {
            metrics::STREAMS_REMOVED
                .with_label_values(&[tenant])
                .inc_by(removed as u64);
            metrics::MEMORY_STREAMS
                .with_label_values(&[tenant])
                .sub(removed as i64);
        }
    }

    /// Rotates the WAL and deletes the segments no in-memory entry needs.
    async fn release_wal(&self) -> Result<()> {
        self.wal.rotate().await?;
        let keep_from = {
            let _append = self.append.lock();
            let mut keep = self.wal.current_segment();
            for t in self.tenants.read().values() {
                for s in t.streams.read().values() {
                    let head = s.head.lock();
                    if !head.is_empty() {
                        keep = keep.min(head.min_segment);
                    }
                }
            }
            keep
        };
        let dir = self.config.wal_dir.clone();
        let deleted =
            tokio::task::spawn_blocking(move || wal::delete_segments_before(&dir, keep_from))
                .await
                .map_err(|e| IngestError::Wal(std::io::Error::other(e.to_string())))??;
        if deleted > 0 {
            tracing::debug!(deleted, keep_from, "deleted flushed wal segments");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fs_storage, ls, stream, ts_lines};
    use std::path::Path;

    const NONE: &[(&str, &str)] = &[];

    fn cfg(dir: &Path) -> IngesterConfig {
        IngesterConfig {
            chunk_idle_period: Duration::from_secs(60),
            max_chunk_age: Duration::from_secs(600),
            chunk_target_size: 100,
            flush_check_period: Duration::from_millis(20),
            ..IngesterConfig::with_wal_dir(dir.to_path_buf())
        }
    }

    #[test]
    fn flush_rules() {
        let c = cfg(Path::new("/unused"));
        let t0 = Instant::now();
        let mut h = HeadBlock::new();
        assert_eq!(flush_reason(&c, &h, t0), None);
        h.append(1, "x", NONE, t0);
        assert_eq!(flush_reason(&c, &h, t0), None);
        assert_eq!(flush_reason(&c, &h, t0 + Duration::from_secs(59)), None);
        assert_eq!(
            flush_reason(&c, &h, t0 + Duration::from_secs(60)),
            Some(FlushReason::Idle)
        );
        // steady traffic: never idle, but the oldest entry ages out
        let mut t = t0;
        for i in 0..19 {
            t += Duration::from_secs(30);
            assert!(h.append(2, &i.to_string(), NONE, t));
        }
        assert_eq!(flush_reason(&c, &h, t), None);
        assert_eq!(
            flush_reason(&c, &h, t0 + Duration::from_secs(600)),
            Some(FlushReason::MaxAge)
        );
        let mut big = HeadBlock::new();
        big.append(1, &"y".repeat(99), NONE, t0);
        assert_eq!(flush_reason(&c, &big, t0), None);
        big.append(2, "z", NONE, t0);
        assert_eq!(flush_reason(&c, &big, t0), Some(FlushReason::Full));
    }

    #[tokio::test]
    async fn flush_all_writes_one_segment_frees_memory_and_wal() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let storage = fs_storage(s.path()).await;
        let ing = Ingester::open(cfg(w.path()), storage.clone())
            .await
            .unwrap();
        let a = [("app", "a")];
        let b = [("app", "b")];
        ing.push(
            "t",
            vec![
                stream(&a, &[(20, "a2"), (10, "a1")]),
                stream(&b, &[(15, "b1")]),
            ],
        )
        .await
        .unwrap();
        ing.push("u", vec![stream(&a, &[(1, "other tenant")])])
            .await
            .unwrap();
        ing.flush_all().await.unwrap();
        assert_eq!(ing.stream_count("t"), 0);
        assert_eq!(ing.stream_count("u"), 0);
        let fa = ls(&a).fingerprint();
        assert!(ing.read("t", &[fa], i64::MIN, i64::MAX).unwrap().is_empty());
        let got = ts_lines(&storage.read("t", &[fa], 0, 100).await.unwrap());
        assert_eq!(got, vec![(10, "a1".to_string()), (20, "a2".to_string())]);
        assert_eq!(storage.series("t", &[], 0, 100).await.unwrap().len(), 2);
        // only the fresh segment is left in the WAL
        let segs = wal::list_segments(w.path()).unwrap();
        assert_eq!(segs.len(), 1, "{segs:?}");
        // reopen: nothing to replay, so nothing is flushed twice
        drop(ing);
        let ing = Ingester::open(cfg(w.path()), storage.clone())
            .await
            .unwrap();
        assert_eq!(ing.stream_count("t"), 0);
        ing.push("t", vec![stream(&a, &[(30, "a3")])])
            .await
            .unwrap();
        ing.push("t", vec![stream(&b, &[(31, "b3")])])
            .await
            .unwrap();
        ing.flush_all().await.unwrap();
        drop(ing);
        let ing = Ingester::open(cfg(w.path()), storage.clone())
            .await
            .unwrap();
        assert_eq!(ing.stream_count("t"), 0);
        let got = ts_lines(&storage.read("t", &[fa], 0, 100).await.unwrap());
        assert_eq!(got.len(), 3);
    }

    #[tokio::test]
    async fn replay_skips_streams_flushed_before_the_crash() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let storage = fs_storage(s.path()).await;
        let c = IngesterConfig {
            chunk_target_size: 10,
            ..cfg(w.path())
        };
        let ing = Ingester::open(c.clone(), storage.clone()).await.unwrap();
        let big = [("app", "big")];
        let small = [("app", "small")];
        ing.push(
            "t",
            vec![
                stream(&big, &[(1, "0123456789")]),
                stream(&small, &[(2, "s")]),
            ],
        )
        .await
        .unwrap();
        // only `big` is due (full): the segment holding both must stay for `small`
        ing.flush_cycle(false).await.unwrap();
        assert_eq!(ing.stream_count("t"), 1);
        assert!(wal::list_segments(w.path()).unwrap().len() >= 2);
        drop(ing); // crash-like: no flush_all
        let ing = Ingester::open(c, storage.clone()).await.unwrap();
        assert_eq!(ing.stream_count("t"), 1);
        let fb = ls(&big).fingerprint();
        assert!(ing.read("t", &[fb], i64::MIN, i64::MAX).unwrap().is_empty());
        let fs = ls(&small).fingerprint();
        assert_eq!(
            ts_lines(&ing.read("t", &[fs], i64::MIN, i64::MAX).unwrap()).len(),
            1
        );
        assert_eq!(
            ts_lines(&storage.read("t", &[fb], 0, 10).await.unwrap()).len(),
            1
        );
    }

    #[tokio::test]
    async fn flush_loop_flushes_idle_streams() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let storage = fs_storage(s.path()).await;
        let c = IngesterConfig {
            chunk_idle_period: Duration::from_millis(50),
            ..cfg(w.path())
        };
        let ing = Ingester::open(c, storage.clone()).await.unwrap();
        let handle = ing.spawn_flush_loop();
        let a = [("app", "a")];
        ing.push("t", vec![stream(&a, &[(1, "x")])]).await.unwrap();
        let fa = ls(&a).fingerprint();
        let mut flushed = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if ing.stream_count("t") == 0 {
                flushed = true;
                break;
            }
        }
        assert!(flushed, "idle stream was not flushed");
        assert_eq!(
            ts_lines(&storage.read("t", &[fa], 0, 10).await.unwrap()).len(),
            1
        );
        drop(ing);
        // the loop ends once the ingester is gone
        tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .unwrap()
            .unwrap();
    }

    /// Only memory pressure can make a flush: nothing gets full, old or idle within a
    /// test, and 100 raw bytes in memory is the limit.
    fn pressure_cfg(dir: &Path) -> IngesterConfig {
        IngesterConfig {
            chunk_target_size: 1 << 30,
            flush_check_period: Duration::from_secs(3600),
            flush_memory_bytes: 100,
            ..cfg(dir)
        }
    }

    #[tokio::test]
    async fn memory_pressure_flushes_every_stream_at_once() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let storage = fs_storage(s.path()).await;
        let ing = Ingester::open(pressure_cfg(w.path()), storage.clone())
            .await
            .unwrap();
        let _handle = ing.spawn_flush_loop();
        let (a, b) = ([("app", "a")], [("app", "b")]);
        ing.push("t", vec![stream(&a, &[(1, "small")])])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(ing.stream_count("t"), 1, "below the limit nothing flushes");
        assert_eq!(ing.memory_bytes.load(Ordering::Relaxed), 5);
        let long = "x".repeat(200);
        ing.push("t", vec![stream(&b, &[(2, long.as_str())])])
            .await
            .unwrap();
        let mut flushed = false;
        for _ in 0..250 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if ing.stream_count("t") == 0 {
                flushed = true;
                break;
            }
        }
        assert!(flushed, "memory pressure did not flush");
        assert_eq!(ing.memory_bytes.load(Ordering::Relaxed), 0);
        for (labels, n) in [(ls(&a), 1), (ls(&b), 1)] {
            let got = storage
                .read("t", &[labels.fingerprint()], 0, 10)
                .await
                .unwrap();
            assert_eq!(ts_lines(&got).len(), n);
        }
        assert!(metrics::CHUNKS_FLUSHED.with_label_values(&["full"]).get() >= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn push_waits_while_memory_holds_one_and_a_half_times_the_limit() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let storage = fs_storage(s.path()).await;
        // no flush loop: only the explicit flush below frees memory
        let ing = Ingester::open(pressure_cfg(w.path()), storage.clone())
            .await
            .unwrap();
        let a = [("app", "a")];
        // 149 raw bytes held, one short of 1.5 x 100: the next push goes through
        let long = "x".repeat(149);
        ing.push("t", vec![stream(&a, &[(1, long.as_str())])])
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(1),
            ing.push("t", vec![stream(&a, &[(2, "y")])]),
        )
        .await
        .expect("a push below the hard limit waited")
        .unwrap();
        let pusher = {
            let ing = ing.clone();
            tokio::spawn(async move { ing.push("t", vec![stream(&a, &[(3, "z")])]).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!pusher.is_finished(), "the push did not wait for memory");
        ing.flush_all().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), pusher)
            .await
            .expect("the push still waits after the flush")
            .unwrap()
            .unwrap();
        let fa = ls(&a).fingerprint();
        assert_eq!(ts_lines(&ing.read("t", &[fa], 0, 10).unwrap()).len(), 1);
        assert_eq!(
            ts_lines(&storage.read("t", &[fa], 0, 10).await.unwrap()).len(),
            2
        );
    }

    #[test]
    fn large_flushes_split_into_segments_of_whole_streams() {
        let data = |n: usize| StreamData {
            fingerprint: n as u64,
            ..StreamData::from_entries(
                logql::LabelSet::from_pairs([("n", n.to_string())]),
                vec![storage::Entry {
                    ts: 1,
                    line: "x".repeat(n),
                    metadata: Vec::new(),
                }],
            )
        };
        let groups = split_segments(vec![data(10), data(5), data(20), data(1)], 15);
        let sizes: Vec<Vec<u64>> = groups
            .iter()
            .map(|g| g.iter().map(|s| s.fingerprint).collect())
            .collect();
        assert_eq!(sizes, vec![vec![10, 5], vec![20, 1]]);
        let single = split_segments(vec![data(3), data(4)], 15);
        assert_eq!(single.len(), 1);
    }

    #[tokio::test]
    async fn failed_storage_write_keeps_data_for_retry() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let root = s.path().join("store");
        std::fs::create_dir_all(&root).unwrap();
        let storage = fs_storage(&root).await;
        let ing = Ingester::open(cfg(w.path()), storage.clone())
            .await
            .unwrap();
        let a = [("app", "a")];
        ing.push("t", vec![stream(&a, &[(1, "x")])]).await.unwrap();
        // break the store: its root becomes a file
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::write(&root, b"not a dir").unwrap();
        let err = ing.flush_all().await.unwrap_err();
        assert_eq!(err.http_status(), 500);
        let fa = ls(&a).fingerprint();
        assert_eq!(ts_lines(&ing.read("t", &[fa], 0, 10).unwrap()).len(), 1);
        assert_eq!(ing.stream_count("t"), 1);
        // repair and retry
        std::fs::remove_file(&root).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        ing.flush_all().await.unwrap();
        assert_eq!(ing.stream_count("t"), 0);
        assert_eq!(
            ts_lines(&storage.read("t", &[fa], 0, 10).await.unwrap()).len(),
            1
        );
    }
}
