//! Orders imported from a legacy shop (ADR 0016): history, not checkouts. One `imported` event
//! carries the order as the source had it; folding it settles the order at once (no saga, no
//! payment, no reservation), and a later `imported` event (the source changed the order, e.g.
//! refunded it) replaces that snapshot, so the history stays append-only.

use super::FailureCode;
use super::charges::OrderCharges;
use super::order::{Order, OrderLine, OrderStatus};
use super::saga::Terminal;

/// Where an imported order came from, and what of the source's is kept beside the order's own
/// fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOrigin {
    /// `woocommerce` or `shopify`.
    pub source: String,
    pub legacy_key: String,
    /// The source's status as it was (e.g. `wc-completed`).
    pub legacy_status: String,
    /// Empty for a guest order.
    pub customer_legacy_key: String,
    /// When the source last changed it (0 when unknown); not part of the canonical form.
    pub modified_at_ms: i64,
}

/// An order as a legacy shop had it, in the order's own terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LegacyOrder {
    pub origin: ImportOrigin,
    /// The customer's derived id (`runtime::imports::target_id`); empty for a guest.
    pub customer_id: String,
    pub email: String,
    /// The legacy order number, kept.
    pub number: i64,
    /// Confirmed, failed, cancelled, refunded or partially refunded; never pending.
    pub status: OrderStatus,
    pub currency: String,
    /// Each line's quantity and title; `charges.lines` holds its money, index for index.
    pub lines: Vec<OrderLine>,
    pub charges: OrderCharges,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub created_at_ms: i64,
}

impl LegacyOrder {
    /// Where the saga of an imported order stands: done, ended the way the source's status says.
    pub fn terminal(&self) -> Terminal {
        match self.status {
            OrderStatus::Pending | OrderStatus::Confirmed => Terminal::Confirmed,
            OrderStatus::Failed => Terminal::Failed {
                code: FailureCode::PaymentFailed,
            },
            OrderStatus::Cancelled => Terminal::Cancelled,
            OrderStatus::Refunded | OrderStatus::PartiallyRefunded => Terminal::Refunded {
                lines: Vec::new(),
                amount_minor: self.refunded_minor,
            },
        }
    }
}

impl Order {
    /// Takes an `imported` event's snapshot: every visible field is the source's.
    pub(super) fn take_legacy(&mut self, legacy: &LegacyOrder) {
        self.customer_id = legacy.customer_id.clone();
        self.email = legacy.email.clone();
        self.number = legacy.number;
        self.status = legacy.status;
        self.failure_code = None;
        self.currency = legacy.currency.clone();
        self.lines = legacy.lines.clone();
        self.charges = legacy.charges.clone();
        self.total_minor = legacy.total_minor;
        self.refunded_minor = legacy.refunded_minor;
        self.captured_minor = match legacy.status {
            OrderStatus::Failed | OrderStatus::Pending => 0,
            _ => legacy.total_minor,
        };
        self.created_at_ms = legacy.created_at_ms;
        self.imported = Some(Box::new(legacy.origin.clone()));
    }

    /// The order as an imported snapshot says it is now (after whatever happened to it since);
    /// `None` for an order that was not imported.
    pub fn as_legacy(&self) -> Option<LegacyOrder> {
        let origin = self.imported.as_deref()?;
        Some(LegacyOrder {
            origin: origin.clone(),
            customer_id: self.customer_id.clone(),
            email: self.email.clone(),
            number: self.number,
            status: self.status,
            currency: self.currency.clone(),
            lines: self.lines.clone(),
            charges: self.charges.clone(),
            total_minor: self.total_minor,
            refunded_minor: self.refunded_minor,
            created_at_ms: self.created_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventData, OrderEvent};

    fn legacy(status: OrderStatus, refunded_minor: i64) -> LegacyOrder {
        LegacyOrder {
            origin: ImportOrigin {
                source: "woocommerce".into(),
                legacy_key: "00000000000000000042".into(),
                legacy_status: "wc-completed".into(),
                customer_legacy_key: String::new(),
                modified_at_ms: 7,
            },
            number: 42,
            status,
            currency: "EUR".into(),
            total_minor: 1000,
            refunded_minor,
            created_at_ms: 1_600_000_000_000,
            ..LegacyOrder::default()
        }
    }

    fn imported(sequence: i64, at_ms: i64, l: LegacyOrder) -> OrderEvent {
        OrderEvent {
            sequence,
            at_ms,
            data: EventData::Imported(Box::new(l)),
        }
    }

    #[test]
    fn an_imported_order_is_settled_with_its_own_number_status_and_creation_time() {
        let first = imported(1, 1_600_000_000_000, legacy(OrderStatus::Confirmed, 0));
        let order = Order::fold("o", "s", std::slice::from_ref(&first))
            .unwrap()
            .unwrap();
        assert!(order.settled());
        assert!(order.due().is_empty());
        assert_eq!((order.number, order.status), (42, OrderStatus::Confirmed));
        assert_eq!(order.created_at_ms, 1_600_000_000_000);
        assert_eq!(order.as_legacy(), Some(legacy(OrderStatus::Confirmed, 0)));
        let later = imported(2, 1_700_000_000_000, legacy(OrderStatus::Refunded, 1000));
        let refunded = Order::fold("o", "s", &[first, later]).unwrap().unwrap();
        assert_eq!(
            (refunded.status, refunded.refunded_minor, refunded.version),
            (OrderStatus::Refunded, 1000, 2)
        );
        assert_eq!(refunded.created_at_ms, 1_600_000_000_000, "created once");
        assert_eq!(refunded.updated_at_ms, 1_700_000_000_000);
    }

    #[test]
    fn an_order_placed_here_is_not_a_legacy_one_and_cannot_take_an_import_mid_saga() {
        let order = Order::default();
        assert_eq!(order.as_legacy(), None);
        let placed = OrderEvent {
            sequence: 1,
            at_ms: 1,
            data: EventData::Placed {
                customer_id: String::new(),
                cart_id: "c".into(),
                currency: "EUR".into(),
                lines: vec![],
                total_minor: 0,
                number: 1001,
                email: String::new(),
                charges: Box::default(),
            },
        };
        let import = imported(2, 2, legacy(OrderStatus::Confirmed, 0));
        assert!(Order::fold("o", "s", &[placed, import]).is_err());
    }
}
