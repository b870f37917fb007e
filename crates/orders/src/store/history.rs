//! The stored form of an order's history: the `order_events.data_json` record, version 1.
//!
//! The domain's [`EventData`] may be renamed and reshaped freely; what is written to the
//! append-only history is this record, converted at this edge, so every history ever written
//! keeps loading. Version 1 carries no version field (every row written so far is version 1);
//! an incompatible change adds a `"v": 2` record beside this one and keeps reading version 1.
//! `tests/fixtures/order-history-v1.jsonl` holds a history written by version 1, and a test
//! reads it back. Later additions are compatible with it: new kinds (fulfilments and returns,
//! `history_after_sale.rs`) and new fields that are absent when empty (the order number and
//! e-mail of `placed`).

use super::StoreError;
use super::history_after_sale::{AfterSale, after_sale_record};
use super::history_imported::StoredImport;
use crate::domain::charges::OrderCharges;
use crate::domain::order::{EventData, FailureCode, HeldLine, OrderLine, RefundLine};
use serde::{Deserialize, Serialize};

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize)]
struct Line {
    sku: String,
    product_id: String,
    title: String,
    quantity: i64,
    unit_price_minor: i64,
    #[serde(default)]
    refunded_quantity: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Held {
    sku: String,
    location: String,
    quantity: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Returned {
    pub(super) sku: String,
    pub(super) quantity: i64,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Failure {
    OutOfStock,
    PaymentDeclined,
    FraudBlocked,
    PaymentInvalid,
    PaymentFailed,
    StockCommitFailed,
    PaymentCaptureFailed,
}

/// One event as stored, tagged by its `kind`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RecordV1 {
    Placed {
        customer_id: String,
        /// The cart the order was placed from; every record written so far has it, but it is
        /// read as empty when absent, so a history without it still loads.
        #[serde(default)]
        cart_id: String,
        currency: String,
        lines: Vec<Line>,
        total_minor: i64,
        #[serde(default, skip_serializing_if = "is_zero")]
        number: i64,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        email: String,
        /// Absent in orders placed before pricing: charged their unit prices, nothing else.
        /// The record is `domain::charges::OrderCharges` as it is: every field it has gained
        /// since is `#[serde(default)]`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charges: Option<Box<OrderCharges>>,
    },
    StockReserved {
        lines: Vec<Held>,
    },
    StockUnavailable {
        message: String,
    },
    PaymentAuthorized {
        intent_id: String,
    },
    PaymentDeclined {
        intent_id: String,
        code: Failure,
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
        lines: Vec<Returned>,
    },
    PaymentRefunded {
        amount_minor: i64,
        key: String,
    },
    Confirmed,
    Failed {
        code: Failure,
    },
    CancelRequested {
        key: String,
        amount_minor: i64,
    },
    Cancelled,
    RefundRequested {
        key: String,
        lines: Vec<Returned>,
        amount_minor: i64,
        restock_all: bool,
    },
    Refunded {
        lines: Vec<Returned>,
        amount_minor: i64,
    },
    /// An order as a legacy shop had it (`history_imported.rs`).
    Imported(Box<StoredImport>),
    #[serde(untagged)]
    AfterSale(AfterSale),
}

/// The record of `data`, as JSON.
pub(super) fn to_json(data: &EventData) -> Result<String, StoreError> {
    serde_json::to_string(&RecordV1::from(data))
        .map_err(|e| StoreError::Unserializable(format!("order event: {e}")))
}

/// The event a stored record says; `sequence` names it in the error for a record that does
/// not read.
pub(super) fn from_json(sequence: i64, json: &str) -> Result<EventData, StoreError> {
    let record: RecordV1 = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("order event {sequence}: {e}")))?;
    Ok(record.into())
}

