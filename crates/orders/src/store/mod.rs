//! Storage behind a trait the service owns, with one SQL implementation for SQLite and PostgreSQL.
//!
//! Every method takes the store (tenant) id first and every query filters on it, except the
//! saga driver's search for incomplete sagas across stores ([`OrdersStore::due_sagas`]), which
//! then claims each through the scoped [`OrdersStore::claim`].
//!
//! An order's history (`order_events`, unique on `(order_id, sequence)`) is the saga's log: a
//! step appends its outcome with the next sequence, so two drivers of one order can never both
//! record a step — the second insert fails and that driver stops. Intermediate steps are one
//! `INSERT`; steps that end (or start) a saga are one transaction that appends the events,
//! updates the order row (status, snapshot, lease) and appends the outbox events.

pub(crate) mod export;
mod export_seed;
mod histories;
mod history;
mod history_after_sale;
mod history_imported;
pub mod imports;
pub mod imports_read;
mod listing;
mod migrations;
pub mod pricing;
mod rows;
mod sql;

pub use export_seed::seed_orders;
pub use migrations::MIGRATIONS;
pub use sql::SqlOrdersStore;

use crate::domain::{Cart, CartId, Order, OrderEvent, OrderId, SkuInfo};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;

/// The orders store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The idempotency key is already taken.
    #[error("idempotency key already used")]
    DuplicateKey,
    /// An active promotion already has the code.
    #[error("promotion code already used")]
    CodeTaken,
    /// A promotion's uses (in all, or the customer's) ran out while the order was placed.
    #[error("promotion used up")]
    PromotionExhausted,
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::DuplicateKey => ServiceError::in_progress(
                "a request with this idempotency key is in progress",
                crate::orchestrator::retry_after_secs(None, mercato_runtime::time::now_ms()),
            ),
            Refusal::CodeTaken => ServiceError::new(
                mercato_runtime::error::ErrorCode::Conflict,
                "an active promotion already has this code",
            ),
            Refusal::PromotionExhausted => ServiceError::new(
                mercato_runtime::error::ErrorCode::PromotionExhausted,
                "the promotion code has been used up",
            ),
        }
    }
}

/// What can go wrong in the orders store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

/// A recorded checkout idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    pub order_id: OrderId,
    pub created_at_ms: i64,
}

/// Everything a checkout writes in its first transaction.
pub struct Placement<'a> {
    pub idempotency: &'a IdempotencyRecord,
    /// The keys recorded before this time have expired and may be taken again.
    pub expired_before_ms: i64,
    pub cart: &'a Cart,
    pub order: &'a Order,
    pub placed: &'a OrderEvent,
    /// The payment details the authorize step needs (cleared when the saga ends).
    pub payment_json: &'a str,
    pub locked_until_ms: i64,
    /// The promotions the order carries: each use is taken with a guarded update in the same
    /// transaction ([`Refusal::PromotionExhausted`] when none is left).
    pub redemptions: &'a [pricing::Redemption],
}

pub use histories::{History, HistoryPage};
pub use listing::{OrderFilter, PageAt};

/// What a transaction that settles (or reopens) a saga writes besides its events.
pub struct Settle<'a> {
    pub order: &'a Order,
    pub events: &'a [OrderEvent],
    pub outbox: &'a [EventEnvelope],
    /// Lease for a reopened saga (cancel, refund); ignored when the saga is done.
    pub locked_until_ms: i64,
    /// A cart to reopen (a checkout that failed).
    pub reopen_cart: Option<CartId>,
}

