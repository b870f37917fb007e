//! Tax: a store's settings (prices entered with or without tax, the rounding mode) and its
//! rates per zone and tax category, in basis points.

use super::rounding::Rounding;
use serde::{Deserialize, Serialize};

/// The category of a product without one, and the one shipping is taxed at unless the zone has
/// a `shipping` rate.
pub const STANDARD: &str = "standard";
/// The category whose rate, when a zone has one, taxes shipping.
pub const SHIPPING: &str = "shipping";
/// Most a rate may be: 100 %.
pub const MAX_RATE_BPS: i64 = 10_000;

/// A store's tax settings. The default (a store that never set them): prices without tax,
/// half-up rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaxSettings {
    /// Prices (and shipping rates) are entered with tax included; the tax is the part of them
    /// the rate accounts for, and the total is what the prices say.
    pub prices_include_tax: bool,
    pub rounding: Rounding,
}

/// The rate of a tax category in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub zone_id: String,
    /// `standard`, `reduced`, `zero`, `shipping` or any name the catalog's products use.
    pub category: String,
    /// 1 % = 100; at most 10,000.
    pub rate_bps: i64,
}

/// The rate of `category` in `zone` (0 without a zone or a rate).
pub fn rate_bps(rates: &[TaxRate], zone_id: Option<&str>, category: &str) -> i64 {
    let Some(zone) = zone_id else { return 0 };
    let category = if category.is_empty() { STANDARD } else { category };
    rates
        .iter()
        .find(|r| r.zone_id == zone && r.category == category)
        .map_or(0, |r| r.rate_bps)
}

/// The rate shipping is taxed at in `zone`: its `shipping` rate, or else its standard rate.
pub fn shipping_rate_bps(rates: &[TaxRate], zone_id: Option<&str>) -> i64 {
    let Some(zone) = zone_id else { return 0 };
    rates
        .iter()
        .find(|r| r.zone_id == zone && r.category == SHIPPING)
        .map_or_else(|| rate_bps(rates, Some(zone), STANDARD), |r| r.rate_bps)
}

impl TaxSettings {
    /// The tax on an amount taxed at `rate_bps`, rounded once: on top of it when prices are
    /// entered without tax, the part of it that is tax when they include it.
    pub fn tax_on(&self, amount_minor: i64, rate_bps: i64) -> i64 {
        let amount = i128::from(amount_minor);
        let rate = i128::from(rate_bps);
        let tax = if self.prices_include_tax {
            self.rounding.divide(amount * rate, 10_000 + rate)
        } else {
            self.rounding.divide(amount * rate, 10_000)
        };
        tax as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tax_is_on_top_of_an_exclusive_price_and_inside_an_inclusive_one() {
        let exclusive = TaxSettings::default();
        assert_eq!(exclusive.tax_on(1000, 1900), 190);
        let inclusive = TaxSettings {
            prices_include_tax: true,
            rounding: Rounding::HalfUp,
        };
        // 1190 includes 19 %: 1190 × 19 / 119 = 190.
        assert_eq!(inclusive.tax_on(1190, 1900), 190);
    }

    #[test]
    fn a_half_cent_of_tax_rounds_as_the_store_says() {
        // 1250 × 2 % = 25.0; 1225 × 2 % = 24.5.
        let up = TaxSettings::default();
        let even = TaxSettings {
            prices_include_tax: false,
            rounding: Rounding::HalfEven,
        };
        assert_eq!(up.tax_on(1225, 200), 25);
        assert_eq!(even.tax_on(1225, 200), 24);
        assert_eq!(even.tax_on(1275, 200), 26);
    }

    #[test]
    fn shipping_takes_the_zone_shipping_rate_or_else_its_standard_rate() {
        let mut rates = vec![TaxRate {
            zone_id: "z".into(),
            category: STANDARD.into(),
            rate_bps: 2000,
        }];
        assert_eq!(shipping_rate_bps(&rates, Some("z")), 2000);
        rates.push(TaxRate {
            zone_id: "z".into(),
            category: SHIPPING.into(),
            rate_bps: 700,
        });
        assert_eq!(shipping_rate_bps(&rates, Some("z")), 700);
        assert_eq!(shipping_rate_bps(&rates, None), 0);
        assert_eq!(rate_bps(&rates, Some("z"), "reduced"), 0);
    }
}
