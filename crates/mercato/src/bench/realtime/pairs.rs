//! Conversation pairs for the latency benchmark: a customer's connection publishing and a staff
//! connection subscribed, with the tasks that count acknowledgements and check each delivery
//! (latency from the send instant in the body; seqs exactly once, in order).

use super::client::{self, Target, Ws};
use super::setup::Customer;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// Microseconds since the benchmark started; message bodies carry their send instant in it.
#[derive(Clone, Copy)]
pub struct Clock(pub Instant);

impl Clock {
    pub fn now_us(self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// What a subscriber saw during the current step.
#[derive(Default)]
pub struct Seen {
    /// The highest seq delivered so far (all steps).
    pub last_seq: i64,
    pub delivered: u64,
    pub duplicates: u64,
    /// Arrivals that skipped a seq (a gap that may be filled later, or a loss).
    pub out_of_order: u64,
    pub latencies_us: Vec<u64>,
    pub last_delivery_us: u64,
}

/// Counters of a publisher's acknowledgements, shared with the task reading them.
#[derive(Default)]
pub struct Acks {
    /// Messages stored (`published`, not a duplicate) since the start: the conversation's last seq.
    pub stored: AtomicU64,
    pub errors: AtomicU64,
    pub first_error: Mutex<Option<String>>,
}

/// One customer publishing to a conversation and one staff connection subscribed to it.
pub struct Pair {
    pub channel: String,
    pub sink: Option<SplitSink<Ws, Message>>,
    /// Messages sent since the start.
    pub sent: u64,
    pub acks: Arc<Acks>,
    /// Closed loop: unacknowledged messages the publisher may still send.
    pub window: Arc<Semaphore>,
    pub seen: Arc<Mutex<Seen>>,
}

/// How one step sends.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// A fixed total rate, in messages per second.
    Rate(u32),
    /// Each publisher keeps this many messages unacknowledged.
    ClosedLoop(usize),
}

/// Which publisher this is, to spread the open-loop sends over the period.
#[derive(Clone, Copy)]
pub struct Slot {
    pub index: usize,
    pub count: usize,
}

impl Pair {
    /// Opens the customer's publishing connection and a staff connection subscribed to the
    /// conversation, on different targets when there are several.
    pub async fn open(
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

    /// Answered (stored or refused) messages, and the highest seq delivered.
    pub fn progress(&self) -> (u64, i64) {
        let answered = self.acks.stored.load(Ordering::Relaxed) + self.acks.errors.load(Ordering::Relaxed);
        (answered, self.seen().last_seq)
    }

    /// Whether every message sent was answered and every one stored was delivered.
    pub fn settled(&self) -> bool {
        let (answered, last_seq) = self.progress();
        answered >= self.sent && last_seq as u64 >= self.acks.stored.load(Ordering::Relaxed)
    }

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
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

/// One publisher's sending loop until `deadline`; returns its sink and its total sent.
pub async fn send_for(
    mut sink: Option<SplitSink<Ws, Message>>,
    (channel, window, mut sent): (String, Arc<Semaphore>, u64),
    pace: Pace,
    slot: Slot,
    deadline: tokio::time::Instant,
    clock: Clock,
) -> (Option<SplitSink<Ws, Message>>, u64) {
    let Some(out) = sink.as_mut() else {
        return (sink, sent);
    };
    let mut ticker = match pace {
        Pace::Rate(rate) => Some(ticker(rate, slot)),
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

/// This publisher's share of `rate`, its first tick offset so the publishers take turns.
/// Missed ticks are sent late rather than skipped: the offered rate stays what was asked.
fn ticker(rate: u32, slot: Slot) -> tokio::time::Interval {
    let period = Duration::from_secs_f64(slot.count as f64 / f64::from(rate.max(1)));
    let offset = period.mul_f64(slot.index as f64 / slot.count as f64);
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    t
}
