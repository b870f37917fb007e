//! Storage of the pricing rules (shipping zones and methods, tax rates and settings,
//! promotions), each cart's choices, what pricing needs of a SKU, and promotion uses: redeemed
//! in the transaction that places an order ([`redeem_in`], a guarded update per limit) and
//! given back in the one that settles a failed checkout ([`release_in`]).

use super::rows::stored_json;
use super::{Refusal, StoreError};
use crate::pricing::{
    DiscountTarget, DiscountValue, Promotion, RateKind, Rounding, ShippingMethod, ShippingZone, TaxRate,
    TaxSettings,
};
use mercato_runtime::db::{Db, Tx};
use mercato_runtime::ids::StoreId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What pricing needs of a SKU, kept by the catalog projection. A SKU the projection does not
/// know (or knew before the catalog carried these) is physical, weightless and standard-rated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuPricing {
    pub weight_grams: i64,
    pub requires_shipping: bool,
    pub tax_category: String,
}

impl Default for SkuPricing {
    fn default() -> Self {
        SkuPricing {
            weight_grams: 0,
            requires_shipping: true,
            tax_category: crate::pricing::tax::STANDARD.to_owned(),
        }
    }
}

/// A shopper's choices on a cart, kept beside it. Addresses are stored as given on the wire
/// (already validated) and validated again when read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartChoices {
    #[serde(default)]
    pub shipping_address: Option<StoredAddress>,
    #[serde(default)]
    pub billing_address: Option<StoredAddress>,
    #[serde(default)]
    pub shipping_method_id: String,
    #[serde(default)]
    pub promotion_code: String,
}

/// An address as stored: the fields of `mercato.common.v1.Address`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAddress {
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

/// Every rule a cart's price depends on, read together.
#[derive(Clone, Debug, Default)]
pub struct PricingRules {
    pub zones: Vec<ShippingZone>,
    pub methods: Vec<ShippingMethod>,
    pub rates: Vec<TaxRate>,
    pub settings: TaxSettings,
    /// Active promotions without a code.
    pub automatic: Vec<Promotion>,
}

/// A promotion an order is placed with, and whose uses it counts against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redemption {
    pub promotion_id: String,
    /// The customer id, or `email:<address>` for an anonymous shopper.
    pub customer_key: String,
    pub per_customer_limit: i64,
}

#[async_trait::async_trait]
pub trait PricingStore: Send + Sync + 'static {
    /// The rules a store prices carts by.
    async fn rules(&self, store: &StoreId) -> Result<PricingRules, StoreError>;

    async fn put_zone(&self, store: &StoreId, zone: &ShippingZone, now_ms: i64) -> Result<(), StoreError>;
    /// Deletes the zone with its methods and tax rates; false when there was none.
    async fn delete_zone(&self, store: &StoreId, id: &str) -> Result<bool, StoreError>;
    async fn put_method(
        &self,
        store: &StoreId,
        method: &ShippingMethod,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn delete_method(&self, store: &StoreId, id: &str) -> Result<bool, StoreError>;
    async fn put_tax_rate(&self, store: &StoreId, rate: &TaxRate) -> Result<(), StoreError>;
    async fn delete_tax_rate(
        &self,
        store: &StoreId,
        zone_id: &str,
        category: &str,
    ) -> Result<bool, StoreError>;
    async fn put_tax_settings(&self, store: &StoreId, settings: &TaxSettings) -> Result<(), StoreError>;

    /// Every promotion of the store, deleted ones included, newest first.
    async fn promotions(&self, store: &StoreId) -> Result<Vec<Promotion>, StoreError>;
    /// The active promotions without a code, oldest first, with their uses as they are now.
    async fn automatic_promotions(&self, store: &StoreId) -> Result<Vec<Promotion>, StoreError>;
    /// The active promotion with this code (upper case).
    async fn promotion_by_code(&self, store: &StoreId, code: &str) -> Result<Option<Promotion>, StoreError>;
    /// [`Refusal::CodeTaken`] when an active promotion has the code.
    async fn insert_promotion(&self, store: &StoreId, p: &Promotion, now_ms: i64) -> Result<(), StoreError>;
    /// Makes it inactive (kept for the orders that carry it); false when there was none.
    async fn deactivate_promotion(&self, store: &StoreId, id: &str) -> Result<bool, StoreError>;
    /// Orders `customer_key` placed with the promotion and still carries.
    async fn customer_uses(
        &self,
        store: &StoreId,
        promotion_id: &str,
        customer_key: &str,
    ) -> Result<i64, StoreError>;

    async fn cart_choices(&self, store: &StoreId, cart_id: &str) -> Result<CartChoices, StoreError>;
    async fn put_cart_choices(
        &self,
        store: &StoreId,
        cart_id: &str,
        c: &CartChoices,
    ) -> Result<(), StoreError>;

    /// What pricing needs of each of these SKUs (the default for unknown ones).
    async fn sku_pricing(
        &self,
        store: &StoreId,
        skus: &[String],
    ) -> Result<HashMap<String, SkuPricing>, StoreError>;
}

