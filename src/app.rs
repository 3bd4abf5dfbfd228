//! Starting and stopping one process with the roles of its `-target`.
//!
//! Order on start: open storage, open the ingester (which replays its WAL) and start the
//! flush loop (write roles), build the querier over storage, the local ingester and the
//! remote ingesters of `ingester_client.addresses` (read roles), the query frontend, the
//! gRPC listener (frontend queue for remote queriers, ingester reads for remote
//! queriers), a querier's worker connection to its frontend, then bind the HTTP listener
//! and serve. On SIGTERM/SIGINT the listener stops accepting, in-flight requests finish,
//! gRPC and workers stop, and every in-memory entry is flushed before the process exits 0.

use std::net::SocketAddr;
use std::sync::Arc;

use frontend::grpc::FrontendGrpc;
use frontend::{Frontend, FrontendMetrics};
use ingest::distributor::Distributor;
use ingest::ingester::Ingester;
use ingest::query_service::{IngesterQueryServer, RemoteIngester};
use querier::Querier;
use querier::source::LogSource;
use storage::Storage;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::server::{self, AppState, Routes, Services};
use crate::target::Target;

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Storage could not be opened.
    #[error("open storage: {0}")]
    Storage(#[from] storage::StorageError),
    /// The ingester could not open or flush.
    #[error("ingester: {0}")]
    Ingest(#[from] ingest::IngestError),
    /// The listener could not be bound.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serve http: {0}")]
    Serve(std::io::Error),
    /// Metrics could not be registered.
    #[error("register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The configuration does not make a working process.
    #[error("invalid config: {0}")]
    Config(String),
}

/// How stale a querier process's view of the storage index may be: it lists the index
/// again when its last listing is older, so a flush by the write process is visible to the
/// next query (concurrent sub-queries share one listing).
const REMOTE_FLUSH_VISIBILITY: std::time::Duration = std::time::Duration::from_millis(50);

/// The HTTP address to bind: `http_listen_address` (empty: all interfaces) and port.
pub fn http_addr(config: &Config) -> String {
    listen_addr(
        &config.server.http_listen_address,
        config.server.http_listen_port,
    )
}

/// `host:port` for a listen address; empty means all interfaces, IPv6 gets brackets.
fn listen_addr(host: &str, port: u16) -> String {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, draining requests");
}

/// Runs the roles of `config.target` until SIGTERM/SIGINT; a process with an ingester
/// then flushes everything to storage.
pub async fn run(config: Config) -> Result<(), AppError> {
    let target = Target::parse(&config.target).map_err(AppError::Config)?;
    if !config.ingester.wal.enabled {
        tracing::warn!("ingester.wal.enabled is false; fenrir always writes a WAL");
    }
    let registry = prometheus::Registry::new();
    let storage = if target.writes() || target.has_querier() {
        let mut storage = Storage::open(&config.storage_config()).await?;
        if !target.writes() {
            // a querier without its own ingester must see another process's flush at
            // once: that process drops the flushed entries from memory as it writes them
            storage = storage.with_refresh_interval(REMOTE_FLUSH_VISIBILITY);
        }
        Some(Arc::new(storage))
    } else {
        None
    };

    // write path
    let mut ingester = None;
    let mut distributor = None;
    let mut flush_loop = None;
    if let (true, Some(storage)) = (target.writes(), &storage) {
        let ing = Ingester::open(config.ingester_config(), storage.clone()).await?;
        flush_loop = Some(ing.spawn_flush_loop());
        distributor = Some(Arc::new(Distributor::new(config.limits(), ing.clone())));
        ingest::metrics::register(&registry);
        ingester = Some(ing);
    }

    // read path
    let querier = match (target.has_querier(), &storage) {
        (true, Some(storage)) => {
            let mut sources: Vec<Arc<dyn LogSource>> = vec![storage.clone()];
            if let Some(ing) = &ingester {
                sources.push(ing.clone());
            }
            for addr in &config.ingester_client.addresses {
                sources.push(Arc::new(RemoteIngester::connect_lazy(addr).map_err(
                    |e| AppError::Config(format!("ingester_client.addresses: {addr}: {e}")),
                )?));
            }
            Some(Arc::new(Querier::with_sources(
                sources,
                config.query_limits(),
            )))
        }
        _ => None,
    };
    let frontend = if target.has_frontend() {
        let metrics = FrontendMetrics::new()?;
        metrics.register(&registry)?;
        let limits = config.query_limits();
        Some(Arc::new(
            Frontend::new(querier.clone(), config.frontend_config(), metrics)
                .with_query_limits(limits.dialect, limits.max_query_series),
        ))
    } else {
        None
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let grpc = spawn_grpc(
        &config,
        target,
        frontend.as_ref(),
        ingester.as_ref(),
        stop_rx.clone(),
    )
    .await?;
    let worker = match (target, &querier) {
        (Target::Querier, Some(q)) => Some(spawn_querier_worker(&config, q.clone(), stop_rx)),
        _ => None,
    };

    let backend = Arc::new(Services {
        distributor,
        ingester: ingester.clone(),
        frontend,
    });
    let state = AppState::new(backend, &config, registry)?;
    let routes = Routes {
        writes: target.writes(),
        reads: target.has_frontend(),
    };
    let app = server::router_for(state, &config.server.http_path_prefix, routes);

    let addr = http_addr(&config);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| AppError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?local, target = %config.target, "fenrir listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(AppError::Serve)?;

    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    if let Some(g) = grpc {
        let _ = g.await;
    }
    if let Some(f) = flush_loop {
        f.abort();
    }
    if let Some(ing) = ingester {
        tracing::info!("flushing in-memory data before exit");
        ing.flush_all().await?;
    }
    tracing::info!("shutdown complete");
    Ok(())
}

/// The gRPC address to bind: `grpc_listen_address` (empty: all interfaces) and port.
pub fn grpc_addr(config: &Config) -> String {
    listen_addr(
        &config.server.grpc_listen_address,
        config.server.grpc_listen_port,
    )
}

/// Binds the gRPC listener when this process serves something over gRPC: the
/// frontend's queue to remote queriers, the ingester's memory to remote queriers.
async fn spawn_grpc(
    config: &Config,
    target: Target,
    frontend: Option<&Arc<Frontend>>,
    ingester: Option<&Arc<Ingester>>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<JoinHandle<()>>, AppError> {
    let frontend_grpc = frontend.filter(|_| target.serves_frontend_grpc()).map(|f| {
        let cancels = f.metrics().subqueries.with_label_values(&["cancel_sent"]);
        FrontendGrpc::new(f.queue().clone(), Some(cancels))
    });
    let ingester_grpc = ingester.map(|i| IngesterQueryServer::new(i.clone()));
    if frontend_grpc.is_none() && ingester_grpc.is_none() {
        return Ok(None);
    }
    let addr = grpc_addr(config);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| AppError::Bind {
            addr: addr.clone(),
            source,
        })?;
    tracing::info!(addr = ?listener.local_addr().ok(), "fenrir gRPC listening");
    let stopper = frontend_grpc.as_ref().map(FrontendGrpc::stopper);
    // keepalive notices a querier machine that died without closing TCP; all streams of a
    // querier share one connection, so let its window grow for large log answers
    let router = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(5)))
        .http2_adaptive_window(Some(true))
        .add_optional_service(frontend_grpc.map(FrontendGrpc::into_service))
        .add_optional_service(ingester_grpc);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    Ok(Some(tokio::spawn(async move {
        let shutdown = async move {
            stopped(stop).await;
            if let Some(s) = stopper {
                s.stop();
            }
        };
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            tracing::error!(error = %e, "gRPC server failed");
        }
    })))
}

/// Connects a querier process to its frontend (`frontend_worker.frontend_address`).
fn spawn_querier_worker(
    config: &Config,
    querier: Arc<Querier>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    let id = if config.frontend_worker.id.is_empty() {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "querier".to_string());
        format!("{host}:{}", config.server.http_listen_port)
    } else {
        config.frontend_worker.id.clone()
    };
    let address = config.frontend_worker.frontend_address.clone();
    let concurrency = usize::try_from(config.querier.max_concurrent.max(1)).unwrap_or(1);
    tracing::info!(
        frontend = address,
        querier = id,
        concurrency,
        "connecting to the query frontend"
    );
    tokio::spawn(frontend::grpc::run_querier_worker(
        address,
        id,
        concurrency,
        querier,
        stopped(stop),
    ))
}

/// Completes once `stop` turns true.
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let mut c = Config::embedded();
        assert_eq!(http_addr(&c), "127.0.0.1:3100");
        c.server.http_listen_address = String::new();
        c.server.http_listen_port = 3200;
        assert_eq!(http_addr(&c), "0.0.0.0:3200");
        c.server.http_listen_address = "::1".to_string();
        assert_eq!(http_addr(&c), "[::1]:3200");
    }
}
