//! LogQL conformance, the parts that must pass now: selectors, line filters, the labels
//! API and the series API of the public corpus (../shared/conformance), run by the
//! corpus' own runner against a fresh Fenrir loaded with the corpus dataset.
//!
//! The whole corpus runs in conformance_full.rs.

mod common;

use common::{Config, Fenrir};

#[path = "common/conformance.rs"]
mod conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_line_filters_labels_and_series_match_loki() {
    let dir = conformance::corpus_dir();
    let f = Fenrir::start(Config::conformance()).await;
    let mut failures = Vec::new();
    for (i, only) in ["selector_", "line_filter_", "labels_api_", "series_api_"]
        .into_iter()
        .enumerate()
    {
        // the dataset is pushed once, with the first run
        let push = i == 0;
        if let Err(e) = conformance::run(&dir, &f.base_url(), push, Some(only)) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}
