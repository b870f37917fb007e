//! Checkout in two steps: where it goes (the address, saved on the cart), then how it ships
//! and how it is paid. The test card is tokenized through the payment-methods API first — the
//! web never sends a card number to checkout — and each refusal is shown in words next to the
//! field or line it concerns; a declined card leaves the cart as it was.

use super::cart::{current, with_cart};
use super::views::{Address, Cart, ShippingOptions};
use super::{Chrome, failure, see_other};
use crate::api::ApiError;
use crate::page::render_status;
use crate::session::Session;
use askama::Template;
use axum::Form;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "shop/checkout.html")]
struct CheckoutPage {
    chrome: Chrome,
    cart: Cart,
    shipping: ShippingOptions,
    form: Filled,
}

/// What the shopper entered, and what was refused: the page is shown again with it.
#[derive(Default)]
struct Filled {
    address: Address,
    chosen_method: String,
    email: String,
    errors: Errors,
}

/// Messages next to the fields and sections of the page.
#[derive(Default)]
struct Errors {
    general: Option<String>,
    address: std::collections::BTreeMap<&'static str, String>,
    shipping: Option<String>,
    email: Option<String>,
    card_number: Option<String>,
    exp: Option<String>,
    cvc: Option<String>,
    lines: Option<String>,
    /// Per cart line (SKU) after an out-of-stock refusal: how many are left.
    line: std::collections::BTreeMap<String, String>,
}

impl CheckoutPage {
    fn address_error(&self, field: &str) -> Option<&str> {
        self.form.errors.address.get(field).map(String::as_str)
    }

    /// The address inputs but the country: name, label, value, autocomplete, required.
    fn address_fields(&self) -> Vec<(&'static str, &'static str, String, &'static str, bool)> {
        let a = &self.form.address;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("name", "Full name", a.name.clone(), "name", true),
            ("line1", "Address", a.line1.clone(), "address-line1", true),
            (
                "line2",
                "Address line 2 (optional)",
                opt(&a.line2),
                "address-line2",
                false,
            ),
            ("city", "City", a.city.clone(), "address-level2", true),
            (
                "postal_code",
                "Postal code",
                opt(&a.postal_code),
                "postal-code",
                false,
            ),
            (
                "region",
                "State or region (optional)",
                opt(&a.region),
                "address-level1",
                false,
            ),
        ]
    }

    fn line_error(&self, sku: &str) -> Option<&str> {
        self.form.errors.line.get(sku).map(String::as_str)
    }

    fn has_address(&self) -> bool {
        self.cart.shipping_address.is_some()
    }

    /// The payment step shows once the goods have an address, or when nothing ships.
    fn ready_to_pay(&self) -> bool {
        self.has_address() || !self.shipping.shipping_required
    }
}

/// The checkout page of the current cart (the cart page when it is empty).
pub(super) async fn show(mut session: Session) -> Response {
    let email = account_email(&session).await.unwrap_or_default();
    let filled = Filled {
        email,
        ..Filled::default()
    };
    page(&mut session, filled, StatusCode::OK).await
}

/// A signed-in customer's e-mail, which the checkout form starts with (the order's receipt
/// address; the shopper may change it).
async fn account_email(session: &Session) -> Option<String> {
    #[derive(Deserialize)]
    struct Me {
        email: String,
    }
    if !session.signed_in() {
        return None;
    }
    let path = format!("/v1/stores/{}/customers/me", session.store);
    session.get(&path).send::<Me>().await.ok().map(|me| me.email)
}

