//! The events the inventory publishes, and how their envelopes are built.

use crate::domain::{Action, ReservationRecord, StockLevel};
use mercato_proto::events::{EventEnvelope, LowStock, ReservationChanged, StockChanged};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::envelope;

pub use mercato_proto::subjects::inventory::{
    LOW_STOCK, RESERVATION_EXPIRED, STOCK_CHANGED, STOCK_COMMITTED, STOCK_RELEASED, STOCK_RESERVED,
    STOCK_RESTOCKED,
};

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
