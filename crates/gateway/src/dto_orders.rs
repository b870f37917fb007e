//! REST shapes of carts, checkout and orders.

use mercato_proto::names;
use mercato_proto::orders as pb;
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CartLineView {
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
    /// Its share of discounts, its tax and total (absent for a cart no longer open).
    pub charges: Option<crate::dto_pricing::LineChargesView>,
}

#[derive(Serialize, ToSchema)]
pub struct CartView {
    pub id: String,
    /// Present only when an anonymous cart is created: send it back as `X-Cart-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
    pub customer_id: Option<String>,
    pub lines: Vec<CartLineView>,
    pub currency: String,
    /// What the cart costs now, shipping, tax and discounts included (`charges.total_minor`).
    pub total_minor: i64,
    pub status: String,
    pub updated_at: String,
    /// Subtotal, discounts, shipping, tax and total (absent for an empty or closed cart).
    pub charges: Option<crate::dto_pricing::ChargesView>,
    pub shipping_address: Option<crate::dto_addresses::AddressView>,
    pub billing_address: Option<crate::dto_addresses::AddressView>,
    pub promotion_code: Option<String>,
    /// The shipping methods offered for the shipping address, and whether the cart needs one.
    pub shipping: Option<crate::dto_pricing::ShippingOptionsView>,
}

impl From<pb::Cart> for CartView {
    fn from(c: pb::Cart) -> Self {
        let status = names::cart_status(c.status()).to_owned();
        CartView {
            id: c.id,
            cart_token: Some(c.cart_token).filter(|t| !t.is_empty()),
            customer_id: Some(c.customer_id).filter(|t| !t.is_empty()),
            lines: c
                .lines
                .into_iter()
                .map(|l| CartLineView {
                    sku: l.sku,
                    product_id: l.product_id,
                    title: l.title,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    line_total_minor: l.line_total_minor,
                    charges: l.charges.map(Into::into),
                })
                .collect(),
            currency: c.currency,
            total_minor: c.total_minor,
            status,
            updated_at: to_rfc3339(c.updated_at_ms),
            charges: c.charges.map(Into::into),
            shipping_address: c.shipping_address.map(Into::into),
            billing_address: c.billing_address.map(Into::into),
            promotion_code: Some(c.promotion_code).filter(|p| !p.is_empty()),
            shipping: c.shipping.map(Into::into),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"sku": "BS-M", "quantity": 2})))]
pub struct AddItemBody {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    /// 1–100; with what the line holds already, at most 100.
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"quantity": 3})))]
pub struct SetItemBody {
    /// 0–100; 0 removes the line.
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 0, maximum = 100)]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"cart_id": "0190f3c2-5b7e-7c3a-9d41-2f6a8b1c0d9e", "cart_token": "ct_6f1d2c3b4a5e6f708192a3b4c5d6e7f8"})))]
pub struct MergeCartBody {
    #[schema(format = Uuid)]
    pub cart_id: String,
    pub cart_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"card_number": "4242424242424242", "exp": "12/30", "cvc": "123", "billing_country": "DE"})))]
pub struct CreatePaymentMethodBody {
    /// A test card from the payments service's TEST_CARDS.md in this build: 12–19 digits
    /// (spaces and dashes between them are ignored) that pass the Luhn check.
    #[schema(pattern = "^[0-9 -]*$", min_length = 12)]
    pub card_number: String,
    /// Expiry, `MM/YY`, not in the past; empty is as absent.
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]{1,2}\s*/\s*[0-9]{2})?\s*$")]
    pub exp: Option<String>,
    /// Card verification code, 3 or 4 digits; checked, never stored; empty is as absent.
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]{3,4})?\s*$")]
    pub cvc: Option<String>,
    /// An ISO 3166 two-letter code.
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$")]
    pub billing_country: Option<String>,
}

/// A tokenized card.
#[derive(Serialize, ToSchema)]
pub struct PaymentMethodView {
    /// What a checkout names in `payment.payment_method`; valid in this store only.
    #[schema(pattern = "^pm_[0-9a-f]{32}$")]
    pub id: String,
    /// visa, mastercard, amex, discover or unknown.
    pub brand: String,
    pub last4: String,
    /// The same for every payment method of one card (a keyed hash; reveals nothing of the number).
    pub fingerprint: String,
}

