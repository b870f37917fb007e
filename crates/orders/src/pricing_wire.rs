//! Pricing at the edge: the rules, promotions and charges as `pricing.proto` messages, and the
//! messages an admin sends as validated rules.

use crate::domain::Order;
use crate::domain::charges::{AppliedPromotion, OrderCharges, PostalAddress};
use crate::pricing::tax::MAX_RATE_BPS;
use crate::pricing::totals::Totals;
use crate::pricing::{
    DiscountTarget, DiscountValue, Promotion, RateKind, Rounding, ShippingMethod, ShippingOption,
    ShippingZone, TaxRate, TaxSettings, WeightBand,
};
use mercato_proto::common;
use mercato_proto::orders as pb;
use mercato_runtime::address::{Address, Country};
use mercato_runtime::error::{ServiceError, Validator};

/// Longest zone, method or promotion name, and promotion code, in characters.
const MAX_NAME_CHARS: usize = 100;
const MAX_CODE_CHARS: usize = 40;
/// Most amounts may be (a sanity bound, far above any price).
const MAX_MINOR: i64 = 1_000_000_000_000;

fn name(v: &mut Validator, field: &str, s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME_CHARS || s.chars().any(char::is_control) {
        v.add(
            field,
            &format!("must be 1-{MAX_NAME_CHARS} characters without control characters"),
        );
    }
    s.to_owned()
}

fn amount(v: &mut Validator, field: &str, n: i64) -> i64 {
    if !(0..=MAX_MINOR).contains(&n) {
        v.add(field, &format!("must be between 0 and {MAX_MINOR}"));
    }
    n
}

/// A zone as given: a name and at least one valid country, each once.
pub fn zone(id: String, z: &pb::ShippingZone) -> Result<ShippingZone, ServiceError> {
    let mut v = Validator::new();
    let name = name(&mut v, "zone.name", &z.name);
    let mut countries: Vec<String> = Vec::new();
    for (i, c) in z.countries.iter().enumerate() {
        if let Some(c) = v.check(Country::parse(&format!("zone.countries[{i}]"), c))
            && !countries.iter().any(|k| k == c.as_str())
        {
            countries.push(c.as_str().to_owned());
        }
    }
    if z.countries.is_empty() {
        v.add("zone.countries", "must name at least one country");
    }
    v.finish()?;
    Ok(ShippingZone { id, name, countries })
}

/// A method as given: flat (no bands) or by weight bands, amounts in range.
pub fn method(id: String, m: &pb::ShippingMethod) -> Result<ShippingMethod, ServiceError> {
    let mut v = Validator::new();
    let name = name(&mut v, "method.name", &m.name);
    if m.zone_id.trim().is_empty() {
        v.add("method.zone_id", "is required");
    }
    let rate = if m.weight_bands.is_empty() {
        RateKind::Flat {
            price_minor: amount(&mut v, "method.flat_price_minor", m.flat_price_minor),
        }
    } else {
        let bands = m
            .weight_bands
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if b.up_to_grams <= 0 {
                    v.add(
                        &format!("method.weight_bands[{i}].up_to_grams"),
                        "must be positive",
                    );
                }
                WeightBand {
                    up_to_grams: b.up_to_grams,
                    price_minor: amount(
                        &mut v,
                        &format!("method.weight_bands[{i}].price_minor"),
                        b.price_minor,
                    ),
                }
            })
            .collect();
        RateKind::WeightBands { bands }
    };
    let free_above_minor = amount(&mut v, "method.free_above_minor", m.free_above_minor);
    v.finish()?;
    Ok(ShippingMethod {
        id,
        zone_id: m.zone_id.trim().to_owned(),
        name,
        rate,
        free_above_minor,
    })
}

/// A tax rate as given: a category name and 0-100 %.
pub fn tax_rate(r: &pb::TaxRate) -> Result<TaxRate, ServiceError> {
    let mut v = Validator::new();
    if r.zone_id.trim().is_empty() {
        v.add("rate.zone_id", "is required");
    }
    let category = r.category.trim().to_lowercase();
    if category.is_empty()
        || category.len() > 40
        || !category.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        v.add("rate.category", "must be 1-40 letters, digits or underscores");
    }
    if !(0..=MAX_RATE_BPS).contains(&r.rate_bps) {
        v.add("rate.rate_bps", &format!("must be between 0 and {MAX_RATE_BPS}"));
    }
    v.finish()?;
    Ok(TaxRate {
        zone_id: r.zone_id.trim().to_owned(),
        category,
        rate_bps: r.rate_bps,
    })
}

pub fn tax_settings(s: &pb::TaxSettings) -> Result<TaxSettings, ServiceError> {
    let rounding = match pb::Rounding::try_from(s.rounding) {
        Ok(pb::Rounding::HalfUp) => Rounding::HalfUp,
        Ok(pb::Rounding::HalfEven) => Rounding::HalfEven,
        _ => {
            return Err(ServiceError::invalid_field(
                "rounding",
                "must be half_up or half_even",
            ));
        }
    };
    Ok(TaxSettings {
        prices_include_tax: s.prices_include_tax,
        rounding,
    })
}

