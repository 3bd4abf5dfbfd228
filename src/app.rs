//! Starting and stopping the single binary.
//!
//! Order on start: open storage, open the ingester (which replays its WAL), start the
//! flush loop, build distributor and querier, bind the HTTP listener and serve. On
//! SIGTERM/SIGINT the listener stops accepting, in-flight requests finish, the flush
//! loop stops and every in-memory entry is flushed before the process exits 0.

use std::net::SocketAddr;
use std::sync::Arc;

use frontend::Frontend;
use ingest::distributor::Distributor;
use ingest::ingester::Ingester;
use querier::Querier;
use storage::Storage;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::server::{self, AppState, Services};

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
}

/// The HTTP address to bind: `http_listen_address` (empty: all interfaces) and port.
pub fn http_addr(config: &Config) -> String {
    let host = match config.server.http_listen_address.as_str() {
        "" => "0.0.0.0",
        h => h,
    };
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{}", config.server.http_listen_port)
    } else {
        format!("{host}:{}", config.server.http_listen_port)
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

/// Runs Fenrir until SIGTERM/SIGINT, then flushes everything to storage.
pub async fn run(config: Config) -> Result<(), AppError> {
    if !config.ingester.wal.enabled {
        tracing::warn!("ingester.wal.enabled is false; fenrir always writes a WAL");
    }
    let storage = Arc::new(Storage::open(&config.storage_config()).await?);
    let ingester = Ingester::open(config.ingester_config(), storage.clone()).await?;
    let flush_loop = ingester.spawn_flush_loop();
    let distributor = Arc::new(Distributor::new(config.limits(), ingester.clone()));
    let querier = Arc::new(Querier::new(
        storage.clone(),
        ingester.clone(),
        config.query_limits(),
    ));
    let frontend = Arc::new(Frontend::new(querier, config.frontend_config()));
    let backend = Arc::new(Services {
        distributor,
        ingester: ingester.clone(),
        frontend,
    });
    let registry = prometheus::Registry::new();
    ingest::metrics::register(&registry);
    let state = AppState::new(backend, &config, registry)?;
    let app = server::router(state, &config.server.http_path_prefix);

    let addr = http_addr(&config);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| AppError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?local, "fenrir listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(AppError::Serve)?;

    flush_loop.abort();
    tracing::info!("flushing in-memory data before exit");
    ingester.flush_all().await?;
    tracing::info!("shutdown complete");
    Ok(())
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
