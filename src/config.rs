//! Fenrir's configuration: one YAML file in Loki's layout, with Loki's option names and
//! defaults, mapped onto the settings of each crate.
//!
//! Every section is a serde struct with `#[serde(default, deny_unknown_fields)]`: a
//! missing option takes Loki's default, an unknown one is an error that names it and its
//! section. Sections Fenrir accepts for compatibility but does not act on yet (`ruler`,
//! `memberlist`, `analytics`, ...) are kept as free-form YAML so existing Loki configs
//! load unchanged. After parsing, [`Config::validate`] checks cross-field rules, and the
//! `*_config` methods derive the settings of storage, ingest and querier.

pub mod units;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

pub use units::{ByteSize, Duration};

/// Errors while loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("read config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML is malformed or names an unknown option (the message has the path).
    #[error("parse config file {path}: {message}")]
    Parse {
        /// The file (`<embedded>` for strings).
        path: String,
        /// serde_yaml's message, e.g. ``server: unknown field `foo`, expected one of ...``.
        message: String,
    },
    /// `-config.expand-env` met a reference it cannot expand.
    #[error("expand env in config: {0}")]
    Env(String),
    /// The values are individually fine but do not make a working setup.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole config file (Loki's top-level layout).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which components to run (`-target`): `all` (single binary), Loki's
    /// simple-scalable `read`/`write`/`backend`, or one of `query-frontend`, `querier`,
    /// `ingester`, `distributor` (see [`crate::target::Target`]).
    pub target: String,
    /// Require `X-Scope-OrgID` on every request (Loki default true); when false every
    /// request belongs to tenant `fake`.
    pub auth_enabled: bool,
    /// HTTP and gRPC listeners, logging.
    pub server: ServerConfig,
    /// Settings shared by all components: data directory, storage, ring.
    pub common: CommonConfig,
    /// Index/schema periods (accepted for compatibility; Fenrir has one format).
    pub schema_config: SchemaConfig,
    /// Object store and index settings.
    pub storage_config: StorageSection,
    /// Per-tenant limits.
    pub limits_config: LimitsConfig,
    /// Head blocks, chunk cutting, WAL.
    pub ingester: IngesterSection,
    /// Distributor settings.
    pub distributor: DistributorConfig,
    /// Query splitting and result caching.
    pub query_range: QueryRangeConfig,
    /// Query frontend queues.
    pub frontend: FrontendConfig,
    /// Querier settings.
    pub querier: QuerierConfig,
    /// Compactor and retention.
    pub compactor: CompactorConfig,
    /// Loki's ballast (ignored: Fenrir has no GC).
    pub ballast_bytes: u64,
    /// Delay before shutting down after SIGTERM (Loki 3.x).
    pub shutdown_delay: Duration,
    /// Ruler (accepted, not implemented yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruler: Option<Value>,
    /// Usage reporting (accepted and ignored: Fenrir reports nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytics: Option<Value>,
    /// Memberlist gossip (accepted, single binary needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memberlist: Option<Value>,
    /// Query scheduler (accepted; the frontend schedules in-process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_scheduler: Option<Value>,
    /// Tracing (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Value>,
    /// Table manager (accepted and ignored; retention lives in the compactor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_manager: Option<Value>,
    /// Chunk store settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_store_config: Option<Value>,
    /// Index gateway (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_gateway: Option<Value>,
    /// Pattern ingester (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_ingester: Option<Value>,
    /// Runtime (per-tenant overrides) config (accepted, not applied yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_config: Option<Value>,
    /// How queriers reach ingesters.
    pub ingester_client: IngesterClientConfig,
    /// How a querier process connects to the query frontend.
    pub frontend_worker: FrontendWorkerConfig,
    /// Operational settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operational_config: Option<Value>,
    /// Bloom components (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_gateway: Option<Value>,
    /// Bloom components (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_compactor: Option<Value>,
    /// Bloom components (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_build: Option<Value>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            target: "all".to_string(),
            auth_enabled: true,
            server: ServerConfig::default(),
            common: CommonConfig::default(),
            schema_config: SchemaConfig::default(),
            storage_config: StorageSection::default(),
            limits_config: LimitsConfig::default(),
            ingester: IngesterSection::default(),
            distributor: DistributorConfig::default(),
            query_range: QueryRangeConfig::default(),
            frontend: FrontendConfig::default(),
            querier: QuerierConfig::default(),
            compactor: CompactorConfig::default(),
            ballast_bytes: 0,
            shutdown_delay: Duration::default(),
            ruler: None,
            analytics: None,
            memberlist: None,
            query_scheduler: None,
            tracing: None,
            table_manager: None,
            chunk_store_config: None,
            index_gateway: None,
            pattern_ingester: None,
            runtime_config: None,
            ingester_client: IngesterClientConfig::default(),
            frontend_worker: FrontendWorkerConfig::default(),
            operational_config: None,
            bloom_gateway: None,
            bloom_compactor: None,
            bloom_build: None,
        }
    }
}

/// `server`: listeners and logging.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTP bind address; empty means all interfaces (Loki default).
    pub http_listen_address: String,
    /// HTTP port (default 3100).
    pub http_listen_port: u16,
    /// Network of the HTTP listener (only `tcp`).
    pub http_listen_network: String,
    /// gRPC bind address; empty means all interfaces.
    pub grpc_listen_address: String,
    /// gRPC port (default 9095).
    pub grpc_listen_port: u16,
    /// Network of the gRPC listener (only `tcp`).
    pub grpc_listen_network: String,
    /// `debug`, `info`, `warn` or `error` (default `info`).
    pub log_level: String,
    /// `logfmt` or `json` (default `logfmt`).
    pub log_format: String,
    /// Read timeout of HTTP requests (default 30s).
    pub http_server_read_timeout: Duration,
    /// Write timeout of HTTP responses (default 30s).
    pub http_server_write_timeout: Duration,
    /// Idle keep-alive timeout (default 120s).
    pub http_server_idle_timeout: Duration,
    /// Largest gRPC message accepted (default 4MB).
    pub grpc_server_max_recv_msg_size: ByteSize,
    /// Largest gRPC message sent (default 4MB).
    pub grpc_server_max_send_msg_size: ByteSize,
    /// Concurrent gRPC streams per connection (default 100).
    pub grpc_server_max_concurrent_streams: u32,
    /// Time allowed for in-flight requests at shutdown (default 30s).
    pub graceful_shutdown_timeout: Duration,
    /// Prefix of every HTTP route (default empty).
    pub http_path_prefix: String,
    /// Serve `/metrics` (default true).
    pub register_instrumentation: bool,
    /// Log each request's headers (accepted and ignored).
    pub log_request_headers: bool,
    /// Log source IPs (accepted and ignored).
    pub log_source_ips_enabled: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http_listen_address: String::new(),
            http_listen_port: 3100,
            http_listen_network: "tcp".to_string(),
            grpc_listen_address: String::new(),
            grpc_listen_port: 9095,
            grpc_listen_network: "tcp".to_string(),
            log_level: "info".to_string(),
            log_format: "logfmt".to_string(),
            http_server_read_timeout: Duration::secs(30),
            http_server_write_timeout: Duration::secs(30),
            http_server_idle_timeout: Duration::secs(120),
            grpc_server_max_recv_msg_size: ByteSize(4 << 20),
            grpc_server_max_send_msg_size: ByteSize(4 << 20),
            grpc_server_max_concurrent_streams: 100,
            graceful_shutdown_timeout: Duration::secs(30),
            http_path_prefix: String::new(),
            register_instrumentation: true,
            log_request_headers: false,
            log_source_ips_enabled: false,
        }
    }
}

