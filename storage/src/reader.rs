//! Reading rows out of segment objects: only the row groups and pages that can hold the
//! requested streams in the requested time range are fetched and decoded.
//!
//! Per segment: the (cached) Parquet footer and page index are loaded; the exact row
//! ranges of the requested streams (from the index) are narrowed by the `ts` page
//! statistics; the byte ranges of the surviving pages are fetched in one batch of range
//! requests; then decoding runs on a blocking thread, with a row filter on `ts` when the
//! range cuts through a stream.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, StringViewArray,
};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::compute::kernels::{boolean, cast, cmp};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter, RowSelection, RowSelectionPolicy,
};
use datafusion::parquet::arrow::async_reader::MetadataFetch;
use datafusion::parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::entry::{columns, log_schema};
use crate::error::{Result, StorageError};
use crate::grams::{LiteralQuery, PageFilters};
use crate::layout;
use crate::sparse::{FetchedRanges, merge_ranges};

/// Rows per decoded batch.
const BATCH_ROWS: usize = 32 * 1024;

/// Bytes fetched from the end of a segment on a footer cache miss (footer plus page
/// index usually fit; more is fetched when not).
const FOOTER_PREFETCH: usize = 64 * 1024;

/// Memory budget of the footer cache.
const FOOTER_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Memory budget of the page filter cache (about 2 KiB per MiB of raw text: 64 MiB
/// cover some 30 GiB of logs).
const GRAMS_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Leaf column index of `ts` in segment files (flat schema: leaves are the columns).
const TS_COLUMN: usize = columns::TS_INDEX;

/// Leaf column index of `line`, the bulk of every segment.
const LINE_COLUMN: usize = columns::LINE_INDEX;

/// What to read from one segment.
#[derive(Clone, Debug)]
pub struct SegmentRead {
    /// The segment object.
    pub path: Path,
    /// Its size in bytes (from the index; saves a HEAD request).
    pub size: u64,
    /// Row ranges of the requested streams, sorted and not overlapping.
    pub rows: Vec<Range<u64>>,
    /// True when some requested stream has rows outside the time range, so rows must be
    /// filtered by `ts`.
    pub filter_ts: bool,
}

/// What a read needs besides its rows and time range.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions<'a> {
    /// Fetch and decode the `line` column; without it lines come back empty (queries
    /// that only count entries).
    pub lines: bool,
    /// Only lines holding these literals matter: pages whose trigram filters rule them
    /// out are neither fetched nor decoded.
    pub literals: Option<&'a LiteralQuery>,
}

/// Reads segments through the object store, caching their footers and page filters.
pub struct SegmentReader {
    store: Arc<dyn ObjectStore>,
    footers: moka::sync::Cache<String, ArrowReaderMetadata>,
    /// Page filters by segment path; `None` for segments written without them.
    grams: moka::sync::Cache<String, Option<Arc<PageFilters>>>,
    bytes_fetched: AtomicU64,
    fallbacks: AtomicU64,
    rows_skipped: AtomicU64,
}

/// Counters of the segment reader, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Segment bytes fetched for row data (footers and page filters not included).
    pub bytes_fetched: u64,
    /// Reads that had to fall back from page-level to whole-column-chunk fetching.
    pub fallbacks: u64,
    /// Requested rows left unread because their pages' trigram filters ruled out the
    /// query's literals.
    pub rows_skipped: u64,
}

/// Which row groups, rows and bytes of a segment one read needs.
#[derive(Debug, PartialEq)]
struct ReadPlan {
    /// Row groups to decode.
    row_groups: Vec<usize>,
    /// Selected rows, relative to the concatenation of `row_groups`.
    selection: Vec<Range<usize>>,
    /// Rows in `row_groups`.
    total_rows: usize,
    /// Byte ranges of the pages holding selected rows (plus dictionaries), merged.
    pages: Vec<Range<u64>>,
    /// Byte ranges of the whole column chunks of `row_groups`, merged (fallback).
    chunks: Vec<Range<u64>>,
}

