//! The after-sale part of the admin's order page (`templates/admin/order_after_sale.html`, inside
//! the live summary): the order's shipments (fulfilments) with the form that creates one and
//! the buttons that move each on, and its returns with the staff's decisions and the form that
//! requests one. The API decides what may be done; the page only offers the forms the order's
//! state makes sensible (the quantities it suggests mirror what the API's order says is left)
//! and shows each refusal next to the form it refused.

use super::format::{money, when};
use super::orders::{OrderData, words};
use crate::api::ApiError;
use serde::Deserialize;

/// One fulfilment as the API gives it.
#[derive(Deserialize, Clone)]
pub(crate) struct FulfilmentData {
    pub id: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub lines: Vec<UnitsData>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub status: String,
    #[serde(default)]
    pub created_at: String,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
}

/// Units of a SKU in a fulfilment or a return.
#[derive(Deserialize, Clone)]
pub(crate) struct UnitsData {
    pub sku: String,
    pub quantity: i64,
}

/// One return as the API gives it.
#[derive(Deserialize, Clone)]
pub(crate) struct ReturnData {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub lines: Vec<UnitsData>,
    pub reason: Option<String>,
    #[serde(default)]
    pub requested_by_customer: bool,
    #[serde(default)]
    pub refund_minor: i64,
    #[serde(default)]
    pub requested_at: String,
}

/// The form a refusal belongs to (ids are the fulfilment's or the return's).
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Form {
    Shipment,
    Ship(String),
    Deliver(String),
    RequestReturn,
    Decide(String),
    Receive(String),
}

/// A refused after-sale form: the refusal, the messages of its lines by SKU, and what was typed.
pub(crate) struct Problem {
    pub form: Form,
    pub error: ApiError,
    pub line_errors: Vec<(String, String)>,
    pub typed: Vec<(String, String)>,
}

impl Problem {
    fn on(&self, form: &Form) -> Option<&Problem> {
        (self.form == *form).then_some(self)
    }

    /// The sentence above the form: "see below" when the API named fields.
    fn message(&self, what: &str) -> String {
        if !self.error.fields.is_empty() || !self.line_errors.is_empty() {
            format!("The {what}: see the fields marked below.")
        } else {
            format!("The {what}: {}", self.error.plain_message())
        }
    }

    fn field(&self, name: &str) -> Option<String> {
        self.error.field(name).map(crate::api::sentence)
    }

