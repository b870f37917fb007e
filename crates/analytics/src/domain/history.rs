//! An order's history (`Orders.ListOrderHistories`) replayed as the snapshots its live
//! `OrderChanged` events carried: one after each event the orders service publishes on
//! (placement, confirmation, failure, cancellation, refund, fulfilments, returns), each with the
//! order's money and refund state as of that event, its `version` (the event's sequence) and
//! `updated_at_ms` (the event's time). Folding them is folding what the live events said.

use mercato_proto::orders::order_event::Data;
use mercato_proto::orders::{Order, OrderEvents, OrderStatus, RefundLine};

fn count_refunded(order: &mut Order, lines: &[RefundLine]) {
    for r in lines {
        if let Some(l) = order.lines.iter_mut().find(|l| l.sku == r.sku) {
            l.refunded_quantity += r.quantity;
        }
    }
    let all = order.lines.iter().all(|l| l.refunded_quantity >= l.quantity);
    order.status = if all {
        OrderStatus::Refunded as i32
    } else {
        OrderStatus::PartiallyRefunded as i32
    };
}

/// The snapshots of `history`, oldest first; empty without a final state.
pub fn snapshots(history: &OrderEvents) -> Vec<Order> {
    let Some(last) = &history.state else {
        return Vec::new();
    };
    let mut order = Order {
        status: OrderStatus::Pending as i32,
        failure_code: 0,
        refunded_minor: 0,
        version: 0,
        ..last.clone()
    };
    for l in &mut order.lines {
        l.refunded_quantity = 0;
    }
    let mut out = Vec::new();
    for event in &history.events {
        let Some(data) = &event.data else { continue };
        order.version = event.sequence;
        order.updated_at_ms = event.at_ms;
        let published = match data {
            Data::Placed(_) => true,
            Data::PaymentRefunded(r) => {
                order.refunded_minor += r.amount_minor;
                false
            }
            Data::Confirmed(_) => {
                order.status = OrderStatus::Confirmed as i32;
                true
            }
            Data::Failed(f) => {
                order.status = OrderStatus::Failed as i32;
                order.failure_code = f.code;
                true
            }
            Data::Cancelled(_) => {
                order.status = OrderStatus::Cancelled as i32;
                true
            }
            Data::Refunded(r) => {
                count_refunded(&mut order, &r.lines);
                true
            }
            Data::ReturnCompleted(r) => {
                count_refunded(&mut order, &r.lines);
                true
            }
            // Published too (an `OrderChanged` each): a refund paid before one of them shows
            // in its snapshot, so the replay must bucket it there as well.
            Data::FulfilmentCreated(_)
            | Data::FulfilmentShipped(_)
            | Data::FulfilmentDelivered(_)
            | Data::ReturnRequested(_)
            | Data::ReturnApproved(_)
            | Data::ReturnRejected(_)
            | Data::ReturnReceived(_) => true,
            _ => false,
        };
        if published {
            out.push(order.clone());
        }
    }
    // The final state settles anything the replay above does not model.
    if last.version > order.version || out.is_empty() {
        out.push(last.clone());
    }
    out
}
