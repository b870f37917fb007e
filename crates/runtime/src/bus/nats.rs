//! The NATS JetStream bus of the distributed topology.
//!
//! All events go to one stream, `MERCATO`, capturing `mercato.>` on disk (optionally within a
//! namespace, see [`NatsBus::connect_namespaced`]). The event id is sent
//! as `Nats-Msg-Id`, so a relay that publishes the same event twice within the duplicate window
//! stores it once. Groups are durable pull consumers; fanout subscribers are ordered consumers
//! that start at the first message published after they subscribe.

use super::{Acker, Bus, Delivery, Incoming, SUBSCRIPTION_QUEUE, Subscription};
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;

const STREAM: &str = "MERCATO";
/// Signals travel on core NATS under this prefix, outside the stream's subjects, so they are
/// never stored.
const SIGNAL_PREFIX: &str = "signal.";

/// A bus on NATS JetStream.
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: stream::Stream,
    /// Prepended to every subject and consumer name, so that several deployments (or test
    /// runs) can share one NATS server without seeing each other's events.
    namespace: String,
}

impl NatsBus {
    /// Connects and makes sure the stream exists.
    pub async fn connect(url: &str) -> anyhow::Result<NatsBus> {
        Self::connect_namespaced(url, "").await
    }

    /// Connects within a namespace: stream `MERCATO_<ns>` capturing `<ns>.mercato.>`. The
    /// empty namespace is the plain `MERCATO` stream on `mercato.>`.
    pub async fn connect_namespaced(url: &str, namespace: &str) -> anyhow::Result<NatsBus> {
        anyhow::ensure!(
            namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "nats namespace {namespace:?} may only hold letters, digits, - and _"
        );
        let (name, subjects, prefix) = if namespace.is_empty() {
            (STREAM.to_owned(), "mercato.>".to_owned(), String::new())
        } else {
            (
                format!("{STREAM}_{namespace}"),
                format!("{namespace}.mercato.>"),
                format!("{namespace}."),
            )
        };
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        let js = jetstream::new(client.clone());
        let stream = js
            .get_or_create_stream(stream::Config {
                name,
                subjects: vec![subjects],
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                max_age: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            })
            .await?;
        Ok(NatsBus {
            client,
            js,
            stream,
            namespace: prefix,
        })
    }

    /// Deletes the stream; tests call this to clean up.
    pub async fn delete_stream(&self) -> anyhow::Result<()> {
        let name = self.stream.cached_info().config.name.clone();
        self.js.delete_stream(name).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Bus for NatsBus {
    async fn publish(&self, subject: &str, message_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message_id);
        let subject = format!("{}{subject}", self.namespace);
        let ack = self.js.publish_with_headers(subject, headers, payload).await?;
        ack.await?;
        Ok(())
    }

    async fn subscribe(&self, filter: &str, delivery: Delivery) -> anyhow::Result<Subscription> {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_QUEUE);
        let filter = format!("{}{filter}", self.namespace);
        let prefix = self.namespace.clone();
        match delivery {
            Delivery::Group(group) => {
                let durable = durable_name(&format!("{prefix}{group}"));
                let consumer: consumer::PullConsumer = self
                    .stream
                    .get_or_create_consumer(
                        &durable,
                        consumer::pull::Config {
                            durable_name: Some(durable.clone()),
                            filter_subject: filter,
                            ack_policy: consumer::AckPolicy::Explicit,
                            ack_wait: Duration::from_secs(30),
                            ..Default::default()
                        },
                    )
                    .await?;
                let messages = consumer.messages().await?;
                tokio::spawn(forward(messages, tx, prefix, true, durable));
            }
            Delivery::Fanout => {
                let consumer = self
                    .stream
                    .create_consumer(consumer::pull::OrderedConfig {
                        filter_subject: filter,
                        deliver_policy: consumer::DeliverPolicy::New,
                        ..Default::default()
                    })
                    .await?;
                let messages = consumer.messages().await?;
                tokio::spawn(forward(messages, tx, prefix, false, "fanout".to_owned()));
            }
        }
        Ok(Subscription { rx })
    }

    async fn signal(&self, subject: &str, payload: Bytes) -> anyhow::Result<()> {
        let subject = format!("{}{SIGNAL_PREFIX}{subject}", self.namespace);
        self.client.publish(subject, payload).await?;
        Ok(())
    }

    async fn subscribe_signals(&self, filter: &str) -> anyhow::Result<Subscription> {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_QUEUE);
        let prefix = format!("{}{SIGNAL_PREFIX}", self.namespace);
        let mut messages = self.client.subscribe(format!("{prefix}{filter}")).await?;
        tokio::spawn(async move {
            while let Some(m) = messages.next().await {
                let incoming = Incoming::new(strip(&prefix, &m.subject), m.payload, Acker::None);
                // Best effort by contract: a listener that is behind misses this signal.
                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(incoming) {
                    break;
                }
            }
        });
        Ok(Subscription { rx })
    }

    async fn ready(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// Durable consumer names may not contain dots or wildcards.
fn durable_name(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Hands a consumer's messages to its subscription until either side goes away. Group
/// messages carry their JetStream handle for acknowledgement; fanout messages need none.
async fn forward<S, E>(mut messages: S, tx: mpsc::Sender<Incoming>, prefix: String, ack: bool, name: String)
where
    S: futures::Stream<Item = Result<jetstream::Message, E>> + Unpin,
    E: std::fmt::Display,
{
    while let Some(next) = messages.next().await {
        match next {
            Ok(m) => {
                let subject = strip(&prefix, &m.subject);
                let payload = m.payload.clone();
                let acker = if ack {
                    Acker::Nats(Box::new(m))
                } else {
                    Acker::None
                };
                if tx.send(Incoming::new(subject, payload, acker)).await.is_err() {
                    break;
                }
            }
            Err(e) => tracing::warn!(error = %e, consumer = %name, "bus consumer error"),
        }
    }
}

/// The subject as services know it, without this bus's namespace.
fn strip(prefix: &str, subject: &str) -> String {
    subject.strip_prefix(prefix).unwrap_or(subject).to_owned()
}
