//! Fulfilments and returns at the contract's edge: the order's after-sale fields, its lines'
//! fulfilled and returned units, and the after-sale history events as `orders.proto` messages.

use crate::domain::fulfilment::{
    Fulfilment, FulfilmentStatus, Return, ReturnStatus, ReturnedLine, ShipmentStatus, Tracking,
};
use crate::domain::order::{EventData, OrderLine, RefundLine};
use crate::domain::{Order, OrderStatus};
use mercato_proto::orders as pb;
use mercato_proto::orders::order_event::Data;

/// The after-sale part of an order's message (the rest is `wire::order`'s).
pub fn order_after_sale(order: &Order) -> pb::Order {
    pb::Order {
        number: order.number,
        email: order.email.clone(),
        fulfilment_status: fulfilment_status(order.fulfilment_status()).into(),
        fulfilments: order.fulfilments.iter().map(fulfilment).collect(),
        returns: order.returns.iter().map(return_message).collect(),
        ..pb::Order::default()
    }
}

/// One of the order's lines, with the units sent and returned.
pub fn order_line_of(order: &Order, line: &OrderLine) -> pb::OrderLine {
    pb::OrderLine {
        fulfilled_quantity: order.fulfilled_quantity(&line.sku),
        returned_quantity: order.returned_quantity(&line.sku),
        ..crate::wire::order_line(line)
    }
}

pub fn fulfilment_status(status: FulfilmentStatus) -> pb::FulfilmentStatus {
    match status {
        FulfilmentStatus::Unfulfilled => pb::FulfilmentStatus::Unfulfilled,
        FulfilmentStatus::PartiallyFulfilled => pb::FulfilmentStatus::PartiallyFulfilled,
        FulfilmentStatus::Fulfilled => pb::FulfilmentStatus::Fulfilled,
        FulfilmentStatus::Shipped => pb::FulfilmentStatus::Shipped,
        FulfilmentStatus::Delivered => pb::FulfilmentStatus::Delivered,
    }
}

/// A filter's fulfilment status; `None` for unspecified (no filter) or unknown values.
pub fn fulfilment_status_filter(value: i32) -> Option<FulfilmentStatus> {
    match pb::FulfilmentStatus::try_from(value).ok()? {
        pb::FulfilmentStatus::Unspecified => None,
        pb::FulfilmentStatus::Unfulfilled => Some(FulfilmentStatus::Unfulfilled),
        pb::FulfilmentStatus::PartiallyFulfilled => Some(FulfilmentStatus::PartiallyFulfilled),
        pb::FulfilmentStatus::Fulfilled => Some(FulfilmentStatus::Fulfilled),
        pb::FulfilmentStatus::Shipped => Some(FulfilmentStatus::Shipped),
        pb::FulfilmentStatus::Delivered => Some(FulfilmentStatus::Delivered),
    }
}

/// A filter's order status; `None` for unspecified (no filter) or unknown values.
pub fn order_status_filter(value: i32) -> Option<OrderStatus> {
    match pb::OrderStatus::try_from(value).ok()? {
        pb::OrderStatus::Unspecified => None,
        pb::OrderStatus::Pending => Some(OrderStatus::Pending),
        pb::OrderStatus::Confirmed => Some(OrderStatus::Confirmed),
        pb::OrderStatus::Failed => Some(OrderStatus::Failed),
        pb::OrderStatus::Cancelled => Some(OrderStatus::Cancelled),
        pb::OrderStatus::Refunded => Some(OrderStatus::Refunded),
        pb::OrderStatus::PartiallyRefunded => Some(OrderStatus::PartiallyRefunded),
    }
}

fn shipment_status(status: ShipmentStatus) -> pb::ShipmentStatus {
    match status {
        ShipmentStatus::Pending => pb::ShipmentStatus::Pending,
        ShipmentStatus::Shipped => pb::ShipmentStatus::Shipped,
        ShipmentStatus::Delivered => pb::ShipmentStatus::Delivered,
    }
}

fn return_status(status: ReturnStatus) -> pb::ReturnStatus {
    match status {
        ReturnStatus::Requested => pb::ReturnStatus::Requested,
        ReturnStatus::Approved => pb::ReturnStatus::Approved,
        ReturnStatus::Rejected => pb::ReturnStatus::Rejected,
        ReturnStatus::Received => pb::ReturnStatus::Received,
        ReturnStatus::Completed => pb::ReturnStatus::Completed,
    }
}

