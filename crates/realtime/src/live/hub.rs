//! The subscriptions of this replica's connections, and delivery to them.
//!
//! A push is serialized once and shared (`Arc`) by every subscriber. Delivery never waits: each
//! connection has a bounded queue, and a connection whose queue is full is *kicked* — told to
//! close as a slow consumer — instead of making the publisher wait or memory grow.

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Notify, mpsc};

/// One frame on its way to the subscribers of a channel.
#[derive(Debug)]
pub struct Push {
    pub channel: Arc<str>,
    /// For conversation messages: the sequence number, which connections use to drop
    /// duplicates and fill gaps.
    pub seq: Option<i64>,
    /// The serialized frame.
    pub text: Utf8Bytes,
    /// When the event behind it happened (epoch ms), for the delivery-latency metric.
    pub occurred_at_ms: i64,
}

/// The hub's side of one connection.
pub struct ConnectionHandle {
    pub id: u64,
    tx: mpsc::Sender<Arc<Push>>,
    kicked: AtomicBool,
    kick: Notify,
}

impl ConnectionHandle {
    /// Resolves once the hub has given up on this connection (its queue overflowed).
    pub async fn kicked(&self) {
        if !self.kicked.load(Ordering::Acquire) {
            self.kick.notified().await;
        }
    }

    fn deliver(&self, push: &Arc<Push>) {
        if self.kicked.load(Ordering::Acquire) {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(push.clone()) {
            self.kicked.store(true, Ordering::Release);
            // `notify_one` keeps a permit if the connection is not waiting right now.
            self.kick.notify_one();
        }
    }
}

/// The connections subscribed to one channel, by connection id.
type Subscribers = HashMap<u64, Arc<ConnectionHandle>>;

/// Describes the gauges [`Hub`] keeps.
pub(super) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[WEBSOCKET_CONNECTIONS, WEBSOCKET_SUBSCRIPTIONS]);
}

mercato_runtime::metric_families! {
    /// WebSocket connections open on this replica.
    pub(crate) const WEBSOCKET_CONNECTIONS: Gauge(Count) = "websocket_connections";
    /// Channel subscriptions held by this replica's connections.
    pub(crate) const WEBSOCKET_SUBSCRIPTIONS: Gauge(Count) = "websocket_subscriptions";
}

/// Subscriptions of this replica.
#[derive(Default)]
pub struct Hub {
    channels: RwLock<HashMap<Arc<str>, Subscribers>>,
    /// Subscriptions per store, for the per-store limit.
    per_store: Mutex<HashMap<String, usize>>,
    next_id: AtomicU64,
    connections: AtomicUsize,
}

/// Why a subscription was not added.
#[derive(Debug, PartialEq, Eq)]
pub enum SubscribeRefusal {
    StoreLimit,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Registers a connection with a queue of `queue` pushes; its receiver is the connection's.
    pub fn connect(&self, queue: usize) -> (Arc<ConnectionHandle>, mpsc::Receiver<Arc<Push>>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(WEBSOCKET_CONNECTIONS.name).increment(1.0);
        let handle = ConnectionHandle {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            tx,
            kicked: AtomicBool::new(false),
            kick: Notify::new(),
        };
        (Arc::new(handle), rx)
    }

    /// Forgets a connection; its subscriptions must have been removed first.
    pub fn disconnect(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(WEBSOCKET_CONNECTIONS.name).decrement(1.0);
    }

    /// Open connections on this replica.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Adds a subscription, counting it against `store` (when the channel names one) up to
    /// `store_limit`.
    pub fn subscribe(
        &self,
        channel: &Arc<str>,
        store: Option<&str>,
        store_limit: usize,
        conn: &Arc<ConnectionHandle>,
    ) -> Result<(), SubscribeRefusal> {
        if let Some(store) = store {
            let mut counts = self.per_store.lock().unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(store.to_owned()).or_default();
            if *n >= store_limit {
                return Err(SubscribeRefusal::StoreLimit);
            }
            *n += 1;
        }
        let mut channels = self.channels.write().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(channel.clone())
            .or_default()
            .insert(conn.id, conn.clone());
        metrics::gauge!(WEBSOCKET_SUBSCRIPTIONS.name).increment(1.0);
        Ok(())
    }

    /// Removes a subscription added with the same `store`.
    pub fn unsubscribe(&self, channel: &str, store: Option<&str>, conn_id: u64) {
        let removed = {
            let mut channels = self.channels.write().unwrap_or_else(|p| p.into_inner());
            let Some(subs) = channels.get_mut(channel) else {
                return;
            };
            let removed = subs.remove(&conn_id).is_some();
            if subs.is_empty() {
                channels.remove(channel);
            }
            removed
        };
        if !removed {
            return;
        }
        metrics::gauge!(WEBSOCKET_SUBSCRIPTIONS.name).decrement(1.0);
        if let Some(store) = store {
            let mut counts = self.per_store.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(store) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(store);
                }
            }
        }
    }

    /// Hands a push to every subscriber of its channel on this replica; returns how many.
    pub fn publish(&self, push: Push) -> usize {
        let push = Arc::new(push);
        let channels = self.channels.read().unwrap_or_else(|p| p.into_inner());
        let Some(subs) = channels.get(&push.channel) else {
            return 0;
        };
        for conn in subs.values() {
            conn.deliver(&push);
        }
        subs.len()
    }

    /// Whether anyone here listens on `channel` (so events for nobody need no serializing).
    pub fn has_subscribers(&self, channel: &str) -> bool {
        self.channels
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(channel: &str, n: i64) -> Push {
        Push {
            channel: channel.into(),
            seq: Some(n),
            text: Utf8Bytes::from(format!("{n}")),
            occurred_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn pushes_reach_only_subscribers_and_a_full_queue_kicks_instead_of_waiting() {
        let hub = Hub::new();
        let (a, mut a_rx) = hub.connect(2);
        let (b, _b_rx) = hub.connect(2);
        let ch: Arc<str> = "staff:s1".into();
        hub.subscribe(&ch, Some("s1"), 10, &a).unwrap();
        hub.subscribe(&ch, Some("s1"), 10, &b).unwrap();
        assert_eq!(hub.publish(push("staff:s1", 1)), 2);
        assert_eq!(hub.publish(push("staff:other", 1)), 0);
        assert_eq!(a_rx.recv().await.unwrap().seq, Some(1));
        // b never reads: its third push overflows the queue of two.
        hub.publish(push("staff:s1", 2));
        hub.publish(push("staff:s1", 3));
        tokio::time::timeout(std::time::Duration::from_secs(1), b.kicked())
            .await
            .expect("b is kicked");
        assert!(!a.kicked.load(Ordering::Acquire));
        hub.unsubscribe("staff:s1", Some("s1"), b.id);
        assert_eq!(hub.publish(push("staff:s1", 4)), 1);
    }

    #[test]
    fn the_per_store_limit_counts_subscriptions_and_frees_them_on_unsubscribe() {
        let hub = Hub::new();
        let (a, _rx) = hub.connect(4);
        let x: Arc<str> = "stock:s1:A".into();
        let y: Arc<str> = "stock:s1:B".into();
        hub.subscribe(&x, Some("s1"), 1, &a).unwrap();
        assert_eq!(
            hub.subscribe(&y, Some("s1"), 1, &a),
            Err(SubscribeRefusal::StoreLimit)
        );
        hub.unsubscribe("stock:s1:A", Some("s1"), a.id);
        hub.subscribe(&y, Some("s1"), 1, &a).unwrap();
    }
}
