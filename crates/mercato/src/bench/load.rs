//! A closed-loop load generator: `concurrency` workers each send a request, wait for the answer,
//! and send the next, for a fixed duration. Latencies are kept whole and sorted for percentiles.

use super::LoadArgs;
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The outcome of one load phase.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub phase: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LoadReport {
    /// Prints the summary and its JSON line, then fails if too many requests failed.
    pub fn print(&self) -> anyhow::Result<()> {
        println!(
            "{:<10} c={:<3} {:>9.0} req/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            self.phase, self.concurrency, self.rps, self.p50_ms, self.p90_ms, self.p99_ms, self.errors
        );
        println!("{}", serde_json::to_string(self)?);
        fail_on_errors(&self.phase, self.requests, self.errors)
    }
}

/// The share of failed requests above which a run's figures are refused.
const TOLERATED_FAILURES: f64 = 0.01;

/// An error when more than 1 % of `requests` failed: the figures would then measure refusals
/// (a rate limiter, an exhausted stock) rather than the platform, and the command must say so
/// with its exit status, not only in a column.
pub fn fail_on_errors(what: &str, requests: usize, failed: usize) -> anyhow::Result<()> {
    if requests == 0 {
        anyhow::bail!("{what}: no request completed");
    }
    if failed as f64 > requests as f64 * TOLERATED_FAILURES {
        anyhow::bail!(
            "{what}: {failed} of {requests} requests failed (more than {}%); these figures do not measure the platform",
            TOLERATED_FAILURES * 100.0
        );
    }
    Ok(())
}

/// Milliseconds at the given percentile of sorted microsecond latencies.
pub fn percentile(sorted_micros: &[u64], p: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_micros.len() - 1) as f64).round() as usize;
    sorted_micros[rank.min(sorted_micros.len() - 1)] as f64 / 1000.0
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// GETs random paths (relative to random base URLs) for the configured duration.
pub async fn run_load(phase: &str, args: &LoadArgs, paths: Vec<String>) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(!paths.is_empty(), "no paths to request");
    let client = client();
    let targets: Arc<Vec<String>> = Arc::new(
        args.urls
            .iter()
            .flat_map(|u| paths.iter().map(move |p| format!("{u}{p}")))
            .collect(),
    );
    // Warm up connections and caches, unmeasured.
    drive(&client, &targets, args.concurrency, args.warmup).await;
    let started = Instant::now();
    let results = drive(&client, &targets, args.concurrency, args.duration).await;
    let seconds = started.elapsed().as_secs_f64();
    let errors = results.iter().filter(|(_, ok)| !ok).count();
    let mut latencies: Vec<u64> = results.iter().map(|(l, _)| *l).collect();
    latencies.sort_unstable();
    Ok(LoadReport {
        phase: phase.to_owned(),
        concurrency: args.concurrency,
        seconds,
        requests: latencies.len(),
        errors,
        rps: latencies.len() as f64 / seconds,
        p50_ms: percentile(&latencies, 50.0),
        p90_ms: percentile(&latencies, 90.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: percentile(&latencies, 100.0),
    })
}

/// Runs the workers; returns (latency in µs, success) per request.
async fn drive(
    client: &reqwest::Client,
    targets: &Arc<Vec<String>>,
    workers: usize,
    length: Duration,
) -> Vec<(u64, bool)> {
    let deadline = Instant::now() + length;
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let client = client.clone();
        let targets = targets.clone();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(4096);
            while Instant::now() < deadline {
                let url = &targets[rand::thread_rng().gen_range(0..targets.len())];
                let sent = Instant::now();
                let ok = match client.get(url).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        ok && r.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                out.push((sent.elapsed().as_micros() as u64, ok));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            all.extend(v);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::{fail_on_errors, percentile};

    #[test]
    fn percentiles_pick_the_ranked_latency() {
        let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&sorted, 50.0), 51.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&sorted, 100.0), 100.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn a_run_with_more_than_one_percent_failures_is_an_error() {
        assert!(fail_on_errors("t", 1000, 10).is_ok(), "1 % is tolerated");
        let refused = fail_on_errors("t", 1000, 11).unwrap_err().to_string();
        assert!(refused.contains("11 of 1000"), "{refused}");
        assert!(
            fail_on_errors("t", 0, 0).is_err(),
            "nothing measured is no figure"
        );
    }
}
