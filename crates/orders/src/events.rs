//! The events the orders service publishes (each an `OrderChanged` with the order after the
//! change) and the catalog subjects its SKU projection consumes.

use crate::domain::{Order, Terminal};
use mercato_proto::events::{EventEnvelope, OrderChanged};
use mercato_runtime::outbox::envelope;

/// After the sale (`fulfilment`, `returns`).
pub use mercato_proto::subjects::orders::{
    FULFILMENT_CREATED, FULFILMENT_DELIVERED, FULFILMENT_SHIPPED, RETURN_APPROVED, RETURN_RECEIVED,
    RETURN_REJECTED, RETURN_REQUESTED,
};
pub use mercato_proto::subjects::orders::{
    ORDER_CANCELLED, ORDER_CONFIRMED, ORDER_FAILED, ORDER_PLACED, ORDER_REFUNDED,
};

/// Catalog events the SKU projection follows.
pub use mercato_proto::subjects::catalog::{
    ALL as ALL_CATALOG, PRODUCT_CREATED, PRODUCT_DELETED, PRODUCT_UPDATED,
};

/// `OrderChanged` under `subject`.
pub fn order_changed(subject: &str, order: &Order) -> EventEnvelope {
    let event = OrderChanged {
        order: Some(crate::wire::order(order)),
    };
    envelope(&order.store_id, subject, 1, &event)
}

/// The subject announcing that a saga reached `terminal`.
pub fn subject_of(terminal: &Terminal) -> &'static str {
    match terminal {
        Terminal::Confirmed => ORDER_CONFIRMED,
        Terminal::Failed { .. } => ORDER_FAILED,
        Terminal::Cancelled => ORDER_CANCELLED,
        // A received return's money went back: for consumers, a refund.
        Terminal::Refunded { .. } | Terminal::Returned { .. } => ORDER_REFUNDED,
    }
}
