//! REST shapes of pricing: shipping zones and methods, tax rates and settings, promotions, a
//! cart's shipping choices and promotion code, and the charges of carts and orders.

use crate::dto_addresses::AddressBody;
use mercato_proto::orders as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a line costs: `total = subtotal − discount (+ tax unless prices include it)`.
#[derive(Serialize, ToSchema)]
pub struct LineChargesView {
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

impl From<pb::LineCharges> for LineChargesView {
    fn from(c: pb::LineCharges) -> Self {
        LineChargesView {
            subtotal_minor: c.subtotal_minor,
            discount_minor: c.discount_minor,
            tax_minor: c.tax_minor,
            total_minor: c.total_minor,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AppliedPromotionView {
    pub promotion_id: String,
    /// Absent for an automatic promotion.
    pub code: Option<String>,
    pub name: String,
    pub amount_minor: i64,
}

/// What a cart or an order costs; the lines' figures add up to these.
#[derive(Serialize, ToSchema)]
pub struct ChargesView {
    pub subtotal_minor: i64,
    /// Goods and shipping discounts.
    pub discount_minor: i64,
    /// Before its discount.
    pub shipping_minor: i64,
    pub shipping_discount_minor: i64,
    pub shipping_tax_minor: i64,
    /// Lines' and shipping's.
    pub tax_minor: i64,
    pub total_minor: i64,
    /// Prices (and so the amounts here) include tax.
    pub prices_include_tax: bool,
    pub shipping_method_id: Option<String>,
    pub shipping_method_name: Option<String>,
    pub promotions: Vec<AppliedPromotionView>,
}

fn given(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<pb::Charges> for ChargesView {
    fn from(c: pb::Charges) -> Self {
        ChargesView {
            subtotal_minor: c.subtotal_minor,
            discount_minor: c.discount_minor,
            shipping_minor: c.shipping_minor,
            shipping_discount_minor: c.shipping_discount_minor,
            shipping_tax_minor: c.shipping_tax_minor,
            tax_minor: c.tax_minor,
            total_minor: c.total_minor,
            prices_include_tax: c.prices_include_tax,
            shipping_method_id: given(c.shipping_method_id),
            shipping_method_name: given(c.shipping_method_name),
            promotions: c
                .promotions
                .into_iter()
                .map(|p| AppliedPromotionView {
                    promotion_id: p.promotion_id,
                    code: given(p.code),
                    name: p.name,
                    amount_minor: p.amount_minor,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShippingOptionView {
    pub method_id: String,
    pub name: String,
    pub price_minor: i64,
}

/// The methods offered for the cart's shipping address (cheapest first), and whether the cart
/// holds goods to ship.
#[derive(Serialize, ToSchema)]
pub struct ShippingOptionsView {
    pub options: Vec<ShippingOptionView>,
    pub shipping_required: bool,
}

impl From<pb::ShippingOptions> for ShippingOptionsView {
    fn from(o: pb::ShippingOptions) -> Self {
        ShippingOptionsView {
            options: o
                .options
                .into_iter()
                .map(|o| ShippingOptionView {
                    method_id: o.method_id,
                    name: o.name,
                    price_minor: o.price_minor,
                })
                .collect(),
            shipping_required: o.shipping_required,
        }
    }
}

/// A cart's addresses; one left out is removed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"shipping_address": {"name": "Anna Schmidt", "line1": "Invalidenstraße 117",
    "city": "Berlin", "postal_code": "10115", "country": "DE"}})))]
pub struct CartAddressesBody {
    pub shipping_address: Option<AddressBody>,
    pub billing_address: Option<AddressBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"method_id": "0190f3c2-5b7e-7c3a-9d41-2f6a8b1c0d9e"})))]
pub struct ShippingMethodBody {
    /// One of the cart's shipping options.
    pub method_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"code": "WELCOME10"})))]
