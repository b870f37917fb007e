//! The one fold of order snapshots into figures, used alike by live events, the backfill and
//! `verify`. Every `OrderChanged` carries the whole order and its `version` (the sequence of its
//! last history event); analytics keeps a little of each order ([`OrderFacts`]) and turns the
//! difference between what it held and the newer snapshot into deltas ([`Effect`]). A snapshot
//! not newer than the one held changes nothing, so a redelivered or replayed one is a no-op.
//!
//! An order's effects happen at the snapshot's `updated_at_ms` (the time of the history event
//! it reflects; the envelope's `occurred_at_ms` only when that is missing), so a snapshot
//! rebuilt from the history buckets exactly like the live one did.

use super::counts::{Counts, Field, ratio_half_up};
use super::ledger::{Bucket, Ledger, ProductDelta};
use super::zone::Zone;
use mercato_proto::names;
use mercato_proto::orders::{FailureCode, Order, OrderLine, OrderStatus};

/// What analytics keeps of an order between snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: String,
    pub version: i64,
    /// The status name it is counted under in its placement buckets.
    pub status: String,
    pub placed_hour: i64,
    pub placed_day: String,
    /// When it was confirmed (epoch ms); 0 while it has not been.
    pub confirmed_at_ms: i64,
    pub customer_key: String,
    pub gross_minor: i64,
    pub discounts_minor: i64,
    pub shipping_minor: i64,
    pub taxes_minor: i64,
    pub units: i64,
    /// Refunds counted so far, in all and per line (in the order's line order).
    pub refunded_minor: i64,
    pub refunded_lines: Vec<i64>,
}

/// A change to the figures, at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The order moved from one status to another (`from` is `None` when first seen); counted
    /// in the buckets of its placement.
    Status { from: Option<String>, to: String },
    /// The order was confirmed: its sales, its customer and its products.
    Confirmed {
        at_ms: i64,
        counts: Counts,
        customer_key: String,
        products: Vec<ProductDelta>,
    },
    /// Money (and units) went back.
    Refunded {
        at_ms: i64,
        amount_minor: i64,
        products: Vec<ProductDelta>,
    },
    /// The checkout failed because the payment was declined or blocked.
    Declined { at_ms: i64 },
}

/// The facts to keep after a snapshot and what it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    pub facts: OrderFacts,
    pub effects: Vec<Effect>,
}

/// Whether an order in `status` was confirmed at some point: every status after confirmation
/// (a status this build does not know comes after it too).
pub fn was_confirmed(status: i32) -> bool {
    !matches!(
        OrderStatus::try_from(status),
        Ok(OrderStatus::Unspecified | OrderStatus::Pending | OrderStatus::Failed)
    )
}

/// The customer an order counts for: its customer id, or a guest's lower-cased e-mail; empty
/// when it has neither.
pub fn customer_key(order: &Order) -> String {
    if !order.customer_id.is_empty() {
        format!("c:{}", order.customer_id)
    } else if !order.email.is_empty() {
        format!("e:{}", order.email.to_lowercase())
    } else {
        String::new()
    }
}

fn status_name(status: i32) -> String {
    OrderStatus::try_from(status)
        .map(names::order_status)
        .unwrap_or("unknown")
        .to_owned()
}

/// What a line sold for, before tax and after its discount.
fn line_net(line: &OrderLine) -> i64 {
    match &line.charges {
        Some(c) => c.subtotal_minor - c.discount_minor,
        None => line.unit_price_minor * line.quantity,
    }
}

/// The sales an order adds when confirmed.
fn sales(order: &Order) -> Counts {
    let units: i64 = order.lines.iter().map(|l| l.quantity).sum();
    let counts = Counts::default().with(Field::Orders, 1).with(Field::Units, units);
    match &order.charges {
        Some(c) => counts
            .with(Field::Gross, c.subtotal_minor)
            .with(Field::Discounts, c.discount_minor - c.shipping_discount_minor)
            .with(Field::Shipping, c.shipping_minor - c.shipping_discount_minor)
            .with(Field::Taxes, c.tax_minor),
        None => counts.with(
            Field::Gross,
            order.lines.iter().map(|l| l.unit_price_minor * l.quantity).sum(),
        ),
    }
}

fn product(line: &OrderLine) -> ProductDelta {
    ProductDelta {
        product_id: line.product_id.clone(),
        sku: line.sku.clone(),
        title: line.title.clone(),
        ..ProductDelta::default()
    }
}

fn declined(order: &Order) -> bool {
    order.status == OrderStatus::Failed as i32
        && matches!(
            FailureCode::try_from(order.failure_code),
            Ok(FailureCode::PaymentDeclined | FailureCode::FraudBlocked)
        )
}

