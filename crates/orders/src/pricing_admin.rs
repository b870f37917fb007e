//! The pricing rules' use cases: shipping zones and methods, tax rates and promotions (owner or
//! staff), tax settings (owner only). Tenant from the request's store, role from its caller;
//! ids are UUIDv7 chosen here.

use crate::domain::{Caller, Role};
use crate::pricing_wire as pw;
use crate::service::{OrdersService, store_id};
use crate::store::pricing::PricingRules;
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

fn staff(store: &str, caller: Option<&pb::Caller>) -> Result<(StoreId, Caller), ServiceError> {
    let store = store_id(store)?;
    let caller = wire::caller(caller)?;
    if caller.role == Role::Anonymous {
        return Err(ServiceError::unauthenticated(
            "pricing rules need a signed-in owner or staff",
        ));
    }
    if !caller.is_staff() {
        return Err(ServiceError::forbidden("only owner and staff manage pricing"));
    }
    Ok((store, caller))
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn config(rules: &PricingRules) -> pb::PricingConfig {
    pb::PricingConfig {
        zones: rules
            .zones
            .iter()
            .map(|z| pw::zone_message(z, &rules.methods))
            .collect(),
        tax_rates: rules.rates.iter().map(pw::tax_rate_message).collect(),
        tax_settings: Some(pw::tax_settings_message(&rules.settings)),
    }
}

impl OrdersService {
    pub(crate) async fn get_pricing_config(
        &self,
        req: pb::PricingRequest,
    ) -> Result<pb::PricingConfig, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        Ok(config(&self.pricing.rules(&store).await?))
    }

    /// Creates (empty id) or replaces a zone; a country already in another zone is 409.
    pub(crate) async fn put_shipping_zone(
        &self,
        req: pb::PutShippingZoneRequest,
    ) -> Result<pb::ShippingZone, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let given = req.zone.unwrap_or_default();
        let rules = self.pricing.rules(&store).await?;
        let id = if given.id.trim().is_empty() {
            new_id()
        } else if rules.zones.iter().any(|z| z.id == given.id) {
            given.id.clone()
        } else {
            return Err(ServiceError::not_found("shipping zone"));
        };
        let zone = pw::zone(id, &given)?;
        for other in rules.zones.iter().filter(|z| z.id != zone.id) {
            if let Some(c) = zone.countries.iter().find(|c| other.countries.contains(c)) {
                return Err(ServiceError::new(
                    ErrorCode::Conflict,
                    format!("{c} is already in the zone {}", other.name),
                ));
            }
        }
        self.pricing.put_zone(&store, &zone, now_ms()).await?;
        self.rules_cache.forget(&store);
        Ok(pw::zone_message(&zone, &rules.methods))
    }

    pub(crate) async fn delete_shipping_zone(
        &self,
        req: pb::DeletePricingItemRequest,
    ) -> Result<pb::Deleted, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let deleted = self.pricing.delete_zone(&store, &req.id).await?;
        self.rules_cache.forget(&store);
        if deleted {
            Ok(pb::Deleted {})
        } else {
            Err(ServiceError::not_found("shipping zone"))
        }
    }

    pub(crate) async fn put_shipping_method(
        &self,
        req: pb::PutShippingMethodRequest,
    ) -> Result<pb::ShippingMethod, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let given = req.method.unwrap_or_default();
        let rules = self.pricing.rules(&store).await?;
        let id = if given.id.trim().is_empty() {
            new_id()
        } else if rules.methods.iter().any(|m| m.id == given.id) {
            given.id.clone()
        } else {
            return Err(ServiceError::not_found("shipping method"));
        };
        let method = pw::method(id, &given)?;
        if !rules.zones.iter().any(|z| z.id == method.zone_id) {
            return Err(ServiceError::invalid_field(
                "method.zone_id",
                "names no shipping zone of this store",
            ));
        }
        self.pricing.put_method(&store, &method, now_ms()).await?;
        self.rules_cache.forget(&store);
        Ok(pw::method_message(&method))
    }

    pub(crate) async fn delete_shipping_method(
        &self,
        req: pb::DeletePricingItemRequest,
    ) -> Result<pb::Deleted, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let deleted = self.pricing.delete_method(&store, &req.id).await?;
        self.rules_cache.forget(&store);
        if deleted {
            Ok(pb::Deleted {})
        } else {
            Err(ServiceError::not_found("shipping method"))
        }
    }

    pub(crate) async fn put_tax_rate(&self, req: pb::PutTaxRateRequest) -> Result<pb::TaxRate, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let rate = pw::tax_rate(&req.rate.unwrap_or_default())?;
        let rules = self.pricing.rules(&store).await?;
        if !rules.zones.iter().any(|z| z.id == rate.zone_id) {
            return Err(ServiceError::invalid_field(
                "rate.zone_id",
                "names no shipping zone of this store",
            ));
        }
        self.pricing.put_tax_rate(&store, &rate).await?;
        self.rules_cache.forget(&store);
        Ok(pw::tax_rate_message(&rate))
    }

    pub(crate) async fn delete_tax_rate(
        &self,
        req: pb::DeleteTaxRateRequest,
    ) -> Result<pb::Deleted, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let deleted = self
            .pricing
            .delete_tax_rate(&store, &req.zone_id, &req.category.trim().to_lowercase())
            .await?;
        self.rules_cache.forget(&store);
        if deleted {
            Ok(pb::Deleted {})
        } else {
            Err(ServiceError::not_found("tax rate"))
        }
    }

    /// The store's tax settings: the owner's alone to change.
    pub(crate) async fn put_tax_settings(
        &self,
        req: pb::PutTaxSettingsRequest,
    ) -> Result<pb::TaxSettings, ServiceError> {
        let (store, caller) = staff(&req.store_id, req.caller.as_ref())?;
        if caller.role != Role::Owner {
            return Err(ServiceError::forbidden("only the owner changes the tax settings"));
        }
        let settings = pw::tax_settings(&req.settings.unwrap_or_default())?;
        self.pricing.put_tax_settings(&store, &settings).await?;
        self.rules_cache.forget(&store);
        Ok(pw::tax_settings_message(&settings))
    }

    pub(crate) async fn create_promotion(
        &self,
        req: pb::CreatePromotionRequest,
    ) -> Result<pb::Promotion, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let promotion = pw::promotion(new_id(), &req.promotion.unwrap_or_default())?;
        self.pricing
            .insert_promotion(&store, &promotion, now_ms())
            .await?;
        Ok(pw::promotion_message(&promotion))
    }

    pub(crate) async fn list_promotions(
        &self,
        req: pb::PricingRequest,
    ) -> Result<pb::ListPromotionsResponse, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        let promotions = self.pricing.promotions(&store).await?;
        Ok(pb::ListPromotionsResponse {
            promotions: promotions.iter().map(pw::promotion_message).collect(),
        })
    }

    /// Deactivates it: orders that carry it keep it; carts with its code stop getting it.
    pub(crate) async fn delete_promotion(
        &self,
        req: pb::DeletePricingItemRequest,
    ) -> Result<pb::Deleted, ServiceError> {
        let (store, _) = staff(&req.store_id, req.caller.as_ref())?;
        if self.pricing.deactivate_promotion(&store, &req.id).await? {
            Ok(pb::Deleted {})
        } else {
            Err(ServiceError::not_found("promotion"))
        }
    }
}
