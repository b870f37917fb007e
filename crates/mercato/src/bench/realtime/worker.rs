//! One subscriber worker process of the fleet: opens its share of the connections, subscribes
//! each to a channel, holds them, and reports on stdout as JSON lines — `ready` once all are
//! open, then, per stock push seen, the receive instants of every connection that got it.
//! Commands arrive on stdin (`status`); end of input ends the process.

use super::client::{self, Target, Ws};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A round still incomplete this long after its first receipt is reported with what arrived.
const ROUND_TIMEOUT: Duration = Duration::from_secs(20);

/// What one worker opens: `count` connections, the i-th (counting from `offset` across the
/// fleet) to `targets[i % len]`, subscribed to `channels[i % len]`.
#[derive(clap::Args, Debug, Clone)]
pub struct WorkerArgs {
    #[arg(long = "url", required = true)]
    pub urls: Vec<String>,
    #[arg(long = "channel", required = true)]
    pub channels: Vec<String>,
    #[arg(long)]
    pub count: usize,
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// File holding the internal token of the cluster's realtime replicas.
    #[arg(long)]
    pub internal_token_file: Option<std::path::PathBuf>,
}

/// One receipt of a stock push: which round (its `available` value) and when.
type Receipt = (i64, u64);

/// Runs the worker until its stdin closes. Its `ready` report gives the memory its connections
/// added (resident memory growth while opening them).
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let token = super::read_token(args.internal_token_file.as_deref())?;
    let targets = Target::all(&args.urls, token.as_deref());
    let alive = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::unbounded_channel::<Receipt>();
    let (started, rss_before) = (Instant::now(), client::own_rss_kib());
    let (ready, errors) = open_all(&args, &targets, &alive, &tx).await;
    drop(tx);
    emit(&json!({
        "ready": ready, "failed": args.count - ready, "open_ms": started.elapsed().as_millis() as u64,
        "rss_kib": client::own_rss_kib().saturating_sub(rss_before), "errors": errors,
    }));
    tokio::spawn(aggregate(rx, alive.clone()));
    let mut commands = stdin_lines();
    while let Some(line) = commands.recv().await {
        if line.trim() == "status" {
            let alive = alive.load(Ordering::Relaxed);
            emit(&json!({"alive": alive}));
        }
    }
    Ok(())
}

/// Opens and subscribes every connection, `connect_concurrency` at a time; each open one is
/// handed to its own holding task. Returns how many opened and the first few errors.
async fn open_all(
    args: &WorkerArgs,
    targets: &[Target],
    alive: &Arc<AtomicUsize>,
    tx: &mpsc::UnboundedSender<Receipt>,
) -> (usize, Vec<String>) {
    let opened = futures::stream::iter(0..args.count)
        .map(|i| {
            let n = args.offset + i;
            let target = &targets[n % targets.len()];
            let channel = &args.channels[n % args.channels.len()];
            // Only loopback servers can be reached from any 127.x.y.z address.
            let source = server_is_loopback(&target.base).then(|| client::loopback_source(n));
            async move {
                let mut ws = client::open_from(target, None, source).await?;
                client::subscribe(&mut ws, channel).await?;
                anyhow::Ok(ws)
            }
        })
        .buffer_unordered(args.connect_concurrency.max(1));
    futures::pin_mut!(opened);
    let (mut ready, mut errors) = (0, Vec::new());
    while let Some(result) = opened.next().await {
        match result {
            Ok(ws) => {
                ready += 1;
                alive.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(hold(ws, tx.clone(), alive.clone()));
            }
            Err(e) if errors.len() < 3 => errors.push(format!("{e:#}")),
            Err(_) => {}
        }
    }
    (ready, errors)
}

fn server_is_loopback(base: &str) -> bool {
    base.contains("://127.")
}

/// Reads a connection until it ends, timestamping every stock push. Reading also answers the
/// server's pings (tungstenite queues the pong and flushes it on the next read).
async fn hold(mut ws: Ws, tx: mpsc::UnboundedSender<Receipt>, alive: Arc<AtomicUsize>) {
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Text(text)) => {
                let at = client::epoch_micros();
                if let Some(round) = stock_round(text.as_str()) {
                    let _ = tx.send((round, at));
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    alive.fetch_sub(1, Ordering::Relaxed);
}

/// The round a stock push belongs to: the `available` quantity the coordinator set. A
/// substring search, not a JSON parse: the workers share the cores with the servers they
/// measure, so every microsecond spent here would show up as broadcast time.
fn stock_round(text: &str) -> Option<i64> {
    const KEY: &str = "\"available\":";
    if !text.contains("\"type\":\"event\"") {
        return None;
    }
    let rest = &text[text.find(KEY)? + KEY.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Groups receipts by round and reports a round once every live connection has it (or it has
/// waited `ROUND_TIMEOUT`).
async fn aggregate(mut rx: mpsc::UnboundedReceiver<Receipt>, alive: Arc<AtomicUsize>) {
    let mut rounds: HashMap<i64, (Instant, Vec<u64>)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            receipt = rx.recv() => {
                let Some((round, at)) = receipt else { return };
                let entry = rounds.entry(round).or_insert_with(|| (Instant::now(), Vec::new()));
                entry.1.push(at);
                if entry.1.len() >= alive.load(Ordering::Relaxed) {
                    report_round(round, rounds.remove(&round).map(|e| e.1).unwrap_or_default());
                }
            }
            _ = tick.tick() => {
                let late: Vec<i64> = rounds
                    .iter()
                    .filter(|(_, (first, _))| first.elapsed() > ROUND_TIMEOUT)
                    .map(|(r, _)| *r)
                    .collect();
                for round in late {
                    report_round(round, rounds.remove(&round).map(|e| e.1).unwrap_or_default());
                }
            }
        }
    }
}

fn report_round(round: i64, times_us: Vec<u64>) {
    emit(&json!({"round": round, "times_us": times_us}));
}

/// Writes one report line (whole lines only: `println!` holds the stdout lock for the line).
fn emit(report: &Value) {
    println!("{report}");
}

/// Lines of stdin, read on a plain thread (tokio's runtime here has no process or stdin
/// support enabled); the channel closes at end of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::stock_round;

    #[test]
    fn the_round_is_the_available_quantity_of_a_stock_event() {
        let push = r#"{"channel":"stock:s:A","data":{"available":1003,"location":"main","sku":"A"},"event":"stock.changed","occurred_at_ms":1,"type":"event"}"#;
        assert_eq!(stock_round(push), Some(1003));
        assert_eq!(stock_round(r#"{"type":"pong"}"#), None);
        assert_eq!(stock_round(r#"{"type":"event","data":{}}"#), None);
    }
}
