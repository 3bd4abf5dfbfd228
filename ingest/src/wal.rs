//! The write-ahead log: every accepted push is appended here and synced before the push
//! is acknowledged, so that a crash (even `kill -9` or power loss after the sync) loses
//! nothing that was acknowledged.
//!
//! # Files
//! The WAL directory holds segment files named `{id:020}.wal` (decimal, zero padded, so
//! lexical order is id order). Exactly one segment, the one with the highest id, is
//! written at a time; it is rotated when it passes [`SEGMENT_TARGET_BYTES`] and after
//! each flush. A segment is deleted once every entry it holds has been flushed to
//! storage (the ingester tracks the oldest segment each in-memory stream still needs).
//!
//! # Segment layout
//! ```text
//! segment := magic record*
//! magic   := "FNRWAL01"                        (8 bytes)
//! record  := len:u32 crc:u32 payload[len]      (little endian)
//!            crc = CRC-32 (IEEE, crc32fast) of payload; 0 < len <= 1 GiB
//! ```
//! Payloads (all integers little endian, `str := len:u32 utf8[len]`):
//! ```text
//! push    := 0x01 seq:u64 tenant:str nstreams:u32 stream*
//! stream  := nlabels:u32 (name:str value:str)* nentries:u32 entry*
//! entry   := ts:i64 line:str nmeta:u32 (name:str value:str)*
//! flushed := 0x02 seq:u64 tenant:str n:u32 (fingerprint:u64 through_seq:u64)*
//! ```
//! `seq` numbers push records in commit order (strictly increasing across segments).
//! A `flushed` record says: for these streams of `tenant`, every entry in push records
//! with `seq <= through_seq` is in storage; replay skips them.
//!
//! # Writing (group commit)
//! A dedicated writer thread takes queued records, writes all records waiting at that
//! moment with one `write` and one `fdatasync`, then answers every waiter. Records are
//! written in queue order.
//!
//! # Recovery
//! Replay reads segments in id order and each segment record by record. A record that is
//! cut short, whose length is out of range or whose CRC does not match marks a torn
//! tail: the segment is truncated at the end of the last good record (a crash can only
//! tear the unsynced end of a segment) and reading continues with the next segment.
//! A segment too short to hold the magic (a crash during creation) is deleted.
//! Records are acknowledged only after their sync, so every acknowledged record lies
//! before any torn tail and survives.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::PushStream;
use crate::metrics;

/// First bytes of every segment file.
pub const MAGIC: &[u8; 8] = b"FNRWAL01";
/// A segment is rotated once it is larger than this.
pub const SEGMENT_TARGET_BYTES: u64 = 128 << 20;
/// Largest payload accepted on replay; anything larger is treated as a torn tail.
pub const MAX_RECORD_BYTES: u32 = 1 << 30;
/// One group commit writes at most about this many bytes.
const MAX_GROUP_BYTES: usize = 32 << 20;

const KIND_PUSH: u8 = 1;
const KIND_FLUSHED: u8 = 2;
const FRAME_HEADER: usize = 8;

/// A record payload that cannot be decoded although its checksum matched.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload ends inside a field.
    #[error("wal record truncated at byte {0}")]
    Truncated(usize),
    /// A string field is not UTF-8.
    #[error("wal record has invalid utf-8 at byte {0}")]
    Utf8(usize),
    /// The kind byte is unknown.
    #[error("unknown wal record kind {0}")]
    UnknownKind(u8),
}

/// One decoded record, borrowing its strings from the payload.
#[derive(Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// Entries accepted by one push.
    Push {
        /// Commit sequence number.
        seq: u64,
        /// Tenant.
        tenant: &'a str,
        /// Streams with their entries.
        streams: Vec<StreamView<'a>>,
    },
    /// Streams whose entries up to a sequence number are in storage.
    Flushed {
        /// Tenant.
        tenant: &'a str,
        /// (fingerprint, through_seq) pairs.
        streams: Vec<(u64, u64)>,
    },
}

/// One stream of a push record.
#[derive(Debug, PartialEq, Eq)]
pub struct StreamView<'a> {
    /// Label pairs as stored.
    pub labels: Vec<(&'a str, &'a str)>,
    /// Entries in push order.
    pub entries: Vec<EntryView<'a>>,
}

