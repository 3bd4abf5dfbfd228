//! What the HTTP layer needs from the rest of Fenrir, as one trait.
//!
//! Handlers are generic over [`Backend`] so that the API can be tested without storage
//! (a fake backend records calls). [`Services`] is the real, in-process wiring: writes
//! go to the distributor, reads to the query frontend (which wraps the querier).

use std::future::Future;
use std::sync::Arc;

use frontend::Frontend;
use ingest::distributor::Distributor;
use ingest::ingester::Ingester;
use ingest::{IngestError, PushRequest};
use logql::LabelSet;
use querier::{InstantQuery, QueryError, QueryResponse, RangeQuery};

/// The write and read operations behind Loki's HTTP API.
pub trait Backend: Send + Sync + 'static {
    /// Validates and stores a decoded push for `tenant`.
    fn push(
        &self,
        tenant: &str,
        req: PushRequest,
    ) -> impl Future<Output = Result<(), IngestError>> + Send;

    /// `/loki/api/v1/query_range`.
    fn query_range(
        &self,
        tenant: &str,
        q: &RangeQuery,
    ) -> impl Future<Output = Result<QueryResponse, QueryError>> + Send;

    /// `/loki/api/v1/query`.
    fn query_instant(
        &self,
        tenant: &str,
        q: &InstantQuery,
    ) -> impl Future<Output = Result<QueryResponse, QueryError>> + Send;

    /// `/loki/api/v1/labels`.
    fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send;

    /// `/loki/api/v1/label/<name>/values`.
    fn label_values(
        &self,
        tenant: &str,
        name: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send;

    /// `/loki/api/v1/series`.
    fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> impl Future<Output = Result<Vec<LabelSet>, QueryError>> + Send;

    /// `POST /flush` and shutdown: write every in-memory entry to storage.
    fn flush(&self) -> impl Future<Output = Result<(), IngestError>> + Send;
}

/// The in-process wiring of one `-target`: distributor and ingester for writes (write
/// path roles), the query frontend for reads (read path roles). The router only mounts
/// the routes of the roles present.
pub struct Services {
    /// Validates and rate-limits pushes.
    pub distributor: Option<Arc<Distributor>>,
    /// Holds recent data; flushed on `/flush` and shutdown.
    pub ingester: Option<Arc<Ingester>>,
    /// Answers queries: splits, queues and merges them.
    pub frontend: Option<Arc<Frontend>>,
}

impl Services {
    fn frontend(&self) -> Result<&Frontend, QueryError> {
        self.frontend.as_deref().ok_or_else(|| QueryError::Status {
            status: 404,
            message: "this process does not serve queries (see -target)".to_string(),
        })
    }
}

impl Backend for Services {
    async fn push(&self, tenant: &str, req: PushRequest) -> Result<(), IngestError> {
        match &self.distributor {
            Some(d) => d.push(tenant, req).await,
            None => Err(IngestError::BadRequest(
                "this process does not accept pushes (see -target)".to_string(),
            )),
        }
    }

    async fn query_range(&self, tenant: &str, q: &RangeQuery) -> Result<QueryResponse, QueryError> {
        self.frontend()?.query_range(tenant, q).await
    }

    async fn query_instant(
        &self,
        tenant: &str,
        q: &InstantQuery,
    ) -> Result<QueryResponse, QueryError> {
        self.frontend()?.query_instant(tenant, q).await
    }

    async fn label_names(
        &self,
        tenant: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        self.frontend()?
            .label_names(tenant, start, end, query)
            .await
    }

    async fn label_values(
        &self,
        tenant: &str,
        name: &str,
        start: i64,
        end: i64,
        query: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        self.frontend()?
            .label_values(tenant, name, start, end, query)
            .await
    }

    async fn series(
        &self,
        tenant: &str,
        selectors: &[String],
        start: i64,
        end: i64,
    ) -> Result<Vec<LabelSet>, QueryError> {
        self.frontend()?.series(tenant, selectors, start, end).await
    }

    async fn flush(&self) -> Result<(), IngestError> {
        match &self.ingester {
            Some(i) => i.flush_all().await,
            None => Ok(()),
        }
    }
}