/// The SQL implementation, on the orders database.
#[derive(Clone)]
pub struct SqlPricingStore {
    db: Db,
}

impl SqlPricingStore {
    pub fn new(db: Db) -> Self {
        SqlPricingStore { db }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// What a promotion gives and to what, as stored in `promotions.rule_json`.
#[derive(Serialize, Deserialize)]
struct StoredRule {
    value: DiscountValue,
    target: DiscountTarget,
}

type PromotionRow = (String, String, String, String, i64, i64, i64, i64, i64, i64, i64);
const PROMOTION_COLUMNS: &str = "id, code, name, rule_json, min_subtotal_minor, starts_at, ends_at,
     usage_limit, per_customer_limit, used, active";

fn promotion(row: PromotionRow) -> Result<Promotion, StoreError> {
    let (id, code, name, rule, min, starts, ends, limit, per_customer, used, active) = row;
    let rule: StoredRule = serde_json::from_str(&rule).map_err(|e| corrupt("promotion rule", e))?;
    Ok(Promotion {
        id,
        code,
        name,
        value: rule.value,
        target: rule.target,
        min_subtotal_minor: min,
        starts_at_ms: starts,
        ends_at_ms: ends,
        usage_limit: limit,
        per_customer_limit: per_customer,
        used,
        active: active == 1,
    })
}

fn read_rules(tx: &mut Tx<'_>, store: &StoreId) -> Result<PricingRules, StoreError> {
    let zones: Vec<(String, String, String)> = tx.query_all(
        "SELECT id, name, countries_json FROM shipping_zones WHERE store_id = $1 ORDER BY created_at, id",
        &[store],
    )?;
    let zones = zones
        .into_iter()
        .map(|(id, name, countries)| {
            Ok(ShippingZone {
                id,
                name,
                countries: serde_json::from_str(&countries).map_err(|e| corrupt("zone countries", e))?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let methods: Vec<(String, String, String, String, i64)> = tx.query_all(
        "SELECT id, zone_id, name, rate_json, free_above_minor FROM shipping_methods
         WHERE store_id = $1 ORDER BY created_at, id",
        &[store],
    )?;
    let methods = methods
        .into_iter()
        .map(|(id, zone_id, name, rate, free_above_minor)| {
            Ok(ShippingMethod {
                id,
                zone_id,
                name,
                rate: serde_json::from_str::<RateKind>(&rate).map_err(|e| corrupt("shipping rate", e))?,
                free_above_minor,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rates: Vec<(String, String, i64)> = tx.query_all(
        "SELECT zone_id, category, rate_bps FROM tax_rates WHERE store_id = $1 ORDER BY zone_id, category",
        &[store],
    )?;
    let rates = rates
        .into_iter()
        .map(|(zone_id, category, rate_bps)| TaxRate {
            zone_id,
            category,
            rate_bps,
        })
        .collect();
    let settings: Option<(i64, String)> = tx.query_opt(
        "SELECT prices_include_tax, rounding FROM tax_settings WHERE store_id = $1",
        &[store],
    )?;
    let settings = match settings {
        Some((inclusive, rounding)) => TaxSettings {
            prices_include_tax: inclusive == 1,
            rounding: Rounding::parse(&rounding).ok_or_else(|| corrupt("rounding", &rounding))?,
        },
        None => TaxSettings::default(),
    };
    let automatic: Vec<PromotionRow> = tx.query_all(&automatic_promotions_sql(), &[store])?;
    Ok(PricingRules {
        zones,
        methods,
        rates,
        settings,
        automatic: automatic.into_iter().map(promotion).collect::<Result<_, _>>()?,
    })
}

/// The store's (`$1`) active promotions without a code, oldest first.
fn automatic_promotions_sql() -> String {
    format!(
        "SELECT {PROMOTION_COLUMNS} FROM promotions WHERE store_id = $1 AND active = 1 AND code = ''
         ORDER BY created_at, id"
    )
}

#[path = "pricing_sql.rs"]
mod sql;
pub(crate) use sql::{redeem_in, release_in, set_sku_pricing_in};