impl SegmentReader {
    /// A reader over `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        let footers = moka::sync::Cache::builder()
            .max_capacity(FOOTER_CACHE_BYTES)
            .weigher(|_k: &String, v: &ArrowReaderMetadata| {
                u32::try_from(v.metadata().memory_size()).unwrap_or(u32::MAX)
            })
            .build();
        let grams = moka::sync::Cache::builder()
            .max_capacity(GRAMS_CACHE_BYTES)
            .weigher(|_k: &String, v: &Option<Arc<PageFilters>>| {
                let size = v.as_ref().map_or(64, |f| f.memory_size());
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            store,
            footers,
            grams,
            bytes_fetched: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            rows_skipped: AtomicU64::new(0),
        }
    }

    /// Counters since this reader was created.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            bytes_fetched: self.bytes_fetched.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            rows_skipped: self.rows_skipped.load(Ordering::Relaxed),
        }
    }

    /// Rows of `read` with `start <= ts < end` (when `read.filter_ts`), in segment order,
    /// as batches in [`log_schema`], less the pages that cannot hold `options.literals`.
    /// Without `options.lines` the `line` column is neither fetched nor decoded and
    /// comes back as empty strings (queries that only count).
    pub async fn read(
        &self,
        mut read: SegmentRead,
        start: i64,
        end: i64,
        options: ReadOptions<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let lines = options.lines;
        if let Some(query) = options.literals.filter(|q| !q.is_empty())
            && !read.rows.is_empty()
            && let Some(filters) = self.page_filters(&read.path).await?
        {
            let narrowed = filters.narrow(&read.rows, query);
            let count = |rows: &[Range<u64>]| rows.iter().map(|r| r.end - r.start).sum::<u64>();
            self.rows_skipped
                .fetch_add(count(&read.rows) - count(&narrowed), Ordering::Relaxed);
            read.rows = narrowed;
        }
        if read.rows.is_empty() {
            return Ok(Vec::new());
        }
        let meta = self.metadata(&read.path, read.size).await?;
        let window = read.filter_ts.then_some((start, end));
        let plan = plan(meta.metadata(), &read.rows, window, lines)?;
        if plan.row_groups.is_empty() {
            return Ok(Vec::new());
        }
        let plan = Arc::new(plan);
        let fetched = self.fetch(&read.path, read.size, &plan.pages).await?;
        let first = {
            let (meta, plan) = (meta.clone(), plan.clone());
            spawn_decode(move || decode(meta, fetched, &plan, window, lines)).await
        };
        match first {
            Ok(batches) => Ok(batches),
            Err(err) => {
                // Page-level fetching relies on the reader touching only the pages of
                // selected rows; should it ever need more, fetch whole column chunks.
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = %read.path, %err, "page-level read failed; reading whole column chunks");
                let fetched = self.fetch(&read.path, read.size, &plan.chunks).await?;
                spawn_decode(move || decode(meta, fetched, &plan, window, lines)).await
            }
        }
    }

    /// The footer and page index of a segment, from the cache or the store.
    async fn metadata(&self, path: &Path, size: u64) -> Result<ArrowReaderMetadata> {
        let key = path.as_ref().to_string();
        if let Some(meta) = self.footers.get(&key) {
            return Ok(meta);
        }
        let reader = StoreFetch {
            store: &self.store,
            path,
        };
        let parquet = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_prefetch_hint(Some(FOOTER_PREFETCH))
            .load_and_finish(reader, size)
            .await?;
        // the columns, by name, before asking for the log schema's types
        let columns = parquet.file_metadata().schema_descr().columns();
        let expected = log_schema();
        let columns_match = columns.len() == expected.fields().len()
            && columns
                .iter()
                .zip(expected.fields().iter())
                .all(|(c, f)| c.name() == f.name());
        if !columns_match {
            let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
            return Err(StorageError::Corrupt {
                path: key,
                reason: format!("unexpected segment columns {names:?}"),
            });
        }
        // decode `line` as views into the pages (the segment stores plain strings)
        let options = ArrowReaderOptions::new().with_schema(expected);
        let meta = ArrowReaderMetadata::try_new(Arc::new(parquet), options).map_err(|e| {
            StorageError::Corrupt {
                path: key.clone(),
                reason: format!("segment columns do not read as the log schema: {e}"),
            }
        })?;
        self.footers.insert(key, meta.clone());
        Ok(meta)
    }

    /// The page filters of the segment at `segment`, from the cache or the store; `None`
    /// when it has none (written before filters existed) or they cannot be read (they
    /// only save work, so a damaged filter object must not fail queries).
    async fn page_filters(&self, segment: &Path) -> Result<Option<Arc<PageFilters>>> {
        let key = segment.as_ref().to_string();
        if let Some(filters) = self.grams.get(&key) {
            return Ok(filters);
        }
        let path = layout::grams_path(segment);
        let data = match self.store.get(&path).await {
            Ok(get) => get.bytes().await,
            Err(e) => Err(e),
        };
        let filters = match data {
            Ok(data) => match PageFilters::decode(path.as_ref(), &data) {
                Ok(f) => Some(Arc::new(f)),
                Err(err) => {
                    tracing::warn!(%err, "unreadable page filters ignored");
                    None
                }
            },
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        self.grams.insert(key, filters.clone());
        Ok(filters)
    }

    /// Fetches `ranges` (merged, sorted) of a segment.
    async fn fetch(&self, path: &Path, size: u64, ranges: &[Range<u64>]) -> Result<FetchedRanges> {
        let data = self.store.get_ranges(path, ranges).await?;
        let fetched: usize = data.iter().map(|b| b.len()).sum();
        self.bytes_fetched
            .fetch_add(fetched as u64, Ordering::Relaxed);
        Ok(FetchedRanges::new(size, ranges, data))
    }
}

