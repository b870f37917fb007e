//! The after-sale rules: what may be sent and returned, the fulfilment status, where returned
//! units go back, and what a return refunds.

use super::*;
use crate::domain::order::{EventData, OrderLine};

fn ev(sequence: i64, data: EventData) -> OrderEvent {
    OrderEvent {
        sequence,
        at_ms: sequence * 1000,
        data,
    }
}

fn line(sku: &str, quantity: i64, price: i64) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        product_id: format!("p-{sku}"),
        title: sku.into(),
        quantity,
        unit_price_minor: price,
        refunded_quantity: 0,
    }
}

fn units(sku: &str, quantity: i64) -> RefundLine {
    RefundLine {
        sku: sku.into(),
        quantity,
    }
}

/// A confirmed order of 2 A at 500 and 1 B at 1200, paid 2200.
fn sale() -> Vec<OrderEvent> {
    vec![
        ev(
            1,
            EventData::Placed {
                customer_id: "c".into(),
                cart_id: "k".into(),
                currency: "EUR".into(),
                lines: vec![line("A", 2, 500), line("B", 1, 1200)],
                total_minor: 2200,
                number: 1001,
                email: "ann@example.com".into(),
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
        ev(5, EventData::PaymentCaptured { amount_minor: 2200 }),
        ev(6, EventData::Confirmed),
    ]
}

fn fulfilled(sequence: i64, id: &str, location: &str, lines: Vec<RefundLine>) -> OrderEvent {
    ev(
        sequence,
        EventData::FulfilmentCreated {
            fulfilment_id: id.into(),
            key: format!("k-{id}"),
            location: location.into(),
            lines,
            tracking: Tracking {
                carrier: "DHL".into(),
                number: "123".into(),
                url: String::new(),
            },
        },
    )
}

fn fold(events: &[OrderEvent]) -> Order {
    Order::fold("o", "s", events).unwrap().unwrap()
}

#[test]
fn a_partial_fulfilment_leaves_the_rest_to_send_and_shipping_and_delivery_follow_it() {
    let mut events = sale();
    events.push(fulfilled(7, "f1", "east", vec![units("A", 1)]));
    let order = fold(&events);
    assert_eq!(order.number, 1001);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::PartiallyFulfilled);
    assert_eq!(
        (order.fulfillable_quantity("A"), order.fulfillable_quantity("B")),
        (1, 1)
    );
    assert!(order.settled(), "fulfilment leaves the saga as it was");

    events.push(fulfilled(8, "f2", "west", vec![units("A", 1), units("B", 1)]));
    assert_eq!(fold(&events).fulfilment_status(), FulfilmentStatus::Fulfilled);
    events.push(ev(
        9,
        EventData::FulfilmentShipped {
            fulfilment_id: "f1".into(),
            tracking: Tracking {
                url: "https://track.example/123".into(),
                ..Tracking::default()
            },
        },
    ));
    let order = fold(&events);
    assert_eq!(
        order.fulfilment_status(),
        FulfilmentStatus::Fulfilled,
        "f2 not shipped"
    );
    let f1 = order.fulfilment("f1").unwrap();
    assert_eq!(
        (f1.status, f1.tracking.carrier.as_str(), f1.tracking.url.as_str()),
        (ShipmentStatus::Shipped, "DHL", "https://track.example/123")
    );
    events.push(ev(
        10,
        EventData::FulfilmentDelivered {
            fulfilment_id: "f2".into(),
        },
    ));
    assert_eq!(fold(&events).fulfilment_status(), FulfilmentStatus::Shipped);
    events.push(ev(
        11,
        EventData::FulfilmentDelivered {
            fulfilment_id: "f1".into(),
        },
    ));
    let order = fold(&events);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Delivered);
    assert_eq!(
        order.fulfilment("f2").unwrap().shipped_at_ms,
        10_000,
        "delivered implies shipped"
    );
}

