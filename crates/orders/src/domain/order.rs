//! Orders as an append-only history: the event kinds and the fold that derives an order's
//! state (and its saga's) from them.

use super::charges::OrderCharges;
use super::fulfilment::{Fulfilment, Return, ReturnedLine, Tracking};
use super::imported::{ImportOrigin, LegacyOrder};
use super::saga::{self, Command, Saga, Terminal};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub refunded_quantity: i64,
}

/// Units of a SKU held (or committed) at one location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLine {
    pub sku: String,
    pub location: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLine {
    pub sku: String,
    pub quantity: i64,
}

/// What happened to an order; the `kind` is stored beside the JSON of the whole value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    Placed {
        customer_id: String,
        cart_id: String,
        currency: String,
        lines: Vec<OrderLine>,
        total_minor: i64,
        /// The store's order number, assigned in the transaction that places the order.
        number: i64,
        /// The e-mail given at checkout, lower-cased; empty when none was.
        email: String,
        /// What the order charged (`total_minor` is their total), line by line.
        charges: Box<OrderCharges>,
    },
    StockReserved {
        lines: Vec<HeldLine>,
    },
    StockUnavailable {
        message: String,
    },
    PaymentAuthorized {
        intent_id: String,
    },
    PaymentDeclined {
        intent_id: String,
        code: FailureCode,
    },
    StockCommitted,
    StockCommitFailed {
        message: String,
    },
    PaymentCaptured {
        amount_minor: i64,
    },
    PaymentCaptureFailed {
        message: String,
    },
    StockReleased,
    PaymentVoided,
    StockRestocked {
        lines: Vec<RefundLine>,
    },
    PaymentRefunded {
        amount_minor: i64,
        key: String,
    },
    Confirmed,
    Failed {
        code: FailureCode,
    },
    CancelRequested {
        key: String,
        amount_minor: i64,
    },
    Cancelled,
    RefundRequested {
        key: String,
        lines: Vec<RefundLine>,
        amount_minor: i64,
        restock_all: bool,
    },
    Refunded {
        lines: Vec<RefundLine>,
        amount_minor: i64,
    },
    // After the sale (`fulfilment.rs`): fulfilments and returns. Only a return's receipt
    // reopens the saga (refund and restock); the others change no saga state.
    FulfilmentCreated {
        fulfilment_id: String,
        key: String,
        location: String,
        lines: Vec<RefundLine>,
        tracking: Tracking,
    },
    FulfilmentShipped {
        fulfilment_id: String,
        tracking: Tracking,
    },
    FulfilmentDelivered {
        fulfilment_id: String,
    },
    ReturnRequested {
        return_id: String,
        key: String,
        lines: Vec<RefundLine>,
        reason: String,
        by_customer: bool,
    },
    ReturnApproved {
        return_id: String,
    },
    ReturnRejected {
        return_id: String,
    },
    /// Refund `amount_minor` under `key`, and put `restock` back, keyed by `key` too.
    ReturnReceived {
        return_id: String,
        lines: Vec<ReturnedLine>,
        amount_minor: i64,
        key: String,
        restock: Vec<HeldLine>,
    },
    /// The end of a received return's refund and restock.
    ReturnCompleted {
        return_id: String,
        lines: Vec<RefundLine>,
        amount_minor: i64,
    },
    /// The order as a legacy shop had it (`imported.rs`): the first event of an imported order,
    /// or a later one when the source changed it.
    Imported(Box<LegacyOrder>),
}

