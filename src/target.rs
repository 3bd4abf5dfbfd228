//! `-target`: which components one process runs, with Loki's names.
//!
//! Fenrir's components map to Loki's as follows: the write path (distributor and
//! ingester, with its WAL) always runs together, so `write`, `ingester` and `distributor`
//! start the same process; the read path is the query frontend (queues, splitting,
//! merging) and queriers (evaluation). `backend` has nothing to run yet (no ruler or
//! compactor) and serves only the operational endpoints.

/// One process's role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// Everything in one process (single binary).
    #[default]
    All,
    /// Query frontend and querier (simple-scalable read path).
    Read,
    /// Distributor and ingester (simple-scalable write path; also `ingester`,
    /// `distributor`).
    Write,
    /// Operational endpoints only (Loki's ruler/compactor host).
    Backend,
    /// Only the query frontend: queues sub-queries for remote queriers.
    QueryFrontend,
    /// Only a querier: pulls sub-queries from `frontend_worker.frontend_address`.
    Querier,
}

impl Target {
    /// Parses a `-target` value; the error lists the accepted values.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "all" | "" => Target::All,
            "read" => Target::Read,
            "write" | "ingester" | "distributor" => Target::Write,
            "backend" => Target::Backend,
            "query-frontend" => Target::QueryFrontend,
            "querier" => Target::Querier,
            other => {
                return Err(format!(
                    "target {other:?} is not supported: use all, read, write, backend, \
                     query-frontend, querier, ingester or distributor"
                ));
            }
        })
    }

    /// Runs the distributor and ingester (accepts pushes, holds the WAL).
    pub fn writes(self) -> bool {
        matches!(self, Target::All | Target::Write)
    }

    /// Runs the query frontend (answers the query API, hands out sub-queries over gRPC).
    pub fn has_frontend(self) -> bool {
        matches!(
            self,
            Target::All | Target::Read | Target::QueryFrontend | Target::Querier
        )
    }

    /// Evaluates queries in this process.
    pub fn has_querier(self) -> bool {
        matches!(self, Target::All | Target::Read | Target::Querier)
    }

    /// Serves its frontend's queue to remote queriers over gRPC.
    pub fn serves_frontend_grpc(self) -> bool {
        matches!(self, Target::All | Target::Read | Target::QueryFrontend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loki_target_names() {
        assert_eq!(Target::parse("all"), Ok(Target::All));
        assert_eq!(Target::parse("ingester"), Ok(Target::Write));
        assert_eq!(Target::parse("query-frontend"), Ok(Target::QueryFrontend));
        assert!(Target::parse("compactor").is_err());
        assert!(Target::QueryFrontend.serves_frontend_grpc());
        assert!(!Target::QueryFrontend.has_querier());
        assert!(!Target::Querier.writes());
    }
}
