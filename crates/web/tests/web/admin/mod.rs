//! The admin's pages over HTTP as a browser uses them: cookies kept between requests, forms
//! posted with their CSRF field from this site's origin. Helpers here; the tests by area.

mod catalog;
mod fulfilment;
mod home;
mod images;
mod jobs;
mod notifications;
mod orders;
mod sign_in;

use crate::harness::Platform;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(super) const PASSWORD: &str = "a long password";

/// A browser of the admin: its cookies (by name; the tests use one store) and the site.
pub(super) struct Browser<'a> {
    p: &'a Platform,
    pub cookies: BTreeMap<String, String>,
}

/// A page's answer: status, where it redirects, and the HTML.
pub(super) struct Answer {
    pub status: u16,
    pub location: String,
    pub html: String,
}

impl<'a> Browser<'a> {
    pub(super) fn new(p: &'a Platform) -> Browser<'a> {
        Browser {
            p,
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&mut self, reply: reqwest::Response) -> Answer {
        self.keep(reply.headers());
        let location = reply
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status: reply.status().as_u16(),
            location,
            html: reply.text().await.unwrap(),
        }
    }

    pub(super) async fn get(&mut self, path: &str) -> Answer {
        let reply = self
            .p
            .http
            .get(format!("{}{path}", self.p.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.answer(reply).await
    }

    /// Posts a form as a page of this site does: same origin, the CSRF cookie's token.
    pub(super) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.cookies.get("mercato_csrf").cloned().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &csrf));
        let reply = self
            .p
            .http
            .post(format!("{}{path}", self.p.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.p.base.clone())
            .form(&form)
            .send()
            .await
            .unwrap();
        self.answer(reply).await
    }

    /// Signs in at `/admin` as `email`.
    pub(super) async fn sign_in(&mut self, store: &str, email: &str) -> Answer {
        self.get("/admin").await;
        self.post(
            "/admin",
            &[("store", store), ("email", email), ("password", PASSWORD)],
        )
        .await
    }
}

/// A new store (slug `store`) with its owner `owner@<store>.test`; the owner's API token.
pub(super) async fn store(p: &Platform, slug: &str) -> String {
    let reply = p
        .http
        .post(format!("{}/v1/stores", p.base))
        .json(&json!({"slug": slug, "name": slug, "currency": "EUR",
            "owner": {"email": format!("owner@{slug}.test"), "password": PASSWORD}}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
    let token: Value = p
        .http
        .post(format!("{}/v1/oauth/token", p.base))
        .form(&[
            ("grant_type", "password"),
            ("store", slug),
            ("username", &format!("owner@{slug}.test")),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

/// A call to the API as `token`, answering its JSON.
pub(super) async fn api(
    p: &Platform,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> Value {
    let mut request = p
        .http
        .request(method, format!("{}{path}", p.base))
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string());
    if !body.is_null() {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    let status = reply.status();
    let text = reply.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// An order of two units of a digital good (`EB-1`, 15.00), placed by an anonymous shopper with a
/// test card in store `slug` and confirmed; its id.
pub(super) async fn place_order(p: &Platform, slug: &str, token: &str) -> String {
    use reqwest::Method;
    api(
        p,
        Method::POST,
        &format!("/v1/stores/{slug}/products"),
        token,
        json!({
        "slug": "e-book", "title": "E-book", "variants": [{"sku": "EB-1", "price": {"amount_minor": 1500},
        "requires_shipping": false}]}),
    )
    .await;
    api(
        p,
        Method::PUT,
        &format!("/v1/stores/{slug}/inventory/EB-1"),
        token,
        json!({"on_hand": 10}),
    )
    .await;
    // An anonymous shopper's cart, paid with a test card.
    let cart: Value = p
        .http
        .post(format!("{}/v1/stores/{slug}/carts", p.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (cart_id, cart_token) = (cart["id"].as_str().unwrap(), cart["cart_token"].as_str().unwrap());
    let added = p
        .http
        .post(format!("{}/v1/stores/{slug}/carts/{cart_id}/items", p.base))
        .header("x-cart-token", cart_token)
        .json(&json!({"sku": "EB-1", "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{}", added.text().await.unwrap());
    let card: Value = p
        .http
        .post(format!("{}/v1/stores/{slug}/payment-methods", p.base))
        .json(&json!({"card_number": "4242424242424242", "exp": "12/30", "cvc": "123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order: Value = p
        .http
        .post(format!("{}/v1/stores/{slug}/checkout", p.base))
        .header("x-cart-token", cart_token)
        .header("idempotency-key", "first-order")
        .json(&json!({"cart_id": cart_id, "payment": {"payment_method": card["id"], "email": "buyer@shop.test"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = order["id"].as_str().expect("an order").to_owned();
    // The saga may still be running (202): wait until the order is confirmed.
    for _ in 0..100 {
        let now = api(
            p,
            Method::GET,
            &format!("/v1/stores/{slug}/orders/{order_id}"),
            token,
            Value::Null,
        )
        .await;
        if now["status"] == "confirmed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    order_id
}
