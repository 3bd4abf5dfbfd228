//! The results cache: answers of completed metric splits, kept in memory (moka, bounded
//! by bytes) so a dashboard refreshed twice only computes the splits that are new.
//!
//! A split is cacheable when it ended more than `max_cache_freshness_per_query` ago:
//! later data may still arrive for younger ones.

use std::sync::Arc;

use moka::sync::Cache;
use querier::{QueryData, QueryResponse, RangeQuery};

use crate::request::Shard;

/// What identifies a cached split: tenant, query text, step and time range (and shard).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    tenant: String,
    query: String,
    step: i64,
    start: i64,
    end: i64,
    shard: Option<(u32, u32)>,
    through_end: bool,
}

impl CacheKey {
    /// The key of one split of a range query.
    pub fn new(tenant: &str, q: &RangeQuery, shard: Option<Shard>, through_end: bool) -> Self {
        Self {
            tenant: tenant.to_string(),
            query: q.query.clone(),
            step: q.step,
            start: q.start,
            end: q.end,
            shard: shard.map(|s| (s.index, s.of)),
            through_end,
        }
    }
}

/// Completed split answers, bounded by an estimate of their size in bytes.
pub struct ResultsCache {
    entries: Cache<CacheKey, Arc<QueryResponse>>,
}

impl ResultsCache {
    /// A cache holding about `max_bytes` of answers.
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &CacheKey, v: &Arc<QueryResponse>| {
                u32::try_from(k.query.len() + k.tenant.len() + weight(v)).unwrap_or(u32::MAX)
            })
            .build();
        Self { entries }
    }

    /// The cached answer of a split.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<QueryResponse>> {
        self.entries.get(key)
    }

    /// Remembers a split's answer.
    pub fn insert(&self, key: CacheKey, answer: QueryResponse) {
        self.entries.insert(key, Arc::new(answer));
    }
}

/// Approximate memory of an answer in bytes.
fn weight(r: &QueryResponse) -> usize {
    let labels = |l: &logql::LabelSet| l.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>();
    64 + match &r.data {
        QueryData::Matrix(series) => series
            .iter()
            .map(|s| labels(&s.labels) + s.points.len() * 16)
            .sum(),
        QueryData::Vector(samples) => samples.iter().map(|s| labels(&s.labels) + 16).sum(),
        QueryData::Streams(streams) => streams
            .iter()
            .map(|s| labels(&s.labels) + s.entries.iter().map(|e| e.1.len() + 32).sum::<usize>())
            .sum(),
        QueryData::Scalar(..) => 16,
    }
}
