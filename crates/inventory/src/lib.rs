//! The inventory service: stock per SKU and location, reservations that hold every line or none,
//! their commit, release, restock and expiry, and low-stock alerts.
//!
//! # Layout
//!
//! - [`service`]: [`InventoryService`], its construction (migrations), the expiry sweeper and
//!   readiness; `grpc` implements the `Inventory` contract on it by calling the use cases in
//!   `stock` (set, adjust, get) and `reservations` (reserve, commit, release, restock, expiry).
//! - [`domain`]: validated value types and inputs, stock levels and reservations, and the pure
//!   rules: allocation across locations (most available first), reservation transitions, the
//!   low-stock crossing; no IO, no wire format.
//! - `requests`: the contract's requests checked into the domain's inputs (every bad field at
//!   once); `wire`: the domain's levels and reservations as the contract's messages.
//! - [`store`]: the [`store::InventoryStore`] trait and its SQL implementation (SQLite and
//!   PostgreSQL), which appends each write's events to the outbox in the same transaction.
//! - `imports`: stock imported from a legacy shop (ADR 0016): on hand set by SKU at the default
//!   location (never negative, never below what is reserved), `imported_stock` recording which
//!   SKUs a source brought, checksums and records rebuilt from the levels as they are.
//! - [`events`]: subjects and envelopes of the events the inventory publishes.
//!
//! # Invariants
//!
//! - Stock is never negative: `0 <= reserved <= on_hand` holds for every row under any
//!   concurrency, on both backends. Every change is a guarded `UPDATE` whose affected-row count
//!   is checked, inside one transaction per request, and the table's CHECK refuses the rest.
//! - A reservation holds all its lines or none; writers lock stock rows in (SKU, location)
//!   order, so concurrent reservations on PostgreSQL do not deadlock.
//! - Reserve, commit, release and restock are idempotent by reservation id; a reservation is
//!   expired at most once however many replicas sweep, because only the transaction that moves
//!   it out of `held` gives its stock back. An adjustment given an idempotency key (orders'
//!   restock of refunded or returned units) is recorded under it in the transaction that makes
//!   it (`stock_adjustments`), so the same key again changes nothing.
//! - Every store method and query is scoped by the store (tenant) id, except the sweeper's
//!   search for due reservations across stores.
//! - A write commits its events in the same transaction, then wakes the outbox relay.

pub mod domain;
pub mod events;
mod grpc;
mod imports;
mod requests;
mod reservations;
pub mod service;
mod stock;
pub mod store;
mod wire;

pub use service::InventoryService;

/// Describes the service's metrics (recorded in `reservations`); the binary calls this once the
/// metrics recorder is installed.
pub fn describe_metrics() {
    reservations::describe_metrics();
}
