//! The payments service: payment intents (authorize, capture, void, refund, including partial
//! refunds) against a payment provider, a built-in test provider with its own ledger, and fraud
//! scoring on every authorization.
//!
//! # Layout
//!
//! - [`service`]: [`PaymentsService`], [`PaymentsConfig`], start-up (migrations) and readiness;
//!   `grpc` implements the `mercato.payments.v1.Payments` contract on it by calling the use
//!   cases in `intents` (authorize, get, and the retry-on-stale loop every movement shares),
//!   `settlement` (capture, void), `refunds` and `scoring` (`ScoreFraud`, the block list).
//! - [`domain`]: card numbers (Luhn, hash, last four), the validated inputs of authorizations,
//!   scores and money movements, the intent state machine as one pure function, fraud
//!   scoring; no IO, no wire format.
//! - `requests`: the contract's requests checked into the domain's inputs (every bad field at
//!   once).
//! - [`store`]: the [`store::PaymentsStore`] trait and its SQL implementation (SQLite and
//!   PostgreSQL), which appends each write's events to the outbox in the same transaction.
//! - [`provider`]: the [`provider::PaymentProvider`] trait and the built-in
//!   [`provider::test::TestProvider`], whose ledger (`provider_ledger`) lives in the payments
//!   database apart from the intents, so that the two can be audited against each other.
//! - [`events`]: subjects and envelopes of `PaymentChanged` events.
//!
//! # Test cards
//!
//! The test provider decides by card number (see `TEST_CARDS.md` in this crate):
//!
//! | card number        | outcome                                                  |
//! |--------------------|----------------------------------------------------------|
//! | `4242424242424242` | approved                                                 |
//! | `4000000000000002` | declined, `card_declined`                                |
//! | `4000000000009995` | declined, `insufficient_funds`                           |
//! | `4000000000000077` | approved after `PaymentsConfig::slow_card_delay`         |
//! | `4000000000000119` | network error: intent `failed` / `provider_unavailable`, gRPC `Unavailable`; retry with the same key |
//! | any other Luhn-valid number | approved                                        |
//!
//! A number that fails the Luhn check is refused with 422 on `card_number`.
//!
//! # Invariants
//!
//! - Every store method and query is scoped by the store (tenant) id.
//! - Card numbers are never stored or logged: only their SHA-256 hash and last four digits.
//! - Every money movement is recorded before the provider is called (a `pending` intent, a
//!   capture or void claim, a pending refund) and carries a provider idempotency key derived
//!   from that record (`auth:<key>`, `capture:<intent>`, `void:<intent>`,
//!   `refund:<intent>:<key>`), so retries after crashes or timeouts never move money twice.
//! - An intent is settled at most once: one capture or one void, whatever the client keys.
//! - Outcomes commit with their events (`mercato.payments.payment_*`) in one transaction.
//!
//! # Metrics
//!
//! `payments_authorizations_total{result}` (authorized, declined, fraud_blocked, failed) and
//! `fraud_decisions_total{decision}` (allow, flag, block), both counted when an authorization
//! outcome is recorded (replays are not counted again; `ScoreFraud` is not counted); exported as
//! `mercato_<name>` like every Mercato metric.

mod baseline;
pub mod domain;
pub mod events;
mod grpc;
mod intents;
mod payment_methods;
pub mod provider;
mod refunds;
mod requests;
mod scoring;
pub mod service;
mod settlement;
pub mod store;

pub use service::{PaymentsConfig, PaymentsService};

/// Describes the service's metrics (recorded in `intents`); the binary calls this once the
/// metrics recorder is installed.
pub fn describe_metrics() {
    intents::describe_metrics();
}
