//! Encoding one segment: many streams' entries into one Parquet object plus the index
//! record that describes it (format in `layout.rs`). CPU-bound; callers run it on a
//! blocking thread.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, UInt32Array, UInt64Array};
use datafusion::arrow::compute::{concat, take};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves,
};
use datafusion::parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{ParquetMetaData, SortingColumn};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::file::writer::SerializedFileWriter;
use datafusion::parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::entry::{StreamData, columns, segment_schema};
use crate::error::{Result, StorageError};
use crate::grams::{FilterBuilder, PageFilters};
use crate::index::{INDEX_VERSION, IndexRecord, IndexStream, rollup_point};

/// Maximum rows per row group: large enough for efficient columnar decoding, small
/// enough that statistics prune well.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// zstd level of the `line` column, the bulk of every segment. On the benchmark kit's
/// text in 256 KiB pages (`zstd -b1 -e9 -B262144`): level 3 5.42x at 323 MB/s, level
/// 6 6.40x at 100 MB/s, level 9 6.50x at 53 MB/s, all decoding at 1.4-1.7 GB/s. Level
/// 9 cost most of the ingest CPU for 1.5 % of size, so 6.
const LINE_ZSTD_LEVEL: i32 = 6;

/// Rows per data page at most, so that page-level skipping stays precise for small
/// streams inside large row groups.
const PAGE_ROWS: usize = 8 * 1024;

/// Uncompressed bytes per `line` data page: small enough that reading a few rows of a
/// stream (a time range, or small streams packed into one row group) fetches little,
/// large enough for zstd to find repetition.
const LINE_PAGE_BYTES: usize = 256 * 1024;

/// Raw bytes from which a stream gets row groups of its own in a segment (see
/// [`row_group_ranges`]). An eighth of a page: on the benchmark kit a segment holds
/// 140-415 KiB of each `worker` stream, and while those under a page were packed with
/// their neighbours (other jobs' streams), a query over `worker` decoded the neighbours'
/// lines too (quantile over `| logfmt`: 16 % more CPU). Only streams too small for a
/// page of their own to compress well are packed; the segments grew by 0.14 %.
const STREAM_GROUP_BYTES: u64 = (LINE_PAGE_BYTES / 8) as u64;

/// Raw line bytes covered by one trigram filter: consecutive pages are grouped until
/// they hold this much, since the distinct trigrams of log text barely grow past
/// 256 KiB (a filter per page would cost four times as much for little more skipping).
const FILTER_BLOCK_BYTES: usize = 1024 * 1024;

/// An encoded segment, ready to upload.
#[derive(Debug)]
pub struct EncodedSegment {
    /// The Parquet object.
    pub data: Bytes,
    /// Its index record (`size` is `data.len()`).
    pub record: IndexRecord,
    /// The trigram filters of its `line` pages (the `.grams` object, see [`crate::grams`]).
    pub grams: Bytes,
}

/// The writer properties of every segment.
fn writer_properties() -> Result<WriterProperties> {
    let col = |name: &str| ColumnPath::from(name);
    Ok(WriterProperties::builder()
        // only `line` is compressed: the other columns are small after their encodings,
        // and parquet-rs builds a zstd compressor and decompressor for every column
        // chunk it reads from a compressed column (most of a counting query's CPU)
        .set_compression(Compression::UNCOMPRESSED)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_sorting_columns(Some(vec![
            SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: 1,
                descending: false,
                nulls_first: false,
            },
        ]))
        // fingerprint: long runs of one value -> dictionary + RLE, page statistics
        .set_column_dictionary_enabled(col(columns::FINGERPRINT), true)
        .set_column_statistics_enabled(col(columns::FINGERPRINT), EnabledStatistics::Page)
        // ts: sorted per stream -> delta encoding (bit-packed deltas, which zstd barely
        // shrinks), page statistics for time pruning
        .set_column_dictionary_enabled(col(columns::TS), false)
        .set_column_encoding(col(columns::TS), Encoding::DELTA_BINARY_PACKED)
        .set_column_statistics_enabled(col(columns::TS), EnabledStatistics::Page)
        // line: delta-length + zstd: the lengths go first, the text after them in one
        // piece, which readers take as string views into the page without copying;
        // statistics on free text are useless
        .set_column_dictionary_enabled(col(columns::LINE), false)
        .set_column_encoding(col(columns::LINE), Encoding::DELTA_LENGTH_BYTE_ARRAY)
        .set_column_statistics_enabled(col(columns::LINE), EnabledStatistics::None)
        .set_column_data_page_size_limit(col(columns::LINE), LINE_PAGE_BYTES)
        .set_column_compression(
            col(columns::LINE),
            Compression::ZSTD(ZstdLevel::try_new(LINE_ZSTD_LEVEL)?),
        )
        // metadata: mostly null, few distinct values per segment -> dictionary
        .set_column_dictionary_enabled(col(columns::METADATA), true)
        .set_column_statistics_enabled(col(columns::METADATA), EnabledStatistics::None)
        .build())
}

