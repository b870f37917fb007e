//! The cart: an anonymous shopper's is remembered in a cookie (id and cart token); a signed-in
//! customer's by its id. Adding, changing a quantity and removing are plain forms.

use super::views::Cart;
use super::{Chrome, failure, see_other};
use crate::api::{ApiError, Call};
use crate::page::render;
use crate::session::{CartRef, Session};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;

/// The messages a redirect may ask a page to show, by code: a link cannot make a page say
/// anything else.
pub(super) fn known_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "out_of_stock" => "Sorry, there is not enough of this in stock. Lower the quantity or remove it.",
        "quantity" => "Enter a quantity from 1 to 99.",
        "unavailable" => "This item cannot be bought right now.",
        "cart_checked_out" => "That cart was already checked out. Your cart is empty now.",
        "failed" => "That did not work. Please try again.",
        "promotion_unknown" => "This code does not exist. Check it and try again.",
        "promotion_inactive" => "This code is not valid right now.",
        "promotion_exhausted" => "This code has been used up.",
        "promotion_minimum_not_met" => "Your order is below this code's minimum. Add more to use it.",
        "promotion" => "This code cannot be used.",
        _ => return None,
    })
}

/// A call that proves the anonymous cart with its token.
pub(super) fn with_cart<'a>(call: Call<'a>, cart: &CartRef) -> Call<'a> {
    if cart.token.is_empty() {
        call
    } else {
        call.header_str("x-cart-token", &cart.token)
    }
}

