//! Building the configured object store; the rest of the crate only sees `ObjectStore`.

use std::net::IpAddr;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;

use crate::config::StorageConfig;
use crate::error::{Result, StorageError};

/// Region used when none is configured (Loki's default).
const DEFAULT_REGION: &str = "us-east-1";

/// Opens the object store described by `config`, creating a filesystem root if missing.
pub fn open_store(config: &StorageConfig) -> Result<Arc<dyn ObjectStore>> {
    match config {
        StorageConfig::Filesystem { root } => {
            std::fs::create_dir_all(root).map_err(|source| StorageError::Io {
                path: root.display().to_string(),
                source,
            })?;
            Ok(Arc::new(LocalFileSystem::new_with_prefix(root)?))
        }
        StorageConfig::S3 {
            endpoint,
            bucket,
            region,
            access_key_id,
            secret_access_key,
            insecure,
            force_path_style,
        } => {
            if bucket.is_empty() {
                return Err(StorageError::Config("s3 bucket is not set".to_string()));
            }
            let region = if region.is_empty() {
                DEFAULT_REGION
            } else {
                region
            };
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(region)
                .with_allow_http(*insecure);
            if !access_key_id.is_empty() {
                builder = builder
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key);
            }
            let virtual_hosted = !force_path_style;
            if endpoint.is_empty() {
                builder = builder.with_virtual_hosted_style_request(virtual_hosted);
            } else if virtual_hosted && !is_ip_or_localhost(endpoint) {
                // object_store expects the bucket in a virtual-hosted endpoint
                builder = builder
                    .with_endpoint(with_bucket_host(endpoint, bucket))
                    .with_virtual_hosted_style_request(true);
            } else {
                // IP and localhost endpoints cannot be virtual-hosted (as in the AWS SDK)
                builder = builder
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false);
            }
            Ok(Arc::new(builder.build()?))
        }
    }
}

/// The host of an endpoint URL (`scheme://host[:port][/...]`).
fn endpoint_host(endpoint: &str) -> &str {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// True when the endpoint's host is an IP address or `localhost`.
fn is_ip_or_localhost(endpoint: &str) -> bool {
    let host = endpoint_host(endpoint);
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok()
}

/// `scheme://host` -> `scheme://bucket.host`.
fn with_bucket_host(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("https://{bucket}.{endpoint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_hosts() {
        assert!(is_ip_or_localhost("http://127.0.0.1:9000"));
        assert!(is_ip_or_localhost("http://localhost:9000/"));
        assert!(is_ip_or_localhost("http://[::1]:9000"));
        assert!(!is_ip_or_localhost("https://minio.example.com"));
        assert_eq!(
            with_bucket_host("https://minio.example.com", "logs"),
            "https://logs.minio.example.com"
        );
    }

    #[test]
    fn s3_needs_a_bucket() {
        let err = open_store(&StorageConfig::S3 {
            endpoint: String::new(),
            bucket: String::new(),
            region: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            insecure: false,
            force_path_style: false,
        })
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "storage config: s3 bucket is not set");
    }
}
