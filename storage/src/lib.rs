//! Fenrir storage: where flushed logs live and how queries find them.
//!
//! Data flow: the ingester hands [`StreamData`] (one stream's sorted entries, as the Arrow
//! columns a segment stores) to [`Storage::write_segment`], which writes one columnar
//! segment object (Parquet, zstd, many streams, sorted by stream then time) and one index
//! record for it through `object_store` (local filesystem or S3). Queries resolve label
//! matchers through the in-memory copy of the index ([`Storage::series`]) and read only
//! the row groups whose stream and time statistics can match ([`Storage::read`]), as Arrow
//! record batches in [`log_schema`]. The on-disk layout is specified in `layout.rs`.

pub mod backend;
pub mod catalog;
pub mod config;
pub mod entry;
pub mod error;
pub mod grams;
pub mod index;
pub mod layout;
pub mod reader;
pub mod segment;
pub mod sparse;

pub use config::StorageConfig;
/// The one arrow of the build (DataFusion's), re-exported for crates that need only arrow.
pub use datafusion::arrow;
pub use entry::{Entry, StreamData, StreamInfo, log_schema};
pub use error::{Result, StorageError};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use futures::{StreamExt, TryStreamExt};
use logql::LabelMatcher;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use catalog::StreamRollup;
use catalog::{Catalog, TenantIndex};
pub use grams::LiteralQuery;
use index::IndexRecord;
use layout::{IndexLocation, period_of};
pub use reader::ReadOptions;
use reader::SegmentReader;

/// How often a tenant's index is listed again for records written by other processes.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// A query spanning more periods than this lists the whole tenant instead of each period.
const MAX_PERIOD_LISTS: i64 = 32;

/// Index records fetched concurrently while loading.
const INDEX_FETCH_CONCURRENCY: usize = 16;

/// Segments read concurrently by one `read`.
const READ_CONCURRENCY: usize = 8;

/// Access to segments and the label index of every tenant.
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    catalog: Catalog,
    reader: SegmentReader,
    refresh_interval: Duration,
}

impl Storage {
    /// Opens the configured object store and loads the label index.
    pub async fn open(config: &StorageConfig) -> Result<Self> {
        let store = backend::open_store(config)?;
        let storage = Self {
            reader: SegmentReader::new(store.clone()),
            store,
            catalog: Catalog::default(),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
        };
        storage.load_all().await?;
        Ok(storage)
    }

    /// Sets how often `series`/`read` list a tenant's index again to see other processes'
    /// writes (default [`DEFAULT_REFRESH_INTERVAL`]; zero lists on every call).
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Counters of segment reads since open (bytes fetched, page-level fallbacks).
    pub fn read_stats(&self) -> reader::ReadStats {
        self.reader.stats()
    }

    /// Writes the given streams (entries sorted by timestamp) as one segment object
    /// and registers it in the tenant's index. Visible to queries when this returns.
    pub async fn write_segment(&self, tenant: &str, streams: Vec<StreamData>) -> Result<()> {
        let part = layout::tenant_part(tenant)?;
        let id = layout::new_segment_id();
        let encoded = {
            let id = id.clone();
            tokio::task::spawn_blocking(move || segment::encode_segment(&id, streams))
                .await
                .map_err(|e| StorageError::Task(e.to_string()))??
        };
        let Some(encoded) = encoded else {
            return Ok(());
        };
        let record = encoded.record;
        let path = layout::segment_path(&part, record.min_ts, &id);
        // filters, then segment, then index: an index record never points to a missing
        // segment, and a segment has its filters from the moment a query can see it
        self.store
            .put(&layout::grams_path(&path), PutPayload::from(encoded.grams))
            .await?;
        self.store
            .put(&path, PutPayload::from(encoded.data))
            .await?;
        let index_bytes = Bytes::from(record.encode()?);
        let puts = (period_of(record.min_ts)..=period_of(record.max_ts)).map(|period| {
            let path = layout::index_path(&part, period, &id);
            let payload = PutPayload::from(index_bytes.clone());
            async move { self.store.put(&path, payload).await }
        });
        futures::future::try_join_all(puts).await?;
        self.catalog.tenant(&part).insert(&record);
        tracing::debug!(tenant, segment = %id, rows = record.rows, bytes = record.size, "segment written");
        Ok(())
    }

