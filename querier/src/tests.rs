//! Engine tests over hand-built data and hand-built ASTs (independent of the parser and
//! of the pipeline's stages).

use std::sync::Arc;

use logql::ast::{
    BinOp, BinaryExpr, Grouping, LogExpr, LogRange, MetricExpr, RangeAggregation, RangeOp,
    VectorAggregation, VectorOp,
};
use logql::{LabelMatcher, LabelSet, MatchOp};
use storage::Entry;

use crate::matrix::{Steps, Value};
use crate::source::{LogSource, MemorySource, SourceKind};
use crate::{Direction, Querier, QueryData, QueryLimits};

const S: i64 = 1_000_000_000;

fn entry(ts: i64, line: &str) -> Entry {
    Entry {
        ts,
        line: line.to_string(),
        metadata: Vec::new(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn sel(name: &str, op: MatchOp, value: &str) -> LogExpr {
    LogExpr {
        selector: vec![LabelMatcher::new(name, op, value).unwrap()],
        pipeline: Vec::new(),
    }
}

/// Two streams in the ingester, one of them also (partly, overlapping) in the store.
fn querier() -> Querier {
    let ing = MemorySource::new();
    let store = MemorySource::with_kind(SourceKind::Store);
    let a = labels(&[("job", "a"), ("app", "x")]);
    let b = labels(&[("job", "b"), ("app", "y")]);
    store
        .push("t", &a, &[entry(10 * S, "a1"), entry(20 * S, "a2")])
        .unwrap();
    ing.push(
        "t",
        &a,
        &[
            entry(20 * S, "a2"),
            entry(30 * S, "a3"),
            entry(30 * S, "a3b"),
            entry(30 * S, "a3"),
        ],
    )
    .unwrap();
    ing.push(
        "t",
        &b,
        &[
            entry(15 * S, "b1"),
            entry(30 * S, "b2"),
            entry(60 * S, "b3"),
        ],
    )
    .unwrap();
    let sources: Vec<Arc<dyn LogSource>> = vec![Arc::new(store), Arc::new(ing)];
    Querier::with_sources(sources, QueryLimits::default())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn log_entries(
    q: &Querier,
    log: &LogExpr,
    start: i64,
    end: i64,
    limit: u32,
    dir: Direction,
) -> Vec<(String, Vec<(i64, String)>)> {
    let r = rt()
        .block_on(q.log_query(
            "t",
            log,
            crate::LogWindow {
                start,
                end,
                limit,
                direction: dir,
                interval: None,
            },
            None,
        ))
        .unwrap();
    let QueryData::Streams(streams) = r.data else {
        panic!("not streams")
    };
    streams
        .into_iter()
        .map(|s| (s.labels.get("job").unwrap().to_string(), s.entries))
        .collect()
}

#[test]
fn merges_sources_and_drops_exact_duplicates() {
    let q = querier();
    let got = log_entries(
        &q,
        &sel("job", MatchOp::Eq, "a"),
        0,
        100 * S,
        100,
        Direction::Forward,
    );
    assert_eq!(
        got,
        vec![(
            "a".to_string(),
            vec![
                (10 * S, "a1".to_string()),
                (20 * S, "a2".to_string()),
                (30 * S, "a3".to_string()),
                (30 * S, "a3b".to_string()),
            ]
        )]
    );
}

#[test]
fn limit_keeps_newest_backward_with_ties_reversed() {
    let q = querier();
    let got = log_entries(
        &q,
        &sel("job", MatchOp::Re, ".+"),
        0,
        60 * S,
        3,
        Direction::Backward,
    );
    // newest three of [0, 60s): a3b, a3 (reverse push order) and b2 at 30s; stream a
    // wins the tie because its labels sort first
    assert_eq!(
        got,
        vec![
            (
                "a".to_string(),
                vec![(30 * S, "a3b".to_string()), (30 * S, "a3".to_string())]
            ),
            ("b".to_string(), vec![(30 * S, "b2".to_string())]),
        ]
    );
}

#[test]
fn log_range_is_start_inclusive_end_exclusive() {
    let q = querier();
    let got = log_entries(
        &q,
        &sel("job", MatchOp::Eq, "b"),
        15 * S,
        60 * S,
        100,
        Direction::Forward,
    );
    assert_eq!(
        got[0].1,
        vec![(15 * S, "b1".to_string()), (30 * S, "b2".to_string())]
    );
}

fn count(log: LogExpr, range: i64) -> MetricExpr {
    MetricExpr::Range(RangeAggregation {
        op: RangeOp::Count,
        range: LogRange {
            log,
            range,
            offset: 0,
            unwrap: None,
        },
        param: None,
        grouping: None,
    })
}

fn eval(q: &Querier, e: MetricExpr, steps: Steps) -> Value {
    rt().block_on(q.metric_query("t", e, steps, crate::Part::default()))
        .unwrap()
        .0
}

#[test]
fn count_over_time_windows_exclude_the_last_step_entry() {
    let q = querier();
    // steps 30s and 60s, range 30s: windows (0,30] and (30,60]; the entry at 60s is the
    // last step's end and is not fetched (Loki fetches [start-range, end))
    let v = eval(
        &q,
        count(sel("job", MatchOp::Eq, "b"), 30 * S),
        Steps::new(30 * S, 60 * S, 30 * S),
    );
    let Value::Vector(s) = v else { panic!() };
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].vals, vec![Some(2.0), None]);
}

#[test]
fn sum_by_and_binary_ops() {
    let q = querier();
    let sum = MetricExpr::Vector(VectorAggregation {
        op: VectorOp::Sum,
        expr: Box::new(count(sel("job", MatchOp::Re, ".+"), 100 * S)),
        grouping: Some(Grouping {
            without: false,
            labels: vec![],
        }),
        param: None,
    });
    let v = eval(&q, sum.clone(), Steps::new(50 * S, 50 * S, 1));
    let Value::Vector(s) = v else { panic!() };
    // a: a1 a2 a3 a3b, b: b1 b2 (b3 at 60s is after the evaluation time)
    assert_eq!(s[0].vals, vec![Some(6.0)]);
    let doubled = MetricExpr::Binary(BinaryExpr {
        op: BinOp::Mul,
        lhs: Box::new(sum),
        rhs: Box::new(MetricExpr::Literal(2.0)),
        return_bool: false,
        matching: None,
    });
    let Value::Vector(s) = eval(&q, doubled, Steps::new(50 * S, 50 * S, 1)) else {
        panic!()
    };
    assert_eq!(s[0].vals, vec![Some(12.0)]);
}

#[test]
fn label_apis_merge_sources() {
    let q = querier();
    let r = rt();
    assert_eq!(
        r.block_on(q.label_names("t", 0, 1, None)).unwrap(),
        vec!["app".to_string(), "job".to_string()]
    );
    assert_eq!(
        r.block_on(q.label_values("t", "job", 0, 1, None)).unwrap(),
        vec!["a".to_string(), "b".to_string()]
    );
}

/// A limited log query whose pipeline keeps few lines reads many rounds of entries in
/// global time order; its answer equals sorting every surviving entry (ties across
/// streams included) and cutting at the limit.
#[test]
fn limited_log_queries_stop_after_enough_survivors_in_time_order() {
    let src = MemorySource::new();
    let jobs = ["a", "b", "c", "d", "e"];
    let mut all: Vec<(i64, String, usize, String)> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let entries: Vec<Entry> = (0..3000i64)
            .map(|i| {
                // timestamps shared across streams: ties at every second
                let ts = (i / 3 + j as i64 % 2) * S;
                let level = if (i + j as i64) % 23 == 0 {
                    "error"
                } else {
                    "info"
                };
                entry(ts, &format!("n={i} level={level}"))
            })
            .collect();
        src.push("t", &labels(&[("job", job)]), &entries).unwrap();
        for (seq, e) in entries.iter().enumerate() {
            if e.line.ends_with("level=error") {
                all.push((e.ts, job.to_string(), seq, e.line.clone()));
            }
        }
    }
    let q = Querier::with_sources(vec![Arc::new(src)], QueryLimits::default());
    let logql::ast::Expr::Log(log) =
        logql::parse_expr(r#"{job=~".+"} | logfmt | level="error""#).unwrap()
    else {
        panic!("not a log query")
    };
    for (dir, limit) in [
        (Direction::Backward, 100u32),
        (Direction::Forward, 100),
        (Direction::Backward, 5000),
    ] {
        let mut want = all.clone();
        match dir {
            Direction::Backward => want.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then_with(|| a.1.cmp(&b.1))
                    .then_with(|| b.2.cmp(&a.2))
            }),
            Direction::Forward => want.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| a.1.cmp(&b.1))
                    .then_with(|| a.2.cmp(&b.2))
            }),
        }
        want.truncate(limit as usize);
        // logfmt adds `level` and `n` to the labels: every entry is its own stream,
        // streams sorted by labels (job, level, n as text)
        let n_of = |line: &str| line.split(' ').next().unwrap_or("").to_string();
        want.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| n_of(&a.3).cmp(&n_of(&b.3))));
        let expected: Vec<(String, Vec<(i64, String)>)> =
            want.into_iter().map(|w| (w.1, vec![(w.0, w.3)])).collect();
        let got = log_entries(&q, &log, 0, 10_000 * S, limit, dir);
        assert_eq!(got, expected, "{dir:?} limit {limit}");
    }
}

