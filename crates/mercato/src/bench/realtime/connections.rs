//! `bench realtime connections`: open N anonymous connections, each subscribed to one of a few
//! public `stock:` channels, hold them, and report how many stayed open, how long opening took
//! and the servers' memory per connection (their RSS before and after, from `/proc`).

use super::client;
use super::fleet::{Fleet, FleetArgs};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long workers may take to open their connections.
const OPEN_TIMEOUT: Duration = Duration::from_secs(600);

/// The servers' resident memory, summed, in KiB (0 without pids).
pub fn servers_rss(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|p| client::rss_kib(*p)).sum()
}

/// Opens, holds and measures; prints a human line and a JSON line.
pub async fn connections(
    fleet_args: &FleetArgs,
    server_pids: &[u32],
    channels: usize,
    hold: Duration,
) -> anyhow::Result<()> {
    // The store id in these names need not exist: stock channels are public, and nothing is
    // published on them here.
    let names: Vec<String> = (0..channels.max(1))
        .map(|i| format!("stock:bench-connections:SKU-{i}"))
        .collect();
    let before = servers_rss(server_pids)?;
    let started = Instant::now();
    let mut fleet = Fleet::spawn(fleet_args, &names)?;
    let ready = fleet.ready(OPEN_TIMEOUT).await?;
    let open_s = started.elapsed().as_secs_f64();
    let after_open = servers_rss(server_pids)?;
    tokio::time::sleep(hold).await;
    let alive = fleet.alive().await?;
    let after_hold = servers_rss(server_pids)?;
    drop(fleet);
    let per_conn = |after: u64| per_connection_bytes(before, after, ready.ready);
    let report = json!({
        "phase": "realtime-connections", "servers": fleet_args.urls.len(),
        "requested": fleet_args.connections, "opened": ready.ready, "failed": ready.failed,
        "held_after_s": hold.as_secs(), "alive": alive, "open_seconds": open_s,
        "opened_per_second": ready.ready as f64 / open_s,
        "server_rss_before_kib": before, "server_rss_after_kib": after_hold,
        "server_bytes_per_connection": per_conn(after_open),
        "server_bytes_per_connection_after_hold": per_conn(after_hold),
        "client_bytes_per_connection": (ready.rss_kib * 1024) as f64 / ready.ready.max(1) as f64,
        "errors": ready.errors,
    });
    println!(
        "connections  {} of {} open in {:.1} s ({:.0}/s), {} alive after {} s; server {:.1} KiB per connection ({:.1} after holding){}",
        ready.ready,
        fleet_args.connections,
        open_s,
        ready.ready as f64 / open_s,
        alive,
        hold.as_secs(),
        per_conn(after_open) / 1024.0,
        per_conn(after_hold) / 1024.0,
        first_error(&ready.errors),
    );
    println!("{report}");
    Ok(())
}

/// Server memory growth per open connection, in bytes.
pub fn per_connection_bytes(before_kib: u64, after_kib: u64, connections: usize) -> f64 {
    (after_kib.saturating_sub(before_kib) * 1024) as f64 / connections.max(1) as f64
}

/// The first worker error, for the human line.
pub fn first_error(errors: &[String]) -> String {
    errors
        .first()
        .map(|e| format!("; first error: {e}"))
        .unwrap_or_default()
}