    fn typed(&self, name: &str) -> Option<String> {
        self.typed.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// The quantity typed for `sku` (forms repeat `sku` then `quantity` per line).
    fn typed_quantity(&self, sku: &str) -> Option<String> {
        let skus = self.typed.iter().filter(|(k, _)| k == "sku").map(|(_, v)| v);
        let quantities = self.typed.iter().filter(|(k, _)| k == "quantity").map(|(_, v)| v);
        skus.zip(quantities)
            .find(|(s, _)| *s == sku)
            .map(|(_, q)| q.clone())
    }

    fn line_error(&self, sku: &str) -> Option<String> {
        self.line_errors
            .iter()
            .find(|(s, _)| s == sku)
            .map(|(_, m)| crate::api::sentence(m))
    }
}

/// A quantity field of one order line.
pub(crate) struct QuantityLine {
    pub sku: String,
    pub title: String,
    pub most: i64,
    pub value: String,
    pub error: Option<String>,
}

/// "Create shipment", with its idempotency key.
pub(crate) struct ShipmentForm {
    pub key: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: String,
    pub location: String,
    pub lines: Vec<QuantityLine>,
    pub error: Option<String>,
    pub carrier_error: Option<String>,
    pub tracking_number_error: Option<String>,
    pub tracking_url_error: Option<String>,
    pub location_error: Option<String>,
}

pub(crate) struct ShipmentView {
    pub id: String,
    pub number: usize,
    pub status: String,
    pub location: String,
    pub units: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: String,
    pub created: String,
    pub shipped: String,
    pub delivered: String,
    pub can_ship: bool,
    pub can_deliver: bool,
    /// Whether "Mark as shipped" also asks for the tracking (none given yet).
    pub asks_tracking: bool,
    pub error: Option<String>,
    pub carrier_error: Option<String>,
    pub tracking_number_error: Option<String>,
}

/// One line of a return as "Receive return" lists it, with its "can be sold again" box.
pub(crate) struct ReceiveLine {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
}

pub(crate) struct ReturnView {
    pub id: String,
    pub number: usize,
    pub status: String,
    pub units: String,
    pub reason: String,
    pub by: &'static str,
    pub refund: String,
    pub requested: String,
    pub requested_at: String,
    pub can_decide: bool,
    pub can_receive: bool,
    pub lines: Vec<ReceiveLine>,
    pub error: Option<String>,
}

/// "Request return", with its idempotency key.
pub(crate) struct ReturnForm {
    pub key: String,
    pub reason: String,
    pub reason_error: Option<String>,
    pub lines: Vec<QuantityLine>,
    pub error: Option<String>,
}

/// The order's shipments and returns with the forms its state offers.
pub(crate) struct AfterSale {
    /// Whether units are left to send (the form shows only when the order is also a sale).
    pub left_to_send: bool,
    pub shipment: Option<ShipmentForm>,
    pub shipments: Vec<ShipmentView>,
    pub returns: Vec<ReturnView>,
    pub request: Option<ReturnForm>,
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// "2 × E-book (EB-1), 1 × Mug (MUG-1)".
fn units(order: &OrderData, lines: &[UnitsData]) -> String {
    lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, title(order, &l.sku)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn title(order: &OrderData, sku: &str) -> String {
    match order.lines.iter().find(|l| l.sku == sku) {
        Some(l) => format!("{} ({sku})", l.title),
        None => sku.to_owned(),
    }
}

impl AfterSale {
    pub(crate) fn of(order: &OrderData, problem: Option<&Problem>) -> AfterSale {
        let is_sale = matches!(order.status.as_str(), "confirmed" | "partially_refunded");
        let returned = |sku: &str| -> i64 {
            order
                .returns
                .iter()
                .filter(|r| r.status == "completed")
                .flat_map(|r| r.lines.iter().filter(|l| l.sku == sku))
                .map(|l| l.quantity)
                .sum()
        };
        let in_returns = |sku: &str| -> i64 {
            order
                .returns
                .iter()
                .filter(|r| r.status != "rejected")
                .flat_map(|r| r.lines.iter().filter(|l| l.sku == sku))
                .map(|l| l.quantity)
                .sum()
        };
        let lines =
            |most: &dyn Fn(&super::orders::LineData) -> i64, form: &Form, all: bool| -> Vec<QuantityLine> {
                let problem = problem.and_then(|p| p.on(form));
                order
                    .lines
                    .iter()
                    .map(|l| (l, most(l).max(0)))
                    .filter(|(_, most)| *most > 0)
                    .map(|(l, most)| QuantityLine {
                        sku: l.sku.clone(),
                        title: l.title.clone(),
                        most,
                        value: problem
                            .and_then(|p| p.typed_quantity(&l.sku))
                            .unwrap_or_else(|| if all { most } else { 0 }.to_string()),
                        error: problem.and_then(|p| p.line_error(&l.sku)),
                    })
                    .collect()
            };
        // Bought, less units refunded without coming back, less units sent.
        let sendable = lines(
            &|l| l.quantity - (l.refunded_quantity - returned(&l.sku)) - l.fulfilled_quantity,
            &Form::Shipment,
            true,
        );
        let left_to_send = !sendable.is_empty();
        let shipment = (is_sale && left_to_send).then(|| {
            let p = problem.and_then(|p| p.on(&Form::Shipment));
            let typed = |name: &str| p.and_then(|p| p.typed(name)).unwrap_or_default();
            ShipmentForm {
                key: key(),
                carrier: typed("carrier"),
                tracking_number: typed("tracking_number"),
                tracking_url: typed("tracking_url"),
                location: typed("location"),
                lines: sendable,
                error: p.map(|p| p.message("shipment could not be created")),
                carrier_error: p.and_then(|p| p.field("carrier")),
                tracking_number_error: p.and_then(|p| p.field("tracking_number")),
                tracking_url_error: p.and_then(|p| p.field("tracking_url")),
                location_error: p.and_then(|p| p.field("location")),
            }
        });
        let shipments = order
            .fulfilments
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let p = problem.and_then(|p| {
                    p.on(&Form::Ship(f.id.clone()))
                        .or_else(|| p.on(&Form::Deliver(f.id.clone())))
                });
                let tracking_number = f.tracking_number.clone().unwrap_or_default();
                ShipmentView {
                    id: f.id.clone(),
                    number: i + 1,
                    // The API's `pending` is a parcel packed and not yet handed over.
                    status: if f.status == "pending" {
                        "packed".to_owned()
                    } else {
                        words(&f.status)
                    },
                    location: f.location.clone(),
                    units: units(order, &f.lines),
                    carrier: f.carrier.clone().unwrap_or_default(),
                    asks_tracking: tracking_number.is_empty(),
                    tracking_number,
                    tracking_url: f.tracking_url.clone().unwrap_or_default(),
                    created: when(&f.created_at),
                    shipped: f.shipped_at.as_deref().map(when).unwrap_or_default(),
                    delivered: f.delivered_at.as_deref().map(when).unwrap_or_default(),
                    can_ship: f.status == "pending",
                    can_deliver: f.status != "delivered",
                    error: p.map(|p| {
                        let done = if p.form == Form::Deliver(f.id.clone()) {
                            "delivered"
                        } else {
                            "shipped"
                        };
                        p.message(&format!("shipment could not be marked as {done}"))
                    }),
                    carrier_error: p.and_then(|p| p.field("carrier")),
                    tracking_number_error: p.and_then(|p| p.field("tracking_number")),
                }
            })
            .collect();
        let returns = order
            .returns
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let p = problem.and_then(|p| {
                    p.on(&Form::Decide(r.id.clone()))
                        .or_else(|| p.on(&Form::Receive(r.id.clone())))
                });
                ReturnView {
                    id: r.id.clone(),
                    number: i + 1,
                    status: words(&r.status),
                    units: units(order, &r.lines),
                    reason: r.reason.clone().unwrap_or_default(),
                    by: if r.requested_by_customer {
                        "the customer"
                    } else {
                        "staff"
                    },
                    refund: money(r.refund_minor, &order.currency),
                    requested: when(&r.requested_at),
                    requested_at: r.requested_at.clone(),
                    can_decide: r.status == "requested",
                    can_receive: matches!(r.status.as_str(), "requested" | "approved"),
                    lines: r
                        .lines
                        .iter()
                        .map(|l| ReceiveLine {
                            sku: l.sku.clone(),
                            title: title(order, &l.sku),
                            quantity: l.quantity,
                        })
                        .collect(),
                    error: p.map(|p| p.message("return could not be changed")),
                }
            })
            .collect();
        // Sent, and in no other return that still holds them.
        let returnable = lines(
            &|l| l.fulfilled_quantity - in_returns(&l.sku),
            &Form::RequestReturn,
            false,
        );
        let request = (is_sale && !returnable.is_empty()).then(|| {
            let p = problem.and_then(|p| p.on(&Form::RequestReturn));
            ReturnForm {
                key: key(),
                reason: p.and_then(|p| p.typed("reason")).unwrap_or_default(),
                reason_error: p.and_then(|p| p.field("reason")),
                lines: returnable,
                error: p.map(|p| p.message("return could not be requested")),
            }
        });
        AfterSale {
            left_to_send,
            shipment,
            shipments,
            returns,
            request,
        }
    }
}
