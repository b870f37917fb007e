//! Webhooks: endpoints a store's owner registers, and the deliveries of the events they
//! subscribed to, signed as the Standard Webhooks specification says.
//!
//! # Layout
//!
//! - `schema`: the tables (endpoints, messages, deliveries, attempts); `endpoint_row`: an
//!   endpoint as stored and its wire form.
//! - `endpoints`: create, list, get, update, delete, rotate (the secret is shown once);
//!   `secrets`: making secrets and sealing them under the KEK; `signature`: the Standard
//!   Webhooks signature.
//! - `fanout`: inside the consumer's transaction, an event becomes one message and one delivery
//!   per subscribed endpoint.
//! - `dispatcher`: the loop that claims due deliveries (`claim`), sends them (`send`, through
//!   `outbound`) and records the results in batches (`record`, which also disables an endpoint
//!   that kept failing); `schedule`: the retry delays.
//! - `deliveries`: the delivery log, redelivery and test events; `retention`: the 30-day sweep;
//!   `metrics`: what is recorded.
//!
//! # Guarantees
//!
//! - At least once: a delivery is a row committed with the event's inbox entry; it is attempted
//!   until a 2xx or until it is older than `retry_for`. Claims are leases: a process that dies
//!   mid-send loses nothing, its deliveries are due again when their lease lapses.
//! - The `webhook-id` is the event id on every attempt and redelivery (the message's id), so
//!   receivers de-duplicate; a replayed event adds no delivery (inbox, and a unique index on
//!   (message, endpoint) for automatic deliveries).
//! - Isolation: at most `per_store_concurrency` deliveries of a store are in flight in a
//!   process, and claims skip stores at their limit, so a hanging receiver delays only its store.
//! - Every query is scoped by the store id.

mod claim;
mod deliveries;
mod dispatcher;
mod endpoint_row;
mod endpoints;
mod fanout;
pub mod metrics;
mod record;
mod retention;
mod schedule;
pub(crate) mod schema;
mod secrets;
mod send;
mod signature;

use crate::consumer::Effects;
use crate::email::Email;
use crate::outbound::Outbound;
use dispatcher::InFlight;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::config::WebhookSettings;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::kek::KeyEncryptionKey;
use mercato_runtime::shutdown::Shutdown;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The webhooks part of the service.
pub struct Webhooks {
    db: Db,
    outbox: Arc<Notify>,
    settings: WebhookSettings,
    kek: Arc<KeyEncryptionKey>,
    outbound: Arc<Outbound>,
    /// Tells owners of an endpoint disabled for failing.
    email: Arc<Email>,
    /// Rung when deliveries became due.
    dispatcher: Arc<Notify>,
    /// What this process is sending, for the concurrency limits.
    in_flight: Mutex<InFlight>,
}

impl Webhooks {
    pub fn new(
        db: Db,
        outbox: Arc<Notify>,
        settings: WebhookSettings,
        kek: Arc<KeyEncryptionKey>,
        outbound: Arc<Outbound>,
        email: Arc<Email>,
    ) -> Self {
        Webhooks {
            db,
            outbox,
            settings,
            kek,
            outbound,
            email,
            dispatcher: Arc::new(Notify::new()),
            in_flight: Mutex::new(InFlight::default()),
        }
    }

    /// Starts the dispatcher and the retention sweep.
    pub fn start(self: &Arc<Self>, shutdown: Shutdown) {
        tokio::spawn(self.clone().dispatch(shutdown.clone()));
        tokio::spawn(self.clone().retention_loop(shutdown));
    }

    /// Wakes the dispatcher (after a commit that made deliveries due).
    pub fn wake(&self) {
        self.dispatcher.notify_one();
    }

    /// Inside the consumer's transaction: records a delivery of `event` for every enabled
    /// endpoint of its store subscribed to its type.
    pub(crate) fn on_event(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        now: i64,
    ) -> Result<Effects, DbError> {
        self.fan_out(tx, event, now)
    }

    /// What recording results needs, owned.
    fn parts(&self) -> record::RecordParts {
        record::RecordParts {
            settings: self.settings.clone(),
            email: self.email.clone(),
        }
    }
}