/// `common`: settings every component shares.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonConfig {
    /// Root of all local data (chunks, WAL, rules, compactor work dir).
    pub path_prefix: String,
    /// Object storage shared by all components.
    pub storage: CommonStorage,
    /// Copies of each stream (single binary: effectively 1).
    pub replication_factor: u32,
    /// The hash ring (single binary: `inmemory`).
    pub ring: RingConfig,
    /// Address this instance advertises.
    pub instance_addr: String,
    /// Interfaces to take the advertised address from.
    pub instance_interface_names: Vec<String>,
    /// Advertise an IPv6 address.
    pub instance_enable_ipv6: bool,
    /// HTTP address of the compactor.
    pub compactor_address: String,
    /// gRPC address of the compactor.
    pub compactor_grpc_address: String,
}

/// `common.storage`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonStorage {
    /// Local filesystem storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemConfig>,
    /// S3 or an S3-compatible store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Config>,
    /// Google Cloud Storage (not supported yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcs: Option<Value>,
    /// Azure Blob Storage (not supported yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<Value>,
    /// OpenStack Swift (not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swift: Option<Value>,
}

/// `common.storage.filesystem`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesystemConfig {
    /// Where segments (Loki: chunks) are written.
    pub chunks_directory: String,
    /// Where rule files live.
    pub rules_directory: String,
}

/// An S3 client (`common.storage.s3`, `storage_config.aws`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// `s3://key:secret@region/bucket` shorthand (Loki's `s3` option).
    pub s3: String,
    /// Endpoint host or URL, e.g. `minio:9000`; empty for AWS.
    pub endpoint: String,
    /// Region.
    pub region: String,
    /// Comma-separated bucket names (the first is used).
    pub bucketnames: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (shown as `********` by `/config`).
    #[serde(serialize_with = "mask_secret")]
    pub secret_access_key: String,
    /// Session token (shown as `********` by `/config`).
    #[serde(serialize_with = "mask_secret")]
    pub session_token: String,
    /// Use plain HTTP.
    pub insecure: bool,
    /// Path-style addressing (needed by MinIO).
    pub s3forcepathstyle: bool,
    /// Signature version (only v4).
    pub signature_version: String,
    /// Storage class of written objects.
    pub storage_class: String,
    /// HTTP client settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<Value>,
    /// Server-side encryption (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sse: Option<Value>,
    /// Backoff settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_config: Option<Value>,
    /// DynamoDB index (accepted and ignored; legacy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<Value>,
}

fn mask_secret<S: serde::Serializer>(secret: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_empty() { "" } else { "********" })
}

/// A ring (`common.ring`): single binary keeps it in memory.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingConfig {
    /// Key-value store of the ring.
    pub kvstore: KvStoreConfig,
    /// Heartbeat interval.
    pub heartbeat_period: Duration,
    /// Instance considered dead after this.
    pub heartbeat_timeout: Duration,
    /// Replication factor of this ring.
    pub replication_factor: u32,
    /// Address to advertise.
    pub instance_addr: String,
    /// Port to advertise.
    pub instance_port: u16,
    /// Instance id.
    pub instance_id: String,
    /// Interfaces to take the address from.
    pub instance_interface_names: Vec<String>,
    /// Availability zone.
    pub instance_availability_zone: String,
    /// Spread replicas across zones.
    pub zone_awareness_enabled: bool,
    /// File to persist tokens in.
    pub tokens_file_path: String,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            kvstore: KvStoreConfig::default(),
            heartbeat_period: Duration::secs(15),
            heartbeat_timeout: Duration::secs(60),
            replication_factor: 3,
            instance_addr: String::new(),
            instance_port: 0,
            instance_id: String::new(),
            instance_interface_names: Vec::new(),
            instance_availability_zone: String::new(),
            zone_awareness_enabled: false,
            tokens_file_path: String::new(),
        }
    }
}

/// `kvstore` of a ring.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvStoreConfig {
    /// `inmemory`, `memberlist`, `consul`, `etcd` or `multi`.
    pub store: String,
    /// Key prefix.
    pub prefix: String,
    /// Consul client (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consul: Option<Value>,
    /// etcd client (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd: Option<Value>,
    /// Multi-store migration (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi: Option<Value>,
}

impl Default for KvStoreConfig {
    fn default() -> Self {
        Self {
            store: "inmemory".to_string(),
            prefix: "collectors/".to_string(),
            consul: None,
            etcd: None,
            multi: None,
        }
    }
}

/// `schema_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaConfig {
    /// Periods, oldest first.
    pub configs: Vec<PeriodConfig>,
}

/// One `schema_config.configs` entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeriodConfig {
    /// First day of the period, `YYYY-MM-DD`.
    pub from: String,
    /// Index type (`tsdb`, `boltdb-shipper`, ...).
    pub store: String,
    /// Object store name (`filesystem`, `s3`, `aws`, ...).
    pub object_store: String,
    /// Schema version (`v11`, `v12`, `v13`).
    pub schema: String,
    /// Index table settings.
    pub index: IndexPeriod,
    /// Chunk table settings (legacy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<IndexPeriod>,
    /// Row shards of the index (legacy).
    pub row_shards: u32,
}

/// Table prefix and period of a schema period.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexPeriod {
    /// Table name prefix.
    pub prefix: String,
    /// Table period (24h for shipper indexes).
    pub period: Duration,
    /// Table tags (legacy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
}

/// `storage_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// Local filesystem store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FsDirectory>,
    /// S3 store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<S3Config>,
    /// TSDB index shipper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsdb_shipper: Option<ShipperConfig>,
    /// BoltDB index shipper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boltdb_shipper: Option<ShipperConfig>,
    /// Legacy BoltDB index (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boltdb: Option<Value>,
    /// Google Cloud Storage (not supported yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcs: Option<Value>,
    /// Azure (not supported yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<Value>,
    /// Swift (not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swift: Option<Value>,
    /// Index query cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_queries_cache_config: Option<Value>,
    /// Hedged requests (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hedging: Option<Value>,
    /// Named stores (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub named_stores: Option<Value>,
    /// Bloom shipper (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_shipper: Option<Value>,
    /// Chunks fetched per batch (accepted and ignored).
    pub max_chunk_batch_size: u32,
    /// Thanos object store client switch (accepted and ignored).
    pub use_thanos_objstore: bool,
    /// Thanos object store client (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_store: Option<Value>,
}

/// `storage_config.filesystem`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FsDirectory {
    /// Directory of stored objects.
    pub directory: String,
}

