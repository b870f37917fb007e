//! The one pure function that prices a cart or an order: subtotal, discounts, shipping, tax and
//! total, per line and for the order. The cart view and checkout both call [`compute`]; the
//! amount checkout authorises is its `total_minor`.

use super::allocate::largest_remainder;
use super::promotions::{DiscountTarget, Promotion};
use super::tax::TaxSettings;

/// A line as pricing needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub sku: String,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    /// The rate of the line's tax category in the cart's tax zone (0 without one).
    pub tax_rate_bps: i64,
}

/// Everything the totals depend on, already looked up.
#[derive(Clone, Debug, Default)]
pub struct TotalsInput {
    pub lines: Vec<LineInput>,
    pub settings: TaxSettings,
    /// The chosen method's price (0 when none is needed or chosen).
    pub shipping_minor: i64,
    pub shipping_tax_rate_bps: i64,
    /// The promotions that apply (already checked), in the order they are applied: each takes
    /// its share of what the ones before it left.
    pub promotions: Vec<Promotion>,
}

/// What one line costs. `total = subtotal − discount (+ tax when prices exclude it)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineTotals {
    /// Quantity × unit price, as entered.
    pub subtotal_minor: i64,
    /// Its share of every discount on goods.
    pub discount_minor: i64,
    /// The tax on `subtotal − discount`, rounded once.
    pub tax_minor: i64,
    pub total_minor: i64,
}

/// The discount one promotion gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedPromotion {
    pub promotion_id: String,
    pub code: String,
    pub name: String,
    pub amount_minor: i64,
}

/// A cart's or an order's totals. The line figures add up to the order's: `tax_minor` is the
/// line taxes plus `shipping_tax_minor`, `discount_minor` the line discounts plus
/// `shipping_discount_minor`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    /// The shipping price before its discount.
    pub shipping_minor: i64,
    pub shipping_discount_minor: i64,
    pub shipping_tax_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    /// Whether the amounts above include tax (prices entered with tax).
    pub prices_include_tax: bool,
    pub promotions: Vec<AppliedPromotion>,
}

/// Prices the lines, shipping and promotions. Discounts on goods are allocated to the lines
/// they cover in proportion to what is left of each (largest remainder); each line is then
/// taxed once on its net amount, and shipping likewise on its price less its discount.
pub fn compute(input: &TotalsInput) -> Totals {
    let subtotals: Vec<i64> = input
        .lines
        .iter()
        .map(|l| l.quantity.saturating_mul(l.unit_price_minor))
        .collect();
    let mut discounts = vec![0i64; input.lines.len()];
    let mut shipping_discount = 0;
    let mut applied = Vec::new();
    for p in &input.promotions {
        let amount = match &p.target {
            DiscountTarget::Shipping => {
                let off = p.discount_on(input.shipping_minor - shipping_discount, input.settings.rounding);
                shipping_discount += off;
                off
            }
            target => {
                // What is left of each line this promotion covers (0 for the others).
                let left: Vec<i64> = input
                    .lines
                    .iter()
                    .zip(subtotals.iter().zip(&discounts))
                    .map(|(l, (s, d))| {
                        if target.covers_line(&l.sku, &l.product_id) {
                            s - d
                        } else {
                            0
                        }
                    })
                    .collect();
                let off = p.discount_on(left.iter().sum(), input.settings.rounding);
                for (d, share) in discounts.iter_mut().zip(largest_remainder(off, &left)) {
                    *d += share;
                }
                off
            }
        };
        applied.push(AppliedPromotion {
            promotion_id: p.id.clone(),
            code: p.code.clone(),
            name: p.name.clone(),
            amount_minor: amount,
        });
    }
    let settings = &input.settings;
    let lines: Vec<LineTotals> = input
        .lines
        .iter()
        .zip(subtotals.iter().zip(&discounts))
        .map(|(l, (&subtotal, &discount))| {
            let net = subtotal - discount;
            let tax = settings.tax_on(net, l.tax_rate_bps);
            LineTotals {
                subtotal_minor: subtotal,
                discount_minor: discount,
                tax_minor: tax,
                total_minor: with_tax(settings, net, tax),
            }
        })
        .collect();
    let shipping_net = input.shipping_minor - shipping_discount;
    let shipping_tax = settings.tax_on(shipping_net, input.shipping_tax_rate_bps);
    let line_tax: i64 = lines.iter().map(|l| l.tax_minor).sum();
    let line_discount: i64 = lines.iter().map(|l| l.discount_minor).sum();
    Totals {
        subtotal_minor: subtotals.iter().sum(),
        discount_minor: line_discount + shipping_discount,
        shipping_minor: input.shipping_minor,
        shipping_discount_minor: shipping_discount,
        shipping_tax_minor: shipping_tax,
        tax_minor: line_tax + shipping_tax,
        total_minor: lines.iter().map(|l| l.total_minor).sum::<i64>()
            + with_tax(settings, shipping_net, shipping_tax),
        prices_include_tax: settings.prices_include_tax,
        promotions: applied,
        lines,
    }
}

/// What a net amount costs with its tax: the amount itself when it already includes the tax.
fn with_tax(settings: &TaxSettings, net_minor: i64, tax_minor: i64) -> i64 {
    if settings.prices_include_tax {
        net_minor
    } else {
        net_minor + tax_minor
    }
}

#[cfg(test)]
#[path = "totals_tests.rs"]
mod tests;