/// One entry of a push record.
#[derive(Debug, PartialEq, Eq)]
pub struct EntryView<'a> {
    /// Timestamp in ns.
    pub ts: i64,
    /// The line.
    pub line: &'a str,
    /// Structured metadata pairs.
    pub metadata: Vec<(&'a str, &'a str)>,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    // strings longer than 4 GiB cannot be decoded; pushes are far below that (body limits)
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Encodes a push record; the sequence number is filled in later by [`set_seq`].
pub fn encode_push(tenant: &str, streams: &[PushStream]) -> Vec<u8> {
    let mut size = 1 + 8 + 4 + tenant.len() + 4;
    for s in streams {
        size += 8 + s
            .labels
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
        for e in &s.entries {
            size += 16 + e.line.len();
            size += e
                .metadata
                .iter()
                .map(|(k, v)| 8 + k.len() + v.len())
                .sum::<usize>();
        }
    }
    let mut buf = Vec::with_capacity(size);
    buf.push(KIND_PUSH);
    buf.extend_from_slice(&0u64.to_le_bytes());
    put_str(&mut buf, tenant);
    buf.extend_from_slice(&(streams.len() as u32).to_le_bytes());
    for s in streams {
        buf.extend_from_slice(&(s.labels.len() as u32).to_le_bytes());
        for (k, v) in s.labels.iter() {
            put_str(&mut buf, k);
            put_str(&mut buf, v);
        }
        buf.extend_from_slice(&(s.entries.len() as u32).to_le_bytes());
        for e in &s.entries {
            buf.extend_from_slice(&e.ts.to_le_bytes());
            put_str(&mut buf, &e.line);
            buf.extend_from_slice(&(e.metadata.len() as u32).to_le_bytes());
            for (k, v) in &e.metadata {
                put_str(&mut buf, k);
                put_str(&mut buf, v);
            }
        }
    }
    buf
}

/// Writes `seq` into an encoded push payload.
pub fn set_seq(payload: &mut [u8], seq: u64) {
    if let Some(slot) = payload.get_mut(1..9) {
        slot.copy_from_slice(&seq.to_le_bytes());
    }
}

/// Encodes a flushed record.
pub fn encode_flushed(tenant: &str, streams: &[(u64, u64)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + 8 + 4 + tenant.len() + 4 + 16 * streams.len());
    buf.push(KIND_FLUSHED);
    buf.extend_from_slice(&0u64.to_le_bytes());
    put_str(&mut buf, tenant);
    buf.extend_from_slice(&(streams.len() as u32).to_le_bytes());
    for (fp, seq) in streams {
        buf.extend_from_slice(&fp.to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
    }
    buf
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated(self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.u32()? as usize;
        let at = self.pos;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::Utf8(at))
    }
    fn pairs(&mut self) -> Result<Vec<(&'a str, &'a str)>, DecodeError> {
        let n = self.u32()? as usize;
        // every pair needs at least 8 bytes: cap the reservation by what is left
        let mut v = Vec::with_capacity(n.min((self.buf.len() - self.pos) / 8));
        for _ in 0..n {
            v.push((self.str()?, self.str()?));
        }
        Ok(v)
    }
}

/// Decodes one payload.
pub fn decode(payload: &[u8]) -> Result<Record<'_>, DecodeError> {
    let mut c = Cursor {
        buf: payload,
        pos: 0,
    };
    let kind = c.u8()?;
    let seq = c.u64()?;
    let tenant = c.str()?;
    let n = c.u32()? as usize;
    let left = |c: &Cursor<'_>| c.buf.len() - c.pos;
    match kind {
        KIND_PUSH => {
            let mut streams = Vec::with_capacity(n.min(left(&c) / 8));
            for _ in 0..n {
                let labels = c.pairs()?;
                let ne = c.u32()? as usize;
                let mut entries = Vec::with_capacity(ne.min(left(&c) / 16));
                for _ in 0..ne {
                    let ts = c.u64()? as i64;
                    let line = c.str()?;
                    let metadata = c.pairs()?;
                    entries.push(EntryView { ts, line, metadata });
                }
                streams.push(StreamView { labels, entries });
            }
            Ok(Record::Push {
                seq,
                tenant,
                streams,
            })
        }
        KIND_FLUSHED => {
            let mut streams = Vec::with_capacity(n.min(left(&c) / 16));
            for _ in 0..n {
                streams.push((c.u64()?, c.u64()?));
            }
            Ok(Record::Flushed { tenant, streams })
        }
        k => Err(DecodeError::UnknownKind(k)),
    }
}

/// The path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.wal"))
}

/// Segment ids and paths in `dir`, in id order (other files are ignored).
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
            continue;
        };
        if let Ok(id) = stem.parse::<u64>() {
            out.push((id, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(id, _)| *id);
    Ok(out)
}

/// What reading one segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// Good records.
    pub records: usize,
    /// Bytes up to the end of the last good record.
    pub valid_len: u64,
    /// True if bytes after `valid_len` were found (and, when repairing, cut off).
    pub torn: bool,
}

