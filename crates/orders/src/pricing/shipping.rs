//! Shipping zones (sets of countries), their methods and rates (flat, or by weight band, each
//! optionally free above a subtotal), and the methods a cart is offered.

use serde::{Deserialize, Serialize};

/// Countries served alike; a country is in at most one zone of a store (the store refuses a
/// second).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZone {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, upper case.
    pub countries: Vec<String>,
}

/// One band of a weight-based rate: parcels up to `up_to_grams` (inclusive) cost `price_minor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightBand {
    pub up_to_grams: i64,
    pub price_minor: i64,
}

/// How a method's price is found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateKind {
    /// One price whatever the parcel.
    Flat { price_minor: i64 },
    /// The first band (in ascending weight) the parcel's weight fits; a heavier parcel is not
    /// offered this method.
    WeightBands { bands: Vec<WeightBand> },
}

/// A way to ship to a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    pub rate: RateKind,
    /// Free when the goods' subtotal (before discounts) reaches this; 0 for never.
    pub free_above_minor: i64,
}

impl ShippingMethod {
    /// The price of a parcel of this weight, for goods of this subtotal; `None` when the
    /// method cannot carry it (heavier than its last band).
    pub fn price(&self, weight_grams: i64, subtotal_minor: i64) -> Option<i64> {
        let price = match &self.rate {
            RateKind::Flat { price_minor } => *price_minor,
            RateKind::WeightBands { bands } => {
                let mut sorted: Vec<&WeightBand> = bands.iter().collect();
                sorted.sort_by_key(|b| b.up_to_grams);
                sorted
                    .into_iter()
                    .find(|b| weight_grams <= b.up_to_grams)?
                    .price_minor
            }
        };
        if self.free_above_minor > 0 && subtotal_minor >= self.free_above_minor {
            Some(0)
        } else {
            Some(price)
        }
    }
}

/// A method offered to a cart, with its price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingOption {
    pub method_id: String,
    pub name: String,
    pub price_minor: i64,
}

/// The zone that covers a country, if any.
pub fn zone_for<'a>(zones: &'a [ShippingZone], country: &str) -> Option<&'a ShippingZone> {
    zones
        .iter()
        .find(|z| z.countries.iter().any(|c| c.eq_ignore_ascii_case(country)))
}

/// The methods of `zone` that can carry the parcel, cheapest first (then by name).
pub fn options(
    methods: &[ShippingMethod],
    zone: &ShippingZone,
    weight_grams: i64,
    subtotal_minor: i64,
) -> Vec<ShippingOption> {
    let mut offered: Vec<ShippingOption> = methods
        .iter()
        .filter(|m| m.zone_id == zone.id)
        .filter_map(|m| {
            Some(ShippingOption {
                method_id: m.id.clone(),
                name: m.name.clone(),
                price_minor: m.price(weight_grams, subtotal_minor)?,
            })
        })
        .collect();
    offered.sort_by(|a, b| a.price_minor.cmp(&b.price_minor).then(a.name.cmp(&b.name)));
    offered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> ShippingZone {
        ShippingZone {
            id: "z".into(),
            name: "EU".into(),
            countries: vec!["DE".into(), "FR".into()],
        }
    }

    fn by_weight() -> ShippingMethod {
        ShippingMethod {
            id: "w".into(),
            zone_id: "z".into(),
            name: "Parcel".into(),
            rate: RateKind::WeightBands {
                bands: vec![
                    WeightBand {
                        up_to_grams: 5000,
                        price_minor: 1200,
                    },
                    WeightBand {
                        up_to_grams: 1000,
                        price_minor: 490,
                    },
                ],
            },
            free_above_minor: 10_000,
        }
    }

    #[test]
    fn a_weight_rate_takes_the_first_band_the_parcel_fits_and_refuses_heavier_parcels() {
        let m = by_weight();
        assert_eq!(m.price(1000, 0), Some(490));
        assert_eq!(m.price(1001, 0), Some(1200));
        assert_eq!(m.price(5001, 0), None);
    }

    #[test]
    fn a_method_is_free_from_its_threshold_on() {
        let m = by_weight();
        assert_eq!(m.price(200, 9_999), Some(490));
        assert_eq!(m.price(200, 10_000), Some(0));
    }

    #[test]
    fn a_country_outside_every_zone_is_offered_nothing_and_options_are_cheapest_first() {
        let zones = vec![zone()];
        assert!(zone_for(&zones, "US").is_none());
        let z = zone_for(&zones, "fr").unwrap();
        let flat = ShippingMethod {
            id: "f".into(),
            zone_id: "z".into(),
            name: "Express".into(),
            rate: RateKind::Flat { price_minor: 900 },
            free_above_minor: 0,
        };
        let offered = options(&[flat, by_weight()], z, 800, 0);
        let ids: Vec<&str> = offered.iter().map(|o| o.method_id.as_str()).collect();
        assert_eq!(ids, ["w", "f"]);
        assert!(options(&[by_weight()], z, 9000, 0).is_empty());
    }
}
