//! Cart use cases: create, get, add and set lines, merge an anonymous cart into a customer's.

use crate::domain::{Caller, Cart, CartId, CartStatus, Role};
use crate::service::{OrdersService, store_id};
use crate::store::StoreError;
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

/// Attempts at a cart write when another write got there first.
const ATTEMPTS: usize = 5;

/// A new anonymous cart token: 256 random bits, hex.
fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    mercato_runtime::digest::hex(&bytes)
}

pub(crate) fn cart_id(s: &str) -> Result<CartId, ServiceError> {
    CartId::parse("cart_id", s)
}

impl OrdersService {
    pub(crate) async fn create_cart(&self, req: pb::CreateCartRequest) -> Result<pb::Cart, ServiceError> {
        let store = store_id(&req.store_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let token = caller.user_id.is_empty().then(new_token);
        let cart = Cart::new(store, &caller.user_id, token.as_deref(), now_ms());
        self.store.insert_cart(&cart).await?;
        Ok(wire::cart(&cart, token.as_deref()))
    }

    /// The cart if the caller owns it; 404 otherwise, so that carts cannot be probed.
    pub(crate) async fn owned_cart(
        &self,
        store: &StoreId,
        id: &CartId,
        caller: &Caller,
    ) -> Result<Cart, ServiceError> {
        match self.store.cart(store, id).await? {
            Some(cart) if cart.owned_by(caller) => Ok(cart),
            _ => Err(ServiceError::not_found("cart")),
        }
    }

    pub(crate) async fn get_cart(&self, req: pb::GetCartRequest) -> Result<pb::Cart, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = cart_id(&req.cart_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let cart = self.owned_cart(&store, &id, &caller).await?;
        self.cart_view(&cart, None).await
    }

    pub(crate) async fn add_cart_item(&self, req: pb::AddCartItemRequest) -> Result<pb::Cart, ServiceError> {
        let caller = wire::caller(req.caller.as_ref())?;
        self.change_line(&req.store_id, &req.cart_id, &caller, &req.sku, |cart, info| {
            cart.add(info, req.quantity).map_err(ServiceError::from)
        })
        .await
    }

    pub(crate) async fn set_cart_item(&self, req: pb::SetCartItemRequest) -> Result<pb::Cart, ServiceError> {
        let caller = wire::caller(req.caller.as_ref())?;
        let quantity = req.quantity;
        self.change_line(&req.store_id, &req.cart_id, &caller, &req.sku, |cart, info| {
            cart.set(info, quantity).map_err(ServiceError::from)
        })
        .await
    }

    async fn change_line(
        &self,
        store: &str,
        cart: &str,
        caller: &Caller,
        sku: &str,
        change: impl Fn(&mut Cart, &crate::domain::SkuInfo) -> Result<(), ServiceError>,
    ) -> Result<pb::Cart, ServiceError> {
        let store = store_id(store)?;
        let id = cart_id(cart)?;
        let sku = sku.trim();
        if sku.is_empty() {
            return Err(ServiceError::invalid_field("sku", "is required"));
        }
        for _ in 0..ATTEMPTS {
            let mut cart = self.owned_cart(&store, &id, caller).await?;
            // A line already in the cart can still be changed (or removed) after its SKU left
            // the catalog; a new line needs a SKU the catalog knows.
            let info = match cart.lines.iter().find(|l| l.sku == sku) {
                Some(l) => crate::domain::SkuInfo {
                    sku: l.sku.clone(),
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    price_minor: l.unit_price_minor,
                    currency: cart.currency.clone(),
                },
                None => self
                    .store
                    .sku(&store, sku)
                    .await?
                    .ok_or_else(|| ServiceError::invalid_field("sku", "is not in the catalog"))?,
            };
            let expected = cart.version;
            change(&mut cart, &info)?;
            cart.version += 1;
            cart.updated_at_ms = now_ms();
            let starts = cart.starts_now();
            let written = if starts {
                self.store.start_cart(&cart, expected).await
            } else {
                self.store.update_cart(&cart, expected).await
            };
            match written {
                Ok(()) => {
                    if starts {
                        self.committed();
                    }
                    return self.cart_view(&cart, None).await;
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }

    pub(crate) async fn merge_cart(&self, req: pb::MergeCartRequest) -> Result<pb::Cart, ServiceError> {
        let store = store_id(&req.store_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        if caller.role == Role::Anonymous {
            return Err(ServiceError::unauthenticated(
                "merging a cart needs a signed-in customer",
            ));
        }
        let anonymous_id = CartId::parse("anonymous_cart_id", &req.anonymous_cart_id)?;
        let holder = Caller {
            cart_token: req.anonymous_cart_token.clone(),
            ..Caller::default()
        };
        for _ in 0..ATTEMPTS {
            let mut source = self.owned_cart(&store, &anonymous_id, &holder).await?;
            if !source.is_anonymous() {
                return Err(ServiceError::not_found("cart"));
            }
            if source.status != CartStatus::Open {
                return Err(ServiceError::new(
                    ErrorCode::CartCheckedOut,
                    format!("the cart is {}", source.status.as_str()),
                ));
            }
            let now = now_ms();
            let existing = self.store.open_cart_of(&store, &caller.user_id).await?;
            let expected = existing.as_ref().map(|c| c.version);
            let mut target = existing.unwrap_or_else(|| Cart::new(store, &caller.user_id, None, now));
            target.absorb(&source)?;
            if expected.is_some() {
                target.version += 1;
            }
            target.updated_at_ms = now;
            let source_expected = source.version;
            source.status = CartStatus::Merged;
            source.version += 1;
            source.updated_at_ms = now;
            match self
                .store
                .merge_carts(&target, expected, &source, source_expected)
                .await
            {
                Ok(()) => return self.cart_view(&target, None).await,
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }
}
