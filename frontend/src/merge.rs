//! Combining the answers of a query's sub-queries into the answer the unsplit query
//! gives.
//!
//! Matrices of disjoint step sets are unions per series. Log streams of disjoint time
//! ranges (read in query direction) are concatenated and cut to `limit` with the
//! querier's own order: timestamp in direction, then stream labels, then position in
//! the stream.

use std::collections::BTreeMap;

use logql::LabelSet;
use querier::{Direction, QueryStats, Sample, Series, Stream};

use crate::shard::{Combine, combine};

/// Adds `b`'s statistics to `a`'s.
pub fn add_stats(a: &mut QueryStats, b: &QueryStats) {
    a.bytes_processed += b.bytes_processed;
    a.lines_processed += b.lines_processed;
}

/// Union of matrices whose steps are disjoint: points per series in time order, series
/// in label order.
pub fn merge_matrices(parts: Vec<Vec<Series>>) -> Vec<Series> {
    let mut by_labels: BTreeMap<LabelSet, Vec<(i64, f64)>> = BTreeMap::new();
    for series in parts.into_iter().flatten() {
        by_labels
            .entry(series.labels)
            .or_default()
            .extend(series.points);
    }
    by_labels
        .into_iter()
        .map(|(labels, mut points)| {
            points.sort_by_key(|p| p.0);
            Series { labels, points }
        })
        .collect()
}

/// Combines the matrices of a split's shards: series with the same labels are combined
/// step by step with `how`.
pub fn combine_matrices(parts: Vec<Vec<Series>>, how: Combine) -> Vec<Series> {
    let mut by_labels: BTreeMap<LabelSet, BTreeMap<i64, f64>> = BTreeMap::new();
    for series in parts.into_iter().flatten() {
        let points = by_labels.entry(series.labels).or_default();
        for (ts, v) in series.points {
            points
                .entry(ts)
                .and_modify(|acc| *acc = combine(how, *acc, v))
                .or_insert(v);
        }
    }
    by_labels
        .into_iter()
        .map(|(labels, points)| Series {
            labels,
            points: points.into_iter().collect(),
        })
        .collect()
}

/// `sum / count` per series and step (the shards' answer to `avg`).
pub fn divide_matrices(sums: Vec<Series>, counts: Vec<Series>) -> Vec<Series> {
    let counts: BTreeMap<LabelSet, BTreeMap<i64, f64>> = counts
        .into_iter()
        .map(|s| (s.labels, s.points.into_iter().collect()))
        .collect();
    sums.into_iter()
        .filter_map(|s| {
            let c = counts.get(&s.labels)?;
            let points: Vec<(i64, f64)> = s
                .points
                .into_iter()
                .filter_map(|(ts, sum)| c.get(&ts).map(|n| (ts, sum / n)))
                .collect();
            (!points.is_empty()).then_some(Series {
                labels: s.labels,
                points,
            })
        })
        .collect()
}

/// Combines the vectors of an instant query's shards, in label order.
pub fn combine_vectors(parts: Vec<Vec<Sample>>, how: Combine) -> Vec<Sample> {
    let mut by_labels: BTreeMap<LabelSet, (i64, f64)> = BTreeMap::new();
    for s in parts.into_iter().flatten() {
        by_labels
            .entry(s.labels)
            .and_modify(|acc| acc.1 = combine(how, acc.1, s.value))
            .or_insert((s.ts, s.value));
    }
    by_labels
        .into_iter()
        .map(|(labels, (ts, value))| Sample { labels, ts, value })
        .collect()
}

/// `sum / count` per series (the shards' answer to an instant `avg`).
pub fn divide_vectors(sums: Vec<Sample>, counts: Vec<Sample>) -> Vec<Sample> {
    let counts: BTreeMap<LabelSet, f64> = counts.into_iter().map(|s| (s.labels, s.value)).collect();
    sums.into_iter()
        .filter_map(|s| {
            let n = counts.get(&s.labels)?;
            Some(Sample {
                value: s.value / n,
                ..s
            })
        })
        .collect()
}

/// Entries of a log answer, flattened for cutting: (ts, labels, index in stream).
struct Entry<'a> {
    ts: i64,
    labels: &'a LabelSet,
    pos: usize,
    line: &'a str,
}

