//! Publish/subscribe between services: in process when embedded, NATS JetStream when distributed.
//!
//! Subjects follow NATS rules (`mercato.catalog.product_updated`; `*` matches one token, `>` the
//! rest). Two delivery modes:
//!
//! - [`Delivery::Group`]: a named, durable consumer group; each message goes to one member and is
//!   redelivered until acknowledged. For effects that must happen once per platform.
//! - [`Delivery::Fanout`]: every subscriber sees every message published after it subscribed. For
//!   per-replica state such as the search index and the L1 cache.
//!
//! Delivery is at least once; consumers deduplicate by event id (see [`crate::inbox`]).
//!
//! Beside events there are *signals* ([`Bus::signal`]): best-effort, unstored messages such as
//! typing indicators, which reach whoever listens at that moment (core NATS when distributed)
//! and are dropped for a subscriber whose queue is full.

mod memory;
mod nats;
mod subject;

pub use memory::MemoryBus;
pub use nats::NatsBus;
pub use subject::subject_matches;

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How a subscription shares messages with other subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// One member of the named group gets each message; unacknowledged messages come back.
    Group(String),
    /// Every subscriber gets every message published after it subscribed.
    Fanout,
}

/// A message handed to a subscriber; acknowledge it once its effect is durable.
pub struct Incoming {
    pub subject: String,
    pub payload: Bytes,
    acker: Acker,
}

pub(crate) enum Acker {
    None,
    Memory(Option<tokio::sync::oneshot::Sender<bool>>),
    Nats(Box<async_nats::jetstream::Message>),
}

impl Incoming {
    pub(crate) fn new(subject: String, payload: Bytes, acker: Acker) -> Self {
        Incoming {
            subject,
            payload,
            acker,
        }
    }

    /// Confirms processing; the message will not be delivered to this group again.
    pub async fn ack(mut self) {
        match &mut self.acker {
            Acker::None => {}
            Acker::Memory(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(true);
                }
            }
            Acker::Nats(m) => {
                if let Err(e) = m.ack().await {
                    tracing::warn!(subject = %self.subject, error = %e, "ack failed; the message will be redelivered");
                }
            }
        }
    }

    /// Reports a failure; the message will be delivered again later.
    pub async fn nack(mut self) {
        match &mut self.acker {
            Acker::None => {}
            Acker::Memory(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(false);
                }
            }
            Acker::Nats(m) => {
                let delay = Some(std::time::Duration::from_secs(1));
                if let Err(e) = m.ack_with(async_nats::jetstream::AckKind::Nak(delay)).await {
                    tracing::warn!(subject = %self.subject, error = %e, "nak failed");
                }
            }
        }
    }
}

/// A stream of messages for one subscription.
pub struct Subscription {
    pub(crate) rx: mpsc::Receiver<Incoming>,
}

impl Subscription {
    /// The next message, or `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<Incoming> {
        self.rx.recv().await
    }
}

/// The event bus seen by services.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes one message; returns once the bus has it durably (JetStream ack) or, in
    /// process, once every consumer group has processed it.
    async fn publish(&self, subject: &str, message_id: &str, payload: Bytes) -> anyhow::Result<()>;

    /// Subscribes to subjects matching `filter`.
    async fn subscribe(&self, filter: &str, delivery: Delivery) -> anyhow::Result<Subscription>;

    /// Sends a signal: not stored, not acknowledged, delivered at most once to the signal
    /// subscribers listening now.
    async fn signal(&self, subject: &str, payload: Bytes) -> anyhow::Result<()>;

    /// Listens to signals whose subject matches `filter`.
    async fn subscribe_signals(&self, filter: &str) -> anyhow::Result<Subscription>;

    /// Whether the bus is reachable; for readiness probes.
    async fn ready(&self) -> bool;
}

/// A shared bus handle.
pub type SharedBus = Arc<dyn Bus>;

/// Capacity of each subscription's queue; a full queue slows the publisher down rather than
/// growing memory.
pub(crate) const SUBSCRIPTION_QUEUE: usize = 1024;