impl From<mercato_proto::payments::PaymentMethod> for PaymentMethodView {
    fn from(m: mercato_proto::payments::PaymentMethod) -> Self {
        PaymentMethodView {
            id: m.id,
            brand: m.brand,
            last4: m.last4,
            fingerprint: m.fingerprint,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// A payment method of this store, from `POST /v1/stores/{store}/payment-methods`. Card
    /// numbers are not accepted here.
    #[serde(default)]
    #[schema(pattern = "^pm_[0-9a-f]{32}$", required = true)]
    pub payment_method: String,
    /// What clients sent before cards were tokenized: recognised only to be refused with a
    /// pointer to the payment-methods endpoint (422), its value never read.
    #[serde(default)]
    #[schema(ignore)]
    pub card_number: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub email: Option<String>,
    /// An ISO 3166 two-letter code.
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$")]
    pub billing_country: Option<String>,
    /// An ISO 3166 two-letter code.
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z]{2})?\s*$")]
    pub shipping_country: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"cart_id": "0190f3c2-5b7e-7c3a-9d41-2f6a8b1c0d9e",
    "payment": {"payment_method": "pm_5f0c9d2e8b7a41c6a3e2d1f0b9c8a7e6", "email": "ann@example.com", "billing_country": "DE"}})))]
