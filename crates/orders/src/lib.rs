//! The orders service: carts, the checkout saga orchestrator, and orders as an append-only
//! event history (the state at any time is a fold of it).
//!
//! # Layout
//!
//! - [`service`]: [`OrdersService`], [`OrdersDeps`] (the inventory and payments clients — the
//!   only way this service reaches them), start-up (migrations, the catalog projection, the
//!   saga driver) and readiness; `grpc` implements the `Orders` contract by calling the use
//!   cases in `carts`, `checkout` and `orders`.
//! - [`domain`]: carts (validation, totals, merging), the saga as one pure function
//!   `step(state, event) -> (state, commands)`, and the order fold over its events; no IO.
//! - `orchestrator`: runs saga commands, records each outcome, and
//!   [`OrdersService::drive_incomplete`], the driver that resumes incomplete sagas.
//! - `steps`: one function per saga command, each a call through the inventory or payments
//!   client and the event recording its outcome (a shortage of stock comes back typed, so a
//!   checkout waits for units held by others without asking inventory again).
//! - `wire`: the domain's carts, orders and events as `orders.proto` messages, and a request's
//!   caller as the domain's (an unknown role is refused, never taken for another); the domain
//!   itself knows no wire format.
//! - `projection`: the SKU → (product, title, price, and for pricing weight, whether it ships
//!   and its tax category) copy fed by catalog events ([`OrdersService::apply_catalog_event`]);
//!   a cart line for a SKU it does not know is 422.
//! - [`pricing`]: shipping zones and rates, tax (basis points, half-up or banker's rounding,
//!   prices with or without tax), promotions, and `pricing::totals::compute`, the one pure
//!   function that prices a cart or an order per line and in all; `priced` applies it to a
//!   cart (its addresses, method and code, read from `store::pricing`), shows it on the cart,
//!   and decides whether checkout may go ahead (422 `shipping_address_required`,
//!   `shipping_unavailable`, `shipping_method_required`, `promotion_*`); `pricing_admin` is
//!   the rules' use cases (owner or staff; tax settings owner only); `pricing_wire` their
//!   messages; `rules_cache` keeps each store's zones, methods, rates and settings per process
//!   (this process's changes evict them, another replica's arrive within 5 s). The order keeps what it charged per line (`domain::charges`): a refund of some
//!   units returns their share of the line's total, its discount and tax included.
//! - [`store`]: the [`store::OrdersStore`] trait and its SQL implementation (SQLite and
//!   PostgreSQL), which appends outbox events in the same transaction as the change.
//!   [`store::pricing::PricingStore`] keeps the pricing rules and cart choices; a promotion's
//!   uses are taken in the transaction that places the order (guarded updates, so concurrent
//!   checkouts never take more than there are) and given back when its checkout fails.
//! - [`events`]: the `mercato.orders.order_*` subjects (placed, confirmed, failed, cancelled,
//!   refunded), each an `OrderChanged`, and the catalog subjects consumed; and the analytics
//!   funnel's two: `cart_started` (a cart's first line ever, once per cart: written with that
//!   cart write, which is then a transaction instead of one statement; a merge does not start
//!   the customer's cart again) and `checkout_started` (in the transaction that places an
//!   order from a cart, whose id the order keeps: `Order.cart_id`).
//! - After the sale: `fulfilment` (send units from a location with tracking, mark them shipped
//!   and delivered) and `returns` (request, approve or reject, receive), both appending one
//!   event with its `OrderChanged` (`mercato.orders.fulfilment_*`, `return_*`; a return's
//!   refund is an `order_refunded`) in one transaction (`OrdersService::after_sale`); their
//!   rules — units owed, sent, returnable, the fulfilment status, where returned units go back
//!   and [`domain::fulfilment::returned_amount`] — are pure, in `domain::fulfilment`;
//!   `wire_after_sale` is their contract, `store/history_after_sale.rs` their stored record.
//! - `listing`: `ListOrders` — filters (status, fulfilment status, creation time, customer,
//!   order number or e-mail) and paging by offset or by a `(created_at, id)` cursor that
//!   neither skips nor repeats orders placed while a client pages (`store/listing.rs`).
//! - `histories`: `ListOrderHistories`, internal (analytics' backfill and `verify`; never
//!   routed from REST): every order's whole history and folded state, one store's or every
//!   store's, oldest first by `(created_at, id)` with an opaque cursor, a page's histories read
//!   in one statement (`store/histories.rs`).
//!
//! # The checkout saga
//!
//! placed → reserve stock (reservation id = order id, 10 min) → authorize (`order:<id>`) →
//! commit stock → capture (`capture:<id>`) → confirmed. Out of stock fails with nothing to
//! undo; a declined or fraud-blocked payment releases the stock; a failed commit voids the
//! payment and releases; a failed capture voids and restocks. Cancel (a confirmed order)
//! restocks and refunds; refund (whole or by lines) refunds (`refund:<id>:<key>`) and restocks.
//!
//! The saga's state is not stored apart from the history: it is the fold of `order_events`.
//! Each step appends its outcome with the next sequence (unique per order), so a step is
//! recorded once however many runners race; steps that end a saga append their events, update
//! the order row and write the outbox in one transaction. Checkout drives its saga inline;
//! every replica's driver ([`OrdersService::start`], every 500 ms) claims sagas whose lease
//! (`locked_until`, set by a conditional update) has run out — a process killed at any step is
//! resumed there, and since every call is keyed by the order, repeating a step is harmless.
//!
//! # Pricing defaults
//!
//! Goods that ship always need a shipping address (checkout takes it inline, or from the
//! cart). A store with no shipping zones ships for free with no method to pick; a store with
//! zones refuses an address none covers. A store without tax rates (or an address outside its
//! zones) charges no tax; tax settings default to prices without tax, half-up rounding.
//!
//! # Invariants
//!
//! - Every store method and query is scoped by the store (tenant) id, except the driver's
//!   search for incomplete sagas.
//! - Carts and orders the caller does not own are "not found" (404), never "forbidden".
//! - Money is integer minor units, one currency per cart and order.
//! - Anonymous cart tokens are stored as SHA-256. Card details are kept on the order row only
//!   while its saga runs (the authorize step may have to be repeated) and erased when it ends.
//!
//! # After the sale
//!
//! Orders are numbered per store (1001, 1002, …) from a counter row taken in the transaction
//! that places the order: numbers are unique, and a checkout that rolls back gives its number
//! back, so concurrency leaves no gaps. The number and the checkout e-mail are in the `placed`
//! event and, to filter on, in columns of the order row beside its status and fulfilment
//! status (written by every `settle`).
//!
//! Fulfilment is a dimension apart from payment: unfulfilled → partially fulfilled → fulfilled
//! → shipped → delivered, from the order's fulfilments. Only a confirmed (or partly refunded)
//! order is fulfilled (409 `order_not_fulfillable`), never beyond the units owed (422); a
//! fulfilled order is no longer cancelled but returned. Creating a fulfilment or requesting a
//! return is idempotent by its key (kept in its event); shipping, delivering, deciding and
//! receiving by the state they lead to.
//!
//! Receiving a return appends `return_received` with its refund (what the returned units paid,
//! `returned_amount`) and where the sellable units go back (where they were sent from), which
//! reopens the saga: refund (`return:<order>:<return>`), restock (each SKU and location its own
//! inventory adjustment keyed `return:<order>:<return>:<sku>:<location>`), then
//! `return_completed` — driven inline and resumed by the driver like a checkout, so a crash or a
//! retried receipt never refunds or restocks twice. A partial refund's restock is keyed the
//! same way from its refund key.
//!
//! # Metrics
//!
//! `saga_transitions_total{from,to}`, `saga_step_duration_seconds{step}` and
//! `saga_oldest_incomplete_seconds` (set by each driver pass; 0 when none), exported as
//! `mercato_<name>` like every Mercato metric.

mod carts;
mod checkout;
pub mod domain;
pub mod events;
mod exports;
mod fulfilment;
mod grpc;
mod histories;
mod import_records;
mod imports;
mod listing;
mod orchestrator;
mod orders;
mod priced;
pub mod pricing;
mod pricing_admin;
mod pricing_wire;
mod projection;
mod returns;
mod rules_cache;
pub mod service;
mod steps;
pub mod store;
mod wire;
mod wire_after_sale;

pub use exports::bench_export;
pub use service::{OrdersDeps, OrdersService};

/// Describes the service's metrics (next to where the saga records them, in `orchestrator`);
/// the binary calls this once the metrics recorder is installed.
pub fn describe_metrics() {
    orchestrator::describe_metrics();
}
