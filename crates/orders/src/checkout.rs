//! The checkout use case: idempotency key, placing the order, and driving its saga inline.
//!
//! `idempotency_key` is required. Keys are scoped by the caller (the customer, or the
//! anonymous cart) and live 24 hours. The same key with the same `request_hash` replays the
//! order as it was when its checkout ended (`replayed = true`); with another hash it is 422;
//! while the first request's saga is still running it is 409 `checkout_in_progress` with the
//! seconds to wait. Concurrent requests with one key race on the key's row inside the placing
//! transaction, so only one order is ever placed; a loser gets the winner's answer or "in
//! progress", never "the cart is checked out" (it finds the key again when the cart is gone).

use crate::carts::cart_id;
use crate::domain::order::OrderLine;
use crate::domain::{Caller, Cart, CartId, CartStatus, EventData, Order, OrderEvent, OrderId, sha256_hex};
use crate::orchestrator::{LEASE_MS, retry_after_secs};
use crate::priced::{CheckoutPricing, InlineChoices};
use crate::service::{OrdersService, store_id};
use crate::steps::Payment;
use crate::store::{IdempotencyRecord, Placement, Refusal, StoreError};
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError, Validator};
use mercato_runtime::idempotency::IdempotencyKey;
use mercato_runtime::ids::StoreId;
use mercato_runtime::payment_details::{PaymentMethodId, country_code};
use mercato_runtime::time::now_ms;

/// How long a checkout idempotency key is remembered.
pub const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A checkout request, validated.
struct CheckoutInput {
    store: StoreId,
    key: String,
    caller: Caller,
    cart: CartId,
    payment: Payment,
    /// Whose keys this key is among: the customer's, or the anonymous cart's.
    scope: String,
    request_hash: String,
    /// Addresses and shipping method given with the request, over the cart's.
    choices: crate::priced::InlineChoices,
}

impl CheckoutInput {
    fn parse(req: &pb::CheckoutRequest) -> Result<CheckoutInput, ServiceError> {
        let store = store_id(&req.store_id)?;
        let key = IdempotencyKey::parse("the Idempotency-Key", &req.idempotency_key)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let cart = cart_id(&req.cart_id)?;
        let payment = payment_details(req.payment.clone().unwrap_or_default())?;
        let scope = if caller.user_id.is_empty() {
            format!("cart:{cart}")
        } else {
            format!("user:{}", caller.user_id)
        };
        let request_hash = if req.request_hash.is_empty() {
            // An empty canonical form would give every request one hash, so a failure is one.
            // The addresses and method given inline are part of the request: the same key with
            // another address is another request.
            let choices = (
                address_fields(&req.shipping_address),
                address_fields(&req.billing_address),
                &req.shipping_method_id,
            );
            let canonical =
                serde_json::to_string(&(&req.cart_id, &payment, choices)).map_err(ServiceError::internal)?;
            sha256_hex(canonical.as_bytes())
        } else {
            req.request_hash.clone()
        };
        let choices = inline_choices(req)?;
        Ok(CheckoutInput {
            choices,
            store,
            key: key.as_str().to_owned(),
            caller,
            cart,
            payment,
            scope,
            request_hash,
        })
    }
}

/// What placing an order came to.
enum Placed {
    New(Order),
    /// A concurrent request with the same key placed its order first: its answer.
    Replayed(pb::CheckoutResponse),
}

