//! The ingester: WAL, per-stream head blocks, chunk cutting and flushing.
//!
//! A push is applied to the head blocks and queued to the WAL under one append lock, so
//! the WAL holds pushes in exactly the order memory saw them (replay then rebuilds the
//! same state, duplicates included); the push returns once its record is synced. The
//! flush side lives in `flush.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use logql::matcher::matches_all;
use logql::{LabelMatcher, LabelSet};
use parking_lot::{Mutex, RwLock};
use storage::arrow::record_batch::RecordBatch;
use storage::{Storage, StreamInfo};

use crate::head::{HeadBlock, RowBuilders, RowFilter, ScanStats};
use crate::validation::{go_time_string, rfc3339};
use crate::wal::{self, Record, WalWriter};
use crate::{IngestError, IngesterConfig, PushStream, Result, metrics};

/// Loki's `ingester.max-ignored-stream-errors` default: rejected entries listed per error.
const MAX_RETURNED_ERRORS: usize = 10;

/// Longest a push waits for a flush to free memory.
const MAX_PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Rows per record batch returned by [`Ingester::read`] (whole streams per batch).
const BATCH_ROWS: usize = 64 * 1024;

/// One in-memory stream: identity plus its head block.
pub(crate) struct StreamSlot {
    pub(crate) labels: LabelSet,
    pub(crate) fingerprint: u64,
    pub(crate) head: Mutex<HeadBlock>,
}

/// The streams of one tenant.
#[derive(Default)]
pub(crate) struct TenantStreams {
    pub(crate) streams: RwLock<HashMap<u64, Arc<StreamSlot>>>,
}

/// The order-defining state of the append path.
pub(crate) struct AppendState {
    /// Sequence number of the next WAL push record.
    pub(crate) next_seq: u64,
}

/// Holds recent entries in memory, durable through the WAL, until flushed to storage.
pub struct Ingester {
    pub(crate) config: IngesterConfig,
    pub(crate) storage: Arc<Storage>,
    pub(crate) wal: WalWriter,
    pub(crate) tenants: RwLock<HashMap<String, Arc<TenantStreams>>>,
    pub(crate) append: Mutex<AppendState>,
    /// Serializes flush cycles (loop, `flush_all`).
    pub(crate) flush_lock: tokio::sync::Mutex<()>,
    /// Raw bytes held in head blocks (all tenants).
    pub(crate) memory_bytes: AtomicUsize,
    /// Wakes the flush loop when `memory_bytes` reaches `flush_memory_bytes`.
    pub(crate) flush_wakeup: Arc<tokio::sync::Notify>,
    /// Signalled after every flush: pushes held back by memory pressure retry.
    pub(crate) flushed: tokio::sync::Notify,
}

/// What replay rebuilt.
struct Replayed {
    tenants: HashMap<String, Arc<TenantStreams>>,
    next_seq: u64,
    next_segment: u64,
}