/// Reads the records of one segment, calling `visit` with each good payload in order.
/// With `repair`, a torn tail is truncated (and a segment without magic deleted).
pub fn scan_segment(
    path: &Path,
    repair: bool,
    mut visit: impl FnMut(&[u8]),
) -> io::Result<SegmentScan> {
    let data = fs::read(path)?;
    if data.len() < MAGIC.len() {
        if repair {
            fs::remove_file(path)?;
        }
        return Ok(SegmentScan {
            records: 0,
            valid_len: 0,
            torn: !data.is_empty() || repair,
        });
    }
    if &data[..MAGIC.len()] != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a wal segment (bad magic)", path.display()),
        ));
    }
    let mut pos = MAGIC.len();
    let mut records = 0;
    while let Some(header) = data.get(pos..pos + FRAME_HEADER) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || len > MAX_RECORD_BYTES {
            break;
        }
        let start = pos + FRAME_HEADER;
        let Some(payload) = data.get(start..start + len as usize) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        visit(payload);
        records += 1;
        pos = start + len as usize;
    }
    let torn = pos < data.len();
    if torn && repair {
        metrics::WAL_CORRUPTIONS.inc();
        tracing::warn!(
            segment = %path.display(),
            valid_len = pos,
            file_len = data.len(),
            "truncating torn wal tail"
        );
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(pos as u64)?;
        f.sync_all()?;
    }
    Ok(SegmentScan {
        records,
        valid_len: pos as u64,
        torn,
    })
}