pub fn tax_settings_message(s: &TaxSettings) -> pb::TaxSettings {
    pb::TaxSettings {
        prices_include_tax: s.prices_include_tax,
        rounding: match s.rounding {
            Rounding::HalfUp => pb::Rounding::HalfUp,
            Rounding::HalfEven => pb::Rounding::HalfEven,
        }
        .into(),
    }
}

/// A promotion code as stored and compared: trimmed, upper case.
pub fn normalize_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// A new promotion as given.
pub fn promotion(id: String, p: &pb::Promotion) -> Result<Promotion, ServiceError> {
    let mut v = Validator::new();
    let name = name(&mut v, "promotion.name", &p.name);
    let code = normalize_code(&p.code);
    if code.chars().count() > MAX_CODE_CHARS
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        v.add(
            "promotion.code",
            &format!("must be at most {MAX_CODE_CHARS} letters, digits, - or _ (empty: automatic)"),
        );
    }
    let value = match pb::DiscountKind::try_from(p.kind) {
        Ok(pb::DiscountKind::Percent) => {
            if !(1..=10_000).contains(&p.percent_bps) {
                v.add("promotion.percent_bps", "must be between 1 and 10000");
            }
            DiscountValue::Percent { bps: p.percent_bps }
        }
        Ok(pb::DiscountKind::Fixed) => {
            if !(1..=MAX_MINOR).contains(&p.amount_minor) {
                v.add("promotion.amount_minor", "must be positive");
            }
            DiscountValue::Fixed {
                amount_minor: p.amount_minor,
            }
        }
        _ => {
            v.add("promotion.kind", "must be percent or fixed");
            DiscountValue::Fixed { amount_minor: 0 }
        }
    };
    let target = match pb::DiscountTarget::try_from(p.target) {
        Ok(pb::DiscountTarget::Order) => DiscountTarget::Order,
        Ok(pb::DiscountTarget::Shipping) => DiscountTarget::Shipping,
        Ok(pb::DiscountTarget::Lines) => {
            if p.skus.is_empty() && p.product_ids.is_empty() {
                v.add(
                    "promotion.skus",
                    "a line promotion names at least one SKU or product",
                );
            }
            DiscountTarget::Lines {
                skus: p.skus.iter().map(|s| s.trim().to_owned()).collect(),
                product_ids: p.product_ids.iter().map(|s| s.trim().to_owned()).collect(),
            }
        }
        _ => {
            v.add("promotion.target", "must be order, lines or shipping");
            DiscountTarget::Order
        }
    };
    let min_subtotal_minor = amount(&mut v, "promotion.min_subtotal_minor", p.min_subtotal_minor);
    for (field, n) in [
        ("promotion.starts_at_ms", p.starts_at_ms),
        ("promotion.ends_at_ms", p.ends_at_ms),
        ("promotion.usage_limit", p.usage_limit),
        ("promotion.per_customer_limit", p.per_customer_limit),
    ] {
        if n < 0 {
            v.add(field, "must not be negative");
        }
    }
    if p.ends_at_ms > 0 && p.ends_at_ms <= p.starts_at_ms {
        v.add("promotion.ends_at_ms", "must be after starts_at_ms");
    }
    v.finish()?;
    Ok(Promotion {
        id,
        code,
        name,
        value,
        target,
        min_subtotal_minor,
        starts_at_ms: p.starts_at_ms,
        ends_at_ms: p.ends_at_ms,
        usage_limit: p.usage_limit,
        per_customer_limit: p.per_customer_limit,
        used: 0,
        active: true,
    })
}

pub fn promotion_message(p: &Promotion) -> pb::Promotion {
    let (kind, percent_bps, amount_minor) = match p.value {
        DiscountValue::Percent { bps } => (pb::DiscountKind::Percent, bps, 0),
        DiscountValue::Fixed { amount_minor } => (pb::DiscountKind::Fixed, 0, amount_minor),
    };
    let (target, skus, product_ids) = match &p.target {
        DiscountTarget::Order => (pb::DiscountTarget::Order, vec![], vec![]),
        DiscountTarget::Shipping => (pb::DiscountTarget::Shipping, vec![], vec![]),
        DiscountTarget::Lines { skus, product_ids } => {
            (pb::DiscountTarget::Lines, skus.clone(), product_ids.clone())
        }
    };
    pb::Promotion {
        id: p.id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        kind: kind.into(),
        percent_bps,
        amount_minor,
        target: target.into(),
        skus,
        product_ids,
        min_subtotal_minor: p.min_subtotal_minor,
        starts_at_ms: p.starts_at_ms,
        ends_at_ms: p.ends_at_ms,
        usage_limit: p.usage_limit,
        per_customer_limit: p.per_customer_limit,
        used: p.used,
        active: p.active,
    }
}