impl Ingester {
    /// Opens the WAL under `config.wal_dir`, replays it, and returns the ingester.
    pub async fn open(config: IngesterConfig, storage: Arc<Storage>) -> Result<Arc<Self>> {
        let dir = config.wal_dir.clone();
        let replayed = tokio::task::spawn_blocking(move || replay(&dir))
            .await
            .map_err(|e| IngestError::Wal(std::io::Error::other(e.to_string())))??;
        let wal = WalWriter::start(&config.wal_dir, replayed.next_segment)?;
        // segments whose entries were all flushed before the restart are not needed
        // (oldest WAL segment, raw bytes) of every replayed head block
        let heads: Vec<(u64, usize)> = replayed
            .tenants
            .values()
            .flat_map(|t| {
                t.streams
                    .read()
                    .values()
                    .map(|s| {
                        let head = s.head.lock();
                        (head.min_segment, head.raw_bytes())
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let keep_from = heads
            .iter()
            .map(|h| h.0)
            .min()
            .unwrap_or(replayed.next_segment);
        wal::delete_segments_before(&config.wal_dir, keep_from)?;
        let memory_bytes: usize = heads.iter().map(|h| h.1).sum();
        Ok(Arc::new(Self {
            config,
            storage,
            wal,
            tenants: RwLock::new(replayed.tenants),
            append: Mutex::new(AppendState {
                next_seq: replayed.next_seq,
            }),
            flush_lock: tokio::sync::Mutex::new(()),
            memory_bytes: AtomicUsize::new(memory_bytes),
            flush_wakeup: Arc::new(tokio::sync::Notify::new()),
            flushed: tokio::sync::Notify::new(),
        }))
    }

    /// Appends validated streams for `tenant`; returns after the WAL is synced.
    ///
    /// As in Loki (unordered writes), an entry older than the stream's highest timestamp
    /// minus `max_chunk_age / 2` is rejected; the rest is still written and the answer
    /// is 400 with Loki's per-stream text (the last failing stream's).
    pub async fn push(&self, tenant: &str, mut streams: Vec<PushStream>) -> Result<()> {
        if streams.iter().all(|s| s.entries.is_empty()) {
            return Ok(());
        }
        self.wait_for_memory().await;
        let mut payload = wal::encode_push(tenant, &streams);
        let now = Instant::now();
        let window = i64::try_from(self.config.max_chunk_age.as_nanos() / 2).unwrap_or(i64::MAX);
        let mut last_error = None;
        let synced = {
            let mut append = self.append.lock();
            let seq = append.next_seq;
            append.next_seq += 1;
            let segment = self.wal.current_segment();
            let target = tenant_streams(&self.tenants, tenant);
            let mut rejected_any = false;
            let mut added = 0usize;
            for s in &mut streams {
                if s.entries.is_empty() {
                    continue;
                }
                let slot = stream_slot(&target, tenant, &s.labels);
                let mut head = slot.head.lock();
                let total = s.entries.len();
                let mut highest = head.highest_ts();
                let mut rejected: Vec<(i64, i64)> = Vec::new();
                let mut rejected_bytes = 0usize;
                s.entries.retain(|e| {
                    if head.is_last_line(e.ts, &e.line) {
                        return true; // a silent duplicate, dropped by append
                    }
                    if let Some(h) = highest {
                        let cutoff = h.saturating_sub(window);
                        if e.ts < cutoff {
                            rejected.push((e.ts, cutoff));
                            rejected_bytes += e.line.len();
                            return false;
                        }
                    }
                    highest = Some(highest.map_or(e.ts, |h| h.max(e.ts)));
                    true
                });
                if !rejected.is_empty() {
                    rejected_any = true;
                    metrics::DISCARDED_SAMPLES
                        .with_label_values(&["too_far_behind", tenant])
                        .inc_by(rejected.len() as u64);
                    metrics::DISCARDED_BYTES
                        .with_label_values(&["too_far_behind", tenant])
                        .inc_by(rejected_bytes as u64);
                    last_error = Some(too_far_behind_error(tenant, &s.labels, &rejected, total));
                }
                if s.entries.is_empty() {
                    continue;
                }
                if head.is_empty() {
                    head.min_segment = segment;
                }
                head.last_seq = seq;
                let before = head.raw_bytes();
                for e in &s.entries {
                    if !head.append(e.ts, &e.line, &e.metadata, now) {
                        metrics::DUPLICATES_DROPPED.inc();
                    }
                }
                added += head.raw_bytes().saturating_sub(before);
            }
            let held = self.memory_bytes.fetch_add(added, Ordering::Relaxed) + added;
            let limit = self.config.flush_memory_bytes;
            if limit > 0 && held >= limit {
                self.flush_wakeup.notify_one();
            }
            if rejected_any {
                payload = wal::encode_push(tenant, &streams);
            }
            wal::set_seq(&mut payload, seq);
            self.wal.append(payload)
        };
        WalWriter::wait(synced).await?;
        match last_error {
            Some(msg) => Err(IngestError::BadRequest(msg)),
            None => Ok(()),
        }
    }

    /// Holds a push back while memory holds 1.5 times `flush_memory_bytes` (the flush loop
    /// is behind), so a push faster than flushing slows down instead of filling memory.
    /// Gives up after [`MAX_PUSH_WAIT`]: a push is never refused for it (a failing
    /// store must not stop the WAL-protected write path).
    async fn wait_for_memory(&self) {
        let limit = self.config.flush_memory_bytes;
        if limit == 0 {
            return;
        }
        let hard = limit.saturating_add(limit / 2);
        let deadline = tokio::time::Instant::now() + MAX_PUSH_WAIT;
        while self.memory_bytes.load(Ordering::Relaxed) >= hard {
            self.flush_wakeup.notify_one();
            let flushed = self.flushed.notified();
            if tokio::time::timeout_at(deadline, flushed).await.is_err() {
                return;
            }
        }
    }

    /// In-memory streams of `tenant` matching `matchers` with entries in `[start, end)`.
    pub fn series(
        &self,
        tenant: &str,
        matchers: &[LabelMatcher],
        start: i64,
        end: i64,
    ) -> Vec<StreamInfo> {
        let Some(t) = self.tenants.read().get(tenant).cloned() else {
            return Vec::new();
        };
        let slots: Vec<Arc<StreamSlot>> = t
            .streams
            .read()
            .values()
            .filter(|s| matches_all(matchers, &s.labels))
            .cloned()
            .collect();
        let mut out: Vec<StreamInfo> = slots
            .into_iter()
            .filter(|s| s.head.lock().overlaps(start, end))
            .map(|s| StreamInfo {
                fingerprint: s.fingerprint,
                labels: s.labels.clone(),
            })
            .collect();
        out.sort_unstable_by_key(|s| s.fingerprint);
        out
    }

    /// In-memory entries of the given streams with `start <= ts < end`, in
    /// `storage::log_schema`, sorted by (fingerprint, ts).
    pub fn read(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
    ) -> Result<Vec<RecordBatch>> {
        self.read_filtered(
            tenant,
            fingerprints,
            start,
            end,
            RowFilter::all(&ScanStats::default()),
        )
    }

    /// [`Self::read`] copying only what `filter` asks for: no lines for queries that
    /// only count entries, only rows whose line passes the query's line filters.
    pub fn read_filtered(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
        filter: RowFilter<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let Some(t) = self.tenants.read().get(tenant).cloned() else {
            return Ok(Vec::new());
        };
        let mut fps = fingerprints.to_vec();
        fps.sort_unstable();
        fps.dedup();
        let slots: Vec<Arc<StreamSlot>> = {
            let streams = t.streams.read();
            fps.iter()
                .filter_map(|fp| streams.get(fp).cloned())
                .collect()
        };
        let mut batches = Vec::new();
        let mut builders = RowBuilders::with_capacity(1024);
        let mut rows = 0;
        for slot in slots {
            rows +=
                slot.head
                    .lock()
                    .append_rows(slot.fingerprint, start, end, &mut builders, filter);
            if rows >= BATCH_ROWS {
                batches.push(builders.finish().map_err(storage::StorageError::from)?);
                rows = 0;
            }
        }
        if rows > 0 {
            batches.push(builders.finish().map_err(storage::StorageError::from)?);
        }
        Ok(batches)
    }

    /// Number of in-memory streams of `tenant` (for tests and `/metrics`).
    pub fn stream_count(&self, tenant: &str) -> usize {
        self.tenants
            .read()
            .get(tenant)
            .map_or(0, |t| t.streams.read().len())
    }
}

/// Loki's ingester error for entries rejected as too far behind (at most 10 listed).
fn too_far_behind_error(
    tenant: &str,
    labels: &LabelSet,
    rejected: &[(i64, i64)],
    total: usize,
) -> String {
    let mut msg = String::new();
    for (ts, cutoff) in rejected.iter().take(MAX_RETURNED_ERRORS) {
        msg.push_str(&format!(
            "entry with timestamp {} ignored, reason: 'entry too far behind, oldest acceptable timestamp is: {}',\n",
            go_time_string(*ts),
            rfc3339(*cutoff)
        ));
    }
    msg.push_str(&format!(
        "user '{tenant}', total ignored: {} out of {total} for stream: {labels}",
        rejected.len()
    ));
    msg
}

/// The streams of `tenant`, created if missing.
pub(crate) fn tenant_streams(
    tenants: &RwLock<HashMap<String, Arc<TenantStreams>>>,
    tenant: &str,
) -> Arc<TenantStreams> {
    if let Some(t) = tenants.read().get(tenant) {
        return t.clone();
    }
    tenants
        .write()
        .entry(tenant.to_string())
        .or_default()
        .clone()
}

/// The slot of the stream with `labels`, created if missing.
pub(crate) fn stream_slot(t: &TenantStreams, tenant: &str, labels: &LabelSet) -> Arc<StreamSlot> {
    let fp = labels.fingerprint();
    if let Some(s) = t.streams.read().get(&fp) {
        return s.clone();
    }
    let mut streams = t.streams.write();
    streams
        .entry(fp)
        .or_insert_with(|| {
            metrics::STREAMS_CREATED.with_label_values(&[tenant]).inc();
            metrics::MEMORY_STREAMS.with_label_values(&[tenant]).inc();
            Arc::new(StreamSlot {
                labels: labels.clone(),
                fingerprint: fp,
                head: Mutex::new(HeadBlock::new()),
            })
        })
        .clone()
}

/// Rebuilds head blocks from the WAL in `dir` (created if missing), repairing torn
/// tails. Pass 1 learns which entries were flushed already; pass 2 applies the rest.
fn replay(dir: &Path) -> Result<Replayed> {
    let started = Instant::now();
    std::fs::create_dir_all(dir)?;
    let segments = wal::list_segments(dir)?;
    let mut flushed: HashMap<(String, u64), u64> = HashMap::new();
    let mut max_seq = 0u64;
    let mut undecodable = 0usize;
    for (_, path) in &segments {
        wal::scan_segment(path, true, |payload| match wal::decode(payload) {
            Ok(Record::Flushed { tenant, streams }) => {
                for (fp, through) in streams {
                    let e = flushed.entry((tenant.to_string(), fp)).or_default();
                    *e = (*e).max(through);
                }
            }
            Ok(Record::Push { seq, .. }) => max_seq = max_seq.max(seq),
            Err(_) => undecodable += 1,
        })?;
    }
    if undecodable > 0 {
        tracing::warn!(undecodable, "skipped wal records that could not be decoded");
    }
    let tenants = RwLock::new(HashMap::new());
    let now = Instant::now();
    let mut entries = 0usize;
    for (id, path) in &segments {
        if !path.exists() {
            continue; // removed as headerless in pass 1
        }
        wal::scan_segment(path, false, |payload| {
            let Ok(Record::Push {
                seq,
                tenant,
                streams,
            }) = wal::decode(payload)
            else {
                return;
            };
            let target = tenant_streams(&tenants, tenant);
            for s in streams {
                let labels = LabelSet::from_pairs(s.labels);
                let fp = labels.fingerprint();
                if flushed
                    .get(&(tenant.to_string(), fp))
                    .is_some_and(|&through| seq <= through)
                {
                    continue;
                }
                if s.entries.is_empty() {
                    continue;
                }
                let slot = stream_slot(&target, tenant, &labels);
                let mut head = slot.head.lock();
                if head.is_empty() {
                    head.min_segment = *id;
                }
                head.last_seq = seq;
                for e in &s.entries {
                    if head.append(e.ts, e.line, &e.metadata, now) {
                        entries += 1;
                    }
                }
            }
        })?;
    }
    let next_segment = segments.last().map_or(1, |(id, _)| id + 1);
    metrics::WAL_REPLAY_DURATION.set(started.elapsed().as_secs() as i64);
    tracing::info!(
        segments = segments.len(),
        entries,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "wal replayed"
    );
    Ok(Replayed {
        tenants: tenants.into_inner(),
        next_seq: max_seq + 1,
        next_segment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fs_storage, ls, rows, stream, ts_lines};

    const ALL: (i64, i64) = (i64::MIN, i64::MAX);

    async fn open(wal_dir: &Path, store_dir: &Path) -> Arc<Ingester> {
        let cfg = IngesterConfig::with_wal_dir(wal_dir.to_path_buf());
        Ingester::open(cfg, fs_storage(store_dir).await)
            .await
            .unwrap()
    }

    fn read_all(ing: &Ingester, tenant: &str, labels: &[(&str, &str)]) -> Vec<(i64, String)> {
        let fp = ls(labels).fingerprint();
        ts_lines(&ing.read(tenant, &[fp], ALL.0, ALL.1).unwrap())
    }

    #[tokio::test]
    async fn out_of_order_and_duplicates_across_pushes() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ing = open(w.path(), s.path()).await;
        let job = [("job", "edge")];
        ing.push(
            "t",
            vec![stream(&job, &[(10, "dup A"), (10, "dup B"), (10, "dup A")])],
        )
        .await
        .unwrap();
        ing.push(
            "t",
            vec![stream(&job, &[(30, "late"), (5, "early"), (10, "dup B")])],
        )
        .await
        .unwrap();
        ing.push("t", vec![stream(&job, &[(10, "dup C"), (30, "late")])])
            .await
            .unwrap();
        let want = vec![
            (5, "early".to_string()),
            (10, "dup A".to_string()),
            (10, "dup B".to_string()),
            (10, "dup C".to_string()),
            (30, "late".to_string()),
        ];
        assert_eq!(read_all(&ing, "t", &job), want);
        // range is [start, end)
        let fp = ls(&job).fingerprint();
        assert_eq!(ts_lines(&ing.read("t", &[fp], 10, 30).unwrap()).len(), 3);
        // tenants are isolated
        assert!(ing.read("other", &[fp], ALL.0, ALL.1).unwrap().is_empty());
        // replay rebuilds exactly the same state (dedup included)
        drop(ing);
        let ing = open(w.path(), s.path()).await;
        assert_eq!(read_all(&ing, "t", &job), want);
        ing.push("t", vec![stream(&job, &[(5, "early"), (6, "new")])])
            .await
            .unwrap();
        assert_eq!(read_all(&ing, "t", &job).len(), 6);
        // replay continued in a new segment
        assert_eq!(wal::list_segments(w.path()).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn series_and_read_order_by_fingerprint() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ing = open(w.path(), s.path()).await;
        let a = [("app", "a"), ("env", "prod")];
        let b = [("app", "b"), ("env", "dev")];
        ing.push(
            "t",
            vec![
                stream(&a, &[(100, "a1"), (300, "a3")]),
                stream(&b, &[(200, "b2")]),
            ],
        )
        .await
        .unwrap();
        let m = |name: &str, v: &str| LabelMatcher::new(name, logql::MatchOp::Eq, v).unwrap();
        let all = ing.series("t", &[], ALL.0, ALL.1);
        assert_eq!(all.len(), 2);
        assert!(all[0].fingerprint < all[1].fingerprint);
        let prod = ing.series("t", &[m("env", "prod")], ALL.0, ALL.1);
        assert_eq!(
            prod,
            vec![StreamInfo {
                fingerprint: ls(&a).fingerprint(),
                labels: ls(&a)
            }]
        );
        // a gap between entries is not a match
        assert!(ing.series("t", &[m("app", "a")], 101, 300).is_empty());
        assert_eq!(ing.series("t", &[], 150, 250).len(), 1);
        let (fa, fb) = (ls(&a).fingerprint(), ls(&b).fingerprint());
        let r = rows(&ing.read("t", &[fb, fa, fa], ALL.0, ALL.1).unwrap());
        let fps: Vec<u64> = r.iter().map(|x| x.0).collect();
        let mut sorted = fps.clone();
        sorted.sort();
        assert_eq!(fps, sorted);
        assert_eq!(r.len(), 3);
    }

    #[tokio::test]
    async fn torn_wal_tail_keeps_synced_pushes() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let job = [("job", "x")];
        {
            let ing = open(w.path(), s.path()).await;
            for i in 0..5 {
                ing.push("t", vec![stream(&job, &[(i, "line")])])
                    .await
                    .unwrap();
            }
        }
        // tear the last record in half
        let (_, seg) = wal::list_segments(w.path()).unwrap().pop().unwrap();
        let len = std::fs::metadata(&seg).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(len - 10).unwrap();
        let ing = open(w.path(), s.path()).await;
        let got: Vec<i64> = read_all(&ing, "t", &job).into_iter().map(|x| x.0).collect();
        assert_eq!(got, vec![0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn entries_too_far_behind_are_rejected_with_lokis_text() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ing = open(w.path(), s.path()).await;
        let job = [("job", "x")];
        let h = 3_600_000_000_000i64;
        ing.push("t", vec![stream(&job, &[(10 * h, "newest")])])
            .await
            .unwrap();
        let err = ing
            .push(
                "t",
                vec![stream(
                    &job,
                    &[(8 * h, "old"), (10 * h - h / 2, "ok"), (10 * h, "newest")],
                )],
            )
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert_eq!(
            err.to_string(),
            "entry with timestamp 1970-01-01 08:00:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 1970-01-01T09:00:00Z',\nuser 't', total ignored: 1 out of 3 for stream: {job=\"x\"}"
        );
        let want = vec![
            (10 * h - h / 2, "ok".to_string()),
            (10 * h, "newest".to_string()),
        ];
        assert_eq!(read_all(&ing, "t", &job), want);
        drop(ing);
        let ing = open(w.path(), s.path()).await;
        assert_eq!(read_all(&ing, "t", &job), want);
    }

    const KILL9_ENV: &str = "FENRIR_INGEST_KILL9_DIR";

    /// The child side of `kill_9_keeps_every_acknowledged_push`: pushes until killed,
    /// printing `ack <i>` after each push returned Ok.
    fn kill9_child(dir: &Path) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let ing = open(&dir.join("wal"), &dir.join("store")).await;
            let mut tasks = tokio::task::JoinSet::new();
            for w in 0..4i64 {
                let ing = ing.clone();
                tasks.spawn(async move {
                    for i in 0.. {
                        let n = i * 4 + w;
                        let line = format!("line {n}");
                        ing.push("t", vec![stream(&[("job", "k")], &[(n, line.as_str())])])
                            .await
                            .unwrap();
                        println!("ack {n}");
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        });
    }

    #[test]
    fn kill_9_keeps_every_acknowledged_push() {
        use std::io::BufRead;
        if let Ok(dir) = std::env::var(KILL9_ENV) {
            kill9_child(Path::new(&dir));
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "ingester::tests::kill_9_keeps_every_acknowledged_push",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(KILL9_ENV, dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut acked = Vec::new();
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked.push(n.parse::<i64>().unwrap());
                if acked.len() == 300 {
                    child.kill().unwrap(); // SIGKILL
                    break;
                }
            }
        }
        child.wait().unwrap();
        assert_eq!(acked.len(), 300, "child stopped early");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let ing = open(&dir.path().join("wal"), &dir.path().join("store")).await;
            let got: std::collections::HashSet<i64> = read_all(&ing, "t", &[("job", "k")])
                .into_iter()
                .map(|(ts, line)| {
                    assert_eq!(line, format!("line {ts}"));
                    ts
                })
                .collect();
            for n in acked {
                assert!(got.contains(&n), "acknowledged push {n} lost");
            }
        });
    }

    #[tokio::test]
    async fn metadata_survives_replay() {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let job = [("job", "x")];
        let mut st = stream(&job, &[(1, "with"), (2, "without")]);
        st.entries[0].metadata = vec![("trace_id".into(), "abc".into())];
        {
            let ing = open(w.path(), s.path()).await;
            ing.push("t", vec![st]).await.unwrap();
        }
        let ing = open(w.path(), s.path()).await;
        let r = rows(
            &ing.read("t", &[ls(&job).fingerprint()], ALL.0, ALL.1)
                .unwrap(),
        );
        assert_eq!(r[0].3.as_deref(), Some(r#"[["trace_id","abc"]]"#));
        assert_eq!(r[1].3, None);
    }
}