/// `storage_config.tsdb_shipper` / `boltdb_shipper`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShipperConfig {
    /// Local index being written.
    pub active_index_directory: String,
    /// Local cache of downloaded index files.
    pub cache_location: String,
    /// TTL of the cache.
    pub cache_ttl: Duration,
    /// Store holding the index (legacy).
    pub shared_store: String,
    /// Key prefix in the shared store.
    pub shared_store_key_prefix: String,
    /// How often to resync.
    pub resync_interval: Duration,
    /// Days of index to have ready at startup.
    pub query_ready_num_days: u32,
    /// Build per-tenant index files.
    pub build_per_tenant_index: bool,
    /// Index gateway client (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_gateway_client: Option<Value>,
}

/// `limits_config`: per-tenant limits with Loki's defaults.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Reject entries older than `reject_old_samples_max_age` (default true).
    pub reject_old_samples: bool,
    /// Default 1w.
    pub reject_old_samples_max_age: Duration,
    /// Entries this far in the future are rejected (default 10m).
    pub creation_grace_period: Duration,
    /// Longest accepted line; 0 means unlimited (default 256KB).
    pub max_line_size: ByteSize,
    /// Truncate long lines instead of rejecting them.
    pub max_line_size_truncate: bool,
    /// `global` or `local` (accepted; single binary is both).
    pub ingestion_rate_strategy: String,
    /// Per-tenant ingestion rate, MB/s (default 4).
    pub ingestion_rate_mb: f64,
    /// Per-tenant burst, MB (default 6).
    pub ingestion_burst_size_mb: f64,
    /// Per-stream rate (default 3MB).
    pub per_stream_rate_limit: ByteSize,
    /// Per-stream burst (default 15MB).
    pub per_stream_rate_limit_burst: ByteSize,
    /// Longest label name (default 1024).
    pub max_label_name_length: usize,
    /// Longest label value (default 2048).
    pub max_label_value_length: usize,
    /// Most labels per stream (default 15).
    pub max_label_names_per_series: usize,
    /// Local stream limit (default 0: none).
    pub max_streams_per_user: u64,
    /// Global stream limit (default 5000).
    pub max_global_streams_per_user: u64,
    /// Accept out-of-order entries (default true).
    pub unordered_writes: bool,
    /// Largest `limit` of a log query (default 5000).
    pub max_entries_limit_per_query: u32,
    /// Most series a metric query may return (default 500).
    pub max_query_series: usize,
    /// Longest query range; 0 disables (default 30d1h).
    pub max_query_length: Duration,
    /// Furthest look-back; 0 disables.
    pub max_query_lookback: Duration,
    /// Sub-queries run in parallel per query (default 32).
    pub max_query_parallelism: u32,
    /// Queriers one tenant's sub-queries may use; 0 means all (default 0).
    pub max_queriers_per_tenant: u32,
    /// TSDB sub-query parallelism (default 128).
    pub tsdb_max_query_parallelism: u32,
    /// Split range queries by this interval (Loki 2.9 home of the option, default 30m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_queries_by_interval: Option<Duration>,
    /// Split metadata queries by this interval (default 1d).
    pub split_metadata_queries_by_interval: Duration,
    /// Query timeout (default 1m).
    pub query_timeout: Duration,
    /// Do not cache results newer than this (default 10m).
    pub max_cache_freshness_per_query: Duration,
    /// Most chunks a query may touch (default 2000000).
    pub max_chunks_per_query: u64,
    /// Most concurrent tail requests (default 10).
    pub max_concurrent_tail_requests: u32,
    /// Retention of stored data; 0 keeps forever.
    pub retention_period: Duration,
    /// Per-stream retention rules (accepted, not applied yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_stream: Option<Value>,
    /// Accept structured metadata on entries (default true).
    pub allow_structured_metadata: bool,
    /// Largest structured metadata per entry (default 64KB).
    pub max_structured_metadata_size: ByteSize,
    /// Most structured metadata entries per entry (default 128).
    pub max_structured_metadata_entries_count: u32,
    /// Serve the volume API.
    pub volume_enabled: bool,
    /// Add `service_name` on push (Loki 3.x; accepted, not applied).
    pub discover_service_name: Vec<String>,
    /// Add `detected_level` on push (Loki 3.x; accepted, not applied).
    pub discover_log_levels: bool,
    /// Metric aggregation (Loki 3.x; accepted and ignored).
    pub metric_aggregation_enabled: bool,
    /// Bump timestamps of same-time entries (accepted, not applied).
    pub increment_duplicate_timestamp: bool,
    /// Cardinality limit of index stats (default 100000).
    pub cardinality_limit: u64,
    /// Bytes a querier may read per query; 0 disables.
    pub max_querier_bytes_read: ByteSize,
    /// Bytes a query may read; 0 disables.
    pub max_query_bytes_read: ByteSize,
    /// Deletion mode (accepted, not applied).
    pub deletion_mode: String,
    /// Allow delete requests (legacy).
    pub allow_deletes: bool,
    /// File of per-tenant overrides (accepted, not applied yet).
    pub per_tenant_override_config: String,
    /// Reload period of overrides.
    pub per_tenant_override_period: Duration,
    /// Days of index to preload.
    pub query_ready_index_num_days: u32,
    /// Stream sharding (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_streams: Option<Value>,
    /// OTLP attribute mapping (accepted, not applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_config: Option<Value>,
    /// Blocked queries (accepted, not applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_queries: Option<Value>,
    /// Ruler remote-write settings (accepted, not applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruler_remote_write_headers: Option<Value>,
    /// Bloom settings (accepted and ignored).
    pub bloom_gateway_enable_filtering: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            reject_old_samples: true,
            reject_old_samples_max_age: Duration::secs(7 * 86_400),
            creation_grace_period: Duration::secs(600),
            max_line_size: ByteSize(256 * 1024),
            max_line_size_truncate: false,
            ingestion_rate_strategy: "global".to_string(),
            ingestion_rate_mb: 4.0,
            ingestion_burst_size_mb: 6.0,
            per_stream_rate_limit: ByteSize(3 << 20),
            per_stream_rate_limit_burst: ByteSize(15 << 20),
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            max_label_names_per_series: 15,
            max_streams_per_user: 0,
            max_global_streams_per_user: 5000,
            unordered_writes: true,
            max_entries_limit_per_query: 5000,
            max_query_series: 500,
            max_query_length: Duration::secs(721 * 3600),
            max_query_lookback: Duration::default(),
            max_query_parallelism: 32,
            max_queriers_per_tenant: 0,
            tsdb_max_query_parallelism: 128,
            split_queries_by_interval: None,
            split_metadata_queries_by_interval: Duration::secs(86_400),
            query_timeout: Duration::secs(60),
            max_cache_freshness_per_query: Duration::secs(600),
            max_chunks_per_query: 2_000_000,
            max_concurrent_tail_requests: 10,
            retention_period: Duration::default(),
            retention_stream: None,
            allow_structured_metadata: true,
            max_structured_metadata_size: ByteSize(64 * 1024),
            max_structured_metadata_entries_count: 128,
            volume_enabled: true,
            discover_service_name: Vec::new(),
            discover_log_levels: false,
            metric_aggregation_enabled: false,
            increment_duplicate_timestamp: false,
            cardinality_limit: 100_000,
            max_querier_bytes_read: ByteSize(150 << 30),
            max_query_bytes_read: ByteSize(0),
            deletion_mode: "filter-and-delete".to_string(),
            allow_deletes: false,
            per_tenant_override_config: String::new(),
            per_tenant_override_period: Duration::secs(10),
            query_ready_index_num_days: 0,
            shard_streams: None,
            otlp_config: None,
            blocked_queries: None,
            ruler_remote_write_headers: None,
            bloom_gateway_enable_filtering: false,
        }
    }
}