async fn page(session: &mut Session, mut p: Filled, status: StatusCode) -> Response {
    let chrome = match Chrome::load(session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cart = match current(session).await {
        Ok(Some(cart)) if !cart.lines.is_empty() => cart,
        Ok(_) => return see_other(&chrome.url("/cart")),
        Err(e) => return failure(&e, &chrome.url("/cart")),
    };
    if p.address.name.is_empty()
        && let Some(saved) = &cart.shipping_address
    {
        p.address = saved.clone();
    }
    if p.errors.lines.is_some() {
        // Which lines ran short: the public availability of each, against its quantity.
        let skus: Vec<&str> = cart.lines.iter().map(|l| l.sku.as_str()).collect();
        let available = super::catalog::availability(session, &skus).await;
        for (line, available) in cart.lines.iter().zip(available) {
            match available {
                Some(n) if n < line.quantity && n > 0 => {
                    p.errors
                        .line
                        .insert(line.sku.clone(), format!("Only {n} left in stock."));
                }
                Some(n) if n < line.quantity => {
                    p.errors.line.insert(line.sku.clone(), "Out of stock.".to_owned());
                }
                _ => {}
            }
        }
    }
    // Asked even without an address: it says whether anything needs shipping at all.
    let path = format!(
        "/v1/stores/{}/carts/{}/shipping-methods",
        chrome.store.slug, cart.id
    );
    let cart_ref = session.cart().cloned();
    let call = session.get(&path);
    let call = match &cart_ref {
        Some(c) => with_cart(call, c),
        None => call,
    };
    let shipping = call.send::<ShippingOptions>().await.unwrap_or(ShippingOptions {
        // Unknown: ask for the address first.
        options: Vec::new(),
        shipping_required: true,
    });
    if p.chosen_method.is_empty() {
        p.chosen_method = cart
            .charges
            .as_ref()
            .and_then(|c| c.shipping_method_id.clone())
            .or_else(|| shipping.options.first().map(|o| o.method_id.clone()))
            .unwrap_or_default();
    }
    let page = CheckoutPage {
        chrome,
        cart,
        shipping,
        form: p,
    };
    render_status(status, &page)
}

#[derive(Deserialize)]
pub(super) struct AddressForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    country: String,
}