/// The first `limit` entries of one answer in query direction, as streams sorted by
/// labels (the order the querier returns).
pub fn cut_streams(streams: &[Stream], limit: usize, direction: Direction) -> Vec<Stream> {
    let total: usize = streams.iter().map(|s| s.entries.len()).sum();
    if total <= limit {
        return sorted(streams.to_vec());
    }
    let mut all: Vec<Entry<'_>> = Vec::with_capacity(total);
    for s in streams {
        for (pos, (ts, line)) in s.entries.iter().enumerate() {
            all.push(Entry {
                ts: *ts,
                labels: &s.labels,
                pos,
                line,
            });
        }
    }
    all.sort_by(|a, b| {
        let by_time = match direction {
            Direction::Forward => a.ts.cmp(&b.ts),
            Direction::Backward => b.ts.cmp(&a.ts),
        };
        by_time
            .then_with(|| a.labels.cmp(b.labels))
            .then_with(|| a.pos.cmp(&b.pos))
    });
    all.truncate(limit);
    let mut out: BTreeMap<LabelSet, Vec<(i64, String)>> = BTreeMap::new();
    for e in all {
        out.entry(e.labels.clone())
            .or_default()
            .push((e.ts, e.line.to_string()));
    }
    out.into_iter()
        .map(|(labels, entries)| Stream { labels, entries })
        .collect()
}

fn sorted(mut streams: Vec<Stream>) -> Vec<Stream> {
    streams.sort_by(|a, b| a.labels.cmp(&b.labels));
    streams
}

/// Concatenates log answers of disjoint time ranges given in reading order, keeping at
/// most `limit` entries in total.
pub fn merge_log_splits(
    parts: Vec<Vec<Stream>>,
    limit: usize,
    direction: Direction,
) -> Vec<Stream> {
    let mut out: BTreeMap<LabelSet, Vec<(i64, String)>> = BTreeMap::new();
    let mut taken = 0;
    for part in parts {
        if taken >= limit {
            break;
        }
        let part = cut_streams(&part, limit - taken, direction);
        for s in part {
            taken += s.entries.len();
            out.entry(s.labels).or_default().extend(s.entries);
        }
    }
    out.into_iter()
        .map(|(labels, entries)| Stream { labels, entries })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(v: &str) -> LabelSet {
        LabelSet::from_pairs([("s", v)])
    }

    fn stream(l: &str, entries: &[(i64, &str)]) -> Stream {
        Stream {
            labels: ls(l),
            entries: entries.iter().map(|(t, s)| (*t, s.to_string())).collect(),
        }
    }

    #[test]
    fn matrices_union_points_per_series() {
        let a = vec![Series {
            labels: ls("x"),
            points: vec![(1, 1.0), (2, 2.0)],
        }];
        let b = vec![
            Series {
                labels: ls("y"),
                points: vec![(3, 5.0)],
            },
            Series {
                labels: ls("x"),
                points: vec![(3, 3.0)],
            },
        ];
        let m = merge_matrices(vec![b, a]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].points, [(1, 1.0), (2, 2.0), (3, 3.0)]);
        assert_eq!(m[1].labels, ls("y"));
    }

    #[test]
    fn log_splits_keep_the_first_limit_entries_in_direction() {
        // backward: newest split first
        let newest = vec![
            stream("a", &[(9, "a9"), (7, "a7")]),
            stream("b", &[(8, "b8")]),
        ];
        let older = vec![
            stream("a", &[(5, "a5")]),
            stream("b", &[(6, "b6"), (4, "b4")]),
        ];
        let m = merge_log_splits(vec![newest, older], 4, Direction::Backward);
        assert_eq!(
            m,
            [
                stream("a", &[(9, "a9"), (7, "a7")]),
                stream("b", &[(8, "b8"), (6, "b6")]),
            ]
        );
    }

    #[test]
    fn equal_timestamps_are_cut_by_labels_then_position() {
        let part = vec![
            stream("b", &[(1, "b1"), (1, "b2")]),
            stream("a", &[(1, "a1")]),
        ];
        let m = cut_streams(&part, 2, Direction::Forward);
        assert_eq!(m, [stream("a", &[(1, "a1")]), stream("b", &[(1, "b1")])]);
    }
}
