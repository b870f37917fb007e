//! One realtime replica: the conversation service, the hub of local subscriptions, the bus
//! that joins replicas, the token verifier, and the listeners that feed the hub.

use super::hub::Hub;
use super::notify;
use crate::service::RealtimeService;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::bus::{Delivery, SharedBus};
use mercato_runtime::config::RealtimeSettings;
use mercato_runtime::jwks::KeyedVerifier;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The signal subject of typing indicators and presence changes.
pub use mercato_proto::subjects::realtime::SIGNAL as SIGNAL_SUBJECT;

/// Everything the WebSocket connections of one replica share.
pub struct Node {
    pub service: Arc<RealtimeService>,
    pub hub: Arc<Hub>,
    pub bus: SharedBus,
    pub verifier: Arc<KeyedVerifier>,
    pub settings: RealtimeSettings,
    /// Cancelled when the process stops: connections tell their clients to reconnect.
    pub stop: Shutdown,
    /// When set, `/v1/realtime` on this process answers only callers presenting it (the
    /// gateway forwarding clients); unset on the process that faces clients itself.
    pub internal_token: Option<String>,
    /// Distinguishes this replica's connections in presence entries.
    pub instance: String,
}

/// A typing indicator or presence change travelling between replicas.
#[derive(Serialize, Deserialize)]
pub struct Signal {
    pub channel: String,
    pub frame: serde_json::Value,
}

impl Node {
    /// Starts feeding the hub from the bus: events (at least once, every replica) and signals.
    /// The listeners stop when the bus goes away or `stop` fires.
    pub async fn start_listeners(self: &Arc<Self>, stop: Shutdown) -> anyhow::Result<()> {
        for subject in notify::SUBJECTS {
            let mut sub = self.bus.subscribe(subject, Delivery::Fanout).await?;
            let (hub, stop) = (self.hub.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    let incoming = tokio::select! {
                        m = sub.next() => m,
                        () = stop.cancelled() => None,
                    };
                    let Some(incoming) = incoming else { break };
                    match EventEnvelope::decode(incoming.payload.as_ref()) {
                        Ok(envelope) => {
                            let wanted = |channel: &str| hub.has_subscribers(channel);
                            for push in notify::route(&envelope, &wanted) {
                                hub.publish(push);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(subject = %incoming.subject, error = %e, "undecodable event")
                        }
                    }
                    incoming.ack().await;
                }
            });
        }
        let mut signals = self.bus.subscribe_signals(SIGNAL_SUBJECT).await?;
        let hub = self.hub.clone();
        tokio::spawn(async move {
            loop {
                let incoming = tokio::select! {
                    m = signals.next() => m,
                    () = stop.cancelled() => None,
                };
                let Some(incoming) = incoming else { break };
                if let Ok(signal) = serde_json::from_slice::<Signal>(&incoming.payload) {
                    let at = mercato_runtime::time::now_ms();
                    hub.publish(notify::signal_push(&signal.channel, &signal.frame, at));
                }
            }
        });
        Ok(())
    }

    /// Sends a typing indicator or presence change to every replica (this one included).
    pub async fn signal(&self, channel: &str, frame: serde_json::Value) {
        let signal = Signal {
            channel: channel.to_owned(),
            frame,
        };
        let payload = serde_json::to_vec(&signal).unwrap_or_default();
        if let Err(e) = self.bus.signal(SIGNAL_SUBJECT, payload.into()).await {
            tracing::debug!(error = %e, "signal not sent");
        }
    }
}
