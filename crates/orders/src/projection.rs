//! The SKU projection: orders keeps its own copy of every SKU's product, title and price, fed
//! by catalog events (consumer group `orders-catalog`, deduplicated with the inbox; stale
//! product versions are ignored). Only active products' SKUs are kept: a draft or archived
//! product cannot be put in a cart.

use crate::domain::SkuInfo;
use crate::events;
use crate::service::{CATALOG_GROUP, OrdersService};
use crate::store::pricing::SkuPricing;
use mercato_proto::events::{EventEnvelope, ProductChanged, ProductDeleted};
use mercato_runtime::ids::StoreId;
use prost::Message;

impl OrdersService {
    /// Applies one catalog event to the SKU projection; other subjects are ignored. Public so
    /// that tests (and tools) can feed the projection without a bus.
    pub async fn apply_catalog_event(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        let Ok(store) = event.store_id.parse::<StoreId>() else {
            tracing::warn!(event_id = %event.id, "catalog event without a valid store id");
            return Ok(());
        };
        match event.subject.as_str() {
            events::PRODUCT_CREATED | events::PRODUCT_UPDATED => {
                let changed = ProductChanged::decode(event.payload.as_slice())?;
                let Some(p) = changed.product.filter(|p| p.store_id == event.store_id) else {
                    tracing::warn!(event_id = %event.id, "product event without its product");
                    return Ok(());
                };
                // What pricing needs of each SKU: a variant published before these fields
                // existed ships and is standard-rated.
                let category = if p.tax_category.trim().is_empty() {
                    crate::pricing::tax::STANDARD.to_owned()
                } else {
                    p.tax_category.trim().to_owned()
                };
                // A draft or archived product is projected without SKUs: nobody can put it in
                // a cart until a later version makes it active again.
                let for_sale = is_for_sale(&p.status);
                let skus: Vec<(SkuInfo, SkuPricing)> = p
                    .variants
                    .iter()
                    .filter(|_| for_sale)
                    .filter_map(|v| {
                        let price = v.price.as_ref()?;
                        let title = if v.title.trim().is_empty() || v.title == p.title {
                            p.title.clone()
                        } else {
                            format!("{} ({})", p.title, v.title)
                        };
                        let info = SkuInfo {
                            sku: v.sku.clone(),
                            product_id: p.id.clone(),
                            title,
                            price_minor: price.amount_minor,
                            currency: price.currency.clone(),
                        };
                        let pricing = SkuPricing {
                            weight_grams: v.weight_grams.max(0),
                            requires_shipping: v.requires_shipping.unwrap_or(true),
                            tax_category: category.clone(),
                        };
                        Some((info, pricing))
                    })
                    .collect();
                self.store
                    .project_product(&store, &p.id, p.version, &skus, CATALOG_GROUP, &event.id)
                    .await?;
            }
            events::PRODUCT_DELETED => {
                let deleted = ProductDeleted::decode(event.payload.as_slice())?;
                self.store
                    .project_deletion(
                        &store,
                        &deleted.product_id,
                        deleted.version,
                        CATALOG_GROUP,
                        &event.id,
                    )
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether a product in this catalog status can be bought: only active ones (an empty status is
/// an event from before statuses, when every product was active).
fn is_for_sale(status: &str) -> bool {
    matches!(status.trim(), "" | "active")
}