/// Deletes every segment in `dir` with an id below `keep_from`.
pub fn delete_segments_before(dir: &Path, keep_from: u64) -> io::Result<usize> {
    let mut n = 0;
    for (id, path) in list_segments(dir)? {
        if id >= keep_from {
            break;
        }
        fs::remove_file(&path)?;
        n += 1;
    }
    if n > 0 {
        sync_dir(dir)?;
    }
    Ok(n)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn clone_err(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

enum Command {
    Append(Vec<u8>, oneshot::Sender<io::Result<()>>),
    Rotate(oneshot::Sender<io::Result<u64>>),
}

/// The appending side of the WAL: a writer thread doing group commits.
pub struct WalWriter {
    tx: Option<mpsc::Sender<Command>>,
    current: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

struct WriterState {
    dir: PathBuf,
    id: u64,
    file: File,
    len: u64,
    records_in_segment: u64,
    broken: bool,
    current: Arc<AtomicU64>,
}

impl WriterState {
    fn create(dir: &Path, id: u64, current: Arc<AtomicU64>) -> io::Result<Self> {
        let file = Self::create_file(dir, id)?;
        current.store(id, Ordering::Release);
        Ok(Self {
            dir: dir.to_path_buf(),
            id,
            file,
            len: MAGIC.len() as u64,
            records_in_segment: 0,
            broken: false,
            current,
        })
    }

    fn create_file(dir: &Path, id: u64) -> io::Result<File> {
        let path = segment_path(dir, id);
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        file.write_all(MAGIC)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(file)
    }

    fn rotate(&mut self) -> io::Result<u64> {
        let id = self.id + 1;
        self.file = Self::create_file(&self.dir, id)?;
        self.id = id;
        self.len = MAGIC.len() as u64;
        self.records_in_segment = 0;
        self.broken = false;
        self.current.store(id, Ordering::Release);
        Ok(id)
    }

    /// Writes and syncs `buf` (framed records); answers the waiters.
    fn commit(&mut self, buf: &mut Vec<u8>, waiters: &mut Vec<oneshot::Sender<io::Result<()>>>) {
        if waiters.is_empty() {
            return;
        }
        let started = Instant::now();
        let res = (|| {
            if self.broken {
                self.rotate()?;
            }
            self.file.write_all(buf)?;
            self.file.sync_data()
        })();
        metrics::WAL_SYNC_DURATION.observe(started.elapsed().as_secs_f64());
        metrics::WAL_GROUP_RECORDS.observe(waiters.len() as f64);
        match &res {
            Ok(()) => {
                self.len += buf.len() as u64;
                self.records_in_segment += waiters.len() as u64;
                metrics::WAL_RECORDS_LOGGED.inc_by(waiters.len() as u64);
                metrics::WAL_LOGGED_BYTES.inc_by(buf.len() as u64);
            }
            Err(e) => {
                // the file may now end in a partial write: continue in a fresh segment
                metrics::WAL_FAILURES.inc();
                tracing::error!(error = %e, segment = self.id, "wal write failed");
                self.broken = true;
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(res.as_ref().map(|_| ()).map_err(clone_err));
        }
        buf.clear();
        if res.is_ok()
            && self.len >= SEGMENT_TARGET_BYTES
            && let Err(e) = self.rotate()
        {
            tracing::error!(error = %e, "wal rotation failed");
            self.broken = true;
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Command>) {
        let mut buf: Vec<u8> = Vec::new();
        let mut waiters = Vec::new();
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Append(payload, done) => {
                        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                        buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
                        buf.extend_from_slice(&payload);
                        waiters.push(done);
                    }
                    Command::Rotate(done) => {
                        self.commit(&mut buf, &mut waiters);
                        let res = if self.records_in_segment == 0 && !self.broken {
                            Ok(self.id)
                        } else {
                            self.rotate()
                        };
                        let _ = done.send(res);
                    }
                }
                if buf.len() < MAX_GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            self.commit(&mut buf, &mut waiters);
        }
    }
}

impl WalWriter {
    /// Starts writing in a new segment `first_segment` in `dir` (created if missing).
    pub fn start(dir: &Path, first_segment: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let current = Arc::new(AtomicU64::new(first_segment));
        let state = WriterState::create(dir, first_segment, current.clone())?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wal-writer".to_string())
            .spawn(move || state.run(rx))?;
        Ok(Self {
            tx: Some(tx),
            current,
            thread: Some(thread),
        })
    }

    /// Queues `payload`; the receiver answers once it is synced to disk.
    pub fn append(&self, payload: Vec<u8>) -> oneshot::Receiver<io::Result<()>> {
        let (done, rx) = oneshot::channel();
        if let Some(tx) = &self.tx
            && let Err(mpsc::SendError(Command::Append(_, done))) =
                tx.send(Command::Append(payload, done))
        {
            let _ = done.send(Err(writer_gone()));
        }
        rx
    }

    /// Waits for `rx` from [`WalWriter::append`].
    pub async fn wait(rx: oneshot::Receiver<io::Result<()>>) -> io::Result<()> {
        rx.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Closes the current segment (if it holds records) and starts the next one;
    /// answers with the id now written.
    pub async fn rotate(&self) -> io::Result<u64> {
        let (done, rx) = oneshot::channel();
        let Some(tx) = &self.tx else {
            return Err(writer_gone());
        };
        tx.send(Command::Rotate(done)).map_err(|_| writer_gone())?;
        rx.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// The id of the segment being written (records queued now land in it or later).
    pub fn current_segment(&self) -> u64 {
        self.current.load(Ordering::Acquire)
    }
}

fn writer_gone() -> io::Error {
    io::Error::other("wal writer has stopped")
}

impl Drop for WalWriter {
    fn drop(&mut self) {
        // closing the channel ends the thread after it wrote what is queued
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;
    use storage::Entry;

    fn push(labels: &[(&str, &str)], entries: &[(i64, &str)]) -> PushStream {
        PushStream {
            labels: LabelSet::from_pairs(labels.iter().copied()),
            entries: entries
                .iter()
                .map(|(ts, l)| Entry {
                    ts: *ts,
                    line: l.to_string(),
                    metadata: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn push_record_round_trip() {
        let mut s = push(&[("job", "a")], &[(5, "x"), (-3, "ünï")]);
        s.entries[1].metadata = vec![("trace".into(), "1".into())];
        let mut p = encode_push("t1", &[s]);
        set_seq(&mut p, 42);
        let rec = decode(&p).unwrap();
        assert_eq!(
            rec,
            Record::Push {
                seq: 42,
                tenant: "t1",
                streams: vec![StreamView {
                    labels: vec![("job", "a")],
                    entries: vec![
                        EntryView {
                            ts: 5,
                            line: "x",
                            metadata: vec![]
                        },
                        EntryView {
                            ts: -3,
                            line: "ünï",
                            metadata: vec![("trace", "1")]
                        },
                    ],
                }],
            }
        );
        for cut in 0..p.len() {
            assert!(decode(&p[..cut]).is_err(), "prefix {cut} decoded");
        }
        let f = encode_flushed("t", &[(1, 2), (3, 4)]);
        assert_eq!(
            decode(&f).unwrap(),
            Record::Flushed {
                tenant: "t",
                streams: vec![(1, 2), (3, 4)]
            }
        );
        assert_eq!(
            decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(DecodeError::UnknownKind(9))
        );
    }

    /// A tiny deterministic generator for the property test (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn read_all(dir: &Path, repair: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (_, p) in list_segments(dir).unwrap() {
            scan_segment(&p, repair, |r| out.push(r.to_vec())).unwrap();
        }
        out
    }

    #[test]
    fn property_crash_at_random_byte_keeps_exactly_the_synced_prefix() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let model: Vec<Vec<u8>>;
            {
                let w = WalWriter::start(dir.path(), 1).unwrap();
                let mut written = Vec::new();
                let n = 1 + rng.below(30);
                for i in 0..n {
                    let lines: Vec<(i64, String)> = (0..rng.below(5))
                        .map(|j| (j as i64, "l".repeat(rng.below(200) as usize)))
                        .collect();
                    let entries: Vec<(i64, &str)> =
                        lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
                    let mut p = encode_push("t", &[push(&[("i", "x")], &entries)]);
                    set_seq(&mut p, i);
                    // some records wait together (group commit), some one by one
                    let rx = w.append(p.clone());
                    if rng.below(3) == 0 {
                        rx.blocking_recv().unwrap().unwrap();
                    }
                    written.push(p);
                    if rng.below(10) == 0 {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        rt.block_on(w.rotate()).unwrap();
                    }
                }
                drop(w); // waits for everything queued to be written
                model = written;
            }
            assert_eq!(read_all(dir.path(), false), model, "round {round}");
            // crash: the last segment loses a random tail, or gets random garbage
            let segs = list_segments(dir.path()).unwrap();
            let (_, last) = segs.last().unwrap();
            let len = fs::metadata(last).unwrap().len();
            let cut = rng.below(len + 1);
            let f = OpenOptions::new().write(true).open(last).unwrap();
            f.set_len(cut).unwrap();
            if cut >= MAGIC.len() as u64 && rng.below(2) == 0 {
                let mut f = OpenOptions::new().append(true).open(last).unwrap();
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                f.write_all(&junk).unwrap();
            }
            // records fully inside the surviving bytes of earlier segments + cut point
            let before: usize = segs[..segs.len() - 1]
                .iter()
                .map(|(_, p)| {
                    let mut n = 0;
                    scan_segment(p, false, |_| n += 1).unwrap();
                    n
                })
                .sum();
            let mut in_last = 0;
            let mut pos = MAGIC.len() as u64;
            let mut idx = before;
            while idx < model.len() {
                let end = pos + FRAME_HEADER as u64 + model[idx].len() as u64;
                if end > cut {
                    break;
                }
                pos = end;
                in_last += 1;
                idx += 1;
            }
            let replayed = read_all(dir.path(), true);
            assert_eq!(
                replayed[..],
                model[..before + in_last],
                "round {round} cut {cut}"
            );
            // the repaired segment is clean, and a new writer continues after it
            assert_eq!(read_all(dir.path(), false), replayed);
            let next = list_segments(dir.path())
                .unwrap()
                .last()
                .map_or(1, |s| s.0 + 1);
            let w = WalWriter::start(dir.path(), next).unwrap();
            w.append(b"\x02more".to_vec())
                .blocking_recv()
                .unwrap()
                .unwrap();
            drop(w);
            let again = read_all(dir.path(), true);
            assert_eq!(again.len(), replayed.len() + 1);
        }
    }

    #[tokio::test]
    async fn concurrent_appends_share_syncs_and_keep_queue_order() {
        let dir = tempfile::tempdir().unwrap();
        let w = Arc::new(WalWriter::start(dir.path(), 7).unwrap());
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let rx = w.append(i.to_le_bytes().to_vec());
            tasks.push(tokio::spawn(WalWriter::wait(rx)));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let recs = read_all(dir.path(), false);
        let want: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        assert_eq!(recs, want);
        assert_eq!(w.current_segment(), 7);
        assert_eq!(w.rotate().await.unwrap(), 8);
        // rotating an empty segment keeps it
        assert_eq!(w.rotate().await.unwrap(), 8);
        assert_eq!(delete_segments_before(dir.path(), 8).unwrap(), 1);
        assert_eq!(
            list_segments(dir.path())
                .unwrap()
                .iter()
                .map(|s| s.0)
                .collect::<Vec<_>>(),
            vec![8]
        );
    }

    #[test]
    fn headerless_segment_is_removed_on_repair() {
        let dir = tempfile::tempdir().unwrap();
        let p = segment_path(dir.path(), 3);
        fs::write(&p, b"FNR").unwrap();
        let scan = scan_segment(&p, true, |_| {}).unwrap();
        assert_eq!(scan.records, 0);
        assert!(!p.exists());
        fs::write(&p, b"NOTAWAL!").unwrap();
        assert!(scan_segment(&p, true, |_| {}).is_err());
    }
}
