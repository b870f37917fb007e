//! `bench realtime latency`: P conversation pairs — a customer publishing, a staff connection
//! subscribed — measured at fixed total rates (open loop) and then as fast as acknowledgements
//! allow (closed loop). Publisher and subscriber live in this process, so the send instant in
//! each message body and the receive instant come from the same clock. Every subscriber checks
//! that seqs arrive exactly once and in order.

use super::client::{self, Target, Ws};
use super::setup::{self, Customer, Store};
use crate::bench::load::{client as http_client, percentile};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// How long, after the last send, deliveries may take to catch up before the rest count as lost.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(clap::Args, Debug, Clone)]
pub struct LatencyArgs {
    /// Gateway base URLs: the first for setting up, connections spread over all.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// Conversation pairs (publisher and subscriber connections each).
    #[arg(long, default_value_t = 50)]
    pub pairs: usize,
    /// Total messages per second across the publishers, one measured step per rate.
    #[arg(long = "rate", value_delimiter = ',', default_values_t = [500, 1000, 2000])]
    pub rates: Vec<u32>,
    /// After the fixed rates, a step where each publisher keeps `window` messages unacknowledged.
    #[arg(long)]
    pub closed_loop: bool,
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// How long each step sends.
    #[arg(long, short = 'd', default_value = "10s", value_parser = crate::bench::humantime_duration)]
    pub duration: Duration,
    /// An unmeasured step at the first rate, before the others.
    #[arg(long, default_value = "2s", value_parser = crate::bench::humantime_duration)]
    pub warmup: Duration,
    /// Names the topology in the report.
    #[arg(long, default_value = "embedded")]
    pub label: String,
}

/// Microseconds since the benchmark started; message bodies carry their send instant in it.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now_us(self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// What a subscriber saw during the current step.
#[derive(Default)]
struct Seen {
    /// The highest seq delivered so far (all steps).
    last_seq: i64,
    delivered: u64,
    duplicates: u64,
    /// Arrivals that skipped a seq (a gap that may be filled later, or a loss).
    out_of_order: u64,
    latencies_us: Vec<u64>,
    last_delivery_us: u64,
}

