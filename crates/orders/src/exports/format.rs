//! An order as the export writes it: CSV rows (one per line, the order's columns repeated, like
//! the spreadsheets shops already know) and one JSON object with its lines and refunds.
//! Amounts are decimals in the currency's units (`12.50`), times RFC 3339 in UTC.

use crate::domain::{EventData, OrderEvent};
use mercato_proto::names;
use mercato_proto::orders as pb;
use mercato_runtime::export::csv::{Cell, CsvWriter};
use mercato_runtime::export::decimal;
use mercato_runtime::money::Currency;
use mercato_runtime::time::to_rfc3339;
use serde::Serialize;
use std::io::{self, Write};

pub const HEADER: [&str; 21] = [
    "order_id",
    "number",
    "created_at",
    "status",
    "fulfilment_status",
    "email",
    "customer_id",
    "currency",
    "subtotal",
    "discounts",
    "shipping",
    "tax",
    "total",
    "refunded",
    "line_sku",
    "line_title",
    "line_quantity",
    "line_unit_price",
    "line_total",
    "line_refunded_quantity",
    "line_fulfilled_quantity",
];

/// The order's figures as decimal strings.
struct Amounts {
    subtotal: String,
    discounts: String,
    shipping: String,
    tax: String,
    total: String,
    refunded: String,
}

fn digits(currency: &str) -> u32 {
    Currency::parse(currency).map_or(2, |c| u32::from(c.minor_digits()))
}

fn amounts(o: &pb::Order, d: u32) -> Amounts {
    let c = o.charges.clone().unwrap_or_default();
    let subtotal = if o.charges.is_some() {
        c.subtotal_minor
    } else {
        o.lines.iter().map(|l| l.unit_price_minor * l.quantity).sum()
    };
    Amounts {
        subtotal: decimal(subtotal, d),
        discounts: decimal(c.discount_minor + c.shipping_discount_minor, d),
        shipping: decimal(c.shipping_minor, d),
        tax: decimal(c.tax_minor, d),
        total: decimal(o.total_minor, d),
        refunded: decimal(o.refunded_minor, d),
    }
}

fn status(o: &pb::Order) -> &'static str {
    names::order_status(pb::OrderStatus::try_from(o.status).unwrap_or_default())
}

fn fulfilment(o: &pb::Order) -> &'static str {
    names::fulfilment_status(pb::FulfilmentStatus::try_from(o.fulfilment_status).unwrap_or_default())
}

/// One CSV row per line (one row with empty line columns for an order without lines).
pub fn write_csv<W: Write>(out: &mut CsvWriter<W>, o: &pb::Order) -> io::Result<()> {
    let d = digits(&o.currency);
    let a = amounts(o, d);
    let (created, number) = (to_rfc3339(o.created_at_ms), o.number.to_string());
    let head = [
        Cell::Text(&o.id),
        Cell::Number(&number),
        Cell::Text(&created),
        Cell::Text(status(o)),
        Cell::Text(fulfilment(o)),
        Cell::Text(&o.email),
        Cell::Text(&o.customer_id),
        Cell::Text(&o.currency),
        Cell::Number(&a.subtotal),
        Cell::Number(&a.discounts),
        Cell::Number(&a.shipping),
        Cell::Number(&a.tax),
        Cell::Number(&a.total),
        Cell::Number(&a.refunded),
    ];
    if o.lines.is_empty() {
        let mut row = head.to_vec();
        row.extend([Cell::Empty; 7]);
        return out.row(&row);
    }
    for line in &o.lines {
        let price = decimal(line.unit_price_minor, d);
        let total = decimal(line_total(line), d);
        let mut row = head.to_vec();
        row.extend([
            Cell::Text(&line.sku),
            Cell::Text(&line.title),
            Cell::Int(line.quantity),
            Cell::Number(&price),
            Cell::Number(&total),
            Cell::Int(line.refunded_quantity),
            Cell::Int(line.fulfilled_quantity),
        ]);
        out.row(&row)?;
    }
    Ok(())
}

fn line_total(line: &pb::OrderLine) -> i64 {
    line.charges
        .as_ref()
        .map_or(line.unit_price_minor * line.quantity, |c| c.total_minor)
}

#[derive(Serialize)]
pub struct OrderJson<'a> {
    id: &'a str,
    number: i64,
    created_at: String,
    status: &'static str,
    fulfilment_status: &'static str,
    email: &'a str,
    customer_id: &'a str,
    currency: &'a str,
    subtotal: String,
    discounts: String,
    shipping: String,
    tax: String,
    total: String,
    refunded: String,
    lines: Vec<LineJson<'a>>,
    refunds: Vec<RefundJson>,
}

#[derive(Serialize)]
struct LineJson<'a> {
    sku: &'a str,
    title: &'a str,
    quantity: i64,
    unit_price: String,
    total: String,
    refunded_quantity: i64,
    fulfilled_quantity: i64,
}

#[derive(Serialize)]
struct RefundJson {
    at: String,
    amount: String,
    lines: Vec<(String, i64)>,
}

/// The order as one JSON object; its refunds come from its history.
pub fn json<'a>(o: &'a pb::Order, history: &[OrderEvent]) -> OrderJson<'a> {
    let d = digits(&o.currency);
    let a = amounts(o, d);
    OrderJson {
        id: &o.id,
        number: o.number,
        created_at: to_rfc3339(o.created_at_ms),
        status: status(o),
        fulfilment_status: fulfilment(o),
        email: &o.email,
        customer_id: &o.customer_id,
        currency: &o.currency,
        subtotal: a.subtotal,
        discounts: a.discounts,
        shipping: a.shipping,
        tax: a.tax,
        total: a.total,
        refunded: a.refunded,
        lines: o
            .lines
            .iter()
            .map(|l| LineJson {
                sku: &l.sku,
                title: &l.title,
                quantity: l.quantity,
                unit_price: decimal(l.unit_price_minor, d),
                total: decimal(line_total(l), d),
                refunded_quantity: l.refunded_quantity,
                fulfilled_quantity: l.fulfilled_quantity,
            })
            .collect(),
        refunds: history
            .iter()
            .filter_map(|e| match &e.data {
                EventData::Refunded { lines, amount_minor } => Some(RefundJson {
                    at: to_rfc3339(e.at_ms),
                    amount: decimal(*amount_minor, d),
                    lines: lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect(),
                }),
                _ => None,
            })
            .collect(),
    }
}