/// Step 1: the shipping address, saved on the cart (the API validates it per country).
pub(super) async fn address(mut session: Session, Form(form): Form<AddressForm>) -> Response {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let address = Address {
        name: form.name.trim().to_owned(),
        line1: form.line1.trim().to_owned(),
        line2: given(&form.line2),
        city: form.city.trim().to_owned(),
        region: given(&form.region),
        postal_code: given(&form.postal_code),
        country: form.country.trim().to_uppercase(),
    };
    let Some(cart) = session.cart().cloned() else {
        return see_other(&format!("/s/{}/cart", session.store));
    };
    let path = format!("/v1/stores/{}/carts/{}/addresses", session.store, cart.id);
    let body = serde_json::json!({ "shipping_address": address });
    match with_cart(session.put(&path), &cart)
        .json(&body)
        .send_empty()
        .await
    {
        Ok(()) => see_other(&format!("/s/{}/checkout#shipping", session.store)),
        Err(e) if e.status.as_u16() == 422 => {
            let mut p = Filled {
                address,
                ..Filled::default()
            };
            for (field, label) in ADDRESS_FIELDS {
                if let Some(m) = e
                    .field(&format!("shipping_address.{field}"))
                    .or_else(|| e.field(field))
                {
                    p.errors.address.insert(field, format!("{label} {m}."));
                }
            }
            if p.errors.address.is_empty() {
                p.errors.general = Some(e.plain_message());
            }
            page(&mut session, p, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => failure(&e, &format!("/s/{}/checkout", session.store)),
    }
}

/// The address fields and how a message names them.
const ADDRESS_FIELDS: [(&str, &str); 7] = [
    ("name", "Full name"),
    ("line1", "Address"),
    ("line2", "Address line 2"),
    ("city", "City"),
    ("region", "State or region"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
];

#[derive(Deserialize)]
pub(super) struct PlaceForm {
    #[serde(default)]
    shipping_method: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    exp: String,
    #[serde(default)]
    cvc: String,
}

/// Step 2: "Place order".
pub(super) async fn place(mut session: Session, Form(form): Form<PlaceForm>) -> Response {
    let store = session.store.clone();
    // No open cart: placed already (a second click on "Place order"), or gone.
    let open = matches!(current(&mut session).await, Ok(Some(_)));
    let Some(cart) = session.cart().cloned().filter(|_| open) else {
        return if session.signed_in() {
            see_other(&format!("/s/{store}/orders"))
        } else {
            see_other(&format!("/s/{store}/cart"))
        };
    };
    let mut p = Filled {
        chosen_method: form.shipping_method.clone(),
        email: form.email.clone(),
        ..Filled::default()
    };
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    if !form.shipping_method.is_empty() {
        let path = format!("/v1/stores/{store}/carts/{}/shipping-method", cart.id);
        let body = serde_json::json!({ "method_id": form.shipping_method });
        if let Err(e) = with_cart(session.put(&path), &cart)
            .json(&body)
            .send_empty()
            .await
        {
            p.errors.shipping = Some(e.plain_message());
            return page(&mut session, p, refused).await;
        }
    }
    // The card becomes a payment method first; its number goes nowhere else.
    let path = format!("/v1/stores/{store}/payment-methods");
    let card = serde_json::json!({"card_number": form.card_number, "exp": form.exp, "cvc": form.cvc});
    let method = match session.post(&path).json(&card).send::<PaymentMethod>().await {
        Ok(m) => m,
        Err(e) => {
            card_errors(&e, &mut p.errors);
            return page(&mut session, p, refused).await;
        }
    };
    let mut payment = serde_json::json!({ "payment_method": method.id });
    if !form.email.trim().is_empty() {
        payment["email"] = form.email.trim().into();
    }
    let body = serde_json::json!({ "cart_id": cart.id, "payment": payment });
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/v1/stores/{store}/checkout");
    let answer = with_cart(session.post(&path), &cart)
        .header_str("idempotency-key", &key)
        .json(&body)
        .send::<super::views::Order>()
        .await;
    match answer {
        Ok(order) => {
            session.clear_cart();
            if session.signed_in() {
                return see_other(&format!("/s/{store}/orders/{}?placed=true", order.id));
            }
            // A guest cannot open the order page later (orders are read signed in), so the
            // confirmation is this answer.
            match Chrome::load(&session).await {
                Ok(chrome) => crate::page::render(&Placed { chrome, order }),
                Err(r) => r,
            }
        }
        // Placed already (a second click on "Place order" while the first was placing it).
        Err(e) if e.code == "cart_checked_out" => {
            session.clear_cart();
            if session.signed_in() {
                see_other(&format!("/s/{store}/orders"))
            } else {
                see_other(&format!("/s/{store}/cart?error=cart_checked_out"))
            }
        }
        Err(e) => {
            checkout_errors(&e, &mut p.errors);
            let status = StatusCode::from_u16(e.status.as_u16()).unwrap_or(refused);
            page(&mut session, p, status).await
        }
    }
}

/// A guest's order confirmation.
#[derive(Template)]
#[template(path = "shop/placed.html")]
struct Placed {
    chrome: Chrome,
    order: super::views::Order,
}

#[derive(Deserialize)]
struct PaymentMethod {
    id: String,
}

/// A refused card, next to its fields.
fn card_errors(e: &ApiError, errors: &mut Errors) {
    if e.status.as_u16() != 422 {
        errors.general = Some(e.plain_message());
        return;
    }
    if e.field("card_number").is_some() {
        errors.card_number =
            Some("This card number is not valid. Check the digits and try again.".to_owned());
    }
    if let Some(m) = e.field("exp") {
        errors.exp = Some(format!("Expiry date {m}. Use MM/YY."));
    }
    if let Some(m) = e.field("cvc") {
        errors.cvc = Some(format!("Security code {m}."));
    }
    if let Some(m) = e.field("billing_country") {
        errors.general = Some(format!("Billing country {m}."));
    }
    if errors.card_number.is_none()
        && errors.exp.is_none()
        && errors.cvc.is_none()
        && errors.general.is_none()
    {
        errors.card_number = Some(e.plain_message());
    }
}

/// A refused checkout, next to what it concerns.
fn checkout_errors(e: &ApiError, errors: &mut Errors) {
    match (e.status.as_u16(), e.code.as_str()) {
        (402, _) => errors.card_number = Some("Your card was declined. Try another card.".to_owned()),
        (409, "out_of_stock") => {
            errors.lines = Some(
                "Sorry, some of these items are no longer in stock in the quantity you chose. \
                 Change the quantities in your cart and try again."
                    .to_owned(),
            )
        }
        (409, "checkout_in_progress") => {
            errors.general =
                Some("Your order is still being placed. Wait a moment, then reload this page.".to_owned())
        }
        (409, _) => errors.general = Some("Your cart changed meanwhile. Check it and try again.".to_owned()),
        (422, "shipping_address_required") => {
            errors.shipping = Some("Enter the address to ship to first.".to_owned())
        }
        (422, "shipping_unavailable") => {
            errors.shipping = Some("We do not ship to this address. Try another address.".to_owned())
        }
        (422, "shipping_method_required") => errors.shipping = Some("Choose a shipping method.".to_owned()),
        (422, code) if code.starts_with("promotion_") => errors.general = Some(e.plain_message()),
        (422, _) if e.field("payment.email").is_some() => {
            errors.email = Some("Enter a valid email address.".to_owned())
        }
        (422, _) if e.fields.iter().any(|f| f.field.starts_with("payment")) => {
            errors.card_number = Some("This card cannot be used. Try another card.".to_owned())
        }
        _ => errors.general = Some(e.plain_message()),
    }
}
