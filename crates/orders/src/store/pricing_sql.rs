//! The SQL of [`super::PricingStore`], and the promotion uses written inside the orders
//! store's own transactions.

use super::*;

#[async_trait::async_trait]
impl PricingStore for SqlPricingStore {
    async fn rules(&self, store: &StoreId) -> Result<PricingRules, StoreError> {
        let store = *store;
        self.db
            .read("pricing_rules", move |tx| read_rules(tx, &store))
            .await
    }

    async fn put_zone(&self, store: &StoreId, zone: &ShippingZone, now_ms: i64) -> Result<(), StoreError> {
        let countries = stored_json("zone countries", &zone.countries)?;
        self.db
            .execute(
                "put_shipping_zone",
                "INSERT INTO shipping_zones (store_id, id, name, countries_json, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (store_id, id) DO UPDATE SET name = excluded.name, countries_json = excluded.countries_json",
                &[store, &zone.id, &zone.name, &countries, &now_ms],
            )
            .await?;
        Ok(())
    }

    async fn delete_zone(&self, store: &StoreId, id: &str) -> Result<bool, StoreError> {
        let store = *store;
        let id = id.to_owned();
        self.db
            .write("delete_shipping_zone", move |tx| {
                tx.execute(
                    "DELETE FROM shipping_methods WHERE store_id = $1 AND zone_id = $2",
                    &[&store, &id],
                )?;
                tx.execute(
                    "DELETE FROM tax_rates WHERE store_id = $1 AND zone_id = $2",
                    &[&store, &id],
                )?;
                let deleted = tx.execute(
                    "DELETE FROM shipping_zones WHERE store_id = $1 AND id = $2",
                    &[&store, &id],
                )?;
                Ok(deleted == 1)
            })
            .await
    }

    async fn put_method(&self, store: &StoreId, m: &ShippingMethod, now_ms: i64) -> Result<(), StoreError> {
        let rate = stored_json("shipping rate", &m.rate)?;
        self.db
            .execute(
                "put_shipping_method",
                "INSERT INTO shipping_methods (store_id, id, zone_id, name, rate_json, free_above_minor, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (store_id, id) DO UPDATE SET zone_id = excluded.zone_id, name = excluded.name,
                   rate_json = excluded.rate_json, free_above_minor = excluded.free_above_minor",
                &[store, &m.id, &m.zone_id, &m.name, &rate, &m.free_above_minor, &now_ms],
            )
            .await?;
        Ok(())
    }

