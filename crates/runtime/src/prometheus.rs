//! The process's Prometheus exposition: one recorder whose every name carries [`METRIC_PREFIX`],
//! a description for each of the runtime's metrics, `mercato_build_info`, and the standard
//! `process_*` family.
//!
//! Code records metrics under their bare names (`metrics::counter!("http_requests_total")`); the
//! prefix is added here, once, so no call site can forget it. Each module that records metrics
//! describes them next to where it records them (a `describe_metrics` function); service crates
//! do the same, and the binary calls theirs after [`install`]. A description given before the
//! recorder is installed is lost, which is why `install` runs first.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::layers::{Layer, PrefixLayer};
use std::sync::OnceLock;

/// Every Mercato metric is exported as `mercato_<name>`. `deploy/check/observability.py` reads
/// this constant to know the names dashboards and alerts must use.
pub const METRIC_PREFIX: &str = "mercato";

/// The version every crate of the workspace shares, reported by `mercato_build_info`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global metrics recorder once per process and returns its handle.
pub fn install() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        // Counts, not seconds: how many transactions shared one SQLite commit (up to 256). The
        // exporter matches the name it exports, so with the prefix.
        let group_sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&buckets)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(format!("{METRIC_PREFIX}_db_group_commit_size")),
                    &group_sizes,
                )
            })
            .and_then(|b| {
                // Events per analytics write transaction (up to 512).
                b.set_buckets_for_metric(
                    Matcher::Full(format!("{METRIC_PREFIX}_analytics_ingest_batch_events")),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                )
            })
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // The layer writes `mercato.<name>`; the exporter turns the dot into `_`.
        let prefixed = PrefixLayer::new(METRIC_PREFIX).layer(recorder);
        // Another recorder may already be installed (several test apps in one process).
        let _ = metrics::set_global_recorder(prefixed);
        describe_runtime_metrics();
        handle
    })
}

/// The text `/metrics` serves: every recorded metric, then the `process_*` family read now.
pub fn render() -> String {
    let mut text = install().render();
    crate::process_metrics::render(&mut text);
    text
}

/// Describes the metrics the runtime records, each by the module that records it, and sets the
/// build information, which never changes while the process runs.
fn describe_runtime_metrics() {
    crate::http::describe_metrics();
    crate::http_edge::describe_metrics();
    crate::clients::describe_metrics();
    crate::resilience::describe_metrics();
    crate::db::describe_metrics();
    crate::outbox::describe_metrics();
    crate::inbox::describe_metrics();
    crate::jobs::describe_metrics();
    crate::cache::describe_metrics();
    metrics::describe_gauge!(
        "build_info",
        metrics::Unit::Count,
        "Always 1; its labels say which build of Mercato this process runs (version, and a debug \
         or release profile)."
    );
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    metrics::gauge!("build_info", "version" => VERSION, "profile" => profile).set(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_prefixed_and_described_and_build_info_is_one() {
        install();
        metrics::counter!("prefix_probe_total").increment(1);
        let text = render();
        assert!(text.contains("mercato_prefix_probe_total 1"), "{text}");
        assert!(
            !text.lines().any(|l| l.starts_with("prefix_probe_total")),
            "{text}"
        );
        assert!(
            text.contains("# HELP mercato_build_info "),
            "build info is described: {text}"
        );
        let info = text
            .lines()
            .find(|l| l.starts_with("mercato_build_info{"))
            .expect("build info is exported");
        assert!(info.contains(&format!("version=\"{VERSION}\"")), "{info}");
        assert!(info.ends_with(" 1"), "{info}");
    }
}