/// `ingester`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngesterSection {
    /// Flush a stream idle this long (default 30m).
    pub chunk_idle_period: Duration,
    /// Flush chunks at this age (default 2h).
    pub max_chunk_age: Duration,
    /// Cut a chunk at this raw size (default 1572864).
    pub chunk_target_size: ByteSize,
    /// Cut a block at this size (default 262144).
    pub chunk_block_size: ByteSize,
    /// Chunk compression (accepted; segments are always zstd).
    pub chunk_encoding: String,
    /// Keep flushed chunks in memory this long (accepted and ignored).
    pub chunk_retain_period: Duration,
    /// How often the flush loop runs (default 30s).
    pub flush_check_period: Duration,
    /// Fenrir-only: flush every stream when this many raw bytes are held in memory
    /// (default 32MB; 0 turns it off).
    pub flush_memory_bytes: ByteSize,
    /// Timeout of one flush (default 10m).
    pub flush_op_timeout: Duration,
    /// Parallel flushes (default 32).
    pub concurrent_flushes: u32,
    /// Streams listed in a push error (default 10).
    pub max_returned_stream_errors: u32,
    /// Serve queries from storage for this long back; -1 is accepted as "all".
    pub query_store_max_look_back_period: Value,
    /// Forget unhealthy ring members (accepted and ignored).
    pub autoforget_unhealthy: bool,
    /// Write-ahead log.
    pub wal: WalConfig,
    /// Ring membership (accepted; single binary needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycler: Option<Value>,
    /// Legacy hand-over retries (accepted and ignored).
    pub max_transfer_retries: u32,
    /// Chunk sync period (accepted and ignored).
    pub sync_period: Duration,
    /// Chunk sync utilization (accepted and ignored).
    pub sync_min_utilization: f64,
    /// In-memory index shards (accepted and ignored).
    pub index_shards: u32,
    /// Shutdown marker path (accepted and ignored).
    pub shutdown_marker_path: String,
}

impl Default for IngesterSection {
    fn default() -> Self {
        Self {
            chunk_idle_period: Duration::secs(1800),
            max_chunk_age: Duration::secs(7200),
            chunk_target_size: ByteSize(1_572_864),
            chunk_block_size: ByteSize(262_144),
            chunk_encoding: "gzip".to_string(),
            chunk_retain_period: Duration::default(),
            flush_check_period: Duration::secs(30),
            flush_memory_bytes: ByteSize(32 << 20),
            flush_op_timeout: Duration::secs(600),
            concurrent_flushes: 32,
            max_returned_stream_errors: 10,
            query_store_max_look_back_period: Value::String("0s".to_string()),
            autoforget_unhealthy: false,
            wal: WalConfig::default(),
            lifecycler: None,
            max_transfer_retries: 0,
            sync_period: Duration::default(),
            sync_min_utilization: 0.0,
            index_shards: 32,
            shutdown_marker_path: String::new(),
        }
    }
}

/// `ingester.wal`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalConfig {
    /// Write a WAL (default true; Fenrir always writes one and warns when disabled).
    pub enabled: bool,
    /// WAL directory; empty means `<path_prefix>/wal`.
    pub dir: String,
    /// Checkpoint interval (default 5m).
    pub checkpoint_duration: Duration,
    /// Flush all chunks on shutdown (Fenrir always does).
    pub flush_on_shutdown: bool,
    /// Replay memory ceiling (default 4GB).
    pub replay_memory_ceiling: ByteSize,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: String::new(),
            checkpoint_duration: Duration::secs(300),
            flush_on_shutdown: false,
            replay_memory_ceiling: ByteSize(4 << 30),
        }
    }
}

/// `distributor`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributorConfig {
    /// Largest push body, compressed and decompressed (default 100MB).
    pub max_recv_msg_size: ByteSize,
    /// Distributor ring (accepted; single binary needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring: Option<Value>,
    /// Rate store (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_store: Option<Value>,
    /// Write-failure logging (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_failures_logging: Option<Value>,
    /// OTLP settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_config: Option<Value>,
}

impl Default for DistributorConfig {
    fn default() -> Self {
        Self {
            max_recv_msg_size: ByteSize(100 << 20),
            ring: None,
            rate_store: None,
            write_failures_logging: None,
            otlp_config: None,
        }
    }
}

/// `query_range`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryRangeConfig {
    /// Deprecated home of `limits_config.split_queries_by_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_queries_by_interval: Option<Duration>,
    /// Align start/end to the step (default false).
    pub align_queries_with_step: bool,
    /// Cache results of metric queries (default false).
    pub cache_results: bool,
    /// Retries of failed sub-queries (default 5).
    pub max_retries: u32,
    /// Shard queries by stream (default true).
    pub parallelise_shardable_queries: bool,
    /// Results cache backend (accepted; Fenrir caches in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_cache: Option<Value>,
    /// Cache index stats results.
    pub cache_index_stats_results: bool,
    /// Index stats cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_stats_results_cache: Option<Value>,
    /// Cache volume results.
    pub cache_volume_results: bool,
    /// Volume cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_results_cache: Option<Value>,
    /// Cache series results.
    pub cache_series_results: bool,
    /// Series cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_results_cache: Option<Value>,
    /// Cache label results.
    pub cache_label_results: bool,
    /// Label cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_results_cache: Option<Value>,
    /// Cache instant metric results.
    pub cache_instant_metric_results: bool,
    /// Instant metric cache (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instant_metric_results_cache: Option<Value>,
    /// Shard aggregations (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_aggregations: Option<Value>,
}

impl Default for QueryRangeConfig {
    fn default() -> Self {
        Self {
            split_queries_by_interval: None,
            align_queries_with_step: false,
            cache_results: false,
            max_retries: 5,
            parallelise_shardable_queries: true,
            results_cache: None,
            cache_index_stats_results: false,
            index_stats_results_cache: None,
            cache_volume_results: false,
            volume_results_cache: None,
            cache_series_results: false,
            series_results_cache: None,
            cache_label_results: false,
            label_results_cache: None,
            cache_instant_metric_results: false,
            instant_metric_results_cache: None,
            shard_aggregations: None,
        }
    }
}