// Long by design (both conversions): one arm per kind of event, matched exhaustively.
impl From<&EventData> for RecordV1 {
    fn from(data: &EventData) -> Self {
        use EventData as E;
        match data {
            E::Placed {
                customer_id,
                cart_id,
                currency,
                lines,
                total_minor,
                number,
                email,
                charges,
            } => RecordV1::Placed {
                customer_id: customer_id.clone(),
                cart_id: cart_id.clone(),
                currency: currency.clone(),
                lines: lines.iter().map(Line::from).collect(),
                total_minor: *total_minor,
                number: *number,
                email: email.clone(),
                charges: (!charges.lines.is_empty()).then(|| charges.clone()),
            },
            E::StockReserved { lines } => RecordV1::StockReserved {
                lines: lines.iter().map(Held::from).collect(),
            },
            E::StockUnavailable { message } => RecordV1::StockUnavailable {
                message: message.clone(),
            },
            E::PaymentAuthorized { intent_id } => RecordV1::PaymentAuthorized {
                intent_id: intent_id.clone(),
            },
            E::PaymentDeclined { intent_id, code } => RecordV1::PaymentDeclined {
                intent_id: intent_id.clone(),
                code: (*code).into(),
            },
            E::StockCommitted => RecordV1::StockCommitted,
            E::StockCommitFailed { message } => RecordV1::StockCommitFailed {
                message: message.clone(),
            },
            E::PaymentCaptured { amount_minor } => RecordV1::PaymentCaptured {
                amount_minor: *amount_minor,
            },
            E::PaymentCaptureFailed { message } => RecordV1::PaymentCaptureFailed {
                message: message.clone(),
            },
            E::StockReleased => RecordV1::StockReleased,
            E::PaymentVoided => RecordV1::PaymentVoided,
            E::StockRestocked { lines } => RecordV1::StockRestocked {
                lines: returned(lines),
            },
            E::PaymentRefunded { amount_minor, key } => RecordV1::PaymentRefunded {
                amount_minor: *amount_minor,
                key: key.clone(),
            },
            E::Confirmed => RecordV1::Confirmed,
            E::Failed { code } => RecordV1::Failed { code: (*code).into() },
            E::CancelRequested { key, amount_minor } => RecordV1::CancelRequested {
                key: key.clone(),
                amount_minor: *amount_minor,
            },
            E::Cancelled => RecordV1::Cancelled,
            E::RefundRequested {
                key,
                lines,
                amount_minor,
                restock_all,
            } => RecordV1::RefundRequested {
                key: key.clone(),
                lines: returned(lines),
                amount_minor: *amount_minor,
                restock_all: *restock_all,
            },
            E::Refunded { lines, amount_minor } => RecordV1::Refunded {
                lines: returned(lines),
                amount_minor: *amount_minor,
            },
            E::Imported(legacy) => RecordV1::Imported(Box::new(StoredImport::from(&**legacy))),
            after_sale @ (E::FulfilmentCreated { .. }
            | E::FulfilmentShipped { .. }
            | E::FulfilmentDelivered { .. }
            | E::ReturnRequested { .. }
            | E::ReturnApproved { .. }
            | E::ReturnRejected { .. }
            | E::ReturnReceived { .. }
            | E::ReturnCompleted { .. }) => RecordV1::AfterSale(after_sale_record(after_sale)),
        }
    }
}