pub struct PromotionCodeBody {
    #[schema(min_length = 1, max_length = 40)]
    pub code: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct WeightBandBody {
    /// Parcels up to this weight (inclusive).
    pub up_to_grams: i64,
    pub price_minor: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ShippingMethodView {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    pub flat_price_minor: i64,
    pub weight_bands: Vec<WeightBandBody>,
    pub free_above_minor: i64,
}

impl From<pb::ShippingMethod> for ShippingMethodView {
    fn from(m: pb::ShippingMethod) -> Self {
        ShippingMethodView {
            id: m.id,
            zone_id: m.zone_id,
            name: m.name,
            flat_price_minor: m.flat_price_minor,
            weight_bands: m
                .weight_bands
                .into_iter()
                .map(|b| WeightBandBody {
                    up_to_grams: b.up_to_grams,
                    price_minor: b.price_minor,
                })
                .collect(),
            free_above_minor: m.free_above_minor,
        }
    }
}

/// A shipping method: flat (no `weight_bands`), or by the first band the parcel's weight fits
/// (heavier parcels are not offered it); free from `free_above_minor` of goods (0: never).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"zone_id": "0190f3c2-5b7e-7c3a-9d41-2f6a8b1c0d9e", "name": "Standard", "flat_price_minor": 490, "free_above_minor": 5000})))]
pub struct MethodBody {
    pub zone_id: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub flat_price_minor: i64,
    #[serde(default)]
    pub weight_bands: Vec<WeightBandBody>,
    #[serde(default)]
    pub free_above_minor: i64,
}

impl MethodBody {
    pub fn into_message(self, id: String) -> pb::ShippingMethod {
        pb::ShippingMethod {
            id,
            zone_id: self.zone_id,
            name: self.name,
            flat_price_minor: self.flat_price_minor,
            weight_bands: self
                .weight_bands
                .into_iter()
                .map(|b| pb::WeightBand {
                    up_to_grams: b.up_to_grams,
                    price_minor: b.price_minor,
                })
                .collect(),
            free_above_minor: self.free_above_minor,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "EU", "countries": ["DE", "FR", "NL"]})))]
pub struct ZoneBody {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; a country is in at most one zone.
    pub countries: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    pub countries: Vec<String>,
    pub methods: Vec<ShippingMethodView>,
}

impl From<pb::ShippingZone> for ZoneView {
    fn from(z: pb::ShippingZone) -> Self {
        ZoneView {
            id: z.id,
            name: z.name,
            countries: z.countries,
            methods: z.methods.into_iter().map(Into::into).collect(),
        }
    }
}

/// The rate of a tax category in a zone, in basis points (19 % = 1900).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"zone_id": "0190f3c2-5b7e-7c3a-9d41-2f6a8b1c0d9e", "category": "standard", "rate_bps": 1900})))]
pub struct TaxRateBody {
    pub zone_id: String,
    /// `standard`, `reduced`, `zero`, `shipping` (taxes shipping; else `standard` does) or any
    /// category the catalog's products use.
    pub category: String,
    #[schema(minimum = 0, maximum = 10000)]
    pub rate_bps: i64,
}

impl From<pb::TaxRate> for TaxRateBody {
    fn from(r: pb::TaxRate) -> Self {
        TaxRateBody {
            zone_id: r.zone_id,
            category: r.category,
            rate_bps: r.rate_bps,
        }
    }
}

/// A store's tax settings (default: prices without tax, half-up rounding).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"prices_include_tax": true, "rounding": "half_even"})))]
pub struct TaxSettingsBody {
    pub prices_include_tax: bool,
    /// `half_up` or `half_even` (banker's).
    pub rounding: String,
}

impl TaxSettingsBody {
    pub fn to_message(&self) -> pb::TaxSettings {
        let rounding = match self.rounding.as_str() {
            "half_up" => pb::Rounding::HalfUp,
            "half_even" => pb::Rounding::HalfEven,
            _ => pb::Rounding::Unspecified,
        };
        pb::TaxSettings {
            prices_include_tax: self.prices_include_tax,
            rounding: rounding.into(),
        }
    }
}

