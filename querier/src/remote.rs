//! Reading a remote ingester's memory over gRPC (see `ingest::query_service`).
//!
//! In a cluster the write process holds recent entries; a querier process reaches them
//! through [`RemoteIngester`], which answers the same two questions as the local
//! [`ingest::ingester::Ingester`] and so is just another [`LogSource`] of kind
//! [`SourceKind::Ingester`].

use futures::future::BoxFuture;
use ingest::IngestError;
use ingest::query_service::{RemoteError, RemoteIngester};
use logql::LabelMatcher;
use storage::StreamInfo;
use storage::arrow::record_batch::RecordBatch;

use crate::source::{LogSource, SourceKind};
use crate::{QueryError, Result};

/// A failed remote call ends the query with 500 and the call's own text (Loki's querier
/// answers 500 with the gRPC error when an ingester cannot be queried); the ingester's own
/// errors keep their local mapping.
fn query_error(e: IngestError) -> QueryError {
    match RemoteError::find(&e) {
        Some(r) => QueryError::Status {
            status: 500,
            message: r.message.clone(),
        },
        None => QueryError::Ingest(e),
    }
}

impl LogSource for RemoteIngester {
    fn kind(&self) -> SourceKind {
        SourceKind::Ingester
    }

    fn series<'a>(
        &'a self,
        tenant: &'a str,
        matchers: &'a [LabelMatcher],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<StreamInfo>>> {
        Box::pin(async move {
            RemoteIngester::series(self, tenant, matchers, start, end)
                .await
                .map_err(query_error)
        })
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        fingerprints: &'a [u64],
        start: i64,
        end: i64,
    ) -> BoxFuture<'a, Result<Vec<RecordBatch>>> {
        Box::pin(async move {
            RemoteIngester::read(self, tenant, fingerprints, start, end)
                .await
                .map_err(query_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_ingester_fails_the_query_with_500() {
        // a port that was just free: nothing listens there
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let remote = RemoteIngester::connect_lazy(&addr).unwrap();
        assert_eq!(remote.kind(), SourceKind::Ingester);
        let src: &dyn LogSource = &remote;
        let err = src.series("t", &[], 0, 10).await.unwrap_err();
        assert_eq!(err.http_status(), 500);
        let msg = err.to_string();
        let prefix = format!("rpc error: code = Unavailable desc = ingester {addr}: ");
        assert!(msg.starts_with(&prefix), "{msg}");
        let err = src.read("t", &[1], 0, 10).await.unwrap_err();
        assert!(err.to_string().starts_with(&prefix), "{err}");
    }

    /// The same queries through a local and a remote ingester give the same answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn remote_querier_answers_like_a_local_one() {
        use std::sync::Arc;

        use ingest::ingester::Ingester;
        use ingest::query_service::IngesterQueryServer;
        use ingest::{IngesterConfig, PushStream};
        use storage::{Entry, Storage, StorageConfig};

        use crate::{Direction, Querier, QueryData, QueryLimits, RangeQuery};

        let wal = tempfile::TempDir::new().unwrap();
        let store = tempfile::TempDir::new().unwrap();
        let storage = Arc::new(
            Storage::open(&StorageConfig::Filesystem {
                root: store.path().to_path_buf(),
            })
            .await
            .unwrap(),
        );
        let cfg = IngesterConfig::with_wal_dir(wal.path().to_path_buf());
        let ingester = Ingester::open(cfg, storage.clone()).await.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        let s = 1_000_000_000i64;
        let t = (now / s - 120) * s;
        let push = |app: &str, lines: &[(i64, &str)]| PushStream {
            labels: logql::LabelSet::from_pairs([("app", app), ("env", "prod")]),
            entries: lines
                .iter()
                .map(|(ts, l)| Entry {
                    ts: *ts,
                    line: l.to_string(),
                    metadata: vec![],
                })
                .collect(),
        };
        ingester
            .push(
                "t",
                vec![
                    push(
                        "api",
                        &[(t, "GET 200"), (t + s, "GET 500"), (t + 2 * s, "POST 200")],
                    ),
                    push("web", &[(t + s, "GET 200"), (t + 3 * s, "GET 404")]),
                ],
            )
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(IngesterQueryServer::new(ingester.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let local = Querier::new(storage.clone(), ingester.clone(), QueryLimits::default());
        let remote_src: Arc<dyn LogSource> = Arc::new(RemoteIngester::connect_lazy(&addr).unwrap());
        let remote = Querier::with_sources(
            vec![storage as Arc<dyn LogSource>, remote_src],
            QueryLimits::default(),
        );

        for query in [
            r#"{app=~".+"} |= "GET""#,
            r#"{env="prod", app!="web"}"#,
            r#"sum by (app) (count_over_time({env="prod"} !~ "POST" [1m]))"#,
        ] {
            let q = RangeQuery {
                query: query.to_string(),
                start: t,
                end: t + 60 * s,
                step: 10 * s,
                interval: None,
                limit: 100,
                direction: Direction::Backward,
            };
            let want = local.query_range("t", &q).await.unwrap();
            let got = remote.query_range("t", &q).await.unwrap();
            assert_eq!(got.data, want.data, "{query}");
            let n = match &got.data {
                QueryData::Streams(s) => s.len(),
                QueryData::Matrix(m) => m.len(),
                other => panic!("unexpected {other:?}"),
            };
            assert!(n > 0, "{query}");
        }
        let names = remote.label_names("t", 0, 1, None).await.unwrap();
        assert_eq!(names, vec!["app", "env"]);
        assert_eq!(names, local.label_names("t", 0, 1, None).await.unwrap());
        let other = remote.label_names("u", 0, 1, None).await.unwrap();
        assert!(other.is_empty());
        server.abort();
    }

    #[test]
    fn ingester_errors_keep_their_mapping() {
        let e = query_error(IngestError::BadRequest("error parsing regexp: x".into()));
        assert!(matches!(e, QueryError::Ingest(IngestError::BadRequest(_))));
        assert_eq!(e.to_string(), "error parsing regexp: x");
    }
}
