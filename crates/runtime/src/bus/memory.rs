//! The in-process bus of the embedded topology.
//!
//! Durability comes from the publishers' outboxes: `publish` returns only after one member of
//! every matching consumer group has acknowledged the message, so the outbox relay marks an
//! event published only once its effects are durable. A negative acknowledgement, or none within
//! [`GROUP_ACK_TIMEOUT`], fails the publish and the relay tries again later.

use super::{Acker, Bus, Delivery, Incoming, SUBSCRIPTION_QUEUE, Subscription, subject_matches};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a publish waits for a consumer group to process a message.
const GROUP_ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where one message goes: every fanout subscriber, and the members of each group by name.
type Routes = (
    Vec<mpsc::Sender<Incoming>>,
    HashMap<String, Vec<mpsc::Sender<Incoming>>>,
);

struct Subscriber {
    filter: String,
    group: Option<String>,
    tx: mpsc::Sender<Incoming>,
}

/// An in-process bus.
#[derive(Default)]
pub struct MemoryBus {
    subscribers: Mutex<Vec<Subscriber>>,
    /// Every (filter, group) that ever subscribed. A group whose members are all gone still
    /// expects its messages: publishing must fail rather than skip it, or the outbox would
    /// mark an event published that the group never saw.
    known_groups: Mutex<Vec<(String, String)>>,
    round_robin: AtomicUsize,
    /// Signal listeners by filter.
    signal_subscribers: Mutex<Vec<(String, mpsc::Sender<Incoming>)>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// The live subscribers matching `subject`: every fanout one, and per group its members.
    fn route(&self, subject: &str) -> Routes {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !s.tx.is_closed());
        let mut fanout = Vec::new();
        let mut groups: HashMap<String, Vec<_>> = HashMap::new();
        for s in subs.iter().filter(|s| subject_matches(&s.filter, subject)) {
            match &s.group {
                None => fanout.push(s.tx.clone()),
                Some(g) => groups.entry(g.clone()).or_default().push(s.tx.clone()),
            }
        }
        (fanout, groups)
    }
}

#[async_trait::async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, subject: &str, _message_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let (fanout, groups) = self.route(subject);
        let orphaned = self
            .known_groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(filter, group)| subject_matches(filter, subject) && !groups.contains_key(group))
            .map(|(_, group)| group.clone());
        if let Some(group) = orphaned {
            anyhow::bail!("consumer group {group} has no live member for {subject}");
        }
        for tx in fanout {
            let msg = Incoming::new(subject.to_owned(), payload.clone(), Acker::None);
            // A closed receiver just means that subscriber went away.
            let _ = tx.send(msg).await;
        }
        // Every group gets the message before any acknowledgement is awaited, so the groups
        // process it side by side rather than one after the other.
        let mut acks = Vec::with_capacity(groups.len());
        for (group, members) in groups {
            let pick = self.round_robin.fetch_add(1, Ordering::Relaxed) % members.len();
            let (ack_tx, ack_rx) = oneshot::channel();
            let msg = Incoming::new(subject.to_owned(), payload.clone(), Acker::Memory(Some(ack_tx)));
            members[pick]
                .send(msg)
                .await
                .map_err(|_| anyhow::anyhow!("consumer group {group} went away"))?;
            acks.push((group, ack_rx));
        }
        for (group, ack_rx) in acks {
            match tokio::time::timeout(GROUP_ACK_TIMEOUT, ack_rx).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => anyhow::bail!("consumer group {group} rejected {subject}"),
                Ok(Err(_)) => {
                    anyhow::bail!("consumer group {group} dropped {subject} unacknowledged")
                }
                Err(_) => {
                    anyhow::bail!("consumer group {group} did not acknowledge {subject} in time")
                }
            }
        }
        Ok(())
    }

    async fn subscribe(&self, filter: &str, delivery: Delivery) -> anyhow::Result<Subscription> {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_QUEUE);
        let group = match delivery {
            Delivery::Group(g) => {
                let mut known = self.known_groups.lock().unwrap_or_else(|p| p.into_inner());
                let entry = (filter.to_owned(), g.clone());
                if !known.contains(&entry) {
                    known.push(entry);
                }
                Some(g)
            }
            Delivery::Fanout => None,
        };
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Subscriber {
                filter: filter.to_owned(),
                group,
                tx,
            });
        Ok(Subscription { rx })
    }

    async fn signal(&self, subject: &str, payload: Bytes) -> anyhow::Result<()> {
        let mut subs = self.signal_subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|(_, tx)| !tx.is_closed());
        for (_, tx) in subs.iter().filter(|(f, _)| subject_matches(f, subject)) {
            // Best effort by contract: a listener that is behind misses this signal.
            let _ = tx.try_send(Incoming::new(subject.to_owned(), payload.clone(), Acker::None));
        }
        Ok(())
    }

    async fn subscribe_signals(&self, filter: &str) -> anyhow::Result<Subscription> {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_QUEUE);
        self.signal_subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((filter.to_owned(), tx));
        Ok(Subscription { rx })
    }

    async fn ready(&self) -> bool {
        true
    }
}