pub fn zone_message(z: &ShippingZone, methods: &[ShippingMethod]) -> pb::ShippingZone {
    pb::ShippingZone {
        id: z.id.clone(),
        name: z.name.clone(),
        countries: z.countries.clone(),
        methods: methods
            .iter()
            .filter(|m| m.zone_id == z.id)
            .map(method_message)
            .collect(),
    }
}

pub fn method_message(m: &ShippingMethod) -> pb::ShippingMethod {
    let (flat_price_minor, weight_bands) = match &m.rate {
        RateKind::Flat { price_minor } => (*price_minor, vec![]),
        RateKind::WeightBands { bands } => (
            0,
            bands
                .iter()
                .map(|b| pb::WeightBand {
                    up_to_grams: b.up_to_grams,
                    price_minor: b.price_minor,
                })
                .collect(),
        ),
    };
    pb::ShippingMethod {
        id: m.id.clone(),
        zone_id: m.zone_id.clone(),
        name: m.name.clone(),
        flat_price_minor,
        weight_bands,
        free_above_minor: m.free_above_minor,
    }
}

pub fn tax_rate_message(r: &TaxRate) -> pb::TaxRate {
    pb::TaxRate {
        zone_id: r.zone_id.clone(),
        category: r.category.clone(),
        rate_bps: r.rate_bps,
    }
}

pub fn options_message(options: &[ShippingOption], required: bool) -> pb::ShippingOptions {
    pb::ShippingOptions {
        options: options
            .iter()
            .map(|o| pb::ShippingOption {
                method_id: o.method_id.clone(),
                name: o.name.clone(),
                price_minor: o.price_minor,
            })
            .collect(),
        shipping_required: required,
    }
}

/// An address as kept on an order or a cart.
pub fn postal(a: &Address) -> PostalAddress {
    let p = a.to_proto();
    PostalAddress {
        name: p.name,
        company: p.company,
        line1: p.line1,
        line2: p.line2,
        city: p.city,
        region: p.region,
        postal_code: p.postal_code,
        country: p.country,
        phone: p.phone,
    }
}

pub fn address_message(a: &PostalAddress) -> common::Address {
    common::Address {
        name: a.name.clone(),
        company: a.company.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    }
}

fn applied_message(p: &AppliedPromotion) -> pb::AppliedPromotion {
    pb::AppliedPromotion {
        promotion_id: p.promotion_id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        amount_minor: p.amount_minor,
    }
}

/// The charges message of an order's (or a priced cart's) charges, with its total.
pub fn charges_message(c: &OrderCharges, total_minor: i64) -> pb::Charges {
    pb::Charges {
        subtotal_minor: c.subtotal_minor,
        discount_minor: c.discount_minor,
        shipping_minor: c.shipping_minor,
        shipping_discount_minor: c.shipping_discount_minor,
        shipping_tax_minor: c.shipping_tax_minor,
        tax_minor: c.tax_minor,
        total_minor,
        prices_include_tax: c.prices_include_tax,
        shipping_method_id: c.shipping_method_id.clone(),
        shipping_method_name: c.shipping_method_name.clone(),
        promotions: c.promotions.iter().map(applied_message).collect(),
    }
}

/// The order's charges, addresses and line charges added to its message.
pub fn with_order_charges(mut message: pb::Order, order: &Order) -> pb::Order {
    let c = &order.charges;
    if c.lines.is_empty() {
        return message;
    }
    message.charges = Some(charges_message(c, order.total_minor));
    message.shipping_address = c.shipping_address.as_ref().map(address_message);
    message.billing_address = c.billing_address.as_ref().map(address_message);
    for line in &mut message.lines {
        if let Some(paid) = c.lines.iter().find(|p| p.sku == line.sku) {
            line.charges = Some(pb::LineCharges {
                subtotal_minor: paid.subtotal_minor,
                discount_minor: paid.discount_minor,
                tax_minor: paid.tax_minor,
                total_minor: paid.total_minor,
            });
        }
    }
    message
}

/// An order's charges from a cart's totals (lines in the cart's order, by SKU).
pub fn order_charges(skus: &[String], t: &Totals) -> OrderCharges {
    OrderCharges {
        lines: skus
            .iter()
            .zip(&t.lines)
            .map(|(sku, l)| crate::domain::charges::PaidLine {
                sku: sku.clone(),
                subtotal_minor: l.subtotal_minor,
                discount_minor: l.discount_minor,
                tax_minor: l.tax_minor,
                total_minor: l.total_minor,
            })
            .collect(),
        subtotal_minor: t.subtotal_minor,
        discount_minor: t.discount_minor,
        shipping_minor: t.shipping_minor,
        shipping_discount_minor: t.shipping_discount_minor,
        shipping_tax_minor: t.shipping_tax_minor,
        tax_minor: t.tax_minor,
        prices_include_tax: t.prices_include_tax,
        promotions: t
            .promotions
            .iter()
            .map(|p| AppliedPromotion {
                promotion_id: p.promotion_id.clone(),
                code: p.code.clone(),
                name: p.name.clone(),
                amount_minor: p.amount_minor,
            })
            .collect(),
        ..OrderCharges::default()
    }
}
