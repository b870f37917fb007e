//! What an operator scraping `/metrics` can rely on: every metric described, every Mercato
//! metric named `mercato_…`, the build identified, and the standard `process_*` family.

use crate::harness::platforms;
use std::collections::BTreeSet;

/// The standard family every Prometheus client library exports, unprefixed.
const PROCESS_FAMILY: [&str; 6] = [
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
];

#[tokio::test]
async fn metrics_are_described_prefixed_and_carry_build_info_and_the_process_family() {
    for p in platforms().await {
        // Some traffic first, so the scrape has request, call and database series to check.
        let reply = p.get(0, "/v1/stores/nobody-here/products", None).await;
        assert_eq!(reply.status, 404, "{}", p.name);
        let servers = p.gateways.iter().chain(p.identity.iter());
        for server in servers {
            let text = p.metrics(server).await;
            let scraped = format!("{} {server}", p.name);
            let comment = |kind: &str| -> BTreeSet<&str> {
                text.lines()
                    .filter_map(|l| l.strip_prefix(kind)?.split(' ').next())
                    .collect()
            };
            let (typed, helped) = (comment("# TYPE "), comment("# HELP "));
            assert!(typed.contains("mercato_http_requests_total"), "{scraped}: {text}");
            let undescribed: Vec<_> = typed.difference(&helped).collect();
            assert!(undescribed.is_empty(), "{scraped}: no # HELP for {undescribed:?}");

            let samples: BTreeSet<&str> = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split(['{', ' ']).next())
                .collect();
            let unprefixed: Vec<_> = samples
                .iter()
                .filter(|name| !name.starts_with("mercato_") && !name.starts_with("process_"))
                .collect();
            assert!(unprefixed.is_empty(), "{scraped}: not mercato_…: {unprefixed:?}");

            let build = text
                .lines()
                .find(|l| l.starts_with("mercato_build_info{"))
                .unwrap_or_else(|| panic!("{scraped}: no mercato_build_info"));
            let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
            assert!(
                build.contains(&version) && build.ends_with(" 1"),
                "{scraped}: {build}"
            );

            if cfg!(target_os = "linux") {
                for name in PROCESS_FAMILY {
                    assert!(samples.contains(name), "{scraped}: no {name}");
                    assert!(helped.contains(name), "{scraped}: no # HELP for {name}");
                }
            }
        }
    }
}
