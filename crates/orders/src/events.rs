//! The events the orders service publishes (each an `OrderChanged` with the order after the
//! change, but for the funnel's `CartStarted` and `CheckoutStarted`) and the catalog subjects
//! its SKU projection consumes.

use crate::domain::{Cart, Order, Terminal};
use mercato_proto::events::{CartStarted, CheckoutStarted, EventEnvelope, OrderChanged};
use mercato_runtime::outbox::envelope;

/// The funnel's cart and checkout steps (`CartStarted`, `CheckoutStarted`; not `OrderChanged`).
pub use mercato_proto::subjects::orders::{CART_STARTED, CHECKOUT_STARTED};
/// After the sale (`fulfilment`, `returns`).
pub use mercato_proto::subjects::orders::{
    FULFILMENT_CREATED, FULFILMENT_DELIVERED, FULFILMENT_SHIPPED, RETURN_APPROVED, RETURN_RECEIVED,
    RETURN_REJECTED, RETURN_REQUESTED,
};
pub use mercato_proto::subjects::orders::{
    ORDER_CANCELLED, ORDER_CONFIRMED, ORDER_FAILED, ORDER_IMPORTED, ORDER_PLACED, ORDER_REFUNDED,
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

/// `cart_started`: the cart got its first line (funnel step "carts with a line").
pub fn cart_started(cart: &Cart) -> EventEnvelope {
    let event = CartStarted {
        cart_id: cart.id.to_string(),
        customer_id: cart.customer_id.clone(),
    };
    envelope(&cart.store_id.to_string(), CART_STARTED, 1, &event)
}

/// `checkout_started`: a checkout placed `order` from its cart (funnel step "checkouts").
pub fn checkout_started(order: &Order) -> EventEnvelope {
    let event = CheckoutStarted {
        cart_id: order.cart_id.clone(),
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
    };
    envelope(&order.store_id, CHECKOUT_STARTED, 1, &event)
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