/// `s` with its entries in timestamp order (stable: ties keep their order).
fn sorted_by_ts(s: StreamData) -> Result<StreamData> {
    if s.ts.values().is_sorted() {
        return Ok(s);
    }
    let mut order: Vec<u32> = (0..s.len() as u32).collect();
    order.sort_by_key(|&i| s.ts.value(i as usize));
    let order = UInt32Array::from(order);
    let take_as = |a: &dyn Array| take(a, &order, None);
    Ok(StreamData {
        ts: take_as(&s.ts)?.as_primitive::<Int64Type>().clone(),
        lines: take_as(&s.lines)?.as_string::<i32>().clone(),
        metadata: take_as(&s.metadata)?.as_string::<i32>().clone(),
        ..s
    })
}

/// One stream from two with one fingerprint, in timestamp order (`first`'s entries
/// before `second`'s on equal timestamps).
fn merge_streams(first: StreamData, second: StreamData) -> Result<StreamData> {
    let ts = concat(&[&first.ts, &second.ts])?;
    let lines = concat(&[&first.lines, &second.lines])?;
    let metadata = concat(&[&first.metadata, &second.metadata])?;
    sorted_by_ts(StreamData {
        ts: ts.as_primitive::<Int64Type>().clone(),
        lines: lines.as_string::<i32>().clone(),
        metadata: metadata.as_string::<i32>().clone(),
        metadata_bytes: first.metadata_bytes + second.metadata_bytes,
        ..first
    })
}

/// Sorts streams by fingerprint and merges streams that share one (keeping ts order and,
/// for equal ts, the order they were given in). Drops empty streams.
fn normalize(mut streams: Vec<StreamData>) -> Result<Vec<StreamData>> {
    if let Some(s) = streams
        .iter()
        .find(|s| s.lines.len() != s.len() || s.metadata.len() != s.len())
    {
        return Err(StorageError::Arrow(ArrowError::InvalidArgumentError(
            format!(
                "stream {:016x}: {} timestamps, {} lines, {} metadata values",
                s.fingerprint,
                s.len(),
                s.lines.len(),
                s.metadata.len()
            ),
        )));
    }
    streams.retain(|s| !s.is_empty());
    streams.sort_by_key(|s| s.fingerprint); // stable: merged streams keep their order
    let mut out: Vec<StreamData> = Vec::with_capacity(streams.len());
    for s in streams {
        let s = sorted_by_ts(s)?;
        match out.pop() {
            Some(last) if last.fingerprint == s.fingerprint => {
                out.push(merge_streams(last, s)?);
            }
            Some(last) => out.extend([last, s]),
            None => out.push(s),
        }
    }
    Ok(out)
}