/// Fetches footer bytes of one object for [`ParquetMetaDataReader`].
struct StoreFetch<'a> {
    store: &'a Arc<dyn ObjectStore>,
    path: &'a Path,
}

impl MetadataFetch for StoreFetch<'_> {
    fn fetch(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<bytes::Bytes>> {
        async move {
            self.store
                .get_range(self.path, range)
                .await
                .map_err(|e| datafusion::parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }
}

/// Runs a decode on the blocking pool.
async fn spawn_decode<F>(f: F) -> Result<Vec<RecordBatch>>
where
    F: FnOnce() -> Result<Vec<RecordBatch>> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
}

/// Intersects two sorted lists of disjoint ranges.
fn intersect(a: &[Range<u64>], b: &[Range<u64>]) -> Vec<Range<u64>> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(start..end);
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// True if any of the sorted, disjoint `ranges` overlaps `r`.
fn overlaps(ranges: &[Range<u64>], r: &Range<u64>) -> bool {
    let i = ranges.partition_point(|x| x.end <= r.start);
    ranges.get(i).is_some_and(|x| x.start < r.end)
}

/// Row ranges (row-group local) of the `ts` pages of row group `rg` whose statistics may
/// hold a timestamp in `[start, end)`; `None` when the page index is missing.
fn ts_pages_in_window<'a>(
    meta: &ParquetMetaData,
    converter: &StatisticsConverter<'a>,
    rg: &'a usize,
    (start, end): (i64, i64),
) -> Result<Option<Vec<Range<u64>>>> {
    let rg_ref = rg;
    let rg = *rg;
    let (Some(column_index), Some(offset_index)) = (meta.column_index(), meta.offset_index())
    else {
        return Ok(None);
    };
    let Some(locations) = offset_index
        .get(rg)
        .and_then(|cols| cols.get(TS_COLUMN))
        .map(|o| o.page_locations())
    else {
        return Ok(None);
    };
    let mins = converter.data_page_mins(column_index, offset_index, [rg_ref])?;
    let maxes = converter.data_page_maxes(column_index, offset_index, [rg_ref])?;
    let (Some(mins), Some(maxes)) = (
        mins.as_primitive_opt::<Int64Type>(),
        maxes.as_primitive_opt::<Int64Type>(),
    ) else {
        return Ok(None);
    };
    let rg_rows = u64::try_from(meta.row_group(rg).num_rows()).unwrap_or(0);
    let mut keep: Vec<Range<u64>> = Vec::new();
    for (p, loc) in locations.iter().enumerate() {
        let first = u64::try_from(loc.first_row_index).unwrap_or(0);
        let next = locations.get(p + 1).map_or(rg_rows, |n| {
            u64::try_from(n.first_row_index).unwrap_or(rg_rows)
        });
        // pages without statistics are kept
        let disjoint = p < mins.len()
            && p < maxes.len()
            && mins.is_valid(p)
            && maxes.is_valid(p)
            && (maxes.value(p) < start || mins.value(p) >= end);
        if disjoint {
            continue;
        }
        match keep.last_mut() {
            Some(last) if last.end == first => last.end = next,
            _ => keep.push(first..next),
        }
    }
    Ok(Some(keep))
}