impl From<RecordV1> for EventData {
    fn from(record: RecordV1) -> Self {
        use RecordV1 as R;
        match record {
            R::Placed {
                customer_id,
                cart_id,
                currency,
                lines,
                total_minor,
                number,
                email,
                charges,
            } => EventData::Placed {
                customer_id,
                cart_id,
                currency,
                lines: lines.into_iter().map(OrderLine::from).collect(),
                total_minor,
                number,
                email,
                charges: charges.unwrap_or_default(),
            },
            R::StockReserved { lines } => EventData::StockReserved {
                lines: lines.into_iter().map(HeldLine::from).collect(),
            },
            R::StockUnavailable { message } => EventData::StockUnavailable { message },
            R::PaymentAuthorized { intent_id } => EventData::PaymentAuthorized { intent_id },
            R::PaymentDeclined { intent_id, code } => EventData::PaymentDeclined {
                intent_id,
                code: code.into(),
            },
            R::StockCommitted => EventData::StockCommitted,
            R::StockCommitFailed { message } => EventData::StockCommitFailed { message },
            R::PaymentCaptured { amount_minor } => EventData::PaymentCaptured { amount_minor },
            R::PaymentCaptureFailed { message } => EventData::PaymentCaptureFailed { message },
            R::StockReleased => EventData::StockReleased,
            R::PaymentVoided => EventData::PaymentVoided,
            R::StockRestocked { lines } => EventData::StockRestocked {
                lines: refund_lines(lines),
            },
            R::PaymentRefunded { amount_minor, key } => EventData::PaymentRefunded { amount_minor, key },
            R::Confirmed => EventData::Confirmed,
            R::Failed { code } => EventData::Failed { code: code.into() },
            R::CancelRequested { key, amount_minor } => EventData::CancelRequested { key, amount_minor },
            R::Cancelled => EventData::Cancelled,
            R::RefundRequested {
                key,
                lines,
                amount_minor,
                restock_all,
            } => EventData::RefundRequested {
                key,
                lines: refund_lines(lines),
                amount_minor,
                restock_all,
            },
            R::Refunded { lines, amount_minor } => EventData::Refunded {
                lines: refund_lines(lines),
                amount_minor,
            },
            R::Imported(record) => EventData::Imported(Box::new((*record).into())),
            R::AfterSale(record) => record.into(),
        }
    }
}

impl From<&OrderLine> for Line {
    fn from(l: &OrderLine) -> Self {
        Line {
            sku: l.sku.clone(),
            product_id: l.product_id.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            refunded_quantity: l.refunded_quantity,
        }
    }
}

impl From<Line> for OrderLine {
    fn from(l: Line) -> Self {
        OrderLine {
            sku: l.sku,
            product_id: l.product_id,
            title: l.title,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            refunded_quantity: l.refunded_quantity,
        }
    }
}

impl From<&HeldLine> for Held {
    fn from(h: &HeldLine) -> Self {
        Held {
            sku: h.sku.clone(),
            location: h.location.clone(),
            quantity: h.quantity,
        }
    }
}

impl From<Held> for HeldLine {
    fn from(h: Held) -> Self {
        HeldLine {
            sku: h.sku,
            location: h.location,
            quantity: h.quantity,
        }
    }
}

