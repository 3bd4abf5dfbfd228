//! Where storage lives.

use std::path::PathBuf;

/// The object store backing segments and the index.
#[derive(Clone, Debug)]
pub enum StorageConfig {
    /// Local filesystem under `root` (Loki: `common.path_prefix` + `/chunks`).
    Filesystem {
        /// Directory holding all objects.
        root: PathBuf,
    },
    /// An S3-compatible bucket (Loki: `common.storage.s3`).
    S3 {
        /// Endpoint URL, e.g. `http://127.0.0.1:9000`; empty for AWS.
        endpoint: String,
        /// Bucket name.
        bucket: String,
        /// Region (`us-east-1` when unset).
        region: String,
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
        /// Allow plain HTTP endpoints (Loki: `insecure`).
        insecure: bool,
        /// Path-style addressing (Loki: `s3forcepathstyle`).
        force_path_style: bool,
    },
}