/// Plans the read of `rows` (segment row ranges) from a segment with footer `meta`,
/// dropping `ts` pages outside `window` when given, and the `line` column without
/// `lines`.
fn plan(
    meta: &ParquetMetaData,
    rows: &[Range<u64>],
    window: Option<(i64, i64)>,
    lines: bool,
) -> Result<ReadPlan> {
    let arrow_schema = log_schema();
    let rg_ids: Vec<usize> = (0..meta.num_row_groups()).collect();
    let converter = match window {
        Some(_) => Some(StatisticsConverter::try_new(
            columns::TS,
            &arrow_schema,
            meta.file_metadata().schema_descr(),
        )?),
        None => None,
    };
    let mut out = ReadPlan {
        row_groups: Vec::new(),
        selection: Vec::new(),
        total_rows: 0,
        pages: Vec::new(),
        chunks: Vec::new(),
    };
    let mut rg_start = 0u64;
    for (rg, rg_meta) in meta.row_groups().iter().enumerate() {
        let rg_rows = u64::try_from(rg_meta.num_rows()).unwrap_or(0);
        let rg_end = rg_start + rg_rows;
        // requested rows inside this row group, made local
        let mut local: Vec<Range<u64>> = rows
            .iter()
            .filter(|r| r.start < rg_end && r.end > rg_start)
            .map(|r| r.start.max(rg_start) - rg_start..r.end.min(rg_end) - rg_start)
            .collect();
        rg_start = rg_end;
        if let (Some(window), Some(converter)) = (window, converter.as_ref())
            && !local.is_empty()
            && let Some(keep) = ts_pages_in_window(meta, converter, &rg_ids[rg], window)?
        {
            local = intersect(&local, &keep);
        }
        if local.is_empty() {
            continue;
        }
        let base = out.total_rows;
        out.row_groups.push(rg);
        out.total_rows += rg_rows as usize;
        out.selection.extend(
            local
                .iter()
                .map(|r| base + r.start as usize..base + r.end as usize),
        );
        let offsets = meta.offset_index().and_then(|o| o.get(rg));
        for (c, chunk) in rg_meta.columns().iter().enumerate() {
            if c == LINE_COLUMN && !lines {
                continue;
            }
            let (chunk_start, chunk_len) = chunk.byte_range();
            let whole = chunk_start..chunk_start + chunk_len;
            out.chunks.push(whole.clone());
            let Some(locations) = offsets
                .and_then(|o| o.get(c))
                .map(|o| o.page_locations())
                .filter(|l| !l.is_empty())
            else {
                out.pages.push(whole);
                continue;
            };
            let first_page = u64::try_from(locations[0].offset).unwrap_or(chunk_start);
            if chunk_start < first_page {
                // dictionary page (and anything else before the first data page)
                out.pages.push(chunk_start..first_page);
            }
            for (p, loc) in locations.iter().enumerate() {
                let first = u64::try_from(loc.first_row_index).unwrap_or(0);
                let next = locations.get(p + 1).map_or(rg_rows, |n| {
                    u64::try_from(n.first_row_index).unwrap_or(rg_rows)
                });
                if overlaps(&local, &(first..next)) {
                    let offset = u64::try_from(loc.offset).unwrap_or(0);
                    let len = u64::try_from(loc.compressed_page_size).unwrap_or(0);
                    out.pages.push(offset..offset + len);
                }
            }
        }
    }
    out.pages = merge_ranges(std::mem::take(&mut out.pages));
    out.chunks = merge_ranges(std::mem::take(&mut out.chunks));
    Ok(out)
}

