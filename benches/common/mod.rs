//! Deterministic synthetic inputs shared by the micro-benchmarks.
//!
//! Every generator is seeded, so two runs measure exactly the same bytes.

#![allow(dead_code)]

use logql::LabelSet;
use storage::Entry;

/// Nanoseconds in one second.
pub const SEC: i64 = 1_000_000_000;

/// 2024-01-01T00:00:00Z in ns: the start of every synthetic time range.
pub const T0: i64 = 1_704_067_200 * SEC;

/// A tiny deterministic generator (xorshift64*), so inputs never depend on a crate.
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One element of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const METHODS: [&str; 5] = ["GET", "GET", "GET", "POST", "PUT"];
const PATHS: [&str; 8] = [
    "/api/v1/users",
    "/api/v2/orders/1234",
    "/api/v1/search?q=shoes",
    "/static/app.js",
    "/healthz",
    "/api/v3/cart",
    "/index.html",
    "/login",
];
const STATUSES: [&str; 6] = ["200", "200", "200", "404", "500", "301"];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
    "curl/8.4.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15",
];
const LEVELS: [&str; 4] = ["info", "info", "warn", "error"];

/// `n` nginx combined-log-format lines.
pub fn nginx_lines(n: usize) -> Vec<String> {
    let mut rng = Rng::new(0x5eed_0001);
    (0..n)
        .map(|i| {
            format!(
                "10.{}.{}.{} - - [01/Jan/2024:00:{:02}:{:02} +0000] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\"",
                rng.below(256),
                rng.below(256),
                rng.below(256),
                (i / 60) % 60,
                i % 60,
                rng.pick(&METHODS),
                rng.pick(&PATHS),
                rng.pick(&STATUSES),
                rng.below(50_000),
                rng.pick(&AGENTS),
            )
        })
        .collect()
}

/// `n` JSON application log lines (nested object, numbers, strings).
pub fn json_lines(n: usize) -> Vec<String> {
    let mut rng = Rng::new(0x5eed_0002);
    (0..n)
        .map(|i| {
            format!(
                r#"{{"ts":"2024-01-01T00:00:{:02}Z","level":"{}","msg":"request served","method":"{}","path":"{}","status":{},"duration_ms":{},"user":{{"id":{},"region":"eu-west-1"}}}}"#,
                i % 60,
                rng.pick(&LEVELS),
                rng.pick(&METHODS),
                rng.pick(&PATHS),
                rng.pick(&STATUSES),
                rng.below(2_000),
                rng.below(100_000),
            )
        })
        .collect()
}

/// `n` logfmt application log lines (bare and quoted values).
pub fn logfmt_lines(n: usize) -> Vec<String> {
    let mut rng = Rng::new(0x5eed_0003);
    (0..n)
        .map(|i| {
            format!(
                "ts=2024-01-01T00:00:{:02}Z level={} msg=\"request served\" method={} path={} status={} duration_ms={} user_id={}",
                i % 60,
                rng.pick(&LEVELS),
                rng.pick(&METHODS),
                rng.pick(&PATHS),
                rng.pick(&STATUSES),
                rng.below(2_000),
                rng.below(100_000),
            )
        })
        .collect()
}

/// Total bytes of `lines` (for `Throughput::Bytes`).
pub fn total_bytes(lines: &[String]) -> u64 {
    lines.iter().map(|l| l.len() as u64).sum()
}

/// A label set from `(name, value)` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

/// `lines` as entries spaced `step` ns apart from `start`.
pub fn entries(lines: &[String], start: i64, step: i64) -> Vec<Entry> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| Entry {
            ts: start + i as i64 * step,
            line: line.clone(),
            metadata: Vec::new(),
        })
        .collect()
}

/// A multi-threaded tokio runtime for the async APIs under test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
