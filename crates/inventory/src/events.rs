//! The events the inventory publishes, and how their envelopes are built.

use crate::domain::{Action, ReservationRecord, StockLevel};
use mercato_proto::events::{EventEnvelope, LowStock, ReservationChanged, StockChanged};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::envelope;

/// Any change of a stock row: on hand, reserved or the threshold.
pub const STOCK_CHANGED: &str = "mercato.inventory.stock_changed";
/// Available fell to or below the threshold (and was above it before).
pub const LOW_STOCK: &str = "mercato.inventory.low_stock";
pub const STOCK_RESERVED: &str = "mercato.inventory.stock_reserved";
pub const STOCK_COMMITTED: &str = "mercato.inventory.stock_committed";
pub const STOCK_RELEASED: &str = "mercato.inventory.stock_released";
pub const RESERVATION_EXPIRED: &str = "mercato.inventory.reservation_expired";
pub const STOCK_RESTOCKED: &str = "mercato.inventory.stock_restocked";

pub fn stock_changed(store: &StoreId, level: &StockLevel) -> EventEnvelope {
    let event = StockChanged {
        level: Some(level.to_proto()),
    };
    envelope(&store.to_string(), STOCK_CHANGED, 1, &event)
}

pub fn low_stock(store: &StoreId, level: &StockLevel) -> EventEnvelope {
    let event = LowStock {
        level: Some(level.to_proto()),
    };
    envelope(&store.to_string(), LOW_STOCK, 1, &event)
}

/// `stock_reserved` when `action` is `None` (a new hold), otherwise the subject of the action.
pub fn reservation_changed(action: Option<Action>, reservation: &ReservationRecord) -> EventEnvelope {
    let subject = match action {
        None => STOCK_RESERVED,
        Some(Action::Commit) => STOCK_COMMITTED,
        Some(Action::Release) => STOCK_RELEASED,
        Some(Action::Expire) => RESERVATION_EXPIRED,
        Some(Action::Restock) => STOCK_RESTOCKED,
    };
    let event = ReservationChanged {
        reservation: Some(reservation.to_proto()),
    };
    envelope(&reservation.store_id.to_string(), subject, 1, &event)
}