fn items(lines: &[RefundLine]) -> Vec<pb::ItemQuantity> {
    lines
        .iter()
        .map(|l| pb::ItemQuantity {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect()
}

fn return_lines(lines: &[ReturnedLine]) -> Vec<pb::ReturnLine> {
    lines
        .iter()
        .map(|l| pb::ReturnLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
            sellable: l.sellable,
        })
        .collect()
}

fn fulfilment(f: &Fulfilment) -> pb::Fulfilment {
    pb::Fulfilment {
        id: f.id.clone(),
        location: f.location.clone(),
        lines: items(&f.lines),
        carrier: f.tracking.carrier.clone(),
        tracking_number: f.tracking.number.clone(),
        tracking_url: f.tracking.url.clone(),
        status: shipment_status(f.status).into(),
        created_at_ms: f.created_at_ms,
        shipped_at_ms: f.shipped_at_ms,
        delivered_at_ms: f.delivered_at_ms,
    }
}

fn return_message(r: &Return) -> pb::Return {
    pb::Return {
        id: r.id.clone(),
        status: return_status(r.status).into(),
        lines: return_lines(&r.lines),
        reason: r.reason.clone(),
        requested_by_customer: r.by_customer,
        refund_minor: r.refund_minor,
        requested_at_ms: r.requested_at_ms,
        updated_at_ms: r.updated_at_ms,
    }
}

fn shipment(id: &str, t: &Tracking) -> pb::order_event::ShipmentUpdate {
    pb::order_event::ShipmentUpdate {
        fulfilment_id: id.to_owned(),
        carrier: t.carrier.clone(),
        tracking_number: t.number.clone(),
        tracking_url: t.url.clone(),
    }
}

/// An after-sale history event as the contract sends it (`wire::event` calls this for exactly
/// these kinds).
pub fn event_data(data: &EventData) -> Data {
    use EventData as E;
    let return_ref = |id: &str| pb::order_event::ReturnRef {
        return_id: id.to_owned(),
    };
    match data {
        E::FulfilmentCreated {
            fulfilment_id,
            location,
            lines,
            tracking,
            ..
        } => Data::FulfilmentCreated(pb::Fulfilment {
            id: fulfilment_id.clone(),
            location: location.clone(),
            lines: items(lines),
            carrier: tracking.carrier.clone(),
            tracking_number: tracking.number.clone(),
            tracking_url: tracking.url.clone(),
            status: pb::ShipmentStatus::Pending.into(),
            ..pb::Fulfilment::default()
        }),
        E::FulfilmentShipped {
            fulfilment_id,
            tracking,
        } => Data::FulfilmentShipped(shipment(fulfilment_id, tracking)),
        E::FulfilmentDelivered { fulfilment_id } => {
            Data::FulfilmentDelivered(shipment(fulfilment_id, &Tracking::default()))
        }
        E::ReturnRequested {
            return_id,
            lines,
            reason,
            by_customer,
            ..
        } => Data::ReturnRequested(pb::order_event::ReturnRequested {
            return_id: return_id.clone(),
            lines: items(lines),
            reason: reason.clone(),
            by_customer: *by_customer,
        }),
        E::ReturnApproved { return_id } => Data::ReturnApproved(return_ref(return_id)),
        E::ReturnRejected { return_id } => Data::ReturnRejected(return_ref(return_id)),
        E::ReturnReceived {
            return_id,
            lines,
            amount_minor,
            key,
            restock,
        } => Data::ReturnReceived(pb::order_event::ReturnReceived {
            return_id: return_id.clone(),
            lines: return_lines(lines),
            amount_minor: *amount_minor,
            key: key.clone(),
            restock: restock
                .iter()
                .map(|h| pb::order_event::HeldLine {
                    sku: h.sku.clone(),
                    location: h.location.clone(),
                    quantity: h.quantity,
                })
                .collect(),
        }),
        E::ReturnCompleted {
            return_id,
            lines,
            amount_minor,
        } => Data::ReturnCompleted(pb::order_event::ReturnCompleted {
            return_id: return_id.clone(),
            lines: lines
                .iter()
                .map(|l| pb::RefundLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            amount_minor: *amount_minor,
        }),
        other => unreachable!("wire.rs converts {} itself", other.kind()),
    }
}