impl OrdersService {
    pub(crate) async fn checkout(
        &self,
        req: pb::CheckoutRequest,
    ) -> Result<pb::CheckoutResponse, ServiceError> {
        let c = CheckoutInput::parse(&req)?;
        let now = now_ms();
        if let Some(record) = self
            .store
            .idempotency(&c.store, &c.scope, &c.key, now - KEY_TTL_MS)
            .await?
        {
            return self.replay(&c.store, &record, &c.request_hash).await;
        }
        let placed = match self.checkable_cart(&c).await {
            Ok(cart) => self.place(&c, cart, now).await,
            Err(e) => Err(e),
        };
        let order = match placed {
            Ok(Placed::New(order)) => order,
            Ok(Placed::Replayed(answer)) => return Ok(answer),
            // A concurrent request with this key may have checked the cart out between our
            // look-up of the key and our look at the cart: its answer (or "in progress"), not
            // "the cart is checked out".
            Err(e) if matches!(e.code, ErrorCode::CartCheckedOut | ErrorCode::ChangedConcurrently) => {
                match self
                    .store
                    .idempotency(&c.store, &c.scope, &c.key, now - KEY_TTL_MS)
                    .await?
                {
                    Some(record) => return self.replay(&c.store, &record, &c.request_hash).await,
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let order = self.drive(&c.store, order, Some(c.payment)).await?;
        Ok(pb::CheckoutResponse {
            order: Some(wire::order(&order)),
            replayed: false,
        })
    }

    /// `CreatePaymentMethod`: the shopper's card, tokenized by the payments service. Orders
    /// only passes it through (the storefront's way to payments, which only orders may call)
    /// and keeps nothing of it.
    pub(crate) async fn create_payment_method(
        &self,
        req: mercato_proto::payments::CreatePaymentMethodRequest,
    ) -> Result<mercato_proto::payments::PaymentMethod, ServiceError> {
        store_id(&req.store_id)?;
        self.deps.payments.create_payment_method(req).await
    }

    /// The caller's cart, if it can be checked out: open and not empty.
    async fn checkable_cart(&self, c: &CheckoutInput) -> Result<Cart, ServiceError> {
        let cart = self.owned_cart(&c.store, &c.cart, &c.caller).await?;
        if cart.status != CartStatus::Open {
            return Err(ServiceError::new(
                ErrorCode::CartCheckedOut,
                format!("the cart is {}", cart.status.as_str()),
            ));
        }
        if cart.lines.is_empty() {
            return Err(ServiceError::invalid_field("cart_id", "names an empty cart"));
        }
        Ok(cart)
    }

    /// Places the order in one transaction: the key's record, the cart checked out, the
    /// order's first event and row (with the payment details, until its saga ends) and its
    /// `order_placed` event.
    async fn place(&self, c: &CheckoutInput, mut cart: Cart, now: i64) -> Result<Placed, ServiceError> {
        let id = OrderId::new();
        let pricing = self
            .price_checkout(&cart, &c.choices, &customer_key(c, &cart), now)
            .await?;
        let placed = placed_event(&cart, &c.payment.email, &pricing, now);
        let mut order = Order {
            id: id.to_string(),
            store_id: c.store.to_string(),
            ..Order::default()
        };
        order.apply(&placed).map_err(ServiceError::internal)?;
        metrics::counter!(crate::orchestrator::SAGA_TRANSITIONS.name, "from" => "new", "to" => order.saga.name()).increment(1);
        cart.status = CartStatus::CheckedOut;
        cart.version += 1;
        cart.updated_at_ms = now;
        let record = IdempotencyRecord {
            scope: c.scope.clone(),
            key: c.key.clone(),
            request_hash: c.request_hash.clone(),
            order_id: id,
            created_at_ms: now,
        };
        let payment_json = serde_json::to_string(&c.payment).map_err(ServiceError::internal)?;
        let placement = Placement {
            idempotency: &record,
            expired_before_ms: now - KEY_TTL_MS,
            cart: &cart,
            order: &order,
            placed: &placed,
            payment_json: &payment_json,
            locked_until_ms: now + LEASE_MS,
            redemptions: &pricing.redemptions,
        };
        match self.store.place(&c.store, &placement).await {
            Ok(number) => {
                self.committed();
                order.number = number;
                Ok(Placed::New(order))
            }
            Err(StoreError::Refused(Refusal::DuplicateKey)) => {
                // A concurrent request with this key placed its order first.
                match self
                    .store
                    .idempotency(&c.store, &c.scope, &c.key, now - KEY_TTL_MS)
                    .await?
                {
                    Some(record) => Ok(Placed::Replayed(
                        self.replay(&c.store, &record, &c.request_hash).await?,
                    )),
                    None => Err(ServiceError::in_progress(
                        "a checkout with this idempotency key is in progress",
                        retry_after_secs(None, now_ms()),
                    )),
                }
            }
            Err(StoreError::Stale) => Err(ServiceError::new(
                ErrorCode::ChangedConcurrently,
                "the cart changed or was checked out meanwhile; retry",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to a repeated key: the order as its checkout ended.
    async fn replay(
        &self,
        store: &StoreId,
        record: &IdempotencyRecord,
        request_hash: &str,
    ) -> Result<pb::CheckoutResponse, ServiceError> {
        if record.request_hash != request_hash {
            return Err(ServiceError::invalid_field(
                "idempotency_key",
                "was already used for a different request",
            ));
        }
        let events = self.store.events(store, &record.order_id, None).await?;
        let Some(end) = events.iter().position(|e| e.data.ends_checkout()) else {
            return Err(ServiceError::in_progress(
                "a checkout with this idempotency key is still in progress",
                retry_after_secs(events.last().map(|e| e.at_ms), now_ms()),
            ));
        };
        let order = Order::fold(&record.order_id.to_string(), &store.to_string(), &events[..=end])
            .map_err(ServiceError::internal)?
            .ok_or_else(|| ServiceError::internal("replayed order without history"))?;
        Ok(pb::CheckoutResponse {
            order: Some(wire::order(&order)),
            replayed: true,
        })
    }
}

/// The order's first event: the cart's lines at their snapshot prices, and the e-mail given at
/// checkout (lower-cased, for search). Its number is the store's to give, when it is placed.
fn placed_event(cart: &Cart, email: &str, pricing: &CheckoutPricing, now: i64) -> OrderEvent {
    OrderEvent {
        sequence: 1,
        at_ms: now,
        data: EventData::Placed {
            customer_id: cart.customer_id.clone(),
            cart_id: cart.id.to_string(),
            currency: cart.currency.clone(),
            lines: cart
                .lines
                .iter()
                .map(|l| OrderLine {
                    sku: l.sku.clone(),
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    refunded_quantity: 0,
                })
                .collect(),
            total_minor: pricing.total_minor,
            number: 0,
            email: email.trim().to_lowercase(),
            charges: Box::new(pricing.charges.clone()),
        },
    }
}

/// The payment as given, or a 422 naming each bad field before anything is reserved or
/// recorded: a payment method id or country the payments service would refuse can never
/// succeed, so it must not start a saga that fails later (it was answered 503, "retry"). The
/// rules are the payments service's own, shared through the runtime. Whether the payment method
/// exists in this store is the authorization's to say (a 422 `payment_invalid` checkout).
fn payment_details(p: pb::PaymentDetails) -> Result<Payment, ServiceError> {
    let mut v = Validator::new();
    let payment_method = if p.payment_method.trim().is_empty() {
        v.add("payment.payment_method", "is required");
        None
    } else {
        v.check(PaymentMethodId::parse(
            "payment.payment_method",
            &p.payment_method,
        ))
    };
    country_code(&mut v, "payment.billing_country", &p.billing_country);
    country_code(&mut v, "payment.shipping_country", &p.shipping_country);
    v.finish()?;
    Ok(Payment {
        payment_method: payment_method.map(|id| id.to_string()).unwrap_or_default(),
        email: p.email,
        billing_country: p.billing_country,
        shipping_country: p.shipping_country,
        ip: p.ip,
    })
}

/// Whose per-customer promotion uses a checkout counts against: the customer, or an anonymous
/// shopper's e-mail (lower-cased), or else the cart.
fn customer_key(c: &CheckoutInput, cart: &Cart) -> String {
    let email = c.payment.email.trim().to_lowercase();
    if !c.caller.user_id.is_empty() {
        c.caller.user_id.clone()
    } else if !email.is_empty() {
        format!("email:{email}")
    } else {
        format!("cart:{}", cart.id)
    }
}

/// The addresses and shipping method a checkout request gives, validated (each bad address
/// field named under its path).
fn inline_choices(req: &pb::CheckoutRequest) -> Result<InlineChoices, ServiceError> {
    let parse = |path: &str, a: &Option<mercato_proto::common::Address>| {
        a.as_ref()
            .map(|a| mercato_runtime::address::Address::parse(path, a))
            .transpose()
    };
    let method = req.shipping_method_id.trim();
    Ok(InlineChoices {
        shipping_address: parse("shipping_address", &req.shipping_address)?,
        billing_address: parse("billing_address", &req.billing_address)?,
        shipping_method_id: (!method.is_empty()).then(|| method.to_owned()),
    })
}

/// An address's fields in order, for the canonical form of a request without a hash.
fn address_fields(a: &Option<mercato_proto::common::Address>) -> Option<[&str; 9]> {
    a.as_ref().map(|a| {
        [
            a.name.as_str(),
            a.company.as_str(),
            a.line1.as_str(),
            a.line2.as_str(),
            a.city.as_str(),
            a.region.as_str(),
            a.postal_code.as_str(),
            a.country.as_str(),
            a.phone.as_str(),
        ]
    })
}