impl From<pb::TaxSettings> for TaxSettingsBody {
    fn from(s: pb::TaxSettings) -> Self {
        let rounding = match s.rounding() {
            pb::Rounding::HalfEven => "half_even",
            _ => "half_up",
        };
        TaxSettingsBody {
            prices_include_tax: s.prices_include_tax,
            rounding: rounding.to_owned(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PricingConfigView {
    pub zones: Vec<ZoneView>,
    pub tax_rates: Vec<TaxRateBody>,
    pub tax_settings: TaxSettingsBody,
}

impl From<pb::PricingConfig> for PricingConfigView {
    fn from(c: pb::PricingConfig) -> Self {
        PricingConfigView {
            zones: c.zones.into_iter().map(Into::into).collect(),
            tax_rates: c.tax_rates.into_iter().map(Into::into).collect(),
            tax_settings: c.tax_settings.unwrap_or_default().into(),
        }
    }
}

/// A promotion: with a `code` the shopper enters, or automatic (no code). `kind` percent
/// (`percent_bps`, 10 % = 1000) or fixed (`amount_minor`); `target` order, lines (of `skus` or
/// `product_ids`) or shipping. Times are epoch milliseconds (0 or absent: open-ended); limits 0
/// or absent: unlimited.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"code": "WELCOME10", "name": "10 % off", "kind": "percent", "percent_bps": 1000,
    "target": "order", "min_subtotal_minor": 2000, "usage_limit": 100, "per_customer_limit": 1})))]
pub struct PromotionBody {
    #[serde(default)]
    pub code: String,
    pub name: String,
    /// `percent` or `fixed`.
    pub kind: String,
    #[serde(default)]
    pub percent_bps: i64,
    #[serde(default)]
    pub amount_minor: i64,
    /// `order`, `lines` or `shipping`.
    pub target: String,
    #[serde(default)]
    pub skus: Vec<String>,
    #[serde(default)]
    pub product_ids: Vec<String>,
    #[serde(default)]
    pub min_subtotal_minor: i64,
    #[serde(default)]
    pub starts_at_ms: i64,
    #[serde(default)]
    pub ends_at_ms: i64,
    #[serde(default)]
    pub usage_limit: i64,
    #[serde(default)]
    pub per_customer_limit: i64,
}

impl From<PromotionBody> for pb::Promotion {
    fn from(b: PromotionBody) -> Self {
        let kind = match b.kind.as_str() {
            "percent" => pb::DiscountKind::Percent,
            "fixed" => pb::DiscountKind::Fixed,
            _ => pb::DiscountKind::Unspecified,
        };
        let target = match b.target.as_str() {
            "order" => pb::DiscountTarget::Order,
            "lines" => pb::DiscountTarget::Lines,
            "shipping" => pb::DiscountTarget::Shipping,
            _ => pb::DiscountTarget::Unspecified,
        };
        pb::Promotion {
            code: b.code,
            name: b.name,
            kind: kind.into(),
            percent_bps: b.percent_bps,
            amount_minor: b.amount_minor,
            target: target.into(),
            skus: b.skus,
            product_ids: b.product_ids,
            min_subtotal_minor: b.min_subtotal_minor,
            starts_at_ms: b.starts_at_ms,
            ends_at_ms: b.ends_at_ms,
            usage_limit: b.usage_limit,
            per_customer_limit: b.per_customer_limit,
            ..Default::default()
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PromotionView {
    pub id: String,
    pub code: Option<String>,
    pub name: String,
    pub kind: String,
    pub percent_bps: i64,
    pub amount_minor: i64,
    pub target: String,
    pub skus: Vec<String>,
    pub product_ids: Vec<String>,
    pub min_subtotal_minor: i64,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub usage_limit: i64,
    pub per_customer_limit: i64,
    /// Orders carrying it now.
    pub used: i64,
    pub active: bool,
}

impl From<pb::Promotion> for PromotionView {
    fn from(p: pb::Promotion) -> Self {
        let kind = match p.kind() {
            pb::DiscountKind::Percent => "percent",
            _ => "fixed",
        };
        let target = match p.target() {
            pb::DiscountTarget::Lines => "lines",
            pb::DiscountTarget::Shipping => "shipping",
            _ => "order",
        };
        PromotionView {
            id: p.id,
            code: given(p.code),
            name: p.name,
            kind: kind.to_owned(),
            percent_bps: p.percent_bps,
            amount_minor: p.amount_minor,
            target: target.to_owned(),
            skus: p.skus,
            product_ids: p.product_ids,
            min_subtotal_minor: p.min_subtotal_minor,
            starts_at_ms: p.starts_at_ms,
            ends_at_ms: p.ends_at_ms,
            usage_limit: p.usage_limit,
            per_customer_limit: p.per_customer_limit,
            used: p.used,
            active: p.active,
        }
    }
}