pub struct CheckoutBody {
    #[schema(format = Uuid)]
    pub cart_id: String,
    pub payment: PaymentBody,
    /// Over the cart's (`PUT …/carts/{id}/addresses`): required, here or there, for goods that
    /// ship.
    #[serde(default)]
    pub shipping_address: Option<crate::dto_addresses::AddressBody>,
    #[serde(default)]
    pub billing_address: Option<crate::dto_addresses::AddressBody>,
    /// Over the cart's (`PUT …/carts/{id}/shipping-method`): one of its shipping options.
    #[serde(default)]
    pub shipping_method_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderLineView {
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub refunded_quantity: i64,
    /// Units sent in fulfilments; of them, units received back by completed returns.
    pub fulfilled_quantity: i64,
    pub returned_quantity: i64,
    /// What the line paid: subtotal, its share of discounts, tax, total (absent for orders
    /// placed before pricing). A refund of some units returns their share of these.
    pub charges: Option<crate::dto_pricing::LineChargesView>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    /// The store's order number, shown as `#1001`; absent for orders placed before numbers
    /// were kept.
    pub number: Option<i64>,
    /// The e-mail given at checkout.
    pub email: Option<String>,
    /// Where the goods are (apart from `status`, where the money is): unfulfilled,
    /// partially_fulfilled, fulfilled, shipped or delivered.
    pub fulfilment_status: String,
    pub fulfilments: Vec<crate::dto_fulfilment::FulfilmentView>,
    pub returns: Vec<crate::dto_fulfilment::ReturnView>,
    pub customer_id: Option<String>,
    pub status: String,
    pub failure_code: Option<String>,
    pub lines: Vec<OrderLineView>,
    pub currency: String,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Subtotal, discounts, shipping (method and price), tax and total (absent for orders
    /// placed before pricing).
    pub charges: Option<crate::dto_pricing::ChargesView>,
    pub shipping_address: Option<crate::dto_addresses::AddressView>,
    pub billing_address: Option<crate::dto_addresses::AddressView>,
}

impl From<pb::Order> for OrderView {
    fn from(o: pb::Order) -> Self {
        let status = names::order_status(o.status()).to_owned();
        let failure_code = names::failure_code(o.failure_code()).map(str::to_owned);
        let fulfilment_status = names::fulfilment_status(o.fulfilment_status()).to_owned();
        OrderView {
            id: o.id,
            number: Some(o.number).filter(|n| *n > 0),
            email: Some(o.email).filter(|e| !e.is_empty()),
            fulfilment_status,
            fulfilments: o.fulfilments.into_iter().map(Into::into).collect(),
            returns: o.returns.into_iter().map(Into::into).collect(),
            customer_id: Some(o.customer_id).filter(|c| !c.is_empty()),
            status,
            failure_code,
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLineView {
                    sku: l.sku,
                    product_id: l.product_id,
                    title: l.title,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    refunded_quantity: l.refunded_quantity,
                    fulfilled_quantity: l.fulfilled_quantity,
                    returned_quantity: l.returned_quantity,
                    charges: l.charges.map(Into::into),
                })
                .collect(),
            currency: o.currency,
            total_minor: o.total_minor,
            refunded_minor: o.refunded_minor,
            version: o.version,
            created_at: to_rfc3339(o.created_at_ms),
            updated_at: to_rfc3339(o.updated_at_ms),
            charges: o.charges.map(Into::into),
            shipping_address: o.shipping_address.map(Into::into),
            billing_address: o.billing_address.map(Into::into),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderPageView {
    pub items: Vec<OrderView>,
    /// Orders matching the filters.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// 1-based page number; 0 counts as 1. Offset paging: orders placed meanwhile shift the
    /// pages; `cursor` does not.
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub page: Option<u32>,
    /// Orders per page: 20 when absent or 0, at most 100 (larger values count as 100).
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub per_page: Option<u32>,
    /// The previous page's `next_cursor`: the next page, newest first, neither skipping nor
    /// repeating an order however many are placed while paging (`page` is then ignored).
    pub cursor: Option<String>,
    /// pending, confirmed, failed, cancelled, refunded or partially_refunded.
    pub status: Option<String>,
    /// unfulfilled, partially_fulfilled, fulfilled, shipped or delivered.
    pub fulfilment_status: Option<String>,
    /// RFC 3339: orders created at or after.
    #[param(format = DateTime)]
    pub created_from: Option<String>,
    /// RFC 3339: orders created before.
    #[param(format = DateTime)]
    pub created_to: Option<String>,
    /// A customer's orders (owner and staff; customers always list their own).
    pub customer_id: Option<String>,
    /// An order number (`1001` or `#1001`), or the start of the e-mail given at checkout
    /// (case-insensitive).
    pub q: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// RFC 3339 time: the history up to then and the order's state at that moment.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderEventView {
    pub sequence: i64,
    pub kind: String,
    pub at: String,
    pub data: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct OrderHistoryView {
    pub events: Vec<OrderEventView>,
    pub state: Option<OrderView>,
}

impl From<pb::OrderEvents> for OrderHistoryView {
    fn from(h: pb::OrderEvents) -> Self {
        OrderHistoryView {
            events: h
                .events
                .into_iter()
                .map(crate::dto_order_events::event_view)
                .collect(),
            state: h.state.map(Into::into),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineBody {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 1)]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"lines": [{"sku": "BS-M", "quantity": 1}]})))]
pub struct RefundBody {
    /// Lines to refund; absent or empty refunds the whole order.
    #[serde(default)]
    pub lines: Vec<RefundLineBody>,
}

/// The listing request a query asks for (without its caller and store), every parameter
/// checked: names of statuses as the API writes them, times in RFC 3339.
pub fn list_request(q: &OrdersQuery) -> Result<pb::ListOrdersRequest, mercato_runtime::error::ServiceError> {
    let mut v = mercato_runtime::error::Validator::new();
    let status = match q.status.as_deref() {
        None | Some("") => pb::OrderStatus::Unspecified,
        Some(name) => pb::OrderStatus::from_str_name(&format!("ORDER_STATUS_{}", name.to_uppercase()))
            .filter(|s| *s != pb::OrderStatus::Unspecified)
            .unwrap_or_else(|| {
                v.add(
                    "status",
                    "must be pending, confirmed, failed, cancelled, refunded or partially_refunded",
                );
                pb::OrderStatus::Unspecified
            }),
    };
    let fulfilment_status = match q.fulfilment_status.as_deref() {
        None | Some("") => pb::FulfilmentStatus::Unspecified,
        Some(name) => {
            pb::FulfilmentStatus::from_str_name(&format!("FULFILMENT_STATUS_{}", name.to_uppercase()))
                .filter(|s| *s != pb::FulfilmentStatus::Unspecified)
                .unwrap_or_else(|| {
                    v.add(
                        "fulfilment_status",
                        "must be unfulfilled, partially_fulfilled, fulfilled, shipped or delivered",
                    );
                    pb::FulfilmentStatus::Unspecified
                })
        }
    };
    let mut time = |field: &str, value: &Option<String>| {
        let value = value.as_deref()?;
        let parsed = mercato_runtime::time::parse_rfc3339(value);
        if parsed.is_none() {
            v.add(field, "must be an RFC 3339 time");
        }
        parsed
    };
    let created_from_ms = time("created_from", &q.created_from);
    let created_to_ms = time("created_to", &q.created_to);
    v.finish()?;
    Ok(pb::ListOrdersRequest {
        page: q.page.unwrap_or(0),
        per_page: q.per_page.unwrap_or(0),
        status: status.into(),
        fulfilment_status: fulfilment_status.into(),
        created_from_ms,
        created_to_ms,
        customer_id: q.customer_id.clone().unwrap_or_default(),
        query: q.q.clone().unwrap_or_default(),
        cursor: q.cursor.clone().unwrap_or_default(),
        ..pb::ListOrdersRequest::default()
    })
}
