//! The distributor: validates pushes and applies per-tenant rate limits.
//!
//! Loki 2.9's semantics: streams without entries are ignored; a stream whose labels are
//! invalid is dropped whole; invalid entries are dropped one by one; everything valid in
//! the same request is still written. If anything was dropped the answer is 400 with the
//! text of the LAST error seen (Loki keeps only the last one), after the valid data was
//! written. The rate limit counts the line bytes of the valid entries; over the limit
//! nothing is written and the answer is 429.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::limiter::RateLimiter;
use crate::validation::{EntryRules, Reason, Rejection, truncate_line, validate_labels};
use crate::{IngestError, Limits, PushRequest, PushStream, Result, ingester::Ingester, metrics};

const BYTES_IN_MB: f64 = 1_048_576.0;

/// Validates and rate-limits pushes, then hands them to the ingester.
pub struct Distributor {
    limits: Limits,
    ingester: Arc<Ingester>,
    limiter: RateLimiter,
}

fn discard(reason: Reason, tenant: &str, entries: usize, bytes: usize) {
    metrics::DISCARDED_SAMPLES
        .with_label_values(&[reason.as_str(), tenant])
        .inc_by(entries as u64);
    metrics::DISCARDED_BYTES
        .with_label_values(&[reason.as_str(), tenant])
        .inc_by(bytes as u64);
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Distributor {
    /// A distributor in front of one ingester (single-binary mode).
    pub fn new(limits: Limits, ingester: Arc<Ingester>) -> Self {
        let limiter = RateLimiter::new(
            limits.ingestion_rate_mb * BYTES_IN_MB,
            (limits.ingestion_burst_size_mb * BYTES_IN_MB).trunc(),
        );
        Self {
            limits,
            ingester,
            limiter,
        }
    }

    /// Validates `req` for `tenant` and writes it; returns once it is durable.
    pub async fn push(&self, tenant: &str, req: PushRequest) -> Result<()> {
        let (streams, last_error) = self.validate(tenant, req, now_ns());
        if streams.is_empty() {
            return match last_error {
                Some(msg) => Err(IngestError::BadRequest(msg)),
                None => Ok(()),
            };
        }
        let lines: usize = streams.iter().map(|s| s.entries.len()).sum();
        let bytes: usize = streams
            .iter()
            .flat_map(|s| &s.entries)
            .map(|e| e.line.len())
            .sum();
        if !self.limiter.allow_n(tenant, Instant::now(), bytes) {
            discard(Reason::RateLimited, tenant, lines, bytes);
            return Err(IngestError::RateLimited(format!(
                "Ingestion rate limit exceeded for user {tenant} (limit: {} bytes/sec) while attempting to ingest '{lines}' lines totaling '{bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
                self.limiter.limit() as i64
            )));
        }
        metrics::LINES_RECEIVED
            .with_label_values(&[tenant])
            .inc_by(lines as u64);
        metrics::BYTES_RECEIVED
            .with_label_values(&[tenant])
            .inc_by(bytes as u64);
        self.ingester.push(tenant, streams).await?;
        match last_error {
            Some(msg) => Err(IngestError::BadRequest(msg)),
            None => Ok(()),
        }
    }

    /// Splits `req` into the valid streams (normalized labels, valid entries only) and
    /// the last validation error, counting discards.
    pub fn validate(
        &self,
        tenant: &str,
        req: PushRequest,
        now_ns: i64,
    ) -> (Vec<PushStream>, Option<String>) {
        let rules = EntryRules::new(&self.limits, now_ns);
        let mut last_error = None;
        let mut valid = Vec::with_capacity(req.streams.len());
        for mut stream in req.streams {
            if stream.entries.is_empty() {
                continue;
            }
            if self.limits.max_line_size_truncate {
                let (mut n, mut cut) = (0u64, 0u64);
                for e in &mut stream.entries {
                    let before = e.line.len();
                    if truncate_line(&mut e.line, self.limits.max_line_size) {
                        n += 1;
                        cut += (before - e.line.len()) as u64;
                    }
                }
                if n > 0 {
                    let labels = [Reason::LineTooLong.as_str(), tenant];
                    metrics::MUTATED_SAMPLES
                        .with_label_values(&labels)
                        .inc_by(n);
                    metrics::MUTATED_BYTES
                        .with_label_values(&labels)
                        .inc_by(cut);
                }
            }
            let labels = match validate_labels(&self.limits, &stream.labels) {
                Ok(l) => l,
                Err(Rejection { reason, message }) => {
                    let bytes = stream.entries.iter().map(|e| e.line.len()).sum();
                    discard(reason, tenant, stream.entries.len(), bytes);
                    last_error = Some(message);
                    continue;
                }
            };
            let label_text = labels.to_string();
            stream
                .entries
                .retain(|e| match rules.check(&label_text, e) {
                    Ok(()) => true,
                    Err(Rejection { reason, message }) => {
                        discard(reason, tenant, 1, e.line.len());
                        last_error = Some(message);
                        false
                    }
                });
            if stream.entries.is_empty() {
                continue;
            }
            valid.push(PushStream {
                labels,
                entries: stream.entries,
            });
        }
        (valid, last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IngesterConfig;
    use crate::testutil::{entry, fs_storage, ls, stream, ts_lines};

    struct Env {
        _dirs: (tempfile::TempDir, tempfile::TempDir),
        ingester: Arc<Ingester>,
    }

    async fn env() -> Env {
        let (w, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cfg = IngesterConfig::with_wal_dir(w.path().to_path_buf());
        let ingester = Ingester::open(cfg, fs_storage(s.path()).await)
            .await
            .unwrap();
        Env {
            _dirs: (w, s),
            ingester,
        }
    }

    fn lines(env: &Env, tenant: &str, labels: &[(&str, &str)]) -> Vec<String> {
        let fp = ls(labels).fingerprint();
        ts_lines(
            &env.ingester
                .read(tenant, &[fp], i64::MIN, i64::MAX)
                .unwrap(),
        )
        .into_iter()
        .map(|x| x.1)
        .collect()
    }

    #[tokio::test]
    async fn invalid_entries_are_dropped_valid_ones_written_last_error_returned() {
        let env = env().await;
        let d = Distributor::new(
            Limits {
                max_line_size: 8,
                ..Limits::default()
            },
            env.ingester.clone(),
        );
        let now = now_ns();
        let far_future = now + 3_600_000_000_000;
        let req = PushRequest {
            streams: vec![
                stream(
                    &[("job", "a")],
                    &[(now, "ok 1"), (now, "much too long"), (now + 1, "ok 2")],
                ),
                stream(&[("bad-name", "x")], &[(now, "dropped with its stream")]),
                stream(&[("job", "b")], &[(far_future, "future")]),
                // no entries: ignored even without labels
                PushStream {
                    labels: ls(&[]),
                    entries: vec![],
                },
            ],
        };
        let err = d.push("t", req).await.unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert_eq!(
            err.to_string(),
            format!(
                "entry for stream '{{job=\"b\"}}' has timestamp too new: {}",
                crate::validation::rfc3339(far_future)
            )
        );
        assert_eq!(lines(&env, "t", &[("job", "a")]), ["ok 1", "ok 2"]);
        assert!(lines(&env, "t", &[("job", "b")]).is_empty());
        assert_eq!(env.ingester.stream_count("t"), 1);
    }

    #[tokio::test]
    async fn empty_label_values_are_dropped_from_the_stream() {
        let env = env().await;
        let d = Distributor::new(Limits::default(), env.ingester.clone());
        let now = now_ns();
        d.push(
            "t",
            PushRequest {
                streams: vec![stream(&[("job", "a"), ("empty", "")], &[(now, "x")])],
            },
        )
        .await
        .unwrap();
        assert_eq!(lines(&env, "t", &[("job", "a")]), ["x"]);
        let err = d
            .push(
                "t",
                PushRequest {
                    streams: vec![stream(&[("empty", "")], &[(now, "x")])],
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "error at least one label pair is required per stream"
        );
    }

    #[tokio::test]
    async fn old_samples_rejected_only_when_configured() {
        let env = env().await;
        let strict = Distributor::new(Limits::default(), env.ingester.clone());
        let old = now_ns() - 8 * 24 * 3_600_000_000_000;
        let err = strict
            .push(
                "t",
                PushRequest {
                    streams: vec![stream(&[("job", "a")], &[(old, "old")])],
                },
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "entry for stream '{{job=\"a\"}}' has timestamp too old: {}, oldest acceptable timestamp is: ",
                crate::validation::rfc3339(old)
            )),
            "{err}"
        );
        let lax = Distributor::new(
            Limits {
                reject_old_samples: false,
                ..Limits::default()
            },
            env.ingester.clone(),
        );
        lax.push(
            "t",
            PushRequest {
                streams: vec![stream(&[("job", "a")], &[(old, "old")])],
            },
        )
        .await
        .unwrap();
        assert_eq!(lines(&env, "t", &[("job", "a")]), ["old"]);
    }

    #[tokio::test]
    async fn long_lines_truncated_when_configured() {
        let env = env().await;
        let d = Distributor::new(
            Limits {
                max_line_size: 4,
                max_line_size_truncate: true,
                ..Limits::default()
            },
            env.ingester.clone(),
        );
        d.push(
            "t",
            PushRequest {
                streams: vec![stream(&[("job", "a")], &[(now_ns(), "abcdefgh")])],
            },
        )
        .await
        .unwrap();
        assert_eq!(lines(&env, "t", &[("job", "a")]), ["abcd"]);
    }

    #[tokio::test]
    async fn rate_limit_is_429_with_lokis_text_and_writes_nothing() {
        let env = env().await;
        // 0.000001 MB/s = 1.048576 bytes/s (prints as 1); 0.0001 MB = a burst of 104 bytes
        let d = Distributor::new(
            Limits {
                ingestion_rate_mb: 0.000001,
                ingestion_burst_size_mb: 0.0001,
                ..Limits::default()
            },
            env.ingester.clone(),
        );
        let now = now_ns();
        let hundred = "x".repeat(100);
        d.push(
            "t",
            PushRequest {
                streams: vec![stream(&[("job", "a")], &[(now, &hundred)])],
            },
        )
        .await
        .unwrap();
        let req = PushRequest {
            streams: vec![PushStream {
                labels: ls(&[("job", "a")]),
                entries: vec![entry(now + 1, "0123456789"), entry(now + 2, "0123456789")],
            }],
        };
        let err = d.push("t", req).await.unwrap_err();
        assert_eq!(err.http_status(), 429);
        assert_eq!(
            err.to_string(),
            "Ingestion rate limit exceeded for user t (limit: 1 bytes/sec) while attempting to ingest '2' lines totaling '20' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased"
        );
        assert_eq!(lines(&env, "t", &[("job", "a")]).len(), 1);
        // another tenant has its own bucket
        d.push(
            "u",
            PushRequest {
                streams: vec![stream(&[("job", "a")], &[(now, "fine")])],
            },
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn only_invalid_data_is_400_without_write() {
        let env = env().await;
        let d = Distributor::new(
            Limits {
                max_label_names_per_series: 1,
                ..Limits::default()
            },
            env.ingester.clone(),
        );
        let err = d
            .push(
                "t",
                PushRequest {
                    streams: vec![stream(&[("a", "1"), ("b", "2")], &[(now_ns(), "x")])],
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry for stream '{a=\"1\", b=\"2\"}' has 2 label names; limit 1"
        );
        assert_eq!(env.ingester.stream_count("t"), 0);
        // an empty request is fine
        d.push("t", PushRequest::default()).await.unwrap();
    }
}