    /// Streams of `tenant` matching all `matchers` with data in `[start, end)` (ns).
    pub async fn series(
        &self,
        tenant: &str,
        matchers: &[LabelMatcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<StreamInfo>> {
        let index = self.catalog.tenant(&layout::tenant_part(tenant)?);
        self.refresh(&index, start, end).await?;
        Ok(index.series(matchers, start, end))
    }

    /// Entries of the given streams with `start <= ts < end`, as batches in
    /// [`log_schema`], each sorted by (fingerprint, ts).
    pub async fn read(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
    ) -> Result<Vec<RecordBatch>> {
        let options = ReadOptions {
            lines: true,
            literals: None,
        };
        self.read_columns(tenant, fingerprints, start, end, options)
            .await
    }

    /// [`Self::read`] doing only what `options` asks: without `lines` the `line` column
    /// is not fetched or decoded and holds empty strings (queries that only count);
    /// with `literals`, rows of pages that cannot hold them may be left out (rows that
    /// the query's line filters would drop anyway).
    pub async fn read_columns(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
        options: ReadOptions<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let index = self.catalog.tenant(&layout::tenant_part(tenant)?);
        self.refresh(&index, start, end).await?;
        let reads = index.plan_reads(fingerprints, start, end);
        let per_segment: Vec<Vec<RecordBatch>> = futures::stream::iter(reads)
            .map(|r| self.reader.read(r, start, end, options))
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(per_segment.into_iter().flatten().collect())
    }

    /// The per-minute rollups of the given streams in `[start, end)` (see
    /// [`catalog::TenantIndex::rollups`]): what a counting query over minute-aligned
    /// windows needs, without reading a segment. `None` when rows must be read.
    pub async fn rollups(
        &self,
        tenant: &str,
        fingerprints: &[u64],
        start: i64,
        end: i64,
    ) -> Result<Option<Vec<StreamRollup>>> {
        let index = self.catalog.tenant(&layout::tenant_part(tenant)?);
        self.refresh(&index, start, end).await?;
        Ok(index.rollups(fingerprints, start, end))
    }

    /// Loads every index record in the store (at open).
    async fn load_all(&self) -> Result<()> {
        let started = Instant::now();
        let listed = self.list(&Path::from(layout::INDEX_DIR)).await?;
        let mut by_tenant: HashMap<String, Vec<IndexLocation>> = HashMap::new();
        for loc in listed {
            by_tenant
                .entry(loc.tenant_part.clone())
                .or_default()
                .push(loc);
        }
        for (part, locations) in by_tenant {
            let index = self.catalog.tenant(&part);
            let mut refresh = index.refresh.lock().await;
            self.load_records(&index, locations).await?;
            refresh.all = Some(started);
        }
        Ok(())
    }

    /// Lists the tenant's index for `[start, end)` again unless that was done within the
    /// refresh interval, and loads records not seen yet.
    async fn refresh(&self, index: &Arc<TenantIndex>, start: i64, end: i64) -> Result<()> {
        if start >= end {
            return Ok(());
        }
        let (first, last) = (period_of(start), period_of(end - 1));
        let mut state = index.refresh.lock().await;
        let now = Instant::now();
        let interval = self.refresh_interval;
        let fresh = |t: Option<&Instant>| t.is_some_and(|t| now.duration_since(*t) < interval);
        if fresh(state.all.as_ref()) {
            return Ok(());
        }
        let mut locations = Vec::new();
        if last - first >= MAX_PERIOD_LISTS {
            locations = self
                .list(&layout::tenant_index_prefix(index.part()))
                .await?;
            state.all = Some(now);
        } else {
            for period in first..=last {
                if fresh(state.periods.get(&period)) {
                    continue;
                }
                let prefix = layout::period_index_prefix(index.part(), period);
                locations.extend(self.list(&prefix).await?);
                state.periods.insert(period, now);
            }
        }
        locations.retain(|l| l.tenant_part == index.part());
        self.load_records(index, locations).await
    }

    /// Parsed index record locations under `prefix` (other objects are ignored).
    async fn list(&self, prefix: &Path) -> Result<Vec<IndexLocation>> {
        let metas: Vec<_> = self.store.list(Some(prefix)).try_collect().await?;
        Ok(metas
            .iter()
            .filter_map(|m| layout::parse_index_path(&m.location))
            .collect())
    }

    /// Fetches and inserts the records at `locations` that the tenant does not know yet.
    async fn load_records(
        &self,
        index: &TenantIndex,
        mut locations: Vec<IndexLocation>,
    ) -> Result<()> {
        locations.retain(|l| !index.knows(&l.segment_id));
        // one fetch per segment, even when it is listed in several periods
        locations.sort_by(|a, b| a.segment_id.cmp(&b.segment_id));
        locations.dedup_by(|a, b| a.segment_id == b.segment_id);
        let store = &self.store;
        let loaded: Vec<(IndexLocation, Option<Result<IndexRecord>>)> =
            futures::stream::iter(locations)
                .map(|loc| async move {
                    let path = layout::index_path(&loc.tenant_part, loc.period, &loc.segment_id);
                    let data = match store.get(&path).await {
                        Ok(get) => get.bytes().await,
                        Err(e) => Err(e),
                    };
                    let data = match data {
                        Ok(data) => data,
                        // deleted since listing (compaction): nothing to load
                        Err(object_store::Error::NotFound { .. }) => return Ok((loc, None)),
                        Err(e) => return Err(StorageError::from(e)),
                    };
                    let name = path.to_string();
                    let record =
                        tokio::task::spawn_blocking(move || IndexRecord::decode(&name, &data))
                            .await
                            .map_err(|e| StorageError::Task(e.to_string()))?;
                    Ok((loc, Some(record)))
                })
                .buffer_unordered(INDEX_FETCH_CONCURRENCY)
                .try_collect()
                .await?;
        for (loc, record) in loaded {
            match record {
                None => {}
                Some(Ok(record)) if record.segment == loc.segment_id => index.insert(&record),
                Some(Ok(record)) => {
                    tracing::warn!(
                        segment = %loc.segment_id,
                        found = %record.segment,
                        "index record names another segment; skipped"
                    );
                    index.skip(&loc.segment_id);
                }
                Some(Err(err)) => {
                    tracing::warn!(segment = %loc.segment_id, %err, "unreadable index record skipped");
                    index.skip(&loc.segment_id);
                }
            }
        }
        Ok(())
    }
}
