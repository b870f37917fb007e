//! Customers' order figures, learnt from the orders service's events (never from its
//! database): each `OrderChanged` of a confirmed order (later cancelled or refunded included)
//! records the order's total and what was refunded of it, once per event (the inbox) and
//! newest version first; the events ready at once go in one transaction.

use crate::IdentityService;
use crate::store::customers::{CarriedFigures, OrderFigures};
use mercato_proto::events::{EventEnvelope, OrderChanged};
use mercato_proto::orders::OrderStatus;
use mercato_runtime::bus::{Delivery, SharedBus};
use mercato_runtime::ids::StoreId;
use mercato_runtime::inbox;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;

/// The orders events followed: every one carries the order as it is after the change, but for
/// the funnel's cart and checkout events, which are skipped.
pub use mercato_proto::subjects::orders::ALL as ALL_ORDERS;
use mercato_proto::subjects::orders::{CART_STARTED, CHECKOUT_STARTED};

/// The consumer group (and inbox name) recording customers' orders.
pub const ORDERS_GROUP: &str = "identity-customer-orders";

/// Whether an order in `status` counts as bought: it was confirmed, whatever came after. A
/// status this build does not know (a later fulfilment state) comes after confirmation too.
fn was_confirmed(status: i32) -> bool {
    match OrderStatus::try_from(status) {
        Ok(OrderStatus::Unspecified | OrderStatus::Pending | OrderStatus::Failed) => false,
        Ok(
            OrderStatus::Confirmed
            | OrderStatus::Cancelled
            | OrderStatus::Refunded
            | OrderStatus::PartiallyRefunded,
        ) => true,
        Err(_) => true,
    }
}

/// The figures an orders event carries for its customer, or `None` when it has nothing to
/// count: an order not confirmed, a guest's, one of another store than the envelope's, or a
/// payload that is not an `OrderChanged` (logged: redelivering it could not help, and refusing
/// it would hold up every event behind it).
pub fn figures_of(event: &EventEnvelope) -> Option<OrderFigures> {
    if matches!(event.subject.as_str(), CART_STARTED | CHECKOUT_STARTED) {
        return None;
    }
    let order = match OrderChanged::decode(event.payload.as_slice()) {
        Ok(changed) => changed.order?,
        Err(e) => {
            tracing::warn!(event_id = %event.id, subject = %event.subject, error = %e, "orders event is not an OrderChanged; skipped");
            return None;
        }
    };
    if order.store_id != event.store_id || order.customer_id.is_empty() || !was_confirmed(order.status) {
        return None;
    }
    Some(OrderFigures {
        order_id: order.id,
        customer_id: order.customer_id,
        total_minor: order.total_minor,
        refunded_minor: order.refunded_minor,
        version: order.version,
    })
}

impl IdentityService {
    /// Subscribes the customers' order figures to the orders events, one replica per event
    /// (`Delivery::Group`, deduplicated with the inbox), what is ready at once in one
    /// transaction. Call before the outbox relay starts.
    pub async fn start_consumers(self: &Arc<Self>, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        let service = self.clone();
        inbox::run_batch_consumer(
            bus,
            ALL_ORDERS,
            Delivery::Group(ORDERS_GROUP.to_owned()),
            shutdown,
            MAX_BATCH,
            move |events| {
                let service = service.clone();
                async move { service.on_order_events(events).await }
            },
        )
        .await
    }

    /// Records the figures an orders event carries; skips what it has seen.
    pub async fn on_order_event(&self, event: EventEnvelope) -> anyhow::Result<()> {
        self.on_order_events(vec![event]).await
    }

    /// Records the figures orders events carry, in one transaction; skips what it has seen.
    pub async fn on_order_events(&self, events: Vec<EventEnvelope>) -> anyhow::Result<()> {
        let batch: Vec<CarriedFigures> = events.iter().filter_map(carried).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let (events, applied) = (
            batch.len(),
            self.customers.record_orders(ORDERS_GROUP, batch).await?,
        );
        tracing::debug!(events, applied, "customer order figures recorded");
        Ok(())
    }
}

/// Most orders events recorded in one transaction.
const MAX_BATCH: usize = 256;

/// The figures an event carries with its store and id, when it has any to count.
fn carried(event: &EventEnvelope) -> Option<CarriedFigures> {
    let figures = figures_of(event)?;
    let Ok(store_id) = event.store_id.parse::<StoreId>() else {
        tracing::warn!(event_id = %event.id, "orders event without a valid store id");
        return None;
    };
    Some(CarriedFigures {
        store_id,
        event_id: event.id.clone(),
        figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::orders::Order;

    fn event(store: &str, order: Order) -> EventEnvelope {
        mercato_runtime::outbox::envelope(
            store,
            mercato_proto::subjects::orders::ORDER_CONFIRMED,
            1,
            &OrderChanged { order: Some(order) },
        )
    }

    fn order(store: &str, status: OrderStatus) -> Order {
        Order {
            id: "o1".into(),
            store_id: store.into(),
            customer_id: "c1".into(),
            total_minor: 2500,
            refunded_minor: 500,
            status: status as i32,
            version: 7,
            ..Order::default()
        }
    }

    #[test]
    fn a_confirmed_or_later_order_of_a_customer_counts_with_its_refunds() {
        for status in [
            OrderStatus::Confirmed,
            OrderStatus::PartiallyRefunded,
            OrderStatus::Cancelled,
        ] {
            let f = figures_of(&event("s", order("s", status))).unwrap();
            assert_eq!((f.total_minor, f.refunded_minor, f.version), (2500, 500, 7));
        }
        let later = Order {
            status: 42,
            ..order("s", OrderStatus::Confirmed)
        };
        assert!(figures_of(&event("s", later)).is_some());
    }

    #[test]
    fn the_funnel_events_of_orders_count_for_nobody() {
        for subject in [CART_STARTED, CHECKOUT_STARTED] {
            let funnel = EventEnvelope {
                subject: subject.to_owned(),
                ..event("s", order("s", OrderStatus::Confirmed))
            };
            assert_eq!(figures_of(&funnel), None, "{subject}");
        }
    }

    #[test]
    fn pending_failed_guest_other_store_and_malformed_events_count_for_nobody() {
        for status in [OrderStatus::Pending, OrderStatus::Failed] {
            assert_eq!(figures_of(&event("s", order("s", status))), None);
        }
        let guest = Order {
            customer_id: String::new(),
            ..order("s", OrderStatus::Confirmed)
        };
        assert_eq!(figures_of(&event("s", guest)), None);
        assert_eq!(figures_of(&event("t", order("s", OrderStatus::Confirmed))), None);
        let garbage = EventEnvelope {
            payload: vec![0xff, 0xff, 0xff],
            ..event("s", order("s", OrderStatus::Confirmed))
        };
        assert_eq!(figures_of(&garbage), None);
    }
}
