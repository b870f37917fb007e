//! The in-process bus of the embedded topology.
//!
//! Durability comes from the publishers' outboxes: `publish` returns only after one member of
//! every matching consumer group has acknowledged the message, so the outbox relay marks an
//! event published only once its effects are durable. A negative acknowledgement, or none within
//! [`GROUP_ACK_TIMEOUT`], fails the publish and the relay tries again later.

use super::{Acker, Bus, Delivery, Incoming, SUBSCRIPTION_QUEUE, Subscription, subject_matches};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a publish waits for a consumer group to process a message.
const GROUP_ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where messages on one subject go: every fanout subscriber, the members of each group, and
/// a group that expects the subject but has no live member (publishing must then fail).
struct Route {
    fanout: Vec<mpsc::Sender<Incoming>>,
    groups: Vec<(String, Vec<mpsc::Sender<Incoming>>)>,
    orphaned: Option<String>,
}

impl Route {
    /// Whether every subscriber the route names is still there.
    fn is_live(&self) -> bool {
        let members = self.groups.iter().flat_map(|(_, members)| members);
        !self.fanout.iter().chain(members).any(|tx| tx.is_closed())
    }
}

/// Subjects whose routes are kept before the map starts over (subjects that name an id would
/// otherwise grow it without bound).
const ROUTES_KEPT: usize = 4_096;

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
    /// Each published subject's route, worked out once: matching a subject against every
    /// filter on each publish was 1.4 % of a checkout's CPU. Forgotten on every subscription,
    /// and a route is worked out again when one of its subscribers has gone.
    routes: Mutex<HashMap<String, Arc<Route>>>,
    round_robin: AtomicUsize,
    /// Signal listeners by filter.
    signal_subscribers: Mutex<Vec<(String, mpsc::Sender<Incoming>)>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where a message on `subject` goes, as kept or worked out afresh.
    ///
    /// The map stays locked from working a route out until it is kept: `subscribe` adds its
    /// subscriber and then clears the map, so a route worked out without a new subscriber is
    /// cleared as soon as it is kept, before any later publish can use it.
    fn route(&self, subject: &str) -> Arc<Route> {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(route) = routes.get(subject).filter(|r| r.is_live()) {
            return route.clone();
        }
        let route = Arc::new(self.work_out_route(subject));
        if routes.len() >= ROUTES_KEPT {
            routes.clear();
        }
        routes.insert(subject.to_owned(), route.clone());
        route
    }

    /// The live subscribers matching `subject`, per group for the groups, and the first group
    /// that expects `subject` with no live member.
    fn work_out_route(&self, subject: &str) -> Route {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !s.tx.is_closed());
        let mut fanout = Vec::new();
        let mut groups: Vec<(String, Vec<_>)> = Vec::new();
        for s in subs.iter().filter(|s| subject_matches(&s.filter, subject)) {
            match &s.group {
                None => fanout.push(s.tx.clone()),
                Some(g) => match groups.iter_mut().find(|(name, _)| name == g) {
                    Some((_, members)) => members.push(s.tx.clone()),
                    None => groups.push((g.clone(), vec![s.tx.clone()])),
                },
            }
        }
        let orphaned = self
            .known_groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(filter, group)| {
                subject_matches(filter, subject) && !groups.iter().any(|(g, _)| g == group)
            })
            .map(|(_, group)| group.clone());
        Route {
            fanout,
            groups,
            orphaned,
        }
    }

    fn forget_routes(&self) {
        self.routes.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[async_trait::async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, subject: &str, _message_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let route = self.route(subject);
        if let Some(group) = &route.orphaned {
            anyhow::bail!("consumer group {group} has no live member for {subject}");
        }
        for tx in &route.fanout {
            let msg = Incoming::new(subject.to_owned(), payload.clone(), Acker::None);
            // A closed receiver just means that subscriber went away.
            let _ = tx.send(msg).await;
        }
        // Every group gets the message before any acknowledgement is awaited, so the groups
        // process it side by side rather than one after the other.
        // One turn per publish, shared by its groups: a turn per group would, with the groups
        // always in the same order, give each group the same members every time.
        let turn = self.round_robin.fetch_add(1, Ordering::Relaxed);
        let mut acks = Vec::with_capacity(route.groups.len());
        for (group, members) in &route.groups {
            let pick = turn % members.len();
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
        self.forget_routes();
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
