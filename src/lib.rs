//! The `fenrir` binary's library half: command line, configuration, and the HTTP API
//! that wires Loki's endpoints to the distributor, querier and ingester.
//!
//! Data flow: [`cli`] reads the flags, [`config`] loads Loki's YAML and derives each
//! crate's settings, [`app`] opens storage and the ingester (replaying its WAL), starts
//! the flush loop and serves [`server::router`] until SIGTERM/SIGINT, then flushes.

pub mod app;
pub mod cli;
pub mod config;
pub mod server;
pub mod target;
