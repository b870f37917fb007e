//! Pricing a cart: its choices (addresses, shipping method, promotion code), the store's rules
//! and what its SKUs weigh and how they are taxed, to the shipping options and the totals
//! ([`crate::pricing::totals::compute`]); the cart view with them; the checks checkout makes;
//! and the use cases that change a cart's choices.
//!
//! The tax zone is the shipping address's (the billing address's when nothing ships); without
//! either, or outside every zone, no tax is charged. A store with no shipping zones ships for
//! free with no method to pick; goods that ship always need a shipping address.

use crate::domain::{Caller, Cart, CartStatus};
use crate::pricing::promotions::PromotionRefusal;
use crate::pricing::shipping::{options, zone_for};
use crate::pricing::tax::{rate_bps, shipping_rate_bps};
use crate::pricing::totals::{LineInput, Totals, TotalsInput, compute};
use crate::pricing::{DiscountTarget, Promotion, ShippingOption};
use crate::pricing_wire::{address_message, normalize_code, options_message, postal};
use crate::service::{OrdersService, store_id};
use crate::store::pricing::{CartChoices, StoredAddress};
use crate::wire;
use mercato_proto::common;
use mercato_proto::orders as pb;
use mercato_runtime::address::Address;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::time::now_ms;

/// A cart priced: what checkout needs to check and record, and what the cart view shows.
pub(crate) struct PricedCart {
    pub totals: Totals,
    /// The SKUs of `totals.lines`, in order.
    pub skus: Vec<String>,
    pub shipping_required: bool,
    /// The store has shipping zones.
    pub store_ships: bool,
    /// A zone covers the shipping address.
    pub zone_found: bool,
    pub options: Vec<ShippingOption>,
    /// The chosen method, if it is offered.
    pub method: Option<ShippingOption>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    /// The cart's code and why it does not apply, if it does not.
    pub code_refusal: Option<(String, PromotionRefusal)>,
    /// The promotions applied, in order.
    pub promotions: Vec<Promotion>,
}

impl PricedCart {
    /// Why the cart cannot be checked out as it is priced, if it cannot.
    pub fn refusal(&self) -> Option<ServiceError> {
        if self.shipping_required && self.shipping_address.is_none() {
            return Some(ServiceError::new(
                ErrorCode::ShippingAddressRequired,
                "the cart holds goods to ship: give a shipping_address",
            ));
        }
        if self.shipping_required && self.store_ships {
            if !self.zone_found || self.options.is_empty() {
                return Some(ServiceError::new(
                    ErrorCode::ShippingUnavailable,
                    "no shipping method of the store reaches this address or carries this parcel",
                ));
            }
            if self.method.is_none() {
                return Some(ServiceError::new(
                    ErrorCode::ShippingMethodRequired,
                    "choose one of the cart's shipping methods (shipping_method_id)",
                ));
            }
        }
        self.code_refusal
            .as_ref()
            .map(|(_, r)| promotion_error(r.clone()))
    }
}

/// A promotion refusal as the contract answers it.
pub(crate) fn promotion_error(r: PromotionRefusal) -> ServiceError {
    let code = match r {
        PromotionRefusal::Unknown => ErrorCode::PromotionUnknown,
        PromotionRefusal::NotStarted | PromotionRefusal::Expired => ErrorCode::PromotionInactive,
        PromotionRefusal::Exhausted => ErrorCode::PromotionExhausted,
        PromotionRefusal::BelowMinimum { .. } => ErrorCode::PromotionMinimumNotMet,
    };
    ServiceError::new(code, r.to_string())
}

/// A stored address, validated again (it was when stored; a rule may have tightened since).
fn stored_address(path: &str, a: &Option<StoredAddress>) -> Option<Address> {
    let a = a.as_ref()?;
    let message = common::Address {
        name: a.name.clone(),
        company: a.company.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    };
    Address::parse(path, &message).ok()
}