/// Counters of a publisher's acknowledgements, shared with the task reading them.
#[derive(Default)]
struct Acks {
    /// Messages stored (`published`, not a duplicate) since the start: the conversation's last seq.
    stored: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

/// One customer publishing to a conversation and one staff connection subscribed to it.
struct Pair {
    channel: String,
    sink: Option<SplitSink<Ws, Message>>,
    sent: u64,
    acks: Arc<Acks>,
    /// Closed loop: unacknowledged messages the publisher may still send.
    window: Arc<Semaphore>,
    seen: Arc<Mutex<Seen>>,
}

/// How one step sends.
#[derive(Clone, Copy, Debug)]
enum Pace {
    /// A fixed total rate, in messages per second.
    Rate(u32),
    /// Each publisher keeps this many messages unacknowledged.
    ClosedLoop(usize),
}

/// One step's outcome.
struct StepReport {
    pace: Pace,
    seconds: f64,
    sent: u64,
    stored: u64,
    errors: u64,
    delivered: u64,
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
    delivered_per_second: f64,
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

/// Sets the pairs up, runs the warm-up and every step, and prints their reports.
pub async fn latency(args: &LatencyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.pairs > 0 && !args.rates.is_empty(), "need pairs and rates");
    let clock = Clock(Instant::now());
    let http = http_client();
    let store = setup::store(&http, &args.urls[0]).await?;
    let customers = customers(&http, &args.urls[0], &store, args.pairs).await?;
    let targets = Target::all(&args.urls, None);
    let mut pairs = Vec::with_capacity(args.pairs);
    for (i, customer) in customers.iter().enumerate() {
        pairs.push(open_pair(&targets, i, customer, &store.owner_token, clock).await?);
    }
    println!(
        "latency      {}: {} pairs open ({} connections) in store {}",
        args.label,
        pairs.len(),
        pairs.len() * 2,
        store.slug
    );
    run_step(&mut pairs, clock, Pace::Rate(args.rates[0]), args.warmup).await;
    let mut reports = Vec::new();
    let mut paces: Vec<Pace> = args.rates.iter().map(|r| Pace::Rate(*r)).collect();
    if args.closed_loop {
        paces.push(Pace::ClosedLoop(args.window.max(1)));
    }
    for pace in paces {
        let report = run_step(&mut pairs, clock, pace, args.duration).await;
        print_step(&args.label, args.pairs, &report);
        reports.push(report);
    }
    print_summary(&args.label, &reports);
    Ok(())
}

/// Registers the customers and their conversations, a few at a time (each is two password
/// hashes on the server).
async fn customers(
    http: &reqwest::Client,
    url: &str,
    store: &Store,
    n: usize,
) -> anyhow::Result<Vec<Customer>> {
    futures::stream::iter(0..n)
        .map(|i| setup::customer(http, url, store, i))
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Opens the customer's publishing connection and a staff connection subscribed to the
/// conversation, on different targets when there are several.
async fn open_pair(
    targets: &[Target],
    i: usize,
    customer: &Customer,
    staff_token: &str,
    clock: Clock,
) -> anyhow::Result<Pair> {
    let publisher = client::open(&targets[i % targets.len()], Some(&customer.token)).await?;
    let mut subscriber = client::open(&targets[(i + 1) % targets.len()], Some(staff_token)).await?;
    client::subscribe(&mut subscriber, &customer.channel).await?;
    let (sink, replies) = publisher.split();
    let acks = Arc::new(Acks::default());
    let window = Arc::new(Semaphore::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    tokio::spawn(read_acks(replies, acks.clone(), window.clone()));
    tokio::spawn(read_messages(subscriber, seen.clone(), clock));
    Ok(Pair {
        channel: customer.channel.clone(),
        sink: Some(sink),
        sent: 0,
        acks,
        window,
        seen,
    })
}

/// Counts the publisher's acknowledgements and errors; each frees a closed-loop slot.
async fn read_acks(mut replies: SplitStream<Ws>, acks: Arc<Acks>, window: Arc<Semaphore>) {
    while let Some(Ok(message)) = replies.next().await {
        let Message::Text(text) = message else { continue };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        match frame["type"].as_str() {
            Some("published") if frame["duplicate"] != true => {
                acks.stored.fetch_add(1, Ordering::Relaxed);
            }
            Some("error") => {
                acks.errors.fetch_add(1, Ordering::Relaxed);
                let mut first = acks.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| frame.to_string());
            }
            _ => continue,
        }
        window.add_permits(1);
    }
}

/// Records every message the subscriber receives: latency from the send instant in its body,
/// and whether its seq is the next one.
async fn read_messages(mut ws: Ws, seen: Arc<Mutex<Seen>>, clock: Clock) {
    while let Some(Ok(message)) = ws.next().await {
        let now = clock.now_us();
        let Message::Text(text) = message else { continue };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if frame["type"] != "message" {
            continue;
        }
        let seq = frame["seq"].as_i64().unwrap_or(0);
        let sent_us = frame["body"].as_str().and_then(|b| b.parse::<u64>().ok());
        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        if seq <= seen.last_seq {
            seen.duplicates += 1;
            continue;
        }
        if seq > seen.last_seq + 1 {
            seen.out_of_order += 1;
        }
        seen.last_seq = seq;
        seen.delivered += 1;
        seen.last_delivery_us = now;
        if let Some(sent) = sent_us {
            seen.latencies_us.push(now.saturating_sub(sent));
        }
    }
}

/// Sends at `pace` for `length`, waits for deliveries to catch up, and gathers the outcome.
async fn run_step(pairs: &mut [Pair], clock: Clock, pace: Pace, length: Duration) -> StepReport {
    let before: Vec<(u64, u64, u64)> = pairs.iter().map(step_start).collect();
    if let Pace::ClosedLoop(window) = pace {
        for pair in pairs.iter() {
            pair.window.forget_permits(pair.window.available_permits());
            pair.window.add_permits(window);
        }
    }
    let start_us = clock.now_us();
    let deadline = tokio::time::Instant::now() + length;
    let count = pairs.len();
    let senders: Vec<_> = pairs
        .iter_mut()
        .enumerate()
        .map(|(i, pair)| {
            let sink = pair.sink.take();
            let (channel, window, first) = (pair.channel.clone(), pair.window.clone(), pair.sent);
            let slot = Slot { index: i, count };
            tokio::spawn(send_for(
                sink, channel, window, first, pace, slot, deadline, clock,
            ))
        })
        .collect();
    for (pair, sender) in pairs.iter_mut().zip(senders) {
        if let Ok((sink, sent)) = sender.await {
            pair.sink = sink;
            pair.sent = sent;
        }
    }
    let seconds_sending = length.as_secs_f64();
    drain(pairs).await;
    gather(pairs, &before, pace, start_us, seconds_sending)
}

/// A pair's counters as the step starts (sent, stored, errors); its subscriber's step
/// counters are reset.
fn step_start(pair: &Pair) -> (u64, u64, u64) {
    let mut seen = pair.seen.lock().unwrap_or_else(|p| p.into_inner());
    let last_seq = seen.last_seq;
    *seen = Seen {
        last_seq,
        ..Seen::default()
    };
    (
        pair.sent,
        pair.acks.stored.load(Ordering::Relaxed),
        pair.acks.errors.load(Ordering::Relaxed),
    )
}

/// Which publisher this is, to spread the open-loop sends over the period.
#[derive(Clone, Copy)]
struct Slot {
    index: usize,
    count: usize,
}

/// One publisher's sending loop; returns its sink and its total of messages sent.
#[allow(clippy::too_many_arguments)]
async fn send_for(
    mut sink: Option<SplitSink<Ws, Message>>,
    channel: String,
    window: Arc<Semaphore>,
    mut sent: u64,
    pace: Pace,
    slot: Slot,
    deadline: tokio::time::Instant,
    clock: Clock,
) -> (Option<SplitSink<Ws, Message>>, u64) {
    let Some(out) = sink.as_mut() else {
        return (sink, sent);
    };
    let mut ticker = match pace {
        Pace::Rate(rate) => {
            let period = Duration::from_secs_f64(slot.count as f64 / f64::from(rate.max(1)));
            let offset = period.mul_f64(slot.index as f64 / slot.count as f64);
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            Some(t)
        }
        Pace::ClosedLoop(_) => None,
    };
    loop {
        match ticker.as_mut() {
            Some(t) => {
                t.tick().await;
            }
            None => match tokio::time::timeout_at(deadline, window.acquire()).await {
                Ok(Ok(permit)) => permit.forget(),
                _ => break,
            },
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        sent += 1;
        let frame = json!({
            "type": "publish", "id": sent, "channel": channel,
            "client_msg_id": format!("m{sent}"), "body": clock.now_us().to_string(),
        });
        if out.send(Message::Text(frame.to_string().into())).await.is_err() {
            break;
        }
    }
    (sink, sent)
}

/// Waits until every sent message is acknowledged and every stored one delivered, or until
/// `DRAIN_TIMEOUT`.
async fn drain(pairs: &[Pair]) {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while Instant::now() < deadline {
        let settled = pairs.iter().all(|p| {
            let stored = p.acks.stored.load(Ordering::Relaxed);
            let answered = stored + p.acks.errors.load(Ordering::Relaxed);
            let last_seq = p.seen.lock().unwrap_or_else(|e| e.into_inner()).last_seq;
            answered >= p.sent && last_seq as u64 >= stored
        });
        if settled {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds up the step's counters and latencies over the pairs.
fn gather(pairs: &[Pair], before: &[(u64, u64, u64)], pace: Pace, start_us: u64, seconds: f64) -> StepReport {
    let mut report = StepReport {
        pace,
        seconds,
        sent: 0,
        stored: 0,
        errors: 0,
        delivered: 0,
        lost: 0,
        duplicates: 0,
        out_of_order: 0,
        delivered_per_second: 0.0,
        latencies_us: Vec::new(),
        first_error: None,
    };
    let mut last_delivery_us = start_us;
    for (pair, (sent, stored, errors)) in pairs.iter().zip(before) {
        let stored_now = pair.acks.stored.load(Ordering::Relaxed);
        report.sent += pair.sent - sent;
        report.stored += stored_now - stored;
        report.errors += pair.acks.errors.load(Ordering::Relaxed) - errors;
        let seen = pair.seen.lock().unwrap_or_else(|p| p.into_inner());
        report.delivered += seen.delivered;
        report.lost += stored_now.saturating_sub(seen.last_seq as u64);
        report.duplicates += seen.duplicates;
        report.out_of_order += seen.out_of_order;
        report.latencies_us.extend_from_slice(&seen.latencies_us);
        last_delivery_us = last_delivery_us.max(seen.last_delivery_us);
        if report.first_error.is_none() {
            let first = pair.acks.first_error.lock().unwrap_or_else(|p| p.into_inner());
            report.first_error.clone_from(&first);
        }
    }
    report.latencies_us.sort_unstable();
    let span = (last_delivery_us - start_us) as f64 / 1e6;
    report.delivered_per_second = report.delivered as f64 / span.max(seconds);
    report
}

fn pace_json(pace: Pace) -> (&'static str, Value) {
    match pace {
        Pace::Rate(r) => ("open", json!(r)),
        Pace::ClosedLoop(w) => ("closed", json!(w)),
    }
}

fn print_step(label: &str, pairs: usize, r: &StepReport) {
    let p = |q| percentile(&r.latencies_us, q);
    let pace = match r.pace {
        Pace::Rate(rate) => format!("{rate:>5}/s offered"),
        Pace::ClosedLoop(w) => format!("closed loop, window {w}"),
    };
    println!(
        "latency      {label} {pace}: {:>7.0} delivered/s  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  sent {} stored {} errors {} lost {} dup {} out-of-order {}{}",
        r.delivered_per_second,
        p(50.0),
        p(90.0),
        p(99.0),
        p(100.0),
        r.sent,
        r.stored,
        r.errors,
        r.lost,
        r.duplicates,
        r.out_of_order,
        r.first_error
            .as_ref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default(),
    );
    let (mode, value) = pace_json(r.pace);
    let report = json!({
        "phase": "realtime-latency", "topology": label, "pairs": pairs, "mode": mode,
        "offered_per_second_or_window": value, "seconds": r.seconds, "sent": r.sent,
        "stored": r.stored, "errors": r.errors, "delivered": r.delivered, "lost": r.lost,
        "duplicates": r.duplicates, "out_of_order": r.out_of_order,
        "delivered_per_second": r.delivered_per_second,
        "p50_ms": p(50.0), "p90_ms": p(90.0), "p99_ms": p(99.0), "max_ms": p(100.0),
    });
    println!("{report}");
}

/// The highest fixed rate delivered in full with p99 under 50 ms, and the closed-loop rate.
fn print_summary(label: &str, reports: &[StepReport]) {
    let kept_up = |r: &&StepReport| {
        matches!(r.pace, Pace::Rate(rate) if r.lost == 0 && r.errors == 0
            && r.delivered_per_second >= 0.95 * f64::from(rate)
            && percentile(&r.latencies_us, 99.0) < 50.0)
    };
    let best_open = reports
        .iter()
        .filter(kept_up)
        .map(|r| r.delivered_per_second)
        .fold(0.0, f64::max);
    let closed = reports
        .iter()
        .filter(|r| matches!(r.pace, Pace::ClosedLoop(_)))
        .map(|r| r.delivered_per_second)
        .fold(0.0, f64::max);
    let clean = reports
        .iter()
        .all(|r| r.lost == 0 && r.duplicates == 0 && r.out_of_order == 0);
    println!(
        "latency      {label}: highest fixed rate kept up with p99 < 50 ms: {best_open:.0} msg/s; closed loop: {closed:.0} msg/s; exactly once and in order: {clean}"
    );
    println!(
        "{}",
        json!({"phase": "realtime-latency-summary", "topology": label,
               "max_open_loop_per_second_p99_under_50ms": best_open,
               "closed_loop_per_second": closed, "exactly_once_in_order": clean})
    );
}
