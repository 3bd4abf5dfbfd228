//! Running one [`SubRequest`] on a querier: what an in-process worker does, and what a
//! `-target=querier` process does for every request the frontend sends it.

use querier::{Part, Querier};

use crate::request::{SubRequest, SubResponse, SubResult};

/// Answers `req` for `tenant` with `querier`.
pub async fn execute(querier: &Querier, tenant: &str, req: &SubRequest) -> SubResult {
    let answer = match req {
        SubRequest::Range {
            query,
            shard,
            through_end,
        } => querier
            .query_range_part(
                tenant,
                query,
                Part {
                    shard: *shard,
                    through_end: *through_end,
                },
            )
            .await
            .map(SubResponse::Query),
        SubRequest::Instant { query, shard } => querier
            .query_instant_shard(tenant, query, *shard)
            .await
            .map(SubResponse::Query),
        SubRequest::LabelNames { start, end, query } => querier
            .label_names(tenant, *start, *end, query.as_deref())
            .await
            .map(SubResponse::Strings),
        SubRequest::LabelValues {
            name,
            start,
            end,
            query,
        } => querier
            .label_values(tenant, name, *start, *end, query.as_deref())
            .await
            .map(SubResponse::Strings),
        SubRequest::Series {
            selectors,
            start,
            end,
        } => querier
            .series(tenant, selectors, *start, *end)
            .await
            .map(SubResponse::Series),
    };
    answer.map_err(Into::into)
}
