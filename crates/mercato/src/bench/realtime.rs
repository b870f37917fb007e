//! `mercato bench realtime`: the WebSocket figures of `benchmarks/README.md` — connections held
//! and the server's memory per connection, time to broadcast one push to N subscribers, and
//! conversation send → deliver latency and throughput with exactly-once, in-order checks.
//!
//! - `client`: a lean WebSocket client, the shared clock and `/proc` memory readings.
//! - `fleet` and `worker`: subscriber worker processes (`subscribe`, hidden) that the
//!   coordinator spawns, because one process may hold at most ~20,000 sockets here.
//! - `connections`, `broadcast`: built on the fleet. `latency`: steps of rising load over
//!   `pairs` (publisher and subscriber connections) in this process.
//! - `setup`: stores, stock and customers with conversations, over REST.

mod broadcast;
mod client;
mod connections;
mod fleet;
mod latency;
mod pairs;
mod setup;
mod worker;

use clap::Subcommand;
use std::path::Path;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum RealtimeMode {
    /// Open and hold N subscribed connections; report the servers' memory per connection.
    Connections {
        #[command(flatten)]
        fleet: fleet::FleetArgs,
        /// Server processes whose resident memory is read before and after (repeat).
        #[arg(long = "server-pid")]
        server_pids: Vec<u32>,
        /// Distinct `stock:` channels the connections subscribe to.
        #[arg(long, default_value_t = 10)]
        channels: usize,
        /// How long the connections are held before checking they are all still open.
        #[arg(long, default_value = "30s", value_parser = crate::bench::humantime_duration)]
        hold: Duration,
    },
    /// Time for one stock change to reach N subscribers of one channel.
    Broadcast {
        #[command(flatten)]
        fleet: fleet::FleetArgs,
        /// Gateway that receives the stock changes (and provisions the store).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Server processes whose resident memory is read before and after (repeat).
        #[arg(long = "server-pid")]
        server_pids: Vec<u32>,
        /// Names the topology in the report.
        #[arg(long, default_value = "embedded")]
        label: String,
    },
    /// Send → deliver latency and delivered messages per second over conversation pairs.
    Latency(latency::LatencyArgs),
    /// One subscriber worker process (started by `connections` and `broadcast`).
    #[command(hide = true)]
    Subscribe(worker::WorkerArgs),
}

/// Runs one real-time benchmark.
pub async fn run(mode: RealtimeMode) -> anyhow::Result<()> {
    match mode {
        RealtimeMode::Connections {
            fleet,
            server_pids,
            channels,
            hold,
        } => connections::connections(&fleet, &server_pids, channels, hold).await,
        RealtimeMode::Broadcast {
            fleet,
            gateway,
            rounds,
            server_pids,
            label,
        } => broadcast::broadcast(&fleet, &gateway, rounds, &server_pids, &label).await,
        RealtimeMode::Latency(args) => latency::latency(&args).await,
        RealtimeMode::Subscribe(args) => worker::run(args).await,
    }
}

/// The internal token from its file, if one is given.
fn read_token(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    let Some(file) = file else { return Ok(None) };
    let token = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading the internal token from {}: {e}", file.display()))?;
    Ok(Some(token.trim().to_owned()))
}