/// An address as a cart keeps it.
pub(crate) fn to_stored(a: &Address) -> StoredAddress {
    let p = postal(a);
    StoredAddress {
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

/// The order promotions are applied in: lines first, then the order, then shipping.
fn application_rank(p: &Promotion) -> u8 {
    match p.target {
        DiscountTarget::Lines { .. } => 0,
        DiscountTarget::Order => 1,
        DiscountTarget::Shipping => 2,
    }
}

impl OrdersService {
    /// Prices `cart` with `choices` at `now`. `customer_key` (the customer, or the shopper's
    /// e-mail at checkout) is checked against per-customer limits when given.
    pub(crate) async fn price(
        &self,
        cart: &Cart,
        choices: &CartChoices,
        customer_key: Option<&str>,
        now: i64,
    ) -> Result<PricedCart, ServiceError> {
        let store = cart.store_id;
        let rules = self.pricing_rules(&store).await?;
        let skus: Vec<String> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        let attributes = self.pricing.sku_pricing(&store, &skus).await?;
        let attrs = |sku: &str| attributes.get(sku).cloned().unwrap_or_default();
        let shipping_required = skus.iter().any(|s| attrs(s).requires_shipping);
        let shipping_address = stored_address("shipping_address", &choices.shipping_address);
        let billing_address = stored_address("billing_address", &choices.billing_address);
        let zone = shipping_address
            .as_ref()
            .filter(|_| shipping_required)
            .or(billing_address.as_ref())
            .or(shipping_address.as_ref())
            .and_then(|a| zone_for(&rules.zones, a.country().as_str()));
        let subtotal = cart.total_minor();
        let weight: i64 = cart
            .lines
            .iter()
            .map(|l| attrs(&l.sku).weight_grams.saturating_mul(l.quantity))
            .sum();
        let ship_zone = shipping_address
            .as_ref()
            .and_then(|a| zone_for(&rules.zones, a.country().as_str()));
        let offered = match ship_zone {
            Some(z) if shipping_required => options(&rules.methods, z, weight, subtotal),
            _ => Vec::new(),
        };
        let method = offered
            .iter()
            .find(|o| o.method_id == choices.shipping_method_id)
            .cloned();
        let mut promotions: Vec<Promotion> = rules
            .automatic
            .iter()
            .filter(|p| p.check(now, subtotal).is_ok())
            .cloned()
            .collect();
        let mut code_refusal = None;
        if !choices.promotion_code.is_empty() {
            match self
                .code_promotion(&store, &choices.promotion_code, customer_key, now, subtotal)
                .await?
            {
                Ok(p) => promotions.push(p),
                Err(r) => code_refusal = Some((choices.promotion_code.clone(), r)),
            }
        }
        promotions.sort_by_key(application_rank);
        let zone_id = zone.map(|z| z.id.as_str());
        let input = TotalsInput {
            lines: cart
                .lines
                .iter()
                .map(|l| LineInput {
                    sku: l.sku.clone(),
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    tax_rate_bps: rate_bps(&rules.rates, zone_id, &attrs(&l.sku).tax_category),
                })
                .collect(),
            settings: rules.settings,
            shipping_minor: method.as_ref().map_or(0, |m| m.price_minor),
            shipping_tax_rate_bps: shipping_rate_bps(&rules.rates, zone_id),
            promotions: promotions.clone(),
        };
        Ok(PricedCart {
            totals: compute(&input),
            skus,
            shipping_required,
            store_ships: !rules.zones.is_empty(),
            zone_found: ship_zone.is_some(),
            options: offered,
            method,
            shipping_address,
            billing_address,
            code_refusal,
            promotions,
        })
    }

    /// The active promotion with `code`, if it applies now to goods of `subtotal_minor` (and,
    /// with `customer_key`, to this customer).
    async fn code_promotion(
        &self,
        store: &mercato_runtime::ids::StoreId,
        code: &str,
        customer_key: Option<&str>,
        now: i64,
        subtotal_minor: i64,
    ) -> Result<Result<Promotion, PromotionRefusal>, ServiceError> {
        let Some(p) = self
            .pricing
            .promotion_by_code(store, &normalize_code(code))
            .await?
        else {
            return Ok(Err(PromotionRefusal::Unknown));
        };
        if let Err(r) = p.check(now, subtotal_minor) {
            return Ok(Err(r));
        }
        if let Some(key) = customer_key.filter(|_| p.per_customer_limit > 0)
            && self.pricing.customer_uses(store, &p.id, key).await? >= p.per_customer_limit
        {
            return Ok(Err(PromotionRefusal::Exhausted));
        }
        Ok(Ok(p))
    }

    /// The cart as the contract sends it, priced with its choices.
    pub(crate) async fn cart_view(&self, cart: &Cart, token: Option<&str>) -> Result<pb::Cart, ServiceError> {
        let mut message = wire::cart(cart, token);
        if cart.status != CartStatus::Open || cart.lines.is_empty() {
            return Ok(message);
        }
        let choices = self
            .pricing
            .cart_choices(&cart.store_id, &cart.id.to_string())
            .await?;
        let key = (!cart.customer_id.is_empty()).then_some(cart.customer_id.as_str());
        let priced = self.price(cart, &choices, key, now_ms()).await?;
        let mut charges = crate::pricing_wire::order_charges(&priced.skus, &priced.totals);
        if let Some(m) = &priced.method {
            charges.shipping_method_id = m.method_id.clone();
            charges.shipping_method_name = m.name.clone();
        }
        for (line, paid) in message.lines.iter_mut().zip(&charges.lines) {
            line.charges = Some(pb::LineCharges {
                subtotal_minor: paid.subtotal_minor,
                discount_minor: paid.discount_minor,
                tax_minor: paid.tax_minor,
                total_minor: paid.total_minor,
            });
        }
        message.total_minor = priced.totals.total_minor;
        message.charges = Some(crate::pricing_wire::charges_message(
            &charges,
            priced.totals.total_minor,
        ));
        message.shipping_address = priced
            .shipping_address
            .as_ref()
            .map(|a| address_message(&postal(a)));
        message.billing_address = priced
            .billing_address
            .as_ref()
            .map(|a| address_message(&postal(a)));
        message.promotion_code = choices.promotion_code.clone();
        message.shipping = Some(options_message(&priced.options, priced.shipping_required));
        Ok(message)
    }

    /// The caller's open cart and its choices.
    async fn open_cart_choices(
        &self,
        store: &str,
        cart: &str,
        caller: Option<&pb::Caller>,
    ) -> Result<(Cart, CartChoices, Caller), ServiceError> {
        let store = store_id(store)?;
        let id = crate::carts::cart_id(cart)?;
        let caller = wire::caller(caller)?;
        let cart = self.owned_cart(&store, &id, &caller).await?;
        if cart.status != CartStatus::Open {
            return Err(ServiceError::new(
                ErrorCode::CartCheckedOut,
                format!("the cart is {}", cart.status.as_str()),
            ));
        }
        let choices = self.pricing.cart_choices(&store, &id.to_string()).await?;
        Ok((cart, choices, caller))
    }

    pub(crate) async fn set_cart_addresses(
        &self,
        req: pb::SetCartAddressesRequest,
    ) -> Result<pb::Cart, ServiceError> {
        let (cart, mut choices, _) = self
            .open_cart_choices(&req.store_id, &req.cart_id, req.caller.as_ref())
            .await?;
        let shipping = req
            .shipping_address
            .as_ref()
            .map(|a| Address::parse("shipping_address", a))
            .transpose()?;
        let billing = req
            .billing_address
            .as_ref()
            .map(|a| Address::parse("billing_address", a))
            .transpose()?;
        choices.shipping_address = shipping.as_ref().map(to_stored);
        choices.billing_address = billing.as_ref().map(to_stored);
        self.pricing
            .put_cart_choices(&cart.store_id, &cart.id.to_string(), &choices)
            .await?;
        self.cart_view(&cart, None).await
    }

    pub(crate) async fn list_shipping_options(
        &self,
        req: pb::GetCartRequest,
    ) -> Result<pb::ShippingOptions, ServiceError> {
        let (cart, choices, _) = self
            .open_cart_choices(&req.store_id, &req.cart_id, req.caller.as_ref())
            .await?;
        let priced = self.price(&cart, &choices, None, now_ms()).await?;
        Ok(options_message(&priced.options, priced.shipping_required))
    }

    pub(crate) async fn set_cart_shipping_method(
        &self,
        req: pb::SetCartShippingMethodRequest,
    ) -> Result<pb::Cart, ServiceError> {
        let (cart, mut choices, _) = self
            .open_cart_choices(&req.store_id, &req.cart_id, req.caller.as_ref())
            .await?;
        choices.shipping_method_id = req.method_id.trim().to_owned();
        let priced = self.price(&cart, &choices, None, now_ms()).await?;
        if priced.shipping_required && priced.shipping_address.is_none() {
            return Err(ServiceError::new(
                ErrorCode::ShippingAddressRequired,
                "set the cart's shipping address before its shipping method",
            ));
        }
        if priced.method.is_none() {
            return Err(ServiceError::invalid_field(
                "method_id",
                "is not one of the cart's shipping options",
            ));
        }
        self.pricing
            .put_cart_choices(&cart.store_id, &cart.id.to_string(), &choices)
            .await?;
        self.cart_view(&cart, None).await
    }

    pub(crate) async fn set_cart_promotion_code(
        &self,
        req: pb::SetCartPromotionCodeRequest,
    ) -> Result<pb::Cart, ServiceError> {
        let (cart, mut choices, caller) = self
            .open_cart_choices(&req.store_id, &req.cart_id, req.caller.as_ref())
            .await?;
        let code = normalize_code(&req.code);
        if !code.is_empty() {
            let key = (!caller.user_id.is_empty()).then_some(caller.user_id.as_str());
            self.code_promotion(&cart.store_id, &code, key, now_ms(), cart.total_minor())
                .await?
                .map_err(promotion_error)?;
        }
        choices.promotion_code = code;
        self.pricing
            .put_cart_choices(&cart.store_id, &cart.id.to_string(), &choices)
            .await?;
        self.cart_view(&cart, None).await
    }
}

/// What checkout records of a cart's pricing.
pub(crate) struct CheckoutPricing {
    pub charges: crate::domain::charges::OrderCharges,
    pub total_minor: i64,
    pub redemptions: Vec<crate::store::pricing::Redemption>,
}

/// Choices a checkout request gives itself, over the cart's.
#[derive(Default)]
pub(crate) struct InlineChoices {
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub shipping_method_id: Option<String>,
}

impl OrdersService {
    /// Prices a cart for checkout, refusing (422) a cart that cannot be checked out as priced:
    /// goods to ship without an address, an address no method reaches, no method chosen, a
    /// code that does not apply. `customer_key` is whose per-customer promotion uses count.
    pub(crate) async fn price_checkout(
        &self,
        cart: &Cart,
        inline: &InlineChoices,
        customer_key: &str,
        now: i64,
    ) -> Result<CheckoutPricing, ServiceError> {
        let mut choices = self
            .pricing
            .cart_choices(&cart.store_id, &cart.id.to_string())
            .await?;
        if let Some(a) = &inline.shipping_address {
            choices.shipping_address = Some(to_stored(a));
        }
        if let Some(a) = &inline.billing_address {
            choices.billing_address = Some(to_stored(a));
        }
        if let Some(m) = &inline.shipping_method_id {
            choices.shipping_method_id = m.clone();
        }
        let priced = self.price(cart, &choices, Some(customer_key), now).await?;
        if let Some(refusal) = priced.refusal() {
            return Err(refusal);
        }
        let mut charges = crate::pricing_wire::order_charges(&priced.skus, &priced.totals);
        if let Some(m) = &priced.method {
            charges.shipping_method_id = m.method_id.clone();
            charges.shipping_method_name = m.name.clone();
        }
        charges.shipping_address = priced.shipping_address.as_ref().map(postal);
        charges.billing_address = priced.billing_address.as_ref().map(postal);
        let redemptions = priced
            .promotions
            .iter()
            .map(|p| crate::store::pricing::Redemption {
                promotion_id: p.id.clone(),
                customer_key: customer_key.to_owned(),
                per_customer_limit: p.per_customer_limit,
            })
            .collect();
        Ok(CheckoutPricing {
            charges,
            total_minor: priced.totals.total_minor,
            redemptions,
        })
    }
}