/// `frontend`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    /// Queue length per tenant; beyond it queries get 429 (default 2048).
    pub max_outstanding_per_tenant: u32,
    /// Forget a querier after this (accepted and ignored).
    pub querier_forget_delay: Duration,
    /// Gzip responses when the client accepts it.
    pub compress_responses: bool,
    /// Log queries slower than this; 0 disables.
    pub log_queries_longer_than: Duration,
    /// Largest query request body (default 10MB).
    pub max_body_size: ByteSize,
    /// Report query statistics in logs.
    pub query_stats_enabled: bool,
    /// Scheduler address (accepted; scheduling is in-process).
    pub scheduler_address: String,
    /// Scheduler DNS lookup period (accepted and ignored).
    pub scheduler_dns_lookup_period: Duration,
    /// Scheduler workers (accepted and ignored).
    pub scheduler_worker_concurrency: u32,
    /// Frontend gRPC client (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_client_config: Option<Value>,
    /// Interfaces to advertise (accepted and ignored).
    pub instance_interface_names: Vec<String>,
    /// Advertised address (accepted and ignored).
    pub address: String,
    /// Advertised port (accepted and ignored).
    pub port: u16,
    /// Downstream URL (accepted; the querier is in-process).
    pub downstream_url: String,
    /// Tail proxy URL (accepted and ignored).
    pub tail_proxy_url: String,
    /// Tail TLS (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_tls_config: Option<Value>,
    /// Response encoding between frontend and querier (accepted and ignored).
    pub encoding: String,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            max_outstanding_per_tenant: 2048,
            querier_forget_delay: Duration::default(),
            compress_responses: false,
            log_queries_longer_than: Duration::default(),
            max_body_size: ByteSize(10 << 20),
            query_stats_enabled: false,
            scheduler_address: String::new(),
            scheduler_dns_lookup_period: Duration::secs(10),
            scheduler_worker_concurrency: 5,
            grpc_client_config: None,
            instance_interface_names: Vec::new(),
            address: String::new(),
            port: 0,
            downstream_url: String::new(),
            tail_proxy_url: String::new(),
            tail_tls_config: None,
            encoding: "json".to_string(),
        }
    }
}

/// `frontend_worker`: a querier process's connection to the query frontend.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendWorkerConfig {
    /// The query frontend's gRPC address (`host:grpc_listen_port`); required by
    /// `-target=querier`.
    pub frontend_address: String,
    /// Query scheduler address (accepted; Fenrir has no separate scheduler).
    pub scheduler_address: String,
    /// DNS re-resolution period (accepted and ignored).
    pub dns_lookup_duration: Duration,
    /// Deprecated worker concurrency (accepted; `querier.max_concurrent` is used).
    pub parallelism: u32,
    /// Match `querier.max_concurrent` (accepted; always true).
    pub match_max_concurrent: bool,
    /// Querier id reported to the frontend (default: the hostname and port).
    pub id: String,
    /// gRPC client settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_client_config: Option<Value>,
    /// gRPC client settings for the frontend (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_frontend_grpc_client: Option<Value>,
    /// gRPC client settings for the scheduler (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_scheduler_grpc_client: Option<Value>,
}

impl Default for FrontendWorkerConfig {
    fn default() -> Self {
        Self {
            frontend_address: String::new(),
            scheduler_address: String::new(),
            dns_lookup_duration: Duration::secs(10),
            parallelism: 10,
            match_max_concurrent: true,
            id: String::new(),
            grpc_client_config: None,
            query_frontend_grpc_client: None,
            query_scheduler_grpc_client: None,
        }
    }
}

/// `ingester_client`: how queriers reach ingesters.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngesterClientConfig {
    /// Fenrir: gRPC addresses (`host:grpc_listen_port`) of the ingesters a querier in
    /// another process reads recent data from. Loki discovers them through its ring;
    /// Fenrir takes the list. Empty: no remote ingesters.
    pub addresses: Vec<String>,
    /// Connection pool (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_config: Option<Value>,
    /// Request timeout (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_timeout: Option<Duration>,
    /// gRPC client settings (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_client_config: Option<Value>,
}

/// `querier`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerierConfig {
    /// Concurrent sub-queries per querier (default 4, as Loki 3; Loki 2.9 has 10).
    /// Each query already uses every core, so more only holds more data in memory.
    pub max_concurrent: u32,
    /// Only ask ingesters for data younger than this; 0 always asks (default 3h).
    pub query_ingesters_within: Duration,
    /// Longest tail (default 1h).
    pub tail_max_duration: Duration,
    /// Hedging delay (accepted and ignored).
    pub extra_query_delay: Duration,
    /// Allow `a|b` tenant ids on queries (default false).
    pub multi_tenant_queries_enabled: bool,
    /// Query only storage.
    pub query_store_only: bool,
    /// Query only ingesters.
    pub query_ingester_only: bool,
    /// Per-request limits via headers (accepted and ignored).
    pub per_request_limits_enabled: bool,
    /// LogQL engine settings.
    pub engine: EngineConfig,
    /// Legacy query timeout (accepted; use `limits_config.query_timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_timeout: Option<Duration>,
    /// Fenrir only: the LogQL syntax accepted. `loki-3` (default) accepts everything
    /// Loki 3.x does; `loki-2.9` also rejects what Loki 2.9 rejects (`|= "a" or "b"`),
    /// to answer exactly like a Loki 2.9 installation.
    pub logql_dialect: LogqlDialect,
}

/// The LogQL syntax a querier accepts (`querier.logql_dialect`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum LogqlDialect {
    /// Loki 3.x syntax.
    #[default]
    #[serde(rename = "loki-3")]
    Loki3,
    /// Loki 2.9 syntax.
    #[serde(rename = "loki-2.9")]
    Loki29,
}

impl Default for QuerierConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 4,
            query_ingesters_within: Duration::secs(3 * 3600),
            tail_max_duration: Duration::secs(3600),
            extra_query_delay: Duration::default(),
            multi_tenant_queries_enabled: false,
            query_store_only: false,
            query_ingester_only: false,
            per_request_limits_enabled: false,
            engine: EngineConfig::default(),
            query_timeout: None,
            logql_dialect: LogqlDialect::default(),
        }
    }
}

/// `querier.engine`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Look-back of instant log queries (default 30s).
    pub max_look_back_period: Duration,
    /// Legacy engine timeout (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_look_back_period: Duration::secs(30),
            timeout: None,
        }
    }
}

/// `compactor`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompactorConfig {
    /// Scratch directory; empty means `<path_prefix>/compactor`.
    pub working_directory: String,
    /// Store holding the index (legacy).
    pub shared_store: String,
    /// How often to compact (default 10m).
    pub compaction_interval: Duration,
    /// Apply `retention_period` (default false).
    pub retention_enabled: bool,
    /// Delay before deleting marked data (default 2h).
    pub retention_delete_delay: Duration,
    /// Parallel deletions (default 150).
    pub retention_delete_worker_count: u32,
    /// Store of delete requests.
    pub delete_request_store: String,
    /// Cancel window of delete requests (default 24h).
    pub delete_request_cancel_period: Duration,
    /// Retention interval (0: with compaction).
    pub apply_retention_interval: Duration,
    /// Compactor ring (accepted and ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compactor_ring: Option<Value>,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            working_directory: String::new(),
            shared_store: String::new(),
            compaction_interval: Duration::secs(600),
            retention_enabled: false,
            retention_delete_delay: Duration::secs(7200),
            retention_delete_worker_count: 150,
            delete_request_store: String::new(),
            delete_request_cancel_period: Duration::secs(86_400),
            apply_retention_interval: Duration::default(),
            compactor_ring: None,
        }
    }
}

/// Where the embedded defaults keep data when no config file is given.
pub const DEFAULT_PATH_PREFIX: &str = "data";

