//! A store's shipping and tax rules kept in memory per process: pricing reads them each time it
//! prices a cart (twice per checkout journey), and staff change them now and then.
//!
//! Zones, methods, tax rates and tax settings are cached; automatic promotions are not, because
//! their uses count against limits. This process's own changes evict its entry at once (a
//! pricing that read the rules just before a change may put the old ones back, for at most
//! [`RULES_TTL`]); another replica's reach it within [`RULES_TTL`]. Staff validation
//! (`pricing_admin`) always reads the database.

use crate::service::OrdersService;
use crate::store::pricing::PricingRules;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use std::sync::Arc;
use std::time::Duration;

/// How long a rule changed through another replica may take to be priced by this one.
pub const RULES_TTL: Duration = Duration::from_secs(5);
/// Stores whose rules one process keeps at most.
const STORES_KEPT: u64 = 10_000;

/// The per-process copy of each store's rules.
pub(crate) struct RulesCache(moka::sync::Cache<StoreId, Arc<PricingRules>>);

impl RulesCache {
    pub(crate) fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(STORES_KEPT)
                .time_to_live(RULES_TTL)
                .build(),
        )
    }

    /// Drops the store's copy, after this process changed its rules.
    pub(crate) fn forget(&self, store: &StoreId) {
        self.0.invalidate(store);
    }
}

impl OrdersService {
    /// The rules a cart is priced by: the cached zones, methods, rates and settings, with the
    /// automatic promotions as they are now.
    pub(crate) async fn pricing_rules(&self, store: &StoreId) -> Result<PricingRules, ServiceError> {
        let Some(cached) = self.rules_cache.0.get(store) else {
            let rules = self.pricing.rules(store).await?;
            self.rules_cache.0.insert(*store, Arc::new(rules.clone()));
            return Ok(rules);
        };
        Ok(PricingRules {
            automatic: self.pricing.automatic_promotions(store).await?,
            ..(*cached).clone()
        })
    }
}
