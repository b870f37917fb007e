//! `bench realtime connections`: open N anonymous connections, each subscribed to one of a few
//! public `stock:` channels, hold them, and report how many stayed open, how long opening took
//! and the servers' memory per connection (their RSS before and after, from `/proc`).

use super::client;
use super::fleet::{Fleet, FleetArgs, Ready};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long workers may take to open their connections.
const OPEN_TIMEOUT: Duration = Duration::from_secs(600);

/// The servers' resident memory, summed, in KiB (0 without pids).
pub fn servers_rss(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|p| client::rss_kib(*p)).sum()
}

/// What holding the connections showed.
struct Held {
    ready: Ready,
    open_s: f64,
    alive: usize,
    /// The servers' resident memory (KiB) before, once open, and after holding.
    rss: (u64, u64, u64),
    /// The machine's slab memory (KiB) before and once open.
    slab: (u64, u64),
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
    let (before, slab_before) = (servers_rss(server_pids)?, client::slab_kib());
    let started = Instant::now();
    let mut fleet = Fleet::spawn(fleet_args, &names)?;
    let ready = fleet.ready(OPEN_TIMEOUT).await?;
    let open_s = started.elapsed().as_secs_f64();
    let (after_open, slab_after) = (servers_rss(server_pids)?, client::slab_kib());
    tokio::time::sleep(hold).await;
    let alive = fleet.alive().await?;
    let after_hold = servers_rss(server_pids)?;
    drop(fleet);
    let held = Held {
        ready,
        open_s,
        alive,
        rss: (before, after_open, after_hold),
        slab: (slab_before, slab_after),
    };
    print_report(fleet_args, hold, &held);
    Ok(())
}

fn print_report(fleet_args: &FleetArgs, hold: Duration, held: &Held) {
    let (ready, (before, after_open, after_hold)) = (&held.ready, held.rss);
    let per_conn = |from: u64, to: u64| per_connection_bytes(from, to, ready.ready);
    let report = json!({
        "phase": "realtime-connections", "servers": fleet_args.urls.len(),
        "requested": fleet_args.connections, "opened": ready.ready, "failed": ready.failed,
        "held_after_s": hold.as_secs(), "alive": held.alive, "open_seconds": held.open_s,
        "opened_per_second": ready.ready as f64 / held.open_s,
        "server_rss_before_kib": before, "server_rss_after_kib": after_hold,
        "server_bytes_per_connection": per_conn(before, after_open),
        "server_bytes_per_connection_after_hold": per_conn(before, after_hold),
        "client_bytes_per_connection": per_conn(0, ready.rss_kib),
        // Both ends' sockets are on this machine: kernel memory for two sockets, all processes.
        "kernel_slab_bytes_per_connection_both_ends": per_conn(held.slab.0, held.slab.1),
        "errors": ready.errors,
    });
    println!(
        "connections  {} of {} open in {:.1} s ({:.0}/s), {} alive after {} s; server {:.1} KiB per connection ({:.1} after holding), client {:.1} KiB, kernel slab {:.1} KiB for both ends{}",
        ready.ready,
        fleet_args.connections,
        held.open_s,
        ready.ready as f64 / held.open_s,
        held.alive,
        hold.as_secs(),
        per_conn(before, after_open) / 1024.0,
        per_conn(before, after_hold) / 1024.0,
        per_conn(0, ready.rss_kib) / 1024.0,
        per_conn(held.slab.0, held.slab.1) / 1024.0,
        first_error(&ready.errors),
    );
    println!("{report}");
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