#[test]
fn a_received_return_refunds_its_lines_restocks_the_sellable_units_where_they_were_sent_from() {
    let mut events = sale();
    events.push(fulfilled(7, "f1", "east", vec![units("A", 2), units("B", 1)]));
    events.push(ev(
        8,
        EventData::ReturnRequested {
            return_id: "r1".into(),
            key: "rk".into(),
            lines: vec![units("A", 2)],
            reason: "too small".into(),
            by_customer: true,
        },
    ));
    let order = fold(&events);
    assert_eq!(
        (order.returnable_quantity("A"), order.returnable_quantity("B")),
        (0, 1)
    );
    let received = vec![
        ReturnedLine {
            sku: "A".into(),
            quantity: 1,
            sellable: true,
        },
        ReturnedLine {
            sku: "A".into(),
            quantity: 1,
            sellable: false,
        },
    ];
    assert_eq!(returned_amount(&order, &received), 1000);
    let plan = order.restock_plan(&received);
    assert_eq!(
        plan,
        vec![HeldLine {
            sku: "A".into(),
            location: "east".into(),
            quantity: 1
        }]
    );
    events.push(ev(
        9,
        EventData::ReturnReceived {
            return_id: "r1".into(),
            lines: received,
            amount_minor: 1000,
            key: "return:o:r1".into(),
            restock: plan.clone(),
        },
    ));
    let mut order = fold(&events);
    assert_eq!(order.return_of("r1").unwrap().status, ReturnStatus::Received);
    assert_eq!(
        order.due(),
        vec![super::super::saga::Command::RefundPayment {
            amount_minor: 1000,
            key: "return:o:r1".into()
        }]
    );
    for (sequence, data) in [
        (
            10,
            EventData::PaymentRefunded {
                amount_minor: 1000,
                key: "return:o:r1".into(),
            },
        ),
        (
            11,
            EventData::StockRestocked {
                lines: vec![units("A", 1)],
            },
        ),
        (
            12,
            EventData::ReturnCompleted {
                return_id: "r1".into(),
                lines: vec![units("A", 2)],
                amount_minor: 1000,
            },
        ),
    ] {
        order.apply(&ev(sequence, data)).unwrap();
    }
    assert!(order.settled());
    assert_eq!(order.return_of("r1").unwrap().status, ReturnStatus::Completed);
    assert_eq!(order.status, crate::domain::OrderStatus::PartiallyRefunded);
    assert_eq!((order.refunded_minor, order.returned_quantity("A")), (1000, 2));
    // Returned units were sent: nothing more is owed, and the order stays fulfilled.
    assert_eq!(order.fulfillable_quantity("A"), 0);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Fulfilled);
    // What a return refunds never exceeds what is still captured.
    let all = [ReturnedLine {
        sku: "B".into(),
        quantity: 5,
        sellable: true,
    }];
    assert_eq!(returned_amount(&order, &all), 1200);
}

#[test]
fn units_refunded_before_they_were_sent_are_no_longer_owed() {
    let mut events = sale();
    events.push(ev(
        7,
        EventData::RefundRequested {
            key: "r".into(),
            lines: vec![units("B", 1)],
            amount_minor: 1200,
            restock_all: false,
        },
    ));
    events.push(ev(
        8,
        EventData::PaymentRefunded {
            amount_minor: 1200,
            key: "r".into(),
        },
    ));
    events.push(ev(
        9,
        EventData::StockRestocked {
            lines: vec![units("B", 1)],
        },
    ));
    events.push(ev(
        10,
        EventData::Refunded {
            lines: vec![units("B", 1)],
            amount_minor: 1200,
        },
    ));
    events.push(fulfilled(11, "f1", "east", vec![units("A", 2)]));
    let order = fold(&events);
    assert_eq!(order.fulfillable_quantity("B"), 0);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Fulfilled);
}

#[test]
fn a_return_refunds_what_its_units_paid_discount_and_tax_included_unit_by_unit() {
    let mut order = fold(&sale());
    // A paid 2 × 500 less a 101 discount plus 181 tax: 1080 for two units; B paid 1200.
    order.charges.lines = vec![
        crate::domain::charges::PaidLine {
            sku: "A".into(),
            subtotal_minor: 1000,
            discount_minor: 101,
            tax_minor: 181,
            total_minor: 1080,
        },
        crate::domain::charges::PaidLine {
            sku: "B".into(),
            subtotal_minor: 1200,
            discount_minor: 0,
            tax_minor: 0,
            total_minor: 1200,
        },
    ];
    order.captured_minor = 2280;
    let returned = |quantity, sellable| ReturnedLine {
        sku: "A".into(),
        quantity,
        sellable,
    };
    // One unit, then the other: the two shares add up to what the line paid.
    assert_eq!(returned_amount(&order, &[returned(1, true)]), 540);
    let both = [returned(1, true), returned(1, false)];
    assert_eq!(returned_amount(&order, &both), 1080);
    order.lines[0].refunded_quantity = 1;
    order.refunded_minor = 540;
    assert_eq!(returned_amount(&order, &[returned(1, false)]), 540);
}
