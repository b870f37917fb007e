//! Storage behind a trait the service owns, with one SQL implementation for SQLite and PostgreSQL.
//!
//! Every method takes the store (tenant) id first and every query filters on it, so one tenant
//! can never read or change another's rows. The one exception is
//! [`InventoryStore::due_reservations`], which the expiry sweeper uses to find held
//! reservations past their expiry in every store; it then expires each through the scoped
//! [`InventoryStore::transition`].
//!
//! Each write is one transaction that changes stock with guarded updates (a row changes only if
//! the result keeps `0 <= reserved <= on_hand`), locks stock rows in (SKU, location) order so that
//! concurrent writers on PostgreSQL cannot deadlock, and appends its events to the outbox. The
//! levels an event reports are known only inside the transaction, so the store builds those
//! events itself with [`crate::events`].

pub mod imports;
mod imports_sql;
mod migrations;
mod sql;

pub use migrations::MIGRATIONS;
pub use sql::SqlInventoryStore;

use crate::domain::allocation::Shortage;
use crate::domain::stock::StockRefusal;
use crate::domain::{
    Action, Location, NewReservation, ReservationId, ReservationRecord, Sku, Status, StockChange, StockLevel,
};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;

/// The outcome of a reservation request.
#[derive(Clone, Debug)]
pub enum Reserved {
    /// Every line is now held.
    Held(ReservationRecord),
    /// A reservation with this id already exists; it is returned as it is, untouched.
    Existing(ReservationRecord),
}

/// The outcome of a commit, release, restock or expiry.
#[derive(Clone, Debug)]
pub enum Transitioned {
    /// The reservation moved and its stock changed.
    Applied(ReservationRecord),
    /// Nothing to do: the move was already made (or, for expiry, is not due).
    Unchanged(ReservationRecord),
}

/// The inventory store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("reservation not found")]
    NotFound,
    /// The locations of this SKU together hold less than requested; nothing was reserved.
    #[error("insufficient stock for SKU {}", .0.sku)]
    Insufficient(Shortage),
    /// The reservation's status does not allow the action.
    #[error("cannot {} a {} reservation", action.as_str(), status.as_str())]
    Transition { status: Status, action: Action },
    #[error("{0}")]
    Stock(StockRefusal),
    /// The adjustment's idempotency key was used before for another SKU, location or delta.
    #[error("idempotency_key was already used for another adjustment")]
    KeyReused,
    /// A guarded stock update found the row unable to take the change.
    #[error("the stock of SKU {sku} at {location} cannot take this change")]
    Guard { sku: String, location: String },
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound => ServiceError::not_found("reservation"),
            Refusal::Insufficient(_) => ServiceError::new(ErrorCode::OutOfStock, r.to_string()),
            Refusal::Transition { .. } => {
                ServiceError::new(ErrorCode::ReservationStatusConflict, r.to_string())
            }
            Refusal::KeyReused => ServiceError::new(ErrorCode::IdempotencyKeyReused, r.to_string()),
            Refusal::Stock(_) | Refusal::Guard { .. } => {
                ServiceError::new(ErrorCode::StockOutOfBounds, r.to_string())
            }
        }
    }
}

/// What can go wrong in the inventory store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

impl From<StockRefusal> for StoreError {
    fn from(r: StockRefusal) -> Self {
        StoreError::Refused(Refusal::Stock(r))
    }
}

/// The inventory's storage.
#[async_trait::async_trait]
pub trait InventoryStore: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> bool;

    /// Every location holding a row for the SKU, by location name.
    async fn stock(&self, store: &StoreId, sku: &Sku) -> Result<Vec<StockLevel>, StoreError>;

    /// Applies a staff change to one location's stock, creating the row if needed, and appends
    /// `stock_changed` (and `low_stock` when the change crosses the threshold). With a `key`,
    /// the change is recorded under it in the same transaction: the same key again with the
    /// same SKU, location and change answers the level as it is and changes nothing; with
    /// others it is [`Refusal::KeyReused`].
    async fn write_stock(
        &self,
        store: &StoreId,
        sku: &Sku,
        location: &Location,
        change: StockChange,
        key: Option<&str>,
        now_ms: i64,
    ) -> Result<StockLevel, StoreError>;

    async fn reservation(
        &self,
        store: &StoreId,
        id: &ReservationId,
    ) -> Result<Option<ReservationRecord>, StoreError>;

    /// Holds every line of `request` or none ([`Refusal::Insufficient`]); an existing
    /// reservation with the same id is returned instead, untouched.
    async fn reserve(&self, request: &NewReservation, now_ms: i64) -> Result<Reserved, StoreError>;

    /// Moves a reservation by `action` as [`crate::domain::reservation::decide`] says, changing
    /// the stock of every line in the same transaction. Expiry applies only once `now_ms` has
    /// reached the reservation's expiry.
    async fn transition(
        &self,
        store: &StoreId,
        id: &ReservationId,
        action: Action,
        now_ms: i64,
    ) -> Result<Transitioned, StoreError>;

    /// Up to `limit` held reservations, in every store, whose expiry is at or before `now_ms`.
    async fn due_reservations(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(StoreId, ReservationId)>, StoreError>;
}