/// More streams than the first read group takes (`FIRST_READ_GROUP_STREAMS`), each in the store and in the
/// ingester with its last stored entry in both: every group drops its duplicates and
/// every stream is counted once, whichever group it was read in.
#[test]
fn metric_queries_read_stream_groups_and_count_each_entry_once() {
    const STREAMS: usize = 20;
    const _: () = assert!(
        STREAMS > crate::FIRST_READ_GROUP_STREAMS,
        "needs two groups"
    );
    let ing = MemorySource::new();
    let store = MemorySource::with_kind(SourceKind::Store);
    let mut expected_counts = Vec::new();
    let (mut even_bytes, mut odd_bytes) = (0usize, 0usize);
    for i in 0..STREAMS {
        let app = if i % 2 == 0 { "even" } else { "odd" };
        let job = format!("s{i:02}");
        let l = labels(&[("job", &job), ("app", app)]);
        let stored: Vec<Entry> = (0..=i)
            .map(|k| entry((10 + k as i64) * S, &format!("{job} line {k}")))
            .collect();
        let last = stored[i].clone();
        let fresh = entry(50 * S, &format!("{job} fresh"));
        store.push("t", &l, &stored).unwrap();
        ing.push("t", &l, &[last, fresh.clone()]).unwrap();
        let bytes: usize = stored.iter().chain([&fresh]).map(|e| e.line.len()).sum();
        if i % 2 == 0 {
            even_bytes += bytes;
        } else {
            odd_bytes += bytes;
        }
        expected_counts.push((app, job, Some((i + 2) as f64)));
    }
    // series come sorted by labels: app first
    expected_counts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let expected_counts: Vec<(String, Option<f64>)> = expected_counts
        .into_iter()
        .map(|(_, j, n)| (j, n))
        .collect();
    let sources: Vec<Arc<dyn LogSource>> = vec![Arc::new(store), Arc::new(ing)];
    let q = Querier::with_sources(sources, QueryLimits::default());
    let steps = Steps::new(60 * S, 60 * S, 1);

    let Value::Vector(per_stream) = eval(&q, count(sel("job", MatchOp::Re, ".+"), 60 * S), steps)
    else {
        panic!("not a vector")
    };
    let got: Vec<(String, Option<f64>)> = per_stream
        .iter()
        .map(|s| (s.labels.get("job").unwrap().to_string(), s.vals[0]))
        .collect();
    assert_eq!(got, expected_counts);

    let bytes_by_app = MetricExpr::Vector(VectorAggregation {
        op: VectorOp::Sum,
        expr: Box::new(MetricExpr::Range(RangeAggregation {
            op: RangeOp::Bytes,
            range: LogRange {
                log: sel("job", MatchOp::Re, ".+"),
                range: 60 * S,
                offset: 0,
                unwrap: None,
            },
            param: None,
            grouping: None,
        })),
        grouping: Some(Grouping {
            without: false,
            labels: vec!["app".to_string()],
        }),
        param: None,
    });
    let Value::Vector(by_app) = eval(&q, bytes_by_app, steps) else {
        panic!("not a vector")
    };
    let got: Vec<(String, Option<f64>)> = by_app
        .iter()
        .map(|s| (s.labels.get("app").unwrap().to_string(), s.vals[0]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("even".to_string(), Some(even_bytes as f64)),
            ("odd".to_string(), Some(odd_bytes as f64)),
        ]
    );
}