/// The columns of segment rows `rows` (`starts[i]`: the first row of `streams[i]`): a
/// slice of one stream's arrays, or the concatenation of several small streams'.
fn group_columns(
    streams: &[StreamData],
    starts: &[usize],
    rows: &Range<usize>,
) -> Result<Vec<ArrayRef>> {
    let first = starts
        .partition_point(|&s| s <= rows.start)
        .saturating_sub(1);
    let mut fps = Vec::with_capacity(rows.len());
    let (mut ts, mut lines, mut metadata) = (Vec::new(), Vec::new(), Vec::new());
    for (s, &start) in streams.iter().zip(starts).skip(first) {
        if start >= rows.end {
            break;
        }
        let lo = rows.start.max(start) - start;
        let hi = rows.end.min(start + s.len()) - start;
        fps.extend(std::iter::repeat_n(s.fingerprint, hi - lo));
        ts.push(s.ts.slice(lo, hi - lo));
        lines.push(s.lines.slice(lo, hi - lo));
        metadata.push(s.metadata.slice(lo, hi - lo));
    }
    fn joined<A: Array + Clone + 'static>(parts: Vec<A>) -> Result<ArrayRef> {
        match parts.as_slice() {
            [one] => Ok(Arc::new(one.clone())),
            _ => {
                let refs: Vec<&dyn Array> = parts.iter().map(|a| a as &dyn Array).collect();
                Ok(concat(&refs)?)
            }
        }
    }
    Ok(vec![
        Arc::new(UInt64Array::from(fps)),
        joined(ts)?,
        joined(lines)?,
        joined(metadata)?,
    ])
}

/// Row ranges of a segment's row groups, cut only between streams so that no page holds
/// the rows of two streams a query might not both want (with pages shared by neighbours,
/// a query over a quarter of the streams fetched and decoded 1.7-2x its streams' pages).
/// A stream of at least [`STREAM_GROUP_BYTES`] gets row groups of its own (split into
/// equal parts of at most [`ROW_GROUP_ROWS`] rows); smaller neighbours share one until it
/// holds that much, since decoding a small neighbour's rows costs less than a row group.
fn row_group_ranges(streams: &[IndexStream]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    // the row group being packed with small streams, and its bytes
    let mut pack: Option<(Range<usize>, u64)> = None;
    for s in streams {
        let range = s.row_start as usize..s.row_end as usize;
        if s.bytes >= STREAM_GROUP_BYTES || range.len() > ROW_GROUP_ROWS {
            out.extend(pack.take().map(|(rows, _)| rows));
            let rows = range.len();
            let per_group = rows.div_ceil(rows.div_ceil(ROW_GROUP_ROWS)).max(1);
            out.extend(
                range
                    .clone()
                    .step_by(per_group)
                    .map(|start| start..(start + per_group).min(range.end)),
            );
            continue;
        }
        if pack
            .as_ref()
            .is_some_and(|(rows, _)| rows.len() + range.len() > ROW_GROUP_ROWS)
        {
            out.extend(pack.take().map(|(rows, _)| rows));
        }
        let (rows, bytes) = pack.get_or_insert((range.start..range.start, 0));
        rows.end = range.end;
        *bytes += s.bytes;
        if *bytes >= STREAM_GROUP_BYTES {
            out.extend(pack.take().map(|(rows, _)| rows));
        }
    }
    out.extend(pack.map(|(rows, _)| rows));
    out
}

