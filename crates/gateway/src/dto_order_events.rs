//! An order's history entry as the REST API shows it: `kind` and a `data` object with the
//! event's details, converted from the contract's typed event (one message per kind), matched
//! exhaustively so a new kind cannot be shown as something else.

use crate::dto_orders::OrderEventView;
use mercato_proto::names;
use mercato_proto::orders::order_event::Data;
use mercato_proto::orders::{self as pb, FailureCode, RefundLine};
use mercato_runtime::time::to_rfc3339;
use serde_json::{Value, json};

/// The view of one history entry; an entry without data (only a newer contract could send
/// one) shows as kind `unknown`.
pub fn event_view(e: pb::OrderEvent) -> OrderEventView {
    let kind = e.data.as_ref().map_or("unknown", names::order_event_kind);
    let mut data = e.data.map_or_else(|| json!({}), details);
    data["kind"] = Value::from(kind);
    OrderEventView {
        sequence: e.sequence,
        kind: kind.to_owned(),
        at: to_rfc3339(e.at_ms),
        data,
    }
}

fn details(data: Data) -> Value {
    match data {
        Data::Placed(p) => json!({
            "customer_id": p.customer_id, "cart_id": p.cart_id, "currency": p.currency,
            "lines": p.lines.iter().map(|l| json!({
                "sku": l.sku, "product_id": l.product_id, "title": l.title, "quantity": l.quantity,
                "unit_price_minor": l.unit_price_minor, "refunded_quantity": l.refunded_quantity,
            })).collect::<Vec<_>>(),
            "total_minor": p.total_minor,
        }),
        Data::StockReserved(r) => json!({"lines": r.lines.iter().map(|h| json!({
                "sku": h.sku, "location": h.location, "quantity": h.quantity,
            })).collect::<Vec<_>>()}),
        Data::StockUnavailable(m) => json!({"message": m.message}),
        Data::PaymentAuthorized(p) => json!({"intent_id": p.intent_id}),
        Data::PaymentDeclined(d) => json!({"intent_id": d.intent_id, "code": failure(d.code())}),
        Data::StockCommitted(_) => json!({}),
        Data::StockCommitFailed(m) => json!({"message": m.message}),
        Data::PaymentCaptured(a) => json!({"amount_minor": a.amount_minor}),
        Data::PaymentCaptureFailed(m) => json!({"message": m.message}),
        Data::StockReleased(_) => json!({}),
        Data::PaymentVoided(_) => json!({}),
        Data::StockRestocked(l) => json!({"lines": lines(&l.lines)}),
        Data::PaymentRefunded(k) => json!({"amount_minor": k.amount_minor, "key": k.key}),
        Data::Confirmed(_) => json!({}),
        Data::Failed(f) => json!({"code": failure(f.code())}),
        Data::CancelRequested(k) => json!({"key": k.key, "amount_minor": k.amount_minor}),
        Data::Cancelled(_) => json!({}),
        Data::RefundRequested(r) => json!({
            "key": r.key, "lines": lines(&r.lines), "amount_minor": r.amount_minor,
            "restock_all": r.restock_all,
        }),
        Data::Refunded(r) => json!({"lines": lines(&r.lines), "amount_minor": r.amount_minor}),
        Data::FulfilmentCreated(f) => json!({
            "fulfilment_id": f.id, "location": f.location, "lines": items(&f.lines),
            "carrier": f.carrier, "tracking_number": f.tracking_number, "tracking_url": f.tracking_url,
        }),
        Data::FulfilmentShipped(s) => json!({
            "fulfilment_id": s.fulfilment_id, "carrier": s.carrier,
            "tracking_number": s.tracking_number, "tracking_url": s.tracking_url,
        }),
        Data::FulfilmentDelivered(s) => json!({"fulfilment_id": s.fulfilment_id}),
        Data::ReturnRequested(r) => json!({
            "return_id": r.return_id, "lines": items(&r.lines), "reason": r.reason,
            "by_customer": r.by_customer,
        }),
        Data::ReturnApproved(r) => json!({"return_id": r.return_id}),
        Data::ReturnRejected(r) => json!({"return_id": r.return_id}),
        Data::ReturnReceived(r) => json!({
            "return_id": r.return_id, "amount_minor": r.amount_minor, "key": r.key,
            "lines": r.lines.iter().map(|l| json!({
                "sku": l.sku, "quantity": l.quantity, "sellable": l.sellable,
            })).collect::<Vec<_>>(),
            "restock": r.restock.iter().map(|h| json!({
                "sku": h.sku, "location": h.location, "quantity": h.quantity,
            })).collect::<Vec<_>>(),
        }),
        Data::ReturnCompleted(r) => json!({
            "return_id": r.return_id, "lines": lines(&r.lines), "amount_minor": r.amount_minor,
        }),
        Data::Imported(o) => json!({
            "legacy_key": o.legacy_key, "number": o.number, "status": o.status,
            "legacy_status": o.legacy_status, "currency": o.currency,
            "total_minor": o.total_minor, "refunded_minor": o.refunded_minor,
        }),
    }
}

fn items(lines: &[pb::ItemQuantity]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| json!({"sku": l.sku, "quantity": l.quantity}))
        .collect()
}

fn lines(lines: &[RefundLine]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| json!({"sku": l.sku, "quantity": l.quantity}))
        .collect()
}

fn failure(code: FailureCode) -> &'static str {
    names::failure_code(code).unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::orders::order_event;

    #[test]
    fn an_entry_shows_its_kind_and_details_as_before() {
        let view = event_view(pb::OrderEvent {
            sequence: 5,
            at_ms: 0,
            data: Some(Data::PaymentDeclined(order_event::PaymentDeclined {
                intent_id: "i1".into(),
                code: FailureCode::FraudBlocked.into(),
            })),
        });
        assert_eq!(view.kind, "payment_declined");
        assert_eq!(
            view.data,
            json!({"kind": "payment_declined", "intent_id": "i1", "code": "fraud_blocked"})
        );
        let empty = event_view(pb::OrderEvent {
            sequence: 6,
            at_ms: 0,
            data: Some(Data::Confirmed(order_event::Nothing {})),
        });
        assert_eq!(empty.data, json!({"kind": "confirmed"}));
    }
}
