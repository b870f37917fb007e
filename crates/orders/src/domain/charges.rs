//! What an order charged, line by line: the totals of its checkout (subtotal, discount and tax
//! per line, shipping and its tax, the promotions), and each line's share of them that a
//! refund of some of its units returns.

use serde::{Deserialize, Serialize};

/// What one line was charged: `total = subtotal − discount (+ tax when prices exclude it)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidLine {
    pub sku: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

/// A promotion an order carries and what it took off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    pub promotion_id: String,
    /// Empty for an automatic promotion.
    pub code: String,
    pub name: String,
    pub amount_minor: i64,
}

/// An address as the order keeps it (validated at checkout).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub name: String,
    pub company: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
}

/// The charges of an order. An order placed before pricing existed has none recorded
/// (`lines` empty): its lines were charged their unit price, without tax or discount.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCharges {
    pub lines: Vec<PaidLine>,
    pub subtotal_minor: i64,
    /// Goods and shipping discounts together.
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub shipping_discount_minor: i64,
    pub shipping_tax_minor: i64,
    /// Line and shipping taxes together.
    pub tax_minor: i64,
    pub prices_include_tax: bool,
    #[serde(default)]
    pub shipping_method_id: String,
    #[serde(default)]
    pub shipping_method_name: String,
    #[serde(default)]
    pub shipping_address: Option<PostalAddress>,
    #[serde(default)]
    pub billing_address: Option<PostalAddress>,
    #[serde(default)]
    pub promotions: Vec<AppliedPromotion>,
}

/// Part of a line's charges: what `quantity` of its units paid, and the tax in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    pub amount_minor: i64,
    pub tax_minor: i64,
    pub discount_minor: i64,
}

impl OrderCharges {
    /// What units `already + 1 ..= already + quantity` of the line of `sku` (of `bought` units)
    /// paid. Units are priced cumulatively (`⌊total × n / bought⌋` for the first n), so however
    /// a line is refunded, in one go or unit by unit, its shares add up to exactly what it
    /// paid, tax and discount included. `None` without recorded charges for the line.
    pub fn share(&self, sku: &str, bought: i64, already: i64, quantity: i64) -> Option<Share> {
        let line = self.lines.iter().find(|l| l.sku == sku)?;
        if bought <= 0 {
            return Some(Share::default());
        }
        let upto = |amount: i64, n: i64| (i128::from(amount) * i128::from(n) / i128::from(bought)) as i64;
        let part = |amount: i64| upto(amount, already + quantity) - upto(amount, already);
        Some(Share {
            amount_minor: part(line.total_minor),
            tax_minor: part(line.tax_minor),
            discount_minor: part(line.discount_minor),
        })
    }

    /// What shipping cost, its tax included.
    pub fn shipping_paid_minor(&self) -> i64 {
        let net = self.shipping_minor - self.shipping_discount_minor;
        if self.prices_include_tax {
            net
        } else {
            net + self.shipping_tax_minor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_by_unit_refunds_of_a_line_add_up_to_what_it_paid() {
        let charges = OrderCharges {
            lines: vec![PaidLine {
                sku: "A".into(),
                subtotal_minor: 3000,
                discount_minor: 301,
                tax_minor: 513,
                total_minor: 3212,
            }],
            ..OrderCharges::default()
        };
        let units: Vec<Share> = (0..3).map(|i| charges.share("A", 3, i, 1).unwrap()).collect();
        assert_eq!(units.iter().map(|s| s.amount_minor).sum::<i64>(), 3212);
        assert_eq!(units.iter().map(|s| s.tax_minor).sum::<i64>(), 513);
        assert_eq!(units.iter().map(|s| s.discount_minor).sum::<i64>(), 301);
        assert_eq!(charges.share("A", 3, 0, 3).unwrap().amount_minor, 3212);
        assert_eq!(charges.share("A", 3, 0, 1).unwrap().amount_minor, 1070);
        assert!(charges.share("B", 1, 0, 1).is_none());
    }
}