impl EventData {
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::Placed { .. } => "placed",
            EventData::StockReserved { .. } => "stock_reserved",
            EventData::StockUnavailable { .. } => "stock_unavailable",
            EventData::PaymentAuthorized { .. } => "payment_authorized",
            EventData::PaymentDeclined { .. } => "payment_declined",
            EventData::StockCommitted => "stock_committed",
            EventData::StockCommitFailed { .. } => "stock_commit_failed",
            EventData::PaymentCaptured { .. } => "payment_captured",
            EventData::PaymentCaptureFailed { .. } => "payment_capture_failed",
            EventData::StockReleased => "stock_released",
            EventData::PaymentVoided => "payment_voided",
            EventData::StockRestocked { .. } => "stock_restocked",
            EventData::PaymentRefunded { .. } => "payment_refunded",
            EventData::Confirmed => "confirmed",
            EventData::Failed { .. } => "failed",
            EventData::CancelRequested { .. } => "cancel_requested",
            EventData::Cancelled => "cancelled",
            EventData::RefundRequested { .. } => "refund_requested",
            EventData::Refunded { .. } => "refunded",
            EventData::FulfilmentCreated { .. } => "fulfilment_created",
            EventData::FulfilmentShipped { .. } => "fulfilment_shipped",
            EventData::FulfilmentDelivered { .. } => "fulfilment_delivered",
            EventData::ReturnRequested { .. } => "return_requested",
            EventData::ReturnApproved { .. } => "return_approved",
            EventData::ReturnRejected { .. } => "return_rejected",
            EventData::ReturnReceived { .. } => "return_received",
            EventData::ReturnCompleted { .. } => "return_completed",
            EventData::Imported(_) => "imported",
        }
    }

    /// Whether this is a fulfilment or return step that changes no saga state (the saga of a
    /// settled order lets it pass).
    pub fn is_after_sale_step(&self) -> bool {
        matches!(
            self,
            EventData::FulfilmentCreated { .. }
                | EventData::FulfilmentShipped { .. }
                | EventData::FulfilmentDelivered { .. }
                | EventData::ReturnRequested { .. }
                | EventData::ReturnApproved { .. }
                | EventData::ReturnRejected { .. }
        )
    }

    /// Whether this event ends a checkout (the answer a replayed checkout gets).
    pub fn ends_checkout(&self) -> bool {
        matches!(self, EventData::Confirmed | EventData::Failed { .. })
    }
}

/// One entry of an order's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    /// 1, 2, 3… per order; unique, so two writers can never both append the same step.
    pub sequence: i64,
    pub at_ms: i64,
    pub data: EventData,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderStatus {
    #[default]
    Pending,
    Confirmed,
    Failed,
    Cancelled,
    Refunded,
    PartiallyRefunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::PartiallyRefunded => "partially_refunded",
        }
    }
}

/// Why a checkout failed. Stored in the history by its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCode {
    OutOfStock,
    /// The card issuer declined.
    PaymentDeclined,
    FraudBlocked,
    /// The payments service refused the details themselves.
    PaymentInvalid,
    /// The payments service refused for another lasting reason.
    PaymentFailed,
    StockCommitFailed,
    PaymentCaptureFailed,
}

/// An order as its history says it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub store_id: String,
    pub customer_id: String,
    pub cart_id: String,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub total_minor: i64,
    pub status: OrderStatus,
    /// Why the checkout failed; `None` unless the status is `Failed`.
    pub failure_code: Option<FailureCode>,
    pub payment_intent_id: String,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    /// Where the reserved units are held.
    pub held: Vec<HeldLine>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The sequence of the last event applied.
    pub version: i64,
    pub saga: Saga,
    /// The store's order number (`#1001`); 0 for orders placed before numbers were kept.
    pub number: i64,
    /// The e-mail given at checkout, lower-cased; empty when none was.
    pub email: String,
    /// What was sent, oldest first (`fulfilment.rs`).
    pub fulfilments: Vec<Fulfilment>,
    /// What is being or was returned, oldest first.
    pub returns: Vec<Return>,
    /// What the checkout charged, line by line (`domain::charges`); empty for orders placed
    /// before pricing.
    pub charges: OrderCharges,
    /// Where an imported order came from (`imported.rs`); `None` for one placed here.
    pub imported: Option<Box<ImportOrigin>>,
}

impl Order {
    /// Applies the next event: the saga moves as [`saga::step`] says and the order's visible
    /// fields follow. Returns the commands the saga asks for next.
    pub fn apply(&mut self, event: &OrderEvent) -> Result<Vec<Command>, saga::Illegal> {
        let (next, commands) = saga::step(&self.saga, &event.data)?;
        self.saga = next;
        self.version = event.sequence;
        self.updated_at_ms = event.at_ms;
        match &event.data {
            EventData::Placed {
                customer_id,
                cart_id,
                currency,
                lines,
                total_minor,
                number,
                email,
                charges,
            } => {
                self.charges = (**charges).clone();
                self.number = *number;
                self.email = email.clone();
                self.customer_id = customer_id.clone();
                self.cart_id = cart_id.clone();
                self.currency = currency.clone();
                self.lines = lines.clone();
                self.total_minor = *total_minor;
                self.status = OrderStatus::Pending;
                self.created_at_ms = event.at_ms;
            }
            EventData::StockReserved { lines } => self.held = lines.clone(),
            EventData::PaymentAuthorized { intent_id } => self.payment_intent_id = intent_id.clone(),
            EventData::PaymentDeclined { intent_id, .. } => self.payment_intent_id = intent_id.clone(),
            EventData::PaymentCaptured { amount_minor } => self.captured_minor = *amount_minor,
            EventData::PaymentRefunded { amount_minor, .. } => self.refunded_minor += amount_minor,
            EventData::Confirmed => self.status = OrderStatus::Confirmed,
            EventData::Failed { code } => {
                self.status = OrderStatus::Failed;
                self.failure_code = Some(*code);
            }
            EventData::Cancelled => self.status = OrderStatus::Cancelled,
            EventData::Refunded { lines, .. } => self.count_refunded(lines),
            EventData::Imported(legacy) => self.take_legacy(legacy),
            _ => self.apply_after_sale(event),
        }
        Ok(commands)
    }

