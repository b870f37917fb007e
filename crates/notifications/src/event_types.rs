//! The webhook event types: their public names, what they mean, and the event subject each
//! comes from. One table, read by the fan-out, the endpoint checks and `ListEventTypes`.

use mercato_proto::subjects;

/// One webhook event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType {
    /// The public name, e.g. `order.confirmed` (the payload's `type`).
    pub name: &'static str,
    /// The bus subject it is made from.
    pub subject: &'static str,
    pub description: &'static str,
}

const fn t(name: &'static str, subject: &'static str, description: &'static str) -> EventType {
    EventType {
        name,
        subject,
        description,
    }
}

/// Every type an endpoint may subscribe to (`*` subscribes to all), and `webhook.test`, which
/// only `SendTestEvent` sends.
pub const EVENT_TYPES: &[EventType] = &[
    t(
        "order.placed",
        subjects::orders::ORDER_PLACED,
        "A checkout placed an order; its payment and stock are being secured.",
    ),
    t(
        "order.confirmed",
        subjects::orders::ORDER_CONFIRMED,
        "An order's stock is reserved and its payment authorized.",
    ),
    t(
        "order.failed",
        subjects::orders::ORDER_FAILED,
        "A checkout failed (declined payment, no stock); nothing was charged.",
    ),
    t(
        "order.cancelled",
        subjects::orders::ORDER_CANCELLED,
        "An order was cancelled; its payment was voided or refunded.",
    ),
    t(
        "order.refunded",
        subjects::orders::ORDER_REFUNDED,
        "Some or all of an order was refunded (the refund is in the order).",
    ),
    t(
        "order.fulfilment_created",
        subjects::orders::FULFILMENT_CREATED,
        "A shipment of some of an order's units was packed.",
    ),
    t(
        "order.fulfilment_shipped",
        subjects::orders::FULFILMENT_SHIPPED,
        "A shipment left, with its carrier and tracking number.",
    ),
    t(
        "order.fulfilment_delivered",
        subjects::orders::FULFILMENT_DELIVERED,
        "A shipment was delivered.",
    ),
    t(
        "order.return_requested",
        subjects::orders::RETURN_REQUESTED,
        "A return was requested.",
    ),
    t(
        "order.return_received",
        subjects::orders::RETURN_RECEIVED,
        "Returned units were received (and refunded).",
    ),
    t(
        "payment.authorized",
        subjects::payments::PAYMENT_AUTHORIZED,
        "A payment was authorized.",
    ),
    t(
        "payment.declined",
        subjects::payments::PAYMENT_DECLINED,
        "A payment was declined.",
    ),
    t(
        "payment.captured",
        subjects::payments::PAYMENT_CAPTURED,
        "An authorized payment was captured.",
    ),
    t(
        "payment.voided",
        subjects::payments::PAYMENT_VOIDED,
        "An authorization was voided.",
    ),
    t(
        "payment.refunded",
        subjects::payments::PAYMENT_REFUNDED,
        "Money was refunded to the card.",
    ),
    t(
        "stock.changed",
        subjects::inventory::STOCK_CHANGED,
        "A SKU's stock at a location changed.",
    ),
    t(
        "stock.low",
        subjects::inventory::LOW_STOCK,
        "A SKU's available stock fell to its threshold.",
    ),
    t(
        "product.created",
        subjects::catalog::PRODUCT_CREATED,
        "A product was created.",
    ),
    t(
        "product.updated",
        subjects::catalog::PRODUCT_UPDATED,
        "A product, its variants, prices or images changed.",
    ),
    t(
        "product.deleted",
        subjects::catalog::PRODUCT_DELETED,
        "A product was deleted.",
    ),
];

/// The type `SendTestEvent` sends; not subscribable.
pub const TEST_EVENT: &str = "webhook.test";

/// The type made from `subject`, if webhooks carry it.
pub fn for_subject(subject: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.subject == subject)
}

/// The type called `name`.
pub fn named(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_subjects_are_unique() {
        for (i, a) in EVENT_TYPES.iter().enumerate() {
            for b in &EVENT_TYPES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.subject, b.subject);
            }
        }
        assert_eq!(
            for_subject(subjects::orders::ORDER_CONFIRMED).unwrap().name,
            "order.confirmed"
        );
        assert!(named(TEST_EVENT).is_none(), "the test type is not subscribable");
    }
}
