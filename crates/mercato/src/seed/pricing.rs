//! The demo store's shipping, tax and promotion: zones for Germany and the rest of the EU with
//! their methods (flat, by weight, free above a subtotal), their standard and reduced VAT rates
//! (prices entered with VAT included, as EU shops show them),
//! and the code `WELCOME10`, so that a newcomer's first cart shows shipping, tax and a discount.

use mercato_proto::common::Role;
use mercato_proto::orders::{
    Caller, CreatePromotionRequest, DiscountKind, DiscountTarget, Promotion, PutShippingMethodRequest,
    PutShippingZoneRequest, PutTaxRateRequest, PutTaxSettingsRequest, Rounding, ShippingMethod, ShippingZone,
    TaxRate, TaxSettings, WeightBand,
};
use mercato_runtime::clients::orders::OrdersClient;

/// The demo promotion code: 10 % off an order of 20.00 or more, once per customer.
pub const DEMO_CODE: &str = "WELCOME10";

/// A zone, its methods and its (standard, reduced) VAT in basis points.
struct DemoZone {
    name: &'static str,
    countries: &'static [&'static str],
    methods: fn(zone_id: &str) -> Vec<ShippingMethod>,
    vat_bps: (i64, i64),
}

fn flat(zone_id: &str, name: &str, price_minor: i64, free_above_minor: i64) -> ShippingMethod {
    ShippingMethod {
        zone_id: zone_id.to_owned(),
        name: name.to_owned(),
        flat_price_minor: price_minor,
        free_above_minor,
        ..ShippingMethod::default()
    }
}

fn by_weight(zone_id: &str, name: &str, bands: &[(i64, i64)]) -> ShippingMethod {
    ShippingMethod {
        zone_id: zone_id.to_owned(),
        name: name.to_owned(),
        weight_bands: bands
            .iter()
            .map(|&(up_to_grams, price_minor)| WeightBand {
                up_to_grams,
                price_minor,
            })
            .collect(),
        ..ShippingMethod::default()
    }
}

const ZONES: &[DemoZone] = &[
    DemoZone {
        name: "Germany",
        countries: &["DE"],
        methods: |z| vec![flat(z, "DHL Paket", 490, 5000), flat(z, "DHL Express", 1290, 0)],
        vat_bps: (1900, 700),
    },
    DemoZone {
        name: "European Union",
        countries: &[
            "AT", "BE", "DK", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PL", "PT", "SE",
        ],
        methods: |z| {
            vec![by_weight(
                z,
                "International parcel",
                &[(1000, 990), (5000, 1690), (30_000, 2990)],
            )]
        },
        vat_bps: (2000, 1000),
    },
];

/// Sets up the demo store's pricing as its owner `owner_id`.
pub async fn demo_pricing(orders: &OrdersClient, store_id: &str, owner_id: &str) -> anyhow::Result<()> {
    let caller = Caller {
        user_id: owner_id.to_owned(),
        role: Role::Owner.into(),
        cart_token: String::new(),
    };
    for demo in ZONES {
        let zone = orders
            .put_shipping_zone(PutShippingZoneRequest {
                store_id: store_id.to_owned(),
                caller: Some(caller.clone()),
                zone: Some(ShippingZone {
                    name: demo.name.to_owned(),
                    countries: demo.countries.iter().map(|c| (*c).to_owned()).collect(),
                    ..ShippingZone::default()
                }),
            })
            .await?;
        for method in (demo.methods)(&zone.id) {
            orders
                .put_shipping_method(PutShippingMethodRequest {
                    store_id: store_id.to_owned(),
                    caller: Some(caller.clone()),
                    method: Some(method),
                })
                .await?;
        }
        for (category, rate_bps) in [("standard", demo.vat_bps.0), ("reduced", demo.vat_bps.1)] {
            orders
                .put_tax_rate(PutTaxRateRequest {
                    store_id: store_id.to_owned(),
                    caller: Some(caller.clone()),
                    rate: Some(TaxRate {
                        zone_id: zone.id.clone(),
                        category: category.to_owned(),
                        rate_bps,
                    }),
                })
                .await?;
        }
    }
    // Shoppers in the EU see prices with VAT included, and German shops round half up.
    orders
        .put_tax_settings(PutTaxSettingsRequest {
            store_id: store_id.to_owned(),
            caller: Some(caller.clone()),
            settings: Some(TaxSettings {
                prices_include_tax: true,
                rounding: Rounding::HalfUp.into(),
            }),
        })
        .await?;
    orders
        .create_promotion(CreatePromotionRequest {
            store_id: store_id.to_owned(),
            caller: Some(caller),
            promotion: Some(Promotion {
                code: DEMO_CODE.to_owned(),
                name: "Welcome: 10 % off".to_owned(),
                kind: DiscountKind::Percent.into(),
                percent_bps: 1000,
                target: DiscountTarget::Order.into(),
                min_subtotal_minor: 2000,
                per_customer_limit: 1,
                ..Promotion::default()
            }),
        })
        .await?;
    Ok(())
}