pub(super) fn returned(lines: &[RefundLine]) -> Vec<Returned> {
    lines
        .iter()
        .map(|l| Returned {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect()
}

pub(super) fn refund_lines(lines: Vec<Returned>) -> Vec<RefundLine> {
    lines
        .into_iter()
        .map(|l| RefundLine {
            sku: l.sku,
            quantity: l.quantity,
        })
        .collect()
}

impl From<FailureCode> for Failure {
    fn from(code: FailureCode) -> Self {
        match code {
            FailureCode::OutOfStock => Failure::OutOfStock,
            FailureCode::PaymentDeclined => Failure::PaymentDeclined,
            FailureCode::FraudBlocked => Failure::FraudBlocked,
            FailureCode::PaymentInvalid => Failure::PaymentInvalid,
            FailureCode::PaymentFailed => Failure::PaymentFailed,
            FailureCode::StockCommitFailed => Failure::StockCommitFailed,
            FailureCode::PaymentCaptureFailed => Failure::PaymentCaptureFailed,
        }
    }
}

impl From<Failure> for FailureCode {
    fn from(code: Failure) -> Self {
        match code {
            Failure::OutOfStock => FailureCode::OutOfStock,
            Failure::PaymentDeclined => FailureCode::PaymentDeclined,
            Failure::FraudBlocked => FailureCode::FraudBlocked,
            Failure::PaymentInvalid => FailureCode::PaymentInvalid,
            Failure::PaymentFailed => FailureCode::PaymentFailed,
            Failure::StockCommitFailed => FailureCode::StockCommitFailed,
            Failure::PaymentCaptureFailed => FailureCode::PaymentCaptureFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Order, OrderEvent, OrderStatus};

    /// Histories written by version 1 (a sale partly refunded, a sale cancelled, and checkouts
    /// that failed every way), one JSON object per line: `order`, `sequence`, `at_ms` and the
    /// stored `data_json` as it is in the table.
    const FIXTURE: &str = include_str!("../../tests/fixtures/order-history-v1.jsonl");

    fn fixture() -> Vec<(String, i64, i64, String)> {
        FIXTURE
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let row: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    row["order"].as_str().unwrap().to_owned(),
                    row["sequence"].as_i64().unwrap(),
                    row["at_ms"].as_i64().unwrap(),
                    row["data_json"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn history(order: &str) -> Vec<OrderEvent> {
        fixture()
            .into_iter()
            .filter(|(o, ..)| o == order)
            .map(|(_, sequence, at_ms, json)| OrderEvent {
                sequence,
                at_ms,
                data: from_json(sequence, &json).unwrap(),
            })
            .collect()
    }

    #[test]
    fn every_stored_record_reads_back_and_is_written_again_byte_for_byte() {
        let rows = fixture();
        let mut kinds: Vec<&str> = Vec::new();
        for (order, sequence, _, json) in &rows {
            let data = from_json(*sequence, json).unwrap_or_else(|e| panic!("{order} #{sequence}: {e}"));
            assert_eq!(&to_json(&data).unwrap(), json, "{order} #{sequence}");
            kinds.push(data.kind());
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(
            kinds.len(),
            19,
            "the fixture holds every kind of event: {kinds:?}"
        );
    }

    #[test]
    fn a_stored_history_folds_into_the_order_it_was() {
        let sale = Order::fold("sale", "s", &history("sale")).unwrap().unwrap();
        assert_eq!(sale.status, OrderStatus::PartiallyRefunded);
        assert_eq!((sale.total_minor, sale.refunded_minor), (2500, 1000));
        assert_eq!(sale.lines[0].refunded_quantity, 1);
        assert!(sale.settled());
        let cancelled = Order::fold("cancelled", "s", &history("cancelled"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (cancelled.status, cancelled.refunded_minor),
            (OrderStatus::Cancelled, 800)
        );
        for failed in ["commit", "capture"] {
            let order = Order::fold(failed, "s", &history(failed)).unwrap().unwrap();
            assert_eq!(order.status, OrderStatus::Failed, "{failed}");
            assert!(order.settled(), "{failed}");
        }
        let declined = Order::fold("declined", "s", &history("declined"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (declined.status, declined.failure_code),
            (OrderStatus::Failed, Some(FailureCode::FraudBlocked))
        );
        let unavailable = Order::fold("unavailable", "s", &history("unavailable"))
            .unwrap()
            .unwrap();
        assert_eq!(unavailable.failure_code, Some(FailureCode::OutOfStock));
    }

    #[test]
    fn the_order_keeps_its_cart_and_a_placed_record_without_one_still_reads() {
        let sale = Order::fold("sale", "s", &history("sale")).unwrap().unwrap();
        assert_eq!(sale.cart_id, "c-sale");
        let cartless = r#"{"kind":"placed","customer_id":"","currency":"EUR","lines":[],"total_minor":0}"#;
        match from_json(1, cartless).unwrap() {
            EventData::Placed { cart_id, .. } => assert_eq!(cart_id, ""),
            other => panic!("read as {}", other.kind()),
        }
    }

    #[test]
    fn a_record_that_does_not_read_names_its_sequence() {
        let e = from_json(7, r#"{"kind":"teleported"}"#).unwrap_err();
        assert!(
            matches!(e, StoreError::Corrupt(ref m) if m.starts_with("order event 7")),
            "{e}"
        );
    }
}