    async fn delete_method(&self, store: &StoreId, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .db
            .execute(
                "delete_shipping_method",
                "DELETE FROM shipping_methods WHERE store_id = $1 AND id = $2",
                &[store, &id],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn put_tax_rate(&self, store: &StoreId, r: &TaxRate) -> Result<(), StoreError> {
        self.db
            .execute(
                "put_tax_rate",
                "INSERT INTO tax_rates (store_id, zone_id, category, rate_bps) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (store_id, zone_id, category) DO UPDATE SET rate_bps = excluded.rate_bps",
                &[store, &r.zone_id, &r.category, &r.rate_bps],
            )
            .await?;
        Ok(())
    }

    async fn delete_tax_rate(
        &self,
        store: &StoreId,
        zone_id: &str,
        category: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .db
            .execute(
                "delete_tax_rate",
                "DELETE FROM tax_rates WHERE store_id = $1 AND zone_id = $2 AND category = $3",
                &[store, &zone_id, &category],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn put_tax_settings(&self, store: &StoreId, s: &TaxSettings) -> Result<(), StoreError> {
        self.db
            .execute(
                "put_tax_settings",
                "INSERT INTO tax_settings (store_id, prices_include_tax, rounding) VALUES ($1, $2, $3)
                 ON CONFLICT (store_id) DO UPDATE SET prices_include_tax = excluded.prices_include_tax,
                   rounding = excluded.rounding",
                &[store, &i64::from(s.prices_include_tax), &s.rounding.as_str()],
            )
            .await?;
        Ok(())
    }

    async fn promotions(&self, store: &StoreId) -> Result<Vec<Promotion>, StoreError> {
        let sql = format!(
            "SELECT {PROMOTION_COLUMNS} FROM promotions WHERE store_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows: Vec<PromotionRow> = self.db.query_all(&sql, &[store]).await?;
        rows.into_iter().map(promotion).collect()
    }

    async fn automatic_promotions(&self, store: &StoreId) -> Result<Vec<Promotion>, StoreError> {
        let rows: Vec<PromotionRow> = self
            .db
            .query_all(&super::automatic_promotions_sql(), &[store])
            .await?;
        rows.into_iter().map(promotion).collect()
    }

    async fn promotion_by_code(&self, store: &StoreId, code: &str) -> Result<Option<Promotion>, StoreError> {
        let sql = format!(
            "SELECT {PROMOTION_COLUMNS} FROM promotions WHERE store_id = $1 AND code = $2 AND active = 1 AND code <> ''"
        );
        let row: Option<PromotionRow> = self.db.query_opt(&sql, &[store, &code]).await?;
        row.map(promotion).transpose()
    }

    async fn insert_promotion(&self, store: &StoreId, p: &Promotion, now_ms: i64) -> Result<(), StoreError> {
        let rule = stored_json(
            "promotion rule",
            &StoredRule {
                value: p.value.clone(),
                target: p.target.clone(),
            },
        )?;
        let inserted = self
            .db
            .execute(
                "insert_promotion",
                "INSERT INTO promotions (store_id, id, code, name, rule_json, min_subtotal_minor, starts_at, ends_at,
                                         usage_limit, per_customer_limit, used, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1, $11)",
                &[
                    store,
                    &p.id,
                    &p.code,
                    &p.name,
                    &rule,
                    &p.min_subtotal_minor,
                    &p.starts_at_ms,
                    &p.ends_at_ms,
                    &p.usage_limit,
                    &p.per_customer_limit,
                    &now_ms,
                ],
            )
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if mercato_runtime::db::is_unique_violation(&e) => {
                Err(StoreError::Refused(Refusal::CodeTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn deactivate_promotion(&self, store: &StoreId, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .db
            .execute(
                "deactivate_promotion",
                "UPDATE promotions SET active = 0 WHERE store_id = $1 AND id = $2 AND active = 1",
                &[store, &id],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn customer_uses(
        &self,
        store: &StoreId,
        promotion_id: &str,
        customer_key: &str,
    ) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = self
            .db
            .query_opt(
                "SELECT used FROM promotion_customer_uses WHERE store_id = $1 AND promotion_id = $2 AND customer_key = $3",
                &[store, &promotion_id, &customer_key],
            )
            .await?;
        Ok(row.map_or(0, |r| r.0))
    }

    async fn cart_choices(&self, store: &StoreId, cart_id: &str) -> Result<CartChoices, StoreError> {
        let row: Option<(String,)> = self
            .db
            .query_opt(
                "SELECT choices_json FROM cart_choices WHERE store_id = $1 AND cart_id = $2",
                &[store, &cart_id],
            )
            .await?;
        match row {
            Some((json,)) => serde_json::from_str(&json).map_err(|e| corrupt("cart choices", e)),
            None => Ok(CartChoices::default()),
        }
    }

    async fn put_cart_choices(
        &self,
        store: &StoreId,
        cart_id: &str,
        c: &CartChoices,
    ) -> Result<(), StoreError> {
        let json = stored_json("cart choices", c)?;
        self.db
            .execute(
                "put_cart_choices",
                "INSERT INTO cart_choices (store_id, cart_id, choices_json) VALUES ($1, $2, $3)
                 ON CONFLICT (store_id, cart_id) DO UPDATE SET choices_json = excluded.choices_json",
                &[store, &cart_id, &json],
            )
            .await?;
        Ok(())
    }

    async fn sku_pricing(
        &self,
        store: &StoreId,
        skus: &[String],
    ) -> Result<HashMap<String, SkuPricing>, StoreError> {
        let store = *store;
        let skus = skus.to_vec();
        self.db
            .read("sku_pricing", move |tx| {
                let mut found = HashMap::new();
                for sku in skus {
                    let row: Option<(i64, i64, String)> = tx.query_opt(
                        "SELECT weight_grams, requires_shipping, tax_category FROM catalog_skus
                         WHERE store_id = $1 AND sku = $2",
                        &[&store, &sku],
                    )?;
                    let pricing =
                        row.map_or_else(SkuPricing::default, |(weight_grams, ships, tax_category)| {
                            SkuPricing {
                                weight_grams,
                                requires_shipping: ships == 1,
                                tax_category,
                            }
                        });
                    found.insert(sku, pricing);
                }
                Ok::<_, StoreError>(found)
            })
            .await
    }
}

/// Records what pricing needs of a product's SKUs, in the projection's transaction.
pub(crate) fn set_sku_pricing_in(
    tx: &mut Tx<'_>,
    store: &StoreId,
    skus: &[(String, SkuPricing)],
) -> Result<(), StoreError> {
    for (sku, p) in skus {
        tx.execute(
            "UPDATE catalog_skus SET weight_grams = $3, requires_shipping = $4, tax_category = $5
             WHERE store_id = $1 AND sku = $2",
            &[
                store,
                sku,
                &p.weight_grams,
                &i64::from(p.requires_shipping),
                &p.tax_category,
            ],
        )?;
    }
    Ok(())
}

/// Counts an order's use of each promotion, in the transaction that places it: one guarded
/// update of the promotion's total (`used < usage_limit`) and one of the customer's (`used <
/// per_customer_limit`), so concurrent checkouts can never take more uses than there are —
/// the one that finds none left gets [`Refusal::PromotionExhausted`] and places nothing.
pub(crate) fn redeem_in(
    tx: &mut Tx<'_>,
    store: &StoreId,
    order_id: &str,
    redemptions: &[Redemption],
) -> Result<(), StoreError> {
    for r in redemptions {
        let taken = tx.execute(
            "UPDATE promotions SET used = used + 1
             WHERE store_id = $1 AND id = $2 AND active = 1 AND (usage_limit = 0 OR used < usage_limit)",
            &[store, &r.promotion_id],
        )?;
        if taken != 1 {
            return Err(StoreError::Refused(Refusal::PromotionExhausted));
        }
        let limit = if r.per_customer_limit > 0 {
            r.per_customer_limit
        } else {
            i64::MAX
        };
        let counted = tx.execute(
            "INSERT INTO promotion_customer_uses (store_id, promotion_id, customer_key, used) VALUES ($1, $2, $3, 1)
             ON CONFLICT (store_id, promotion_id, customer_key) DO UPDATE SET used = promotion_customer_uses.used + 1
             WHERE promotion_customer_uses.used < $4",
            &[store, &r.promotion_id, &r.customer_key, &limit],
        )?;
        if counted != 1 {
            return Err(StoreError::Refused(Refusal::PromotionExhausted));
        }
        tx.execute(
            "INSERT INTO promotion_redemptions (store_id, order_id, promotion_id, customer_key, released)
             VALUES ($1, $2, $3, $4, 0)",
            &[store, &order_id, &r.promotion_id, &r.customer_key],
        )?;
    }
    Ok(())
}

/// Gives back the uses a failed checkout took, once (a redemption is marked released in the
/// same transaction), in the transaction that settles the order.
pub(crate) fn release_in(tx: &mut Tx<'_>, store: &StoreId, order_id: &str) -> Result<(), StoreError> {
    let held: Vec<(String, String)> = tx.query_all(
        "SELECT promotion_id, customer_key FROM promotion_redemptions
         WHERE store_id = $1 AND order_id = $2 AND released = 0",
        &[store, &order_id],
    )?;
    for (promotion_id, customer_key) in held {
        tx.execute(
            "UPDATE promotion_redemptions SET released = 1
             WHERE store_id = $1 AND order_id = $2 AND promotion_id = $3",
            &[store, &order_id, &promotion_id],
        )?;
        tx.execute(
            "UPDATE promotions SET used = used - 1 WHERE store_id = $1 AND id = $2 AND used > 0",
            &[store, &promotion_id],
        )?;
        tx.execute(
            "UPDATE promotion_customer_uses SET used = used - 1
             WHERE store_id = $1 AND promotion_id = $2 AND customer_key = $3 AND used > 0",
            &[store, &promotion_id, &customer_key],
        )?;
    }
    Ok(())
}
