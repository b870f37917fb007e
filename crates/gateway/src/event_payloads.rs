//! The public JSON of an event's object, for webhook payloads (`data`): the same shapes the REST
//! API answers (an order is an [`OrderView`], a product a [`ProductView`]), so a receiver parses
//! one representation whether it polls or listens. Payments and stock levels, which the REST
//! API shows only inside other documents, get a small view of their own here; a payment carries
//! no card data beyond its last four digits.

use crate::dto_catalog::ProductView;
use crate::dto_orders::OrderView;
use mercato_proto::events::{
    EventEnvelope, LowStock, OrderChanged, PaymentChanged, ProductChanged, ProductDeleted, StockChanged,
};
use mercato_proto::inventory::StockLevel;
use mercato_proto::payments::{IntentStatus, PaymentFailure, PaymentIntent};
use mercato_proto::subjects::{catalog, inventory, orders, payments};
use mercato_runtime::time::to_rfc3339;
use prost::Message;
use serde::Serialize;

/// A payment (an authorization and what happened to it since).
#[derive(Serialize)]
pub struct PaymentView {
    pub id: String,
    pub order_id: String,
    /// pending, authorized, declined, failed, captured, partially_refunded, refunded or voided.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    /// The card's last four digits, when a card paid.
    pub card_last4: Option<String>,
    /// Why it was declined or failed: card_declined, insufficient_funds, fraud_blocked or
    /// provider_unavailable.
    pub failure: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<PaymentIntent> for PaymentView {
    fn from(p: PaymentIntent) -> Self {
        let status = lower_name(p.status().as_str_name(), "INTENT_STATUS_");
        let failure = match p.failure() {
            PaymentFailure::None => None,
            other => Some(lower_name(other.as_str_name(), "PAYMENT_FAILURE_")),
        };
        PaymentView {
            status: if p.status() == IntentStatus::Unspecified {
                "pending".to_owned()
            } else {
                status
            },
            failure,
            id: p.id,
            order_id: p.order_id,
            amount_minor: p.amount_minor,
            currency: p.currency,
            captured_minor: p.captured_minor,
            refunded_minor: p.refunded_minor,
            card_last4: Some(p.card_last4).filter(|c| !c.is_empty()),
            created_at: to_rfc3339(p.created_at_ms),
            updated_at: to_rfc3339(p.updated_at_ms),
        }
    }
}

/// A SKU's stock at one location.
#[derive(Serialize)]
pub struct StockLevelEventView {
    pub sku: String,
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
}

impl From<StockLevel> for StockLevelEventView {
    fn from(l: StockLevel) -> Self {
        StockLevelEventView {
            sku: l.sku,
            location: l.location,
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available,
            low_stock_threshold: l.low_stock_threshold,
        }
    }
}

/// A deleted product: what is left of it.
#[derive(Serialize)]
pub struct DeletedProductView {
    pub id: String,
    pub version: i64,
    pub deleted: bool,
}

/// `ENUM_PREFIX_SOME_NAME` → `some_name`.
fn lower_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_ascii_lowercase()
}

/// The public JSON of the object `envelope` is about; `None` for a subject webhooks do not
/// carry or a payload that does not decode.
pub fn webhook_data(envelope: &EventEnvelope) -> Option<serde_json::Value> {
    let bytes = envelope.payload.as_slice();
    let subject = envelope.subject.as_str();
    let in_family = |all: &str| subject.starts_with(all.trim_end_matches('>'));
    if in_family(orders::ALL) {
        return order(bytes, subject);
    }
    if in_family(payments::ALL) {
        let intent = PaymentChanged::decode(bytes).ok()?.intent?;
        return to_json(PaymentView::from(intent));
    }
    match subject {
        s if s == inventory::STOCK_CHANGED => to_json(StockLevelEventView::from(
            StockChanged::decode(bytes).ok()?.level?,
        )),
        s if s == inventory::LOW_STOCK => {
            to_json(StockLevelEventView::from(LowStock::decode(bytes).ok()?.level?))
        }
        s if s == catalog::PRODUCT_CREATED || s == catalog::PRODUCT_UPDATED => {
            to_json(ProductView::from(ProductChanged::decode(bytes).ok()?.product?))
        }
        s if s == catalog::PRODUCT_DELETED => {
            let deleted = ProductDeleted::decode(bytes).ok()?;
            to_json(DeletedProductView {
                id: deleted.product_id,
                version: deleted.version,
                deleted: true,
            })
        }
        _ => None,
    }
}

/// An order event's order (every order subject but the funnel's carries `OrderChanged`).
fn order(bytes: &[u8], subject: &str) -> Option<serde_json::Value> {
    if [
        orders::CART_STARTED,
        orders::CHECKOUT_STARTED,
        orders::JOB_CHANGED,
    ]
    .contains(&subject)
    {
        return None;
    }
    to_json(OrderView::from(OrderChanged::decode(bytes).ok()?.order?))
}

fn to_json(view: impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(view).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::orders::Order;

    fn envelope(subject: &str, payload: Vec<u8>) -> EventEnvelope {
        EventEnvelope {
            id: "e1".into(),
            store_id: "s1".into(),
            subject: subject.into(),
            payload,
            ..Default::default()
        }
    }

    #[test]
    fn an_order_event_carries_the_rest_order() {
        let event = OrderChanged {
            order: Some(Order {
                id: "o1".into(),
                currency: "EUR".into(),
                total_minor: 1250,
                ..Default::default()
            }),
        };
        let data = webhook_data(&envelope(orders::ORDER_CONFIRMED, event.encode_to_vec())).unwrap();
        assert_eq!(data["id"], "o1");
        assert_eq!(data["total_minor"], 1250);
        assert!(webhook_data(&envelope(orders::CART_STARTED, Vec::new())).is_none());
    }

    #[test]
    fn a_payment_carries_its_status_and_no_card_number() {
        let event = PaymentChanged {
            intent: Some(PaymentIntent {
                id: "pi1".into(),
                order_id: "o1".into(),
                status: IntentStatus::Declined as i32,
                failure: PaymentFailure::InsufficientFunds as i32,
                card_last4: "4242".into(),
                ..Default::default()
            }),
        };
        let data = webhook_data(&envelope(payments::PAYMENT_DECLINED, event.encode_to_vec())).unwrap();
        assert_eq!(data["status"], "declined");
        assert_eq!(data["failure"], "insufficient_funds");
        assert_eq!(data["card_last4"], "4242");
    }

    #[test]
    fn stock_and_deleted_products_have_their_views() {
        let event = LowStock {
            level: Some(StockLevel {
                sku: "SKU-1".into(),
                available: 2,
                ..Default::default()
            }),
        };
        let data = webhook_data(&envelope(inventory::LOW_STOCK, event.encode_to_vec())).unwrap();
        assert_eq!(data["sku"], "SKU-1");
        let deleted = ProductDeleted {
            product_id: "p1".into(),
            version: 3,
        };
        let data = webhook_data(&envelope(catalog::PRODUCT_DELETED, deleted.encode_to_vec())).unwrap();
        assert_eq!(data["id"], "p1");
        assert!(webhook_data(&envelope("mercato.realtime.signal", Vec::new())).is_none());
    }
}