/// Decodes the planned rows from fetched bytes (blocking).
fn decode(
    meta: ArrowReaderMetadata,
    fetched: FetchedRanges,
    plan: &ReadPlan,
    window: Option<(i64, i64)>,
    lines: bool,
) -> Result<Vec<RecordBatch>> {
    let selection =
        RowSelection::from_consecutive_ranges(plan.selection.iter().cloned(), plan.total_rows);
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(fetched, meta);
    if !lines {
        let leaves = (0..builder.parquet_schema().num_columns()).filter(|&c| c != LINE_COLUMN);
        let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
        builder = builder.with_projection(mask);
    }
    let mut builder = builder
        .with_row_groups(plan.row_groups.clone())
        .with_row_selection(selection)
        // a queue of selectors skips unselected pages without reading them
        .with_row_selection_policy(RowSelectionPolicy::Selectors)
        .with_batch_size(BATCH_ROWS);
    if let Some((start, end)) = window {
        let mask = ProjectionMask::leaves(builder.parquet_schema(), [TS_COLUMN]);
        let start = Int64Array::new_scalar(start);
        let end = Int64Array::new_scalar(end);
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let ts = batch.column(0);
            in_window(ts, &start, &end)
        });
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
    }
    let reader = builder.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        if batch.num_rows() > 0 {
            let batch = if lines {
                batch
            } else {
                with_empty_lines(&batch)?
            };
            out.push(conform(batch)?);
        }
    }
    Ok(out)
}

/// `start <= ts < end` over a whole `ts` array.
fn in_window(
    ts: &ArrayRef,
    start: &datafusion::arrow::array::Scalar<Int64Array>,
    end: &datafusion::arrow::array::Scalar<Int64Array>,
) -> std::result::Result<BooleanArray, ArrowError> {
    let ge = cmp::gt_eq(ts, start)?;
    let lt = cmp::lt(ts, end)?;
    boolean::and(&ge, &lt)
}

/// Puts an all-empty `line` column back into a batch decoded without it.
fn with_empty_lines(batch: &RecordBatch) -> Result<RecordBatch> {
    let n = batch.num_rows();
    // an all-zero view is the empty string
    let empty: ArrayRef = Arc::new(StringViewArray::new(
        ScalarBuffer::from(vec![0u128; n]),
        Vec::new(),
        None,
    ));
    let mut columns = batch.columns().to_vec();
    if columns.len() + 1 != log_schema().fields().len() {
        return Err(StorageError::Arrow(ArrowError::SchemaError(format!(
            "segment decoded without lines has {} columns",
            columns.len()
        ))));
    }
    columns.insert(LINE_COLUMN, empty);
    Ok(RecordBatch::try_new(log_schema(), columns)?)
}

/// Gives a decoded batch exactly [`log_schema`] (its string types, the schema's metadata).
fn conform(batch: RecordBatch) -> Result<RecordBatch> {
    let schema = log_schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields().iter())
        .map(|(col, field)| {
            if col.data_type() == field.data_type() {
                Ok(col.clone())
            } else if matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View) {
                Ok(cast::cast(col, field.data_type())?)
            } else {
                Err(StorageError::Arrow(ArrowError::SchemaError(format!(
                    "segment column {} has type {}, expected {}",
                    field.name(),
                    col.data_type(),
                    field.data_type()
                ))))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersects_sorted_ranges() {
        assert_eq!(
            intersect(&[0..10, 20..30], &[5..25, 28..40]),
            vec![5..10, 20..25, 28..30]
        );
        assert_eq!(
            intersect(&[0..10, 30..40], &[10..20, 40..50]),
            Vec::<Range<u64>>::new()
        );
        assert!(overlaps(&[0..10, 20..30], &(9..12)));
        assert!(!overlaps(&[0..10, 20..30], &(10..20)));
        assert!(overlaps(&[0..10, 20..30], &(29..100)));
        assert!(!overlaps(&[0..10, 20..30], &(30..100)));
    }
}