/// Encodes `streams` (rows in order, `starts[i]` the first row of `streams[i]`) as a
/// parquet file whose row groups hold the rows `groups` (consecutive, covering every
/// row), encoded in parallel (compressing `line` is most of a flush's CPU,
/// and a flush under memory pressure is one segment: one encoder would leave a core
/// idle). Pages and the embedded Arrow schema are as `ArrowWriter` writes them.
fn write_parquet(
    streams: &[StreamData],
    starts: &[usize],
    groups: &[Range<usize>],
) -> Result<(Vec<u8>, ParquetMetaData)> {
    let schema = segment_schema();
    let mut props = writer_properties()?;
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let props = Arc::new(props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)?;
    let mut buf = Vec::new();
    let mut writer =
        SerializedFileWriter::new(&mut buf, parquet_schema.root_schema_ptr(), props.clone())?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
    let chunks: Vec<Vec<ArrowColumnChunk>> = groups
        .par_iter()
        .enumerate()
        .map(|(i, rows)| {
            // writers made here, not up front: each holds a compressor's state, and a
            // segment has a row group per large stream
            let mut writers = factory.create_column_writers(i)?;
            let columns = group_columns(streams, starts, rows)?;
            let mut leaves = Vec::with_capacity(writers.len());
            for (array, field) in columns.iter().zip(schema.fields()) {
                leaves.extend(compute_leaves(field, array)?);
            }
            if leaves.len() != writers.len() {
                return Err(StorageError::Parquet(ParquetError::General(format!(
                    "{} leaf columns for {} column writers",
                    leaves.len(),
                    writers.len()
                ))));
            }
            for (writer, leaf) in writers.iter_mut().zip(&leaves) {
                writer.write(leaf)?;
            }
            writers.into_iter().map(|w| Ok(w.close()?)).collect()
        })
        .collect::<Result<_>>()?;
    for group in chunks {
        let mut row_group = writer.next_row_group()?;
        for chunk in group {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    let meta = writer.close()?;
    Ok((buf, meta))
}

/// Encodes `streams` as one segment named `segment_id`; `None` when there are no entries.
pub fn encode_segment(
    segment_id: &str,
    streams: Vec<StreamData>,
) -> Result<Option<EncodedSegment>> {
    let streams = normalize(streams)?;
    if streams.is_empty() {
        return Ok(None);
    }
    let mut index_streams = Vec::with_capacity(streams.len());
    let mut starts = Vec::with_capacity(streams.len());
    let mut row = 0u64;
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    for s in &streams {
        let n = s.len() as u64;
        let (first, last) = (s.ts.value(0), s.ts.value(s.len() - 1));
        min_ts = min_ts.min(first);
        max_ts = max_ts.max(last);
        index_streams.push(IndexStream {
            fingerprint: s.fingerprint,
            labels: s
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            min_ts: first,
            max_ts: last,
            entries: n,
            bytes: s.raw_bytes(),
            row_start: row,
            row_end: row + n,
            first_row_group: 0,
            last_row_group: 0,
            rollup: rollup(s),
        });
        starts.push(row as usize);
        row += n;
    }
    let (buf, meta) = write_parquet(&streams, &starts, &row_group_ranges(&index_streams))?;
    let data = Bytes::from(buf);
    let grams = Bytes::from(line_page_filters(&meta, &streams)?.encode());
    drop(streams);

    let row_groups: Vec<u64> = meta
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
        .collect();
    // first row of each row group, to map a stream's rows to row groups
    let mut rg_starts = Vec::with_capacity(row_groups.len());
    let mut acc = 0u64;
    for n in &row_groups {
        rg_starts.push(acc);
        acc += n;
    }
    let row_group_of = |row: u64| -> u32 {
        let i = rg_starts.partition_point(|&start| start <= row);
        u32::try_from(i.saturating_sub(1)).unwrap_or(u32::MAX)
    };
    for s in &mut index_streams {
        s.first_row_group = row_group_of(s.row_start);
        s.last_row_group = row_group_of(s.row_end - 1);
    }
    let record = IndexRecord {
        version: INDEX_VERSION,
        segment: segment_id.to_string(),
        size: data.len() as u64,
        rows: row,
        min_ts,
        max_ts,
        row_groups,
        streams: index_streams,
    };
    Ok(Some(EncodedSegment {
        data,
        record,
        grams,
    }))
}

/// The per-minute counts of a sorted stream (see [`crate::index::rollup_point`]).
fn rollup(stream: &StreamData) -> Vec<(i64, u64, u64)> {
    let mut out: Vec<(i64, u64, u64)> = Vec::new();
    let offsets = stream.lines.value_offsets();
    for (&ts, line) in stream.ts.values().iter().zip(offsets.windows(2)) {
        let point = rollup_point(ts);
        let bytes = (line[1] - line[0]) as u64;
        match out.last_mut() {
            Some(last) if last.0 == point => {
                last.1 += 1;
                last.2 += bytes;
            }
            _ => out.push((point, 1, bytes)),
        }
    }
    out
}

/// The trigram filters of the `line` page blocks of a segment whose `line` column holds
/// the lines of `streams` (page boundaries come from the offset index in the writer's
/// `meta`).
fn line_page_filters(meta: &ParquetMetaData, streams: &[StreamData]) -> Result<PageFilters> {
    let offsets = meta.offset_index().ok_or_else(|| StorageError::Corrupt {
        path: "encoded segment".to_string(),
        reason: "no offset index".to_string(),
    })?;
    let mut pages = Vec::new();
    let mut rg_start = 0u64;
    for (rg, columns) in meta.row_groups().iter().zip(offsets) {
        let rg_rows = u64::try_from(rg.num_rows()).unwrap_or(0);
        if let Some(line) = columns.get(columns::LINE_INDEX) {
            let locations = line.page_locations();
            for (i, page) in locations.iter().enumerate() {
                let first = u64::try_from(page.first_row_index).unwrap_or(0);
                let next = locations
                    .get(i + 1)
                    .map_or(rg_rows, |p| u64::try_from(p.first_row_index).unwrap_or(0));
                pages.push(rg_start + first..rg_start + next);
            }
        }
        rg_start += rg_rows;
    }
    let lines: Vec<&str> = streams
        .iter()
        .flat_map(|s| s.lines.iter().map(|l| l.unwrap_or("")))
        .collect();
    let blocks = group_pages(&pages, &lines);
    Ok(FilterBuilder::default().build(&lines, &blocks))
}

/// Consecutive `pages` merged into blocks of at least [`FILTER_BLOCK_BYTES`] of line
/// text (the last block may be smaller).
fn group_pages(pages: &[Range<u64>], lines: &[&str]) -> Vec<Range<u64>> {
    let mut blocks: Vec<Range<u64>> = Vec::new();
    let mut bytes = 0usize;
    for page in pages {
        let start = usize::try_from(page.start).unwrap_or(usize::MAX);
        let end = usize::try_from(page.end).unwrap_or(usize::MAX);
        let page_bytes: usize = lines
            .get(start.min(lines.len())..end.min(lines.len()))
            .map_or(0, |ls| ls.iter().map(|l| l.len()).sum());
        match blocks.last_mut() {
            Some(block) if bytes < FILTER_BLOCK_BYTES && block.end == page.start => {
                block.end = page.end;
                bytes += page_bytes;
            }
            _ => {
                blocks.push(page.clone());
                bytes = page_bytes;
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entry;
    use logql::LabelSet;

    fn stream(app: &str, entries: &[(i64, &str)]) -> StreamData {
        let labels = LabelSet::from_pairs([("app", app)]);
        let entries = entries
            .iter()
            .map(|(ts, line)| Entry {
                ts: *ts,
                line: line.to_string(),
                metadata: vec![],
            })
            .collect();
        StreamData::from_entries(labels, entries)
    }

    #[test]
    fn merges_streams_with_one_fingerprint_in_time_order() {
        let a1 = stream("a", &[(1, "x"), (5, "y")]);
        let a2 = stream("a", &[(3, "z"), (5, "w")]);
        let b = stream("b", &[]);
        let out = normalize(vec![a1, b, a2]).unwrap();
        assert_eq!(out.len(), 1);
        let got: Vec<(i64, &str)> = out[0]
            .ts
            .values()
            .iter()
            .copied()
            .zip(out[0].lines.iter().map(Option::unwrap_or_default))
            .collect();
        assert_eq!(got, vec![(1, "x"), (3, "z"), (5, "y"), (5, "w")]);
    }

    #[test]
    fn streams_with_columns_of_unequal_length_are_refused() {
        let mut s = stream("a", &[(1, "x"), (2, "y")]);
        s.lines = s.lines.slice(0, 1);
        let err = encode_segment("id", vec![s]).unwrap_err().to_string();
        assert!(
            err.contains("2 timestamps, 1 lines, 2 metadata values"),
            "{err}"
        );
    }

    #[test]
    fn row_groups_are_cut_between_streams() {
        let stream = |rows: Range<u64>, bytes: u64| IndexStream {
            fingerprint: rows.start,
            labels: Vec::new(),
            min_ts: 0,
            max_ts: 0,
            entries: rows.end - rows.start,
            bytes,
            row_start: rows.start,
            row_end: rows.end,
            first_row_group: 0,
            last_row_group: 0,
            rollup: Vec::new(),
        };
        let page = STREAM_GROUP_BYTES;
        let rg = ROW_GROUP_ROWS as u64;
        let streams = [
            stream(0..10, page / 2),                     // small: packed with the next
            stream(10..20, page / 2),                    // fills the pack
            stream(20..30, 10),                          // small, alone before a big one
            stream(30..40, page),                        // big: its own
            stream(40..40 + 2 * rg + 2, page * 8),       // big and long: three equal parts
            stream(40 + 2 * rg + 2..40 + 2 * rg + 5, 1), // small, last
        ];
        let end = 40 + 2 * ROW_GROUP_ROWS + 2;
        let third = (2 * ROW_GROUP_ROWS + 2).div_ceil(3);
        assert_eq!(
            row_group_ranges(&streams),
            vec![
                0..20,
                20..30,
                30..40,
                40..40 + third,
                40 + third..40 + 2 * third,
                40 + 2 * third..end,
                end..end + 3,
            ]
        );
        // small streams never pack past ROW_GROUP_ROWS rows
        let streams = [stream(0..rg - 5, 10), stream(rg - 5..rg + 5, 10)];
        assert_eq!(
            row_group_ranges(&streams),
            vec![
                0..ROW_GROUP_ROWS - 5,
                ROW_GROUP_ROWS - 5..ROW_GROUP_ROWS + 5
            ]
        );
    }

    #[test]
    fn index_record_describes_rows_and_row_groups() {
        let big: Vec<(i64, String)> = (0..(ROW_GROUP_ROWS as i64 + 10))
            .map(|i| (i, format!("line {i}")))
            .collect();
        let big_ref: Vec<(i64, &str)> = big.iter().map(|(t, l)| (*t, l.as_str())).collect();
        let s1 = stream("a", &big_ref);
        let s2 = stream("b", &[(7, "hello")]);
        let (fp1, fp2) = (s1.fingerprint, s2.fingerprint);
        let enc = encode_segment("id", vec![s1, s2]).unwrap().unwrap();
        let r = &enc.record;
        r.validate().unwrap();
        assert_eq!(r.rows, ROW_GROUP_ROWS as u64 + 11);
        // the big stream in two equal row groups of its own, the small one in a third
        let half = (ROW_GROUP_ROWS as u64 + 10) / 2;
        assert_eq!(r.size, enc.data.len() as u64);
        let (first, second) = if fp1 < fp2 { (0, 1) } else { (1, 0) };
        let sa = &r.streams[first];
        let sb = &r.streams[second];
        assert_eq!(sa.fingerprint, fp1);
        assert_eq!(sb.fingerprint, fp2);
        assert_eq!(sb.entries, 1);
        assert_eq!(sb.bytes, 5);
        assert_eq!(sb.min_ts, 7);
        if first == 0 {
            assert_eq!(r.row_groups, vec![half, half, 1]);
            assert_eq!((sa.first_row_group, sa.last_row_group), (0, 1));
            assert_eq!((sb.first_row_group, sb.last_row_group), (2, 2));
        } else {
            assert_eq!(r.row_groups, vec![1, half, half]);
            assert_eq!((sb.first_row_group, sb.last_row_group), (0, 0));
            assert_eq!((sa.first_row_group, sa.last_row_group), (1, 2));
        }
        assert!(encode_segment("id", vec![]).unwrap().is_none());
    }
}