/// Folds `order` into what was `held` of it. `None` when the snapshot is not newer.
pub fn fold(held: Option<&OrderFacts>, order: &Order, zone: &Zone, fallback_at_ms: i64) -> Option<Folded> {
    if held.is_some_and(|h| h.version >= order.version) {
        return None;
    }
    let at_ms = if order.updated_at_ms > 0 {
        order.updated_at_ms
    } else {
        fallback_at_ms
    };
    let placed_at = if order.created_at_ms > 0 {
        order.created_at_ms
    } else {
        at_ms
    };
    let status = status_name(order.status);
    let base = held.cloned().unwrap_or_else(|| OrderFacts {
        order_id: order.id.clone(),
        placed_hour: zone.hour_start(placed_at),
        placed_day: zone.day_key(placed_at),
        ..OrderFacts::default()
    });
    let mut facts = OrderFacts {
        version: order.version,
        status: status.clone(),
        customer_key: customer_key(order),
        ..base.clone()
    };
    let mut effects = Vec::new();
    if held.map(|h| &h.status) != Some(&status) {
        effects.push(Effect::Status {
            from: held.map(|h| h.status.clone()),
            to: status,
        });
    }
    if was_confirmed(order.status) {
        if base.confirmed_at_ms == 0 {
            let counts = sales(order);
            facts.confirmed_at_ms = at_ms;
            facts.gross_minor = counts.get(Field::Gross);
            facts.discounts_minor = counts.get(Field::Discounts);
            facts.shipping_minor = counts.get(Field::Shipping);
            facts.taxes_minor = counts.get(Field::Taxes);
            facts.units = counts.get(Field::Units);
            facts.refunded_minor = 0;
            facts.refunded_lines = vec![0; order.lines.len()];
            let products = order
                .lines
                .iter()
                .map(|l| ProductDelta {
                    units: l.quantity,
                    net_minor: line_net(l),
                    ..product(l)
                })
                .collect();
            effects.push(Effect::Confirmed {
                at_ms,
                counts,
                customer_key: facts.customer_key.clone(),
                products,
            });
        }
        if let Some(refund) = refund(&mut facts, order, at_ms) {
            effects.push(refund);
        }
    }
    if declined(order) && held.is_none_or(|h| h.status != facts.status) {
        effects.push(Effect::Declined { at_ms });
    }
    Some(Folded { facts, effects })
}

/// The refund a confirmed order's snapshot shows beyond what `facts` counted; updates `facts`.
fn refund(facts: &mut OrderFacts, order: &Order, at_ms: i64) -> Option<Effect> {
    let amount = order.refunded_minor - facts.refunded_minor;
    facts.refunded_lines.resize(order.lines.len(), 0);
    let mut products = Vec::new();
    for (line, counted) in order.lines.iter().zip(facts.refunded_lines.iter_mut()) {
        let more = line.refunded_quantity - *counted;
        if more > 0 && line.quantity > 0 {
            products.push(ProductDelta {
                refunded_units: more,
                refunds_minor: ratio_half_up(line_net(line) * more, line.quantity),
                ..product(line)
            });
            *counted = line.refunded_quantity;
        }
    }
    if amount <= 0 && products.is_empty() {
        return None;
    }
    facts.refunded_minor += amount.max(0);
    Some(Effect::Refunded {
        at_ms,
        amount_minor: amount.max(0),
        products,
    })
}

/// Adds what `folded` changed to `ledger`, in `zone`'s buckets.
pub fn apply<L: Ledger>(ledger: &mut L, zone: &Zone, folded: &Folded) -> Result<(), L::Error> {
    let facts = &folded.facts;
    for effect in &folded.effects {
        match effect {
            Effect::Status { from, to } => {
                for bucket in [
                    Bucket::Hour(facts.placed_hour),
                    Bucket::Day(facts.placed_day.clone()),
                ] {
                    if let Some(from) = from {
                        ledger.add_status(bucket.clone(), from, -1)?;
                    }
                    ledger.add_status(bucket, to, 1)?;
                }
            }
            Effect::Confirmed {
                at_ms,
                counts,
                customer_key,
                products,
            } => {
                let day = zone.day_key(*at_ms);
                let mut counts = *counts;
                if !customer_key.is_empty() {
                    let new = ledger.customer_order(customer_key, &facts.order_id, *at_ms)?;
                    let (kind, field) = if new {
                        ("new", Field::NewCustomers)
                    } else {
                        ("returning", Field::ReturningCustomers)
                    };
                    if ledger.customer_on_day(&day, customer_key, kind)? {
                        counts.add_to(field, 1);
                    }
                }
                add_both(ledger, zone, *at_ms, &counts)?;
                for p in products {
                    ledger.add_product(&day, p)?;
                }
            }
            Effect::Refunded {
                at_ms,
                amount_minor,
                products,
            } => {
                let counts = Counts::default().with(Field::Refunds, *amount_minor);
                add_both(ledger, zone, *at_ms, &counts)?;
                let day = zone.day_key(*at_ms);
                for p in products {
                    ledger.add_product(&day, p)?;
                }
            }
            Effect::Declined { at_ms } => {
                add_both(ledger, zone, *at_ms, &Counts::default().with(Field::Declines, 1))?;
            }
        }
    }
    Ok(())
}

/// Adds `counts` to the hour and the day holding `at_ms`.
pub fn add_both<L: Ledger>(ledger: &mut L, zone: &Zone, at_ms: i64, counts: &Counts) -> Result<(), L::Error> {
    if counts.is_zero() {
        return Ok(());
    }
    ledger.add(Bucket::Hour(zone.hour_start(at_ms)), counts)?;
    ledger.add(Bucket::Day(zone.day_key(at_ms)), counts)
}
