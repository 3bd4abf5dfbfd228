//! The WHOLE public LogQL conformance corpus (../shared/conformance/cases, 233 cases with
//! Loki 2.9.9's answers) against a fresh Fenrir: must report 0 failed.
//!
//! Runs in every CI run, so any regression against Loki's answers fails the build.

mod common;

use common::{Config, Fenrir};

#[path = "common/conformance.rs"]
mod conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_public_corpus_matches_loki() {
    let dir = conformance::corpus_dir();
    let f = Fenrir::start(Config::conformance()).await;
    if let Err(e) = conformance::run(&dir, &f.base_url(), true, None) {
        panic!("{e}");
    }
}
