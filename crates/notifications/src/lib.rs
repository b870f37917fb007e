//! The notifications service (issue 16; ADR 0015): reaching people who are not connected. It
//! learns what happened only from events (orders, payments, stock, products, accounts and
//! stores), and from each event it may send e-mails (through `email.send` jobs) and webhook
//! deliveries (through its own delivery queue). Nothing here is on a shopper's request path.
//!
//! # Layout
//!
//! - [`service`]: [`NotificationsService`], its start-up (migrations, consumers, the webhook
//!   dispatcher, the job handlers) and `grpc` (the contract, each method a call into the parts).
//! - `consumer`: the group consumer; each event is applied in one transaction behind the inbox:
//!   the projections (`email::directory`: stores and accounts), the e-mails it causes
//!   (`email::decide`) and the webhook deliveries it causes (`webhooks::fanout`).
//! - `event_types`: the webhook event types (`order.confirmed`, …) and the subjects they come
//!   from, one table.
//! - [`webhooks`]: endpoints and their secrets (sealed under the KEK), Standard Webhooks
//!   signatures, the fan-out, the dispatcher (claims due deliveries in batches, sends them
//!   through `outbound`, records attempts in batches), the retry schedule, the delivery log,
//!   redelivery, disabling an endpoint that keeps failing.
//! - [`outbound`]: the one HTTP client that leaves the platform: `https` only unless allowed,
//!   addresses checked after DNS resolution and on every redirect (loopback, private,
//!   link-local, metadata and other non-public ranges refused unless an operator allows them),
//!   connect and total timeouts, a response size cap.
//! - [`email`]: templates (built in, overridable per store, every value escaped), rendering,
//!   the SMTP sender (`lettre`), the `email.send` job, preferences, opt-outs and unsubscribe
//!   links.
//! - `store`: the schema.
//!
//! # Invariants
//!
//! - Exactly-once effect per event: the event id goes into `processed_events` in the
//!   transaction that enqueues its e-mails and deliveries; a replayed event sends nothing new.
//! - An e-mail is one job per (event, template, recipient) with that as its dedupe key, and the
//!   event id in a header; a webhook delivery is one row per (endpoint, event), sent with the
//!   event id as `webhook-id` on every attempt.
//! - Every table and query is scoped by the store id.

pub mod email;
pub mod outbound;
pub mod service;
pub mod webhooks;

mod consumer;
mod event_types;
mod grpc;
mod store;

pub use event_types::{EVENT_TYPES, EventType};
pub use service::{NotificationsConfig, NotificationsService};

/// Describes the service's metrics; the binary calls this once the recorder is installed.
pub fn describe_metrics() {
    webhooks::metrics::describe_metrics();
}