impl Config {
    /// The config used without `-config.file`: Loki's defaults for a local single
    /// binary (auth off, `127.0.0.1:3100`, data under `./data`, in-memory ring).
    pub fn embedded() -> Self {
        let mut c = Self {
            auth_enabled: false,
            ..Self::default()
        };
        c.server.http_listen_address = "127.0.0.1".to_string();
        c.server.grpc_listen_address = "127.0.0.1".to_string();
        c.common.path_prefix = DEFAULT_PATH_PREFIX.to_string();
        c.common.replication_factor = 1;
        c
    }

    /// Parses YAML text; `origin` names it in errors. An empty document gives the defaults.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let parse_err = |e: serde_yaml::Error| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        };
        let value: Value = serde_yaml::from_str(text).map_err(parse_err)?;
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text).map_err(parse_err)
    }

    /// Reads `path`, optionally expanding `${VAR}` references first (`-config.expand-env`).
    pub fn load(path: &Path, expand_env: bool) -> Result<Self, ConfigError> {
        let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = if expand_env {
            expand_env_vars(&raw, |name| std::env::var(name).ok())?
        } else {
            raw
        };
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// Checks rules that span options; the message names the offending option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if let Err(e) = crate::target::Target::parse(&self.target) {
            return invalid(e);
        }
        let target = crate::target::Target::parse(&self.target).unwrap_or_default();
        if target == crate::target::Target::Querier
            && self.frontend_worker.frontend_address.is_empty()
        {
            return invalid(
                "frontend_worker.frontend_address: a querier needs the query frontend's gRPC address".to_string(),
            );
        }
        if !matches!(
            self.server.log_level.as_str(),
            "debug" | "info" | "warn" | "error"
        ) {
            return invalid(format!(
                "server.log_level: unrecognized log level {:?} (debug, info, warn, error)",
                self.server.log_level
            ));
        }
        for (name, value) in [
            ("common.storage.gcs", &self.common.storage.gcs),
            ("common.storage.azure", &self.common.storage.azure),
            ("common.storage.swift", &self.common.storage.swift),
            ("storage_config.gcs", &self.storage_config.gcs),
            ("storage_config.azure", &self.storage_config.azure),
            ("storage_config.swift", &self.storage_config.swift),
        ] {
            if value.is_some() {
                return invalid(format!(
                    "{name}: this storage backend is not supported yet; use filesystem or s3"
                ));
            }
        }
        if let Some((section, s3)) = self.s3_section() {
            let bucket = s3_bucket(s3);
            if bucket.is_empty() {
                return invalid(format!("{section}.bucketnames is required for s3 storage"));
            }
        }
        if self.limits_config.ingestion_rate_mb < 0.0
            || self.limits_config.ingestion_burst_size_mb < 0.0
        {
            return invalid(
                "limits_config.ingestion_rate_mb and ingestion_burst_size_mb must not be negative"
                    .to_string(),
            );
        }
        if self.limits_config.max_entries_limit_per_query == 0 {
            return invalid("limits_config.max_entries_limit_per_query must be positive".into());
        }
        if self.distributor.max_recv_msg_size.0 == 0 {
            return invalid("distributor.max_recv_msg_size must be positive".to_string());
        }
        for (i, p) in self.schema_config.configs.iter().enumerate() {
            if chrono::NaiveDate::parse_from_str(&p.from, "%Y-%m-%d").is_err() {
                return invalid(format!(
                    "schema_config.configs[{i}].from: {:?} is not a date like 2024-01-01",
                    p.from
                ));
            }
        }
        Ok(())
    }

    /// The directory everything local lives under.
    pub fn path_prefix(&self) -> PathBuf {
        if self.common.path_prefix.is_empty() {
            PathBuf::from(DEFAULT_PATH_PREFIX)
        } else {
            PathBuf::from(&self.common.path_prefix)
        }
    }

    fn s3_section(&self) -> Option<(&'static str, &S3Config)> {
        if let Some(s3) = &self.common.storage.s3 {
            return Some(("common.storage.s3", s3));
        }
        self.storage_config
            .aws
            .as_ref()
            .map(|s3| ("storage_config.aws", s3))
    }

    /// Where segments live: S3 when `common.storage.s3` (or `storage_config.aws`) is set,
    /// else the filesystem at `chunks_directory`, `storage_config.filesystem.directory`
    /// or `<path_prefix>/chunks`.
    pub fn storage_config(&self) -> storage::StorageConfig {
        if let Some((_, s3)) = self.s3_section() {
            let url = parse_s3_url(&s3.s3);
            let pick = |explicit: &str, from_url: Option<&String>| {
                if explicit.is_empty() {
                    from_url.cloned().unwrap_or_default()
                } else {
                    explicit.to_string()
                }
            };
            let region = pick(&s3.region, url.as_ref().map(|u| &u.region));
            let (endpoint, insecure) = normalize_endpoint(&s3.endpoint, s3.insecure);
            return storage::StorageConfig::S3 {
                endpoint,
                bucket: s3_bucket(s3),
                region: if region.is_empty() {
                    "us-east-1".to_string()
                } else {
                    region
                },
                access_key_id: pick(&s3.access_key_id, url.as_ref().map(|u| &u.key)),
                secret_access_key: pick(&s3.secret_access_key, url.as_ref().map(|u| &u.secret)),
                insecure,
                force_path_style: s3.s3forcepathstyle,
            };
        }
        let explicit = self
            .common
            .storage
            .filesystem
            .as_ref()
            .map(|f| f.chunks_directory.clone())
            .filter(|d| !d.is_empty())
            .or_else(|| {
                self.storage_config
                    .filesystem
                    .as_ref()
                    .map(|f| f.directory.clone())
                    .filter(|d| !d.is_empty())
            });
        storage::StorageConfig::Filesystem {
            root: explicit
                .map(PathBuf::from)
                .unwrap_or_else(|| self.path_prefix().join("chunks")),
        }
    }

    /// Ingester settings; the WAL lives at `ingester.wal.dir` or `<path_prefix>/wal`.
    pub fn ingester_config(&self) -> ingest::IngesterConfig {
        let wal_dir = if self.ingester.wal.dir.is_empty() {
            self.path_prefix().join("wal")
        } else {
            PathBuf::from(&self.ingester.wal.dir)
        };
        let mut c = ingest::IngesterConfig::with_wal_dir(wal_dir);
        c.chunk_idle_period = self.ingester.chunk_idle_period.get();
        c.max_chunk_age = self.ingester.max_chunk_age.get();
        c.chunk_target_size =
            usize::try_from(self.ingester.chunk_target_size.0).unwrap_or(usize::MAX);
        c.flush_check_period = self.ingester.flush_check_period.get();
        c.flush_memory_bytes =
            usize::try_from(self.ingester.flush_memory_bytes.0).unwrap_or(usize::MAX);
        c
    }

    /// The distributor's per-tenant limits.
    pub fn limits(&self) -> ingest::Limits {
        let l = &self.limits_config;
        ingest::Limits {
            reject_old_samples: l.reject_old_samples,
            reject_old_samples_max_age: l.reject_old_samples_max_age.get(),
            creation_grace_period: l.creation_grace_period.get(),
            max_line_size: usize::try_from(l.max_line_size.0).unwrap_or(usize::MAX),
            max_line_size_truncate: l.max_line_size_truncate,
            ingestion_rate_mb: l.ingestion_rate_mb,
            ingestion_burst_size_mb: l.ingestion_burst_size_mb,
            max_label_names_per_series: l.max_label_names_per_series,
            max_label_name_length: l.max_label_name_length,
            max_label_value_length: l.max_label_value_length,
        }
    }

    /// The querier's result limits.
    pub fn query_limits(&self) -> querier::QueryLimits {
        querier::QueryLimits {
            max_entries_limit_per_query: self.limits_config.max_entries_limit_per_query,
            max_query_series: self.limits_config.max_query_series,
            dialect: match self.querier.logql_dialect {
                LogqlDialect::Loki3 => logql::Dialect::LOKI_3,
                LogqlDialect::Loki29 => logql::Dialect::LOKI_2_9,
            },
        }
    }

    /// `split_queries_by_interval`: `limits_config` wins over the deprecated
    /// `query_range` spelling; Loki's default is 30m.
    pub fn split_queries_by_interval(&self) -> std::time::Duration {
        self.limits_config
            .split_queries_by_interval
            .or(self.query_range.split_queries_by_interval)
            .unwrap_or(Duration::secs(1800))
            .get()
    }

    /// The query frontend's settings.
    pub fn frontend_config(&self) -> frontend::FrontendConfig {
        let l = &self.limits_config;
        let cache_mb = self
            .query_range
            .results_cache
            .as_ref()
            .and_then(|v| {
                v.get("cache")?
                    .get("embedded_cache")?
                    .get("max_size_mb")?
                    .as_u64()
            })
            .unwrap_or(100);
        frontend::FrontendConfig {
            split_queries_by_interval: self.split_queries_by_interval(),
            max_outstanding_per_tenant: usize::try_from(self.frontend.max_outstanding_per_tenant)
                .unwrap_or(usize::MAX),
            max_query_parallelism: usize::try_from(l.max_query_parallelism).unwrap_or(usize::MAX),
            max_queriers_per_tenant: usize::try_from(l.max_queriers_per_tenant)
                .unwrap_or(usize::MAX),
            max_retries: self.query_range.max_retries,
            query_timeout: self
                .querier
                .query_timeout
                .filter(|d| !d.get().is_zero())
                .unwrap_or(l.query_timeout)
                .get(),
            cache_results: self.query_range.cache_results,
            cache_max_bytes: cache_mb.saturating_mul(1 << 20),
            max_cache_freshness: l.max_cache_freshness_per_query.get(),
            max_shards: if self.query_range.parallelise_shardable_queries {
                16
            } else {
                1
            },
            local_workers: usize::try_from(self.querier.max_concurrent).unwrap_or(usize::MAX),
        }
    }

    /// The effective config as YAML (secrets masked), for `GET /config`.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