    /// Counts `lines` as refunded; the status says whether every unit now is.
    pub(super) fn count_refunded(&mut self, lines: &[RefundLine]) {
        for r in lines {
            if let Some(l) = self.lines.iter_mut().find(|l| l.sku == r.sku) {
                l.refunded_quantity += r.quantity;
            }
        }
        let all = self.lines.iter().all(|l| l.refunded_quantity >= l.quantity);
        self.status = if all {
            OrderStatus::Refunded
        } else {
            OrderStatus::PartiallyRefunded
        };
    }

    /// Folds a history (oldest first); `None` when it is empty.
    pub fn fold(id: &str, store_id: &str, events: &[OrderEvent]) -> Result<Option<Order>, saga::Illegal> {
        if events.is_empty() {
            return Ok(None);
        }
        let mut order = Order {
            id: id.to_owned(),
            store_id: store_id.to_owned(),
            ..Order::default()
        };
        for e in events {
            order.apply(e)?;
        }
        Ok(Some(order))
    }

    /// The commands due now (for a saga picked up again).
    pub fn due(&self) -> Vec<Command> {
        saga::resume(&self.saga)
    }

    /// Whether the saga is over (nothing for the driver to do).
    pub fn settled(&self) -> bool {
        self.saga.is_done()
    }

    /// The terminal the saga is heading for, if it is compensating or done.
    pub fn heading_for(&self) -> Option<&Terminal> {
        match &self.saga {
            Saga::Compensating { then, .. } => Some(then),
            Saga::Done { terminal } => Some(terminal),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(sequence: i64, data: EventData) -> OrderEvent {
        OrderEvent {
            sequence,
            at_ms: sequence * 1000,
            data,
        }
    }

    fn history() -> Vec<OrderEvent> {
        vec![
            ev(
                1,
                EventData::Placed {
                    customer_id: "c".into(),
                    cart_id: "k".into(),
                    currency: "EUR".into(),
                    lines: vec![OrderLine {
                        sku: "A".into(),
                        product_id: "p".into(),
                        title: "A".into(),
                        quantity: 2,
                        unit_price_minor: 500,
                        refunded_quantity: 0,
                    }],
                    total_minor: 1000,
                    number: 1001,
                    email: String::new(),
                    charges: Box::default(),
                },
            ),
            ev(2, EventData::StockReserved { lines: vec![] }),
            ev(
                3,
                EventData::PaymentAuthorized {
                    intent_id: "i".into(),
                },
            ),
            ev(4, EventData::StockCommitted),
            ev(5, EventData::PaymentCaptured { amount_minor: 1000 }),
            ev(6, EventData::Confirmed),
            ev(
                7,
                EventData::RefundRequested {
                    key: "r".into(),
                    lines: vec![RefundLine {
                        sku: "A".into(),
                        quantity: 1,
                    }],
                    amount_minor: 500,
                    restock_all: false,
                },
            ),
            ev(
                8,
                EventData::PaymentRefunded {
                    amount_minor: 500,
                    key: "r".into(),
                },
            ),
            ev(
                9,
                EventData::StockRestocked {
                    lines: vec![RefundLine {
                        sku: "A".into(),
                        quantity: 1,
                    }],
                },
            ),
            ev(
                10,
                EventData::Refunded {
                    lines: vec![RefundLine {
                        sku: "A".into(),
                        quantity: 1,
                    }],
                    amount_minor: 500,
                },
            ),
        ]
    }

    #[test]
    fn folding_the_history_gives_the_order_and_a_prefix_gives_it_as_it_was() {
        let events = history();
        let now = Order::fold("o", "s", &events).unwrap().unwrap();
        assert_eq!(now.status, OrderStatus::PartiallyRefunded);
        assert_eq!(now.refunded_minor, 500);
        assert_eq!(now.lines[0].refunded_quantity, 1);
        assert!(now.settled());
        let then = Order::fold("o", "s", &events[..6]).unwrap().unwrap();
        assert_eq!(then.status, OrderStatus::Confirmed);
        assert_eq!(then.version, 6);
        let pending = Order::fold("o", "s", &events[..3]).unwrap().unwrap();
        assert_eq!(pending.status, OrderStatus::Pending);
        assert_eq!(pending.due(), vec![Command::CommitStock]);
    }
}