#[async_trait::async_trait]
pub trait OrdersStore: Send + Sync + 'static {
    async fn ping(&self) -> bool;

    // The catalog projection.

    /// Replaces the SKUs of a product (with what pricing needs of each) unless a newer version
    /// is known; records the event in the inbox. Returns whether the event was applied (false: duplicate or stale).
    async fn project_product(
        &self,
        store: &StoreId,
        product_id: &str,
        version: i64,
        skus: &[(SkuInfo, pricing::SkuPricing)],
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError>;
    async fn project_deletion(
        &self,
        store: &StoreId,
        product_id: &str,
        version: i64,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError>;
    async fn sku(&self, store: &StoreId, sku: &str) -> Result<Option<SkuInfo>, StoreError>;

    // Carts.

    async fn insert_cart(&self, cart: &Cart) -> Result<(), StoreError>;
    async fn cart(&self, store: &StoreId, id: &CartId) -> Result<Option<Cart>, StoreError>;
    /// The customer's most recently changed open cart.
    async fn open_cart_of(&self, store: &StoreId, customer_id: &str) -> Result<Option<Cart>, StoreError>;
    /// Writes `cart` if its stored version is still `expected` ([`StoreError::Stale`] otherwise).
    async fn update_cart(&self, cart: &Cart, expected: i64) -> Result<(), StoreError>;
    /// As [`OrdersStore::update_cart`], for the write that gives the cart its first line: with
    /// its `cart_started` outbox event, in one transaction.
    async fn start_cart(&self, cart: &Cart, expected: i64) -> Result<(), StoreError>;
    /// Writes the merged target (inserting it when `target_expected` is `None`) and the
    /// merged anonymous source in one transaction, both guarded on their versions.
    async fn merge_carts(
        &self,
        target: &Cart,
        target_expected: Option<i64>,
        source: &Cart,
        source_expected: i64,
    ) -> Result<(), StoreError>;

    // Checkout.

    /// The key's record if it was recorded at or after `not_before_ms`.
    async fn idempotency(
        &self,
        store: &StoreId,
        scope: &str,
        key: &str,
        not_before_ms: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Records the key, checks the cart out (guarded on its version), takes the store's next
    /// order number (1001 first), inserts the order and its `placed` event (both with the
    /// number) and its `order_placed` and `checkout_started` outbox events, in one
    /// transaction. Returns the number.
    async fn place(&self, store: &StoreId, p: &Placement<'_>) -> Result<i64, StoreError>;

    // Orders.

    /// The history, oldest first; with `as_of_ms`, only events at or before it.
    async fn events(
        &self,
        store: &StoreId,
        order: &OrderId,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<OrderEvent>, StoreError>;
    /// Appends events (one statement); [`StoreError::Stale`] when a sequence is taken.
    async fn append(&self, store: &StoreId, order: &OrderId, events: &[OrderEvent])
    -> Result<(), StoreError>;
    /// Appends events and updates the order row and the outbox in one transaction.
    async fn settle(&self, store: &StoreId, s: &Settle<'_>) -> Result<(), StoreError>;
    /// A page of the orders `filter` admits, newest first by (created_at, id), and how many
    /// it admits in all.
    async fn list(
        &self,
        store: &StoreId,
        filter: &OrderFilter,
        at: &PageAt,
        limit: i64,
    ) -> Result<(Vec<Order>, i64), StoreError>;
    /// A page of every order's history (one store's, or every store's) oldest first by
    /// (created_at, id), each with the state it folds to; and, when asked, how many orders the
    /// page's filters admit in all. One read for the page's orders and their events together.
    async fn histories(&self, page: &HistoryPage) -> Result<(Vec<History>, Option<i64>), StoreError>;
    /// The payment details kept for the authorize step.
    async fn payment_json(&self, store: &StoreId, order: &OrderId) -> Result<String, StoreError>;

    // The saga driver.

    /// Up to `limit` incomplete sagas, in every store, whose lease ended before `now_ms`.
    async fn due_sagas(&self, now_ms: i64, limit: i64) -> Result<Vec<(StoreId, OrderId)>, StoreError>;
    /// Takes the lease of an incomplete saga until `until_ms` if it is free at `now_ms`;
    /// when taken, returns the payment details kept for the authorize step (as
    /// [`OrdersStore::payment_json`] would), read by the same statement.
    async fn claim(
        &self,
        store: &StoreId,
        order: &OrderId,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Sets the lease end (shortens it so the driver retries soon).
    async fn lease(&self, store: &StoreId, order: &OrderId, until_ms: i64) -> Result<(), StoreError>;
    /// When the oldest incomplete saga was created.
    async fn oldest_incomplete(&self) -> Result<Option<i64>, StoreError>;
}