/// The browser's open cart, if it has one the API still knows; a cart that is gone or checked
/// out is forgotten.
pub(super) async fn current(session: &mut Session) -> Result<Option<Cart>, ApiError> {
    let Some(cart) = session.cart().cloned() else {
        return Ok(None);
    };
    let path = format!("/v1/stores/{}/carts/{}", session.store, cart.id);
    match with_cart(session.get(&path), &cart).send::<Cart>().await {
        Ok(c) if c.status == "open" => Ok(Some(c)),
        Ok(_) => {
            session.clear_cart();
            Ok(None)
        }
        Err(e) if e.is_not_found() || e.status.as_u16() == 422 => {
            session.clear_cart();
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The browser's cart, created when it has none (a customer's when signed in).
async fn ensure(session: &mut Session) -> Result<CartRef, ApiError> {
    if let Some(cart) = current(session).await? {
        return Ok(session.cart().cloned().unwrap_or(CartRef {
            id: cart.id,
            token: String::new(),
        }));
    }
    let path = format!("/v1/stores/{}/carts", session.store);
    let created = session.post(&path).send::<Cart>().await?;
    let cart = CartRef {
        id: created.id,
        token: created.cart_token.unwrap_or_default(),
    };
    session.set_cart(cart.clone());
    Ok(cart)
}

#[derive(Template)]
#[template(path = "shop/cart.html")]
struct CartPage {
    chrome: Chrome,
    cart: Option<Cart>,
    /// The line a message is about, and the message.
    line_error: Option<(String, String)>,
    error: Option<String>,
    /// Why the discount code was refused, next to its field.
    code_error: Option<String>,
}

impl CartPage {
    fn line_error_for(&self, sku: &str) -> Option<&str> {
        self.line_error
            .as_ref()
            .filter(|(s, _)| s == sku)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CartParams {
    error: Option<String>,
    sku: Option<String>,
    code_error: Option<String>,
}

/// The cart page.
pub(super) async fn show(mut session: Session, Query(params): Query<CartParams>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cart = match current(&mut session).await {
        Ok(c) => c,
        Err(e) => return failure(&e, &chrome.home()),
    };
    let message = params.error.as_deref().and_then(known_message).map(str::to_owned);
    let (line_error, error) = match (params.sku, message) {
        (Some(sku), Some(m)) => (Some((sku, m)), None),
        (None, m) => (None, m),
        (Some(_), None) => (None, None),
    };
    let code_error = params
        .code_error
        .as_deref()
        .and_then(known_message)
        .map(str::to_owned);
    render(&CartPage {
        chrome,
        cart: cart.filter(|c| !c.lines.is_empty()),
        line_error,
        error,
        code_error,
    })
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    sku: String,
    #[serde(default)]
    quantity: String,
    /// The product page to go back to with a message.
    #[serde(default)]
    product: String,
}

/// "Add to cart".
pub(super) async fn add(mut session: Session, Form(form): Form<AddForm>) -> Response {
    let store = session.store.clone();
    let back = |code: &str| {
        let product = super::catalog::encode(&form.product);
        see_other(&format!("/s/{store}/p/{product}?error={code}"))
    };
    let Some(quantity) = form
        .quantity
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (1..=99).contains(q))
    else {
        return back("quantity");
    };
    let body = serde_json::json!({"sku": form.sku, "quantity": quantity});
    let mut answer = Err(None);
    // Twice at most: a cart checked out or merged meanwhile is replaced by a new one.
    for _ in 0..2 {
        let cart = match ensure(&mut session).await {
            Ok(c) => c,
            Err(e) => return failure(&e, &format!("/s/{store}/")),
        };
        let path = format!("/v1/stores/{store}/carts/{}/items", cart.id);
        match with_cart(session.post(&path), &cart)
            .json(&body)
            .send::<Cart>()
            .await
        {
            Ok(_) => {
                answer = Ok(());
                break;
            }
            Err(e) if e.status.as_u16() == 409 || e.is_not_found() => {
                session.clear_cart();
                answer = Err(Some(e));
            }
            Err(e) => {
                answer = Err(Some(e));
                break;
            }
        }
    }
    match answer {
        Ok(()) => {
            let product = super::catalog::encode(&form.product);
            see_other(&format!("/s/{store}/p/{product}?added=true"))
        }
        Err(Some(e)) if e.status.as_u16() == 422 => back("unavailable"),
        Err(Some(e)) => failure(&e, &format!("/s/{store}/")),
        Err(None) => back("failed"),
    }
}

#[derive(Deserialize)]
pub(super) struct QuantityForm {
    #[serde(default)]
    quantity: String,
}

/// "Update" a line's quantity (0 removes it).
pub(super) async fn set_quantity(
    session: Session,
    Path((_, sku)): Path<(String, String)>,
    Form(form): Form<QuantityForm>,
) -> Response {
    match form
        .quantity
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (0..=99).contains(q))
    {
        Some(quantity) => change(session, &sku, quantity).await,
        None => see_other(&format!(
            "/s/{}/cart?error=quantity&sku={}",
            session.store,
            super::catalog::encode(&sku)
        )),
    }
}

/// "Remove" a line.
pub(super) async fn remove(session: Session, Path((_, sku)): Path<(String, String)>) -> Response {
    change(session, &sku, 0).await
}

async fn change(mut session: Session, sku: &str, quantity: i64) -> Response {
    let store = session.store.clone();
    let cart_page = format!("/s/{store}/cart");
    let Some(cart) = session.cart().cloned() else {
        return see_other(&cart_page);
    };
    let path = format!(
        "/v1/stores/{store}/carts/{}/items/{}",
        cart.id,
        super::catalog::encode(sku)
    );
    let body = serde_json::json!({ "quantity": quantity });
    match with_cart(session.put(&path), &cart)
        .json(&body)
        .send::<Cart>()
        .await
    {
        Ok(_) => see_other(&cart_page),
        Err(e) if e.status.as_u16() == 409 || e.is_not_found() => {
            session.clear_cart();
            see_other(&format!("{cart_page}?error=cart_checked_out"))
        }
        Err(e) if e.status.as_u16() == 422 => see_other(&format!(
            "{cart_page}?error=quantity&sku={}",
            super::catalog::encode(sku)
        )),
        Err(e) => failure(&e, &cart_page),
    }
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
}

/// "Apply code": a discount code on the cart; the API's refusal goes next to the field.
pub(super) async fn apply_code(session: Session, Form(form): Form<CodeForm>) -> Response {
    let cart_page = format!("/s/{}/cart", session.store);
    let Some(cart) = session.cart().cloned() else {
        return see_other(&cart_page);
    };
    let code = form.code.trim();
    if code.is_empty() {
        return see_other(&format!("{cart_page}?code_error=promotion_unknown"));
    }
    let path = format!("/v1/stores/{}/carts/{}/promotion-code", session.store, cart.id);
    let body = serde_json::json!({ "code": code });
    match with_cart(session.post(&path), &cart)
        .json(&body)
        .send_empty()
        .await
    {
        Ok(()) => see_other(&cart_page),
        Err(e) if e.status.as_u16() == 422 => {
            let reason = if known_message(&e.code).is_some() && e.code.starts_with("promotion_") {
                e.code.as_str()
            } else {
                "promotion"
            };
            see_other(&format!("{cart_page}?code_error={reason}"))
        }
        Err(e) => failure(&e, &cart_page),
    }
}

/// "Remove code".
pub(super) async fn remove_code(session: Session) -> Response {
    let cart_page = format!("/s/{}/cart", session.store);
    let Some(cart) = session.cart().cloned() else {
        return see_other(&cart_page);
    };
    let path = format!("/v1/stores/{}/carts/{}/promotion-code", session.store, cart.id);
    match with_cart(session.delete(&path), &cart).send_empty().await {
        Ok(()) => see_other(&cart_page),
        Err(e) => failure(&e, &cart_page),
    }
}
