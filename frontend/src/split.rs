//! Splitting a range query by time, as Loki's frontend does with
//! `split_queries_by_interval`.
//!
//! Metric queries: the step-aligned range is cut at interval boundaries (epoch based) so
//! that every step lands in exactly one split: a split ends at the last step before a
//! boundary and the next one starts one step later. Every step is evaluated from its own
//! look-back window, so the union of the splits' points is the unsplit answer.
//!
//! Log queries: `[start, end)` is cut at interval boundaries into disjoint half-open
//! ranges, returned in the order the query reads them (newest first for `backward`).

use querier::{Direction, RangeQuery};

/// Loki's step alignment: start rounded down and end rounded up to multiples of step.
pub fn step_align(q: &RangeQuery) -> RangeQuery {
    let mut out = q.clone();
    if q.step > 0 {
        out.start = q.start.div_euclid(q.step) * q.step;
        let rem = q.end.rem_euclid(q.step);
        out.end = if rem == 0 {
            q.end
        } else {
            q.end - rem + q.step
        };
    }
    out
}

/// The first interval boundary strictly after `t`.
fn next_boundary(t: i64, interval: i64) -> i64 {
    t.div_euclid(interval) * interval + interval
}

/// Splits a step-aligned metric range query into sub-queries with disjoint steps.
pub fn split_metric(q: &RangeQuery, interval: i64) -> Vec<RangeQuery> {
    if interval <= 0 || q.step <= 0 || q.end <= q.start {
        return vec![q.clone()];
    }
    let mut out = Vec::new();
    let mut start = q.start;
    while start <= q.end {
        // the last step strictly before the next boundary
        let boundary = next_boundary(start, interval);
        let last_step = start + (boundary - 1 - start).div_euclid(q.step) * q.step;
        let end = last_step.min(q.end);
        out.push(RangeQuery {
            start,
            end,
            ..q.clone()
        });
        start = end + q.step;
    }
    out
}

/// Splits a log query's `[start, end)` at interval boundaries, in reading order.
pub fn split_logs(q: &RangeQuery, interval: i64) -> Vec<RangeQuery> {
    if interval <= 0 || q.end <= q.start || q.interval.is_some_and(|i| i > 0) {
        // `interval` thins entries relative to the previous kept one: keep it whole
        return vec![q.clone()];
    }
    let mut out = Vec::new();
    let mut start = q.start;
    while start < q.end {
        let end = next_boundary(start, interval).min(q.end);
        out.push(RangeQuery {
            start,
            end,
            ..q.clone()
        });
        start = end;
    }
    if q.direction == Direction::Backward {
        out.reverse();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000_000_000;

    fn rq(start: i64, end: i64, step: i64, direction: Direction) -> RangeQuery {
        RangeQuery {
            query: String::new(),
            start,
            end,
            step,
            interval: None,
            limit: 100,
            direction,
        }
    }

    fn ranges(v: &[RangeQuery]) -> Vec<(i64, i64)> {
        v.iter().map(|q| (q.start / M, q.end / M)).collect()
    }

    #[test]
    fn step_align_rounds_start_down_and_end_up() {
        let a = step_align(&rq(
            1_795_136_401_000_000_000,
            1_795_136_999_000_000_000,
            M,
            Direction::Backward,
        ));
        assert_eq!(a.start, 1_795_136_400_000_000_000);
        assert_eq!(a.end, 1_795_137_000_000_000_000);
        let b = step_align(&rq(120, 240, 60, Direction::Backward));
        assert_eq!((b.start, b.end), (120, 240));
    }

    #[test]
    fn metric_splits_cover_every_step_once() {
        // 10:05 .. 11:35 step 10m, interval 30m
        let q = rq(605 * M, 695 * M, 10 * M, Direction::Backward);
        let s = split_metric(&q, 30 * M);
        assert_eq!(ranges(&s), [(605, 625), (635, 655), (665, 685), (695, 695)]);
        // a step exactly on a boundary starts the next split
        let q = rq(600 * M, 660 * M, 15 * M, Direction::Backward);
        assert_eq!(
            ranges(&split_metric(&q, 30 * M)),
            [(600, 615), (630, 645), (660, 660)]
        );
        // steps larger than the interval: one step per split
        let q = rq(0, 120 * M, 60 * M, Direction::Backward);
        assert_eq!(
            ranges(&split_metric(&q, 30 * M)),
            [(0, 0), (60, 60), (120, 120)]
        );
    }

    #[test]
    fn log_splits_are_half_open_and_in_reading_order() {
        let q = rq(605 * M, 680 * M, 0, Direction::Forward);
        assert_eq!(
            ranges(&split_logs(&q, 30 * M)),
            [(605, 630), (630, 660), (660, 680)]
        );
        let q = rq(605 * M, 680 * M, 0, Direction::Backward);
        assert_eq!(
            ranges(&split_logs(&q, 30 * M)),
            [(660, 680), (630, 660), (605, 630)]
        );
        let mut thinned = q.clone();
        thinned.interval = Some(M);
        assert_eq!(split_logs(&thinned, 30 * M).len(), 1);
    }
}