fn s3_bucket(s3: &S3Config) -> String {
    let from_names = s3
        .bucketnames
        .split(',')
        .map(str::trim)
        .find(|b| !b.is_empty())
        .map(str::to_string);
    from_names
        .or_else(|| parse_s3_url(&s3.s3).map(|u| u.bucket))
        .unwrap_or_default()
}

/// The parts of Loki's `s3://key:secret@region/bucket` shorthand.
struct S3Url {
    key: String,
    secret: String,
    region: String,
    bucket: String,
}

fn parse_s3_url(url: &str) -> Option<S3Url> {
    let rest = url.strip_prefix("s3://")?;
    let (auth, host_path) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (key, secret) = auth
        .and_then(|a| a.split_once(':'))
        .map(|(k, s)| (k.to_string(), s.to_string()))
        .unwrap_or_default();
    let (region, bucket) = host_path.split_once('/').unwrap_or((host_path, ""));
    Some(S3Url {
        key,
        secret,
        region: region.to_string(),
        bucket: bucket.trim_matches('/').to_string(),
    })
}

/// Loki takes `endpoint` as a host (`minio:9000`) plus `insecure`; object_store wants a
/// URL. An explicit `http://` scheme also means insecure.
fn normalize_endpoint(endpoint: &str, insecure: bool) -> (String, bool) {
    if endpoint.is_empty() {
        return (String::new(), insecure);
    }
    if endpoint.starts_with("http://") {
        return (endpoint.to_string(), true);
    }
    if endpoint.starts_with("https://") {
        return (endpoint.to_string(), insecure);
    }
    let scheme = if insecure { "http" } else { "https" };
    (format!("{scheme}://{endpoint}"), insecure)
}

