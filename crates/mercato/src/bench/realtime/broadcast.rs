//! `bench realtime broadcast`: N subscribers on one `stock:` channel (spread over server URLs
//! and worker processes), then a few stock changes through a gateway; each round measures from
//! the `PUT` being sent to every subscriber receiving the push, and reports the last one.

use super::client::{self, Cpu};
use super::connections::{first_error, per_connection_bytes, servers_rss};
use super::fleet::{Fleet, FleetArgs};
use super::setup;
use crate::bench::load::{client as http_client, percentile};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long workers may take to open their connections.
const OPEN_TIMEOUT: Duration = Duration::from_secs(900);
/// How long one round may take to reach everyone (workers report a partial round after 20 s).
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
const SKU: &str = "BCAST-1";

/// One stock change and its fan-out, in milliseconds from the `PUT` being sent.
struct Round {
    received: usize,
    put_ms: f64,
    first_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    last_ms: f64,
    /// CPU the servers and the workers used during the round: on one machine they share the
    /// cores, so the time to the last subscriber is bounded by both.
    server_cpu: Cpu,
    client_cpu: Cpu,
}

/// Subscribes, triggers `rounds` stock changes through `gateway`, and reports each.
pub async fn broadcast(
    fleet_args: &FleetArgs,
    gateway: &str,
    rounds: usize,
    server_pids: &[u32],
    label: &str,
) -> anyhow::Result<()> {
    let http = http_client();
    let store = setup::store(&http, gateway).await?;
    // The SKU has a stock level before anyone listens, so each round is a plain change.
    setup::set_stock(&http, gateway, &store, SKU, 1).await?;
    let channel = format!("stock:{}:{SKU}", store.id);
    let before = servers_rss(server_pids)?;
    let started = Instant::now();
    let mut fleet = Fleet::spawn(fleet_args, std::slice::from_ref(&channel))?;
    let ready = fleet.ready(OPEN_TIMEOUT).await?;
    let open_s = started.elapsed().as_secs_f64();
    let after = servers_rss(server_pids)?;
    println!(
        "broadcast    {label}: {} subscribers on {channel} over {} servers, opened in {:.1} s; {} failed{}",
        ready.ready,
        fleet_args.urls.len(),
        open_s,
        ready.failed,
        first_error(&ready.errors),
    );
    // Let the servers finish settling the opening storm before timing anything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut results = Vec::new();
    for r in 1..=rounds {
        let value = 1000 + r as i64;
        let round = one_round(&http, gateway, &store, &mut fleet, server_pids, value).await?;
        print_round(r, &round, ready.ready);
        results.push(round);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let alive = fleet.alive().await?;
    drop(fleet);
    print_summary(
        label,
        fleet_args,
        &ready,
        open_s,
        alive,
        &results,
        (before, after),
    );
    Ok(())
}

/// Sets the stock to `value` and waits for every worker's receipts of that value.
async fn one_round(
    http: &reqwest::Client,
    gateway: &str,
    store: &setup::Store,
    fleet: &mut Fleet,
    server_pids: &[u32],
    value: i64,
) -> anyhow::Result<Round> {
    let workers = fleet.pids();
    let cpu = (client::total_cpu(server_pids), client::total_cpu(&workers));
    let sent = client::epoch_micros();
    let put = Instant::now();
    setup::set_stock(http, gateway, store, SKU, value).await?;
    let put_ms = put.elapsed().as_secs_f64() * 1000.0;
    let times = fleet.round(value, ROUND_TIMEOUT).await?;
    let server_cpu = client::total_cpu(server_pids).since(cpu.0);
    let client_cpu = client::total_cpu(&workers).since(cpu.1);
    let mut latencies: Vec<u64> = times.iter().map(|t| t.saturating_sub(sent)).collect();
    latencies.sort_unstable();
    Ok(Round {
        received: latencies.len(),
        put_ms,
        first_ms: percentile(&latencies, 0.0),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        last_ms: percentile(&latencies, 100.0),
        server_cpu,
        client_cpu,
    })
}

fn print_round(r: usize, round: &Round, subscribers: usize) {
    println!(
        "  round {r}: {} of {subscribers} received; PUT answered in {:.1} ms; first {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms; CPU used: servers {} ms ({} in the kernel), clients {} ms ({} in the kernel)",
        round.received,
        round.put_ms,
        round.first_ms,
        round.p50_ms,
        round.p99_ms,
        round.last_ms,
        round.server_cpu.total_ms(),
        round.server_cpu.system_ms,
        round.client_cpu.total_ms(),
        round.client_cpu.system_ms,
    );
}

fn print_summary(
    label: &str,
    fleet_args: &FleetArgs,
    ready: &super::fleet::Ready,
    open_s: f64,
    alive: usize,
    rounds: &[Round],
    (before, after): (u64, u64),
) {
    let mut last: Vec<f64> = rounds.iter().map(|r| r.last_ms).collect();
    last.sort_by(f64::total_cmp);
    let median_last = last.get(last.len() / 2).copied().unwrap_or(0.0);
    let all_received = rounds.iter().all(|r| r.received == ready.ready);
    println!(
        "broadcast    {label}: {} subscribers, time to the last one: median {:.1} ms, best {:.1} ms, worst {:.1} ms over {} rounds; every push received: {all_received}; {alive} still open",
        ready.ready,
        median_last,
        last.first().copied().unwrap_or(0.0),
        last.last().copied().unwrap_or(0.0),
        rounds.len(),
    );
    let report = json!({
        "phase": "realtime-broadcast", "topology": label, "servers": fleet_args.urls.len(),
        "worker_processes": ready_workers(fleet_args), "subscribers": ready.ready,
        "failed": ready.failed, "open_seconds": open_s, "alive_at_end": alive,
        "server_rss_before_kib": before, "server_rss_after_kib": after,
        "server_bytes_per_connection": per_connection_bytes(before, after, ready.ready),
        "median_last_ms": median_last, "all_received": all_received,
        "rounds": rounds.iter().map(|r| json!({
            "received": r.received, "put_ms": r.put_ms, "first_ms": r.first_ms,
            "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "last_ms": r.last_ms,
            "server_cpu_ms": r.server_cpu.total_ms(), "server_kernel_cpu_ms": r.server_cpu.system_ms,
            "client_cpu_ms": r.client_cpu.total_ms(), "client_kernel_cpu_ms": r.client_cpu.system_ms,
        })).collect::<Vec<_>>(),
    });
    println!("{report}");
}

fn ready_workers(args: &FleetArgs) -> usize {
    args.connections.div_ceil(args.per_process.max(1))
}