/// Expands `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$VAR` as Loki's
/// `-config.expand-env` does; `$$` is a literal `$`. Unset variables become empty.
pub fn expand_env_vars(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = body_start.find('}').ok_or_else(|| {
                ConfigError::Env(format!(
                    "unterminated ${{...}} in {:?}",
                    &rest[pos..rest.len().min(pos + 40)]
                ))
            })?;
            let body = &body_start[..end];
            let (name, default, empty_means_unset) = if let Some((n, d)) = body.split_once(":-") {
                (n, Some(d), true)
            } else if let Some((n, d)) = body.split_once('-') {
                (n, Some(d), false)
            } else {
                (body, None, false)
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ConfigError::Env(format!(
                    "bad variable name in ${{{body}}}"
                )));
            }
            let value = lookup(name);
            let value = match (value, default) {
                (Some(v), Some(d)) if v.is_empty() && empty_means_unset => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => String::new(),
            };
            out.push_str(&value);
            rest = &body_start[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..len]).unwrap_or_default());
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_loads_and_validates() {
        let text = include_str!("../fenrir.example.yaml");
        let c = Config::from_yaml(text, "fenrir.example.yaml").unwrap();
        c.validate().unwrap();
        assert!(!c.auth_enabled);
        assert_eq!(c.server.http_listen_port, 3100);
    }

    #[test]
    fn empty_file_gives_loki_defaults() {
        let c = Config::from_yaml("# nothing\n", "x").unwrap();
        assert!(c.auth_enabled);
        assert_eq!(c.server.http_listen_port, 3100);
        assert_eq!(c.limits_config.max_entries_limit_per_query, 5000);
        assert_eq!(
            c.limits_config.reject_old_samples_max_age.get(),
            std::time::Duration::from_secs(604_800)
        );
        assert_eq!(c.split_queries_by_interval().as_secs(), 1800);
        c.validate().unwrap();
    }

    #[test]
    fn unknown_option_is_named_with_its_section() {
        let err = Config::from_yaml("server:\n  http_listen_port: 3100\n  foo: 1\n", "cfg.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "parse config file cfg.yaml: server: unknown field `foo`, expected one of"
            ),
            "{err}"
        );
        let err = Config::from_yaml("bogus_section: {}\n", "cfg.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `bogus_section`"), "{err}");
        let err = Config::from_yaml("limits_config:\n  max_line_size: 12XB\n", "c")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown unit \"XB\" in size \"12XB\""),
            "{err}"
        );
    }

    #[test]
    fn loki_getting_started_config_loads() {
        // Loki 2.9's cmd/loki/loki-local-config.yaml plus 3.x additions.
        let text = r#"
auth_enabled: false
server:
  http_listen_port: 3100
  grpc_listen_port: 9096
  log_level: debug
  grpc_server_max_concurrent_streams: 1000
common:
  instance_addr: 127.0.0.1
  path_prefix: /tmp/loki
  storage:
    filesystem:
      chunks_directory: /tmp/loki/chunks
      rules_directory: /tmp/loki/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
query_range:
  results_cache:
    cache:
      embedded_cache:
        enabled: true
        max_size_mb: 100
limits_config:
  metric_aggregation_enabled: true
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
pattern_ingester:
  enabled: true
ruler:
  alertmanager_url: http://localhost:9093
frontend:
  encoding: protobuf
analytics:
  reporting_enabled: false
"#;
        let c = Config::from_yaml(text, "loki-local-config.yaml").unwrap();
        c.validate().unwrap();
        match c.storage_config() {
            storage::StorageConfig::Filesystem { root } => {
                assert_eq!(root, PathBuf::from("/tmp/loki/chunks"))
            }
            other => panic!("expected filesystem, got {other:?}"),
        }
        assert_eq!(c.ingester_config().wal_dir, PathBuf::from("/tmp/loki/wal"));
        assert_eq!(
            c.schema_config.configs[0].index.period.get().as_secs(),
            86_400
        );
    }

    #[test]
    fn conformance_reference_config_loads() {
        // The settings the conformance corpus was recorded with (Loki 2.9.9).
        let text = r#"
auth_enabled: false
ingester:
  chunk_idle_period: 12h
  max_chunk_age: 24h
  query_store_max_look_back_period: -1
querier:
  query_ingesters_within: 0
query_range:
  cache_results: false
limits_config:
  reject_old_samples: false
  ingestion_rate_mb: 100
  ingestion_burst_size_mb: 200
  per_stream_rate_limit: 100MB
  per_stream_rate_limit_burst: 200MB
  max_entries_limit_per_query: 5000
"#;
        let c = Config::from_yaml(text, "c").unwrap();
        c.validate().unwrap();
        assert_eq!(c.limits_config.per_stream_rate_limit.0, 100 << 20);
        assert!(c.querier.query_ingesters_within.get().is_zero());
        assert_eq!(
            c.frontend_config().split_queries_by_interval.as_secs(),
            1800
        );
    }

    #[test]
    fn s3_maps_to_storage_config() {
        let text = r#"
common:
  path_prefix: /var/fenrir
  storage:
    s3:
      endpoint: minio:9000
      bucketnames: logs, other
      access_key_id: k
      secret_access_key: s
      insecure: true
      s3forcepathstyle: true
"#;
        let c = Config::from_yaml(text, "c").unwrap();
        c.validate().unwrap();
        match c.storage_config() {
            storage::StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                insecure,
                force_path_style,
            } => {
                assert_eq!(endpoint, "http://minio:9000");
                assert_eq!(bucket, "logs");
                assert_eq!(region, "us-east-1");
                assert_eq!(access_key_id, "k");
                assert_eq!(secret_access_key, "s");
                assert!(insecure && force_path_style);
            }
            other => panic!("expected s3, got {other:?}"),
        }
        assert!(c.to_yaml().contains("secret_access_key: '********'"));
        let err = Config::from_yaml("common:\n  storage:\n    s3:\n      endpoint: x\n", "c")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid config: common.storage.s3.bucketnames is required for s3 storage"
        );
    }

    #[test]
    fn s3_url_shorthand() {
        let c = Config::from_yaml(
            "storage_config:\n  aws:\n    s3: s3://key:secret@eu-west-1/bucket1\n",
            "c",
        )
        .unwrap();
        c.validate().unwrap();
        match c.storage_config() {
            storage::StorageConfig::S3 {
                bucket,
                region,
                access_key_id,
                secret_access_key,
                endpoint,
                ..
            } => {
                assert_eq!(
                    (bucket.as_str(), region.as_str(), access_key_id.as_str()),
                    ("bucket1", "eu-west-1", "key")
                );
                assert_eq!(secret_access_key, "secret");
                assert_eq!(endpoint, "");
            }
            other => panic!("expected s3, got {other:?}"),
        }
    }

    #[test]
    fn limits_and_ingester_map_with_units() {
        let text = r#"
limits_config:
  reject_old_samples: false
  reject_old_samples_max_age: 168h
  max_line_size: 1MB
  ingestion_rate_mb: 100
  ingestion_burst_size_mb: 200
  max_entries_limit_per_query: 10000
  split_queries_by_interval: 15m
ingester:
  chunk_idle_period: 12h
  max_chunk_age: 1d
  chunk_target_size: 1.5MB
  wal:
    dir: /wal
"#;
        let c = Config::from_yaml(text, "c").unwrap();
        let l = c.limits();
        assert!(!l.reject_old_samples);
        assert_eq!(l.reject_old_samples_max_age.as_secs(), 604_800);
        assert_eq!(l.max_line_size, 1 << 20);
        assert_eq!(l.ingestion_rate_mb, 100.0);
        assert_eq!(c.query_limits().max_entries_limit_per_query, 10_000);
        assert_eq!(c.split_queries_by_interval().as_secs(), 900);
        let i = c.ingester_config();
        assert_eq!(i.chunk_idle_period.as_secs(), 43_200);
        assert_eq!(i.max_chunk_age.as_secs(), 86_400);
        assert_eq!(i.chunk_target_size, 1_572_864);
        assert_eq!(i.wal_dir, PathBuf::from("/wal"));
    }

    #[test]
    fn validate_rejects_bad_values() {
        let bad = |y: &str| {
            Config::from_yaml(y, "c")
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad("target: compactor\n"),
            "invalid config: target \"compactor\" is not supported: use all, read, write, backend, query-frontend, querier, ingester or distributor"
        );
        assert!(bad("server:\n  log_level: loud\n").contains("unrecognized log level \"loud\""));
        assert!(
            bad("common:\n  storage:\n    gcs:\n      bucket_name: x\n")
                .contains("common.storage.gcs")
        );
        assert!(
            bad("schema_config:\n  configs:\n    - from: yesterday\n").contains("configs[0].from")
        );
    }

    #[test]
    fn env_expansion() {
        let env = |n: &str| match n {
            "PORT" => Some("3200".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            expand_env_vars(
                "a: ${PORT}\nb: ${NOPE:-x}\nc: ${EMPTY:-d}\nd: ${EMPTY-d}\ne: $PORT$$\nf: ${NOPE}",
                env
            )
            .unwrap(),
            "a: 3200\nb: x\nc: d\nd: \ne: 3200$\nf: "
        );
        assert!(expand_env_vars("${PORT", env).is_err());
    }

    #[test]
    fn embedded_defaults_are_local_and_open() {
        let c = Config::embedded();
        c.validate().unwrap();
        assert!(!c.auth_enabled);
        assert_eq!(c.server.http_listen_address, "127.0.0.1");
        match c.storage_config() {
            storage::StorageConfig::Filesystem { root } => {
                assert_eq!(root, PathBuf::from("data/chunks"))
            }
            other => panic!("expected filesystem, got {other:?}"),
        }
    }
}
