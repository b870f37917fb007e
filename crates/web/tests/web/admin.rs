//! The admin's pages over HTTP as a browser uses them: cookies kept between requests, forms
//! posted with their CSRF field from this site's origin.

use crate::harness::Platform;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PASSWORD: &str = "a long password";

/// A browser of the admin: its cookies (by name; the tests use one store) and the site.
struct Browser<'a> {
    p: &'a Platform,
    cookies: BTreeMap<String, String>,
}

/// A page's answer: status, where it redirects, and the HTML.
struct Answer {
    status: u16,
    location: String,
    html: String,
}

impl<'a> Browser<'a> {
    fn new(p: &'a Platform) -> Browser<'a> {
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

    async fn get(&mut self, path: &str) -> Answer {
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
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
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
    async fn sign_in(&mut self, store: &str, email: &str) -> Answer {
        self.get("/admin").await;
        self.post(
            "/admin",
            &[("store", store), ("email", email), ("password", PASSWORD)],
        )
        .await
    }
}

/// A new store (slug `store`) with its owner `owner@<store>.test`; the owner's API token.
async fn store(p: &Platform, slug: &str) -> String {
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
async fn api(p: &Platform, method: reqwest::Method, path: &str, token: &str, body: Value) -> Value {
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

#[tokio::test]
async fn a_customer_is_refused_at_the_admin_sign_in_and_gets_no_session() {
    let p = Platform::start().await;
    store(&p, "refusing").await;
    let reply = p
        .http
        .post(format!("{}/v1/stores/refusing/customers", p.base))
        .json(&json!({"email": "ann@refusing.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("refusing", "ann@refusing.test").await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.html.contains("This is a customer account."),
        "{}",
        answer.html
    );
    assert!(answer.html.contains("role=\"alert\""));
    assert!(!browser.cookies.contains_key("mercato_access"));
    // Nor does a path of the admin let them in.
    let home = browser.get("/admin/refusing/").await;
    assert_eq!(
        (home.status, home.location.as_str()),
        (303, "/admin?store=refusing")
    );
}

#[tokio::test]
async fn a_staff_member_is_admitted_to_the_admin_as_the_owner_is() {
    let p = Platform::start().await;
    let token = store(&p, "staffed").await;
    api(
        &p,
        reqwest::Method::POST,
        "/v1/stores/staffed/staff",
        &token,
        json!({"email": "sam@staffed.test", "password": PASSWORD}),
    )
    .await;
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("staffed", "sam@staffed.test").await;
    assert_eq!(
        (answer.status, answer.location.as_str()),
        (303, "/admin/staffed/")
    );
    let home = browser.get("/admin/staffed/").await;
    assert!(
        home.html.contains("Signed in as the store&#39;s staff.")
            || home.html.contains("Signed in as the store's staff."),
        "{}",
        home.html
    );
    // A wrong password is said in words, and the form keeps what was typed but the password.
    let mut other = Browser::new(&p);
    other.get("/admin").await;
    let wrong = other
        .post(
            "/admin",
            &[
                ("store", "staffed"),
                ("email", "sam@staffed.test"),
                ("password", "not it at all"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("The store, email or password is not right."));
    assert!(wrong.html.contains("value=\"sam@staffed.test\""));
}

#[tokio::test]
async fn the_owner_signs_in_sees_the_home_page_and_signs_out() {
    let p = Platform::start().await;
    store(&p, "owned").await;
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("owned", "owner@owned.test").await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/admin/owned/"));
    let home = browser.get("/admin/owned/").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert!(
        home.html.contains("Sales today") && home.html.contains("0.00 EUR"),
        "{}",
        home.html
    );
    assert!(home.html.contains("aria-label=\"Admin\""));
    let out = browser.post("/admin/owned/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.cookies.contains_key("mercato_access"));
    assert_eq!(browser.get("/admin/owned/").await.status, 303);
}

#[tokio::test]
async fn a_product_refused_by_the_api_shows_the_error_next_to_its_field() {
    let p = Platform::start().await;
    store(&p, "fields").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("fields", "owner@fields.test").await;
    let answer = browser
        .post(
            "/admin/fields/products",
            &[
                ("rows", "1"),
                ("title", "   "),
                ("slug", "a-lamp"),
                ("status", "active"),
                ("v0_sku", "LAMP-1"),
                ("v0_price", "12.50"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.html);
    let title_error = answer
        .html
        .split("id=\"title-error\"")
        .nth(1)
        .expect("an error next to the title");
    assert!(
        title_error.starts_with(" class=\"field-error\" role=\"alert\">"),
        "{title_error}"
    );
    assert!(
        answer
            .html
            .contains("aria-invalid=\"true\" aria-describedby=\"title-error\"")
    );
    // What was typed is kept.
    assert!(answer.html.contains("value=\"LAMP-1\"") && answer.html.contains("value=\"12.50\""));
    // A price the form cannot read is said next to that variant's price.
    let answer = browser
        .post(
            "/admin/fields/products",
            &[
                ("rows", "1"),
                ("title", "Lamp"),
                ("v0_sku", "LAMP-1"),
                ("v0_price", "twelve"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(answer.html.contains("id=\"v0-price-error\""), "{}", answer.html);
}

#[tokio::test]
async fn a_product_title_with_markup_is_shown_as_text_in_the_admin_list() {
    let p = Platform::start().await;
    store(&p, "escaping").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("escaping", "owner@escaping.test").await;
    let title = "<img src=x onerror=alert(1)>";
    let created = browser
        .post(
            "/admin/escaping/products",
            &[
                ("rows", "1"),
                ("title", title),
                ("status", "draft"),
                ("v0_sku", "XSS-1"),
                ("v0_price", "1"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(created.location.contains("done=created"));
    let list = browser.get("/admin/escaping/products").await;
    assert_eq!(list.status, 200);
    assert!(!list.html.contains(title), "{}", list.html);
    assert!(
        list.html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        list.html
    );
    // The edit page too, in its title, heading and field.
    let edit = browser.get(&created.location).await;
    assert!(!edit.html.contains(title));
    assert!(edit.html.contains("The product is created."));
}

#[tokio::test]
async fn a_refund_posted_from_the_order_page_refunds_the_order() {
    let p = Platform::start().await;
    let token = store(&p, "refunds").await;
    use reqwest::Method;
    api(
        &p,
        Method::POST,
        "/v1/stores/refunds/products",
        &token,
        json!({
        "slug": "e-book", "title": "E-book", "variants": [{"sku": "EB-1", "price": {"amount_minor": 1500},
        "requires_shipping": false}]}),
    )
    .await;
    api(
        &p,
        Method::PUT,
        "/v1/stores/refunds/inventory/EB-1",
        &token,
        json!({"on_hand": 10}),
    )
    .await;
    // An anonymous shopper's cart, paid with a test card.
    let cart: Value = p
        .http
        .post(format!("{}/v1/stores/refunds/carts", p.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (cart_id, cart_token) = (cart["id"].as_str().unwrap(), cart["cart_token"].as_str().unwrap());
    let added = p
        .http
        .post(format!("{}/v1/stores/refunds/carts/{cart_id}/items", p.base))
        .header("x-cart-token", cart_token)
        .json(&json!({"sku": "EB-1", "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{}", added.text().await.unwrap());
    let card: Value = p
        .http
        .post(format!("{}/v1/stores/refunds/payment-methods", p.base))
        .json(&json!({"card_number": "4242424242424242", "exp": "12/30", "cvc": "123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order: Value = p
        .http
        .post(format!("{}/v1/stores/refunds/checkout", p.base))
        .header("x-cart-token", cart_token)
        .header("idempotency-key", "refund-test")
        .json(&json!({"cart_id": cart_id, "payment": {"payment_method": card["id"], "email": "buyer@refunds.test"}}))
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
            &p,
            Method::GET,
            &format!("/v1/stores/refunds/orders/{order_id}"),
            &token,
            Value::Null,
        )
        .await;
        if now["status"] == "confirmed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let mut browser = Browser::new(&p);
    browser.sign_in("refunds", "owner@refunds.test").await;
    let path = format!("/admin/refunds/orders/{order_id}");
    // The list finds it by status and date, and its live rows are the same table's.
    let list = browser
        .get("/admin/refunds/orders?status=confirmed&fulfilment=unfulfilled&from=2000-01-01&to=2999-12-31")
        .await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(
        list.html.contains(&format!("data-order-id=\"{order_id}\"")),
        "{}",
        list.html
    );
    assert!(
        list.html
            .contains("data-live-refresh=\"/admin/refunds/orders/rows?status=confirmed")
    );
    let rows = browser.get("/admin/refunds/orders/rows?status=failed").await;
    assert!(
        rows.html.contains("No orders match these filters."),
        "{}",
        rows.html
    );
    let bad_date = browser.get("/admin/refunds/orders?from=yesterday").await;
    assert!(bad_date.html.contains("id=\"from-error\""), "{}", bad_date.html);
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Refund selected items") && page.html.contains("Order placed"));
    let key = page
        .html
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    // One of the two units, then the answer replayed: the same key refunds once.
    let fields = [("key", key.as_str()), ("sku", "EB-1"), ("quantity", "1")];
    let refunded = browser.post(&format!("{path}/refund"), &fields).await;
    assert_eq!(refunded.status, 303, "{}", refunded.html);
    assert_eq!(refunded.location, format!("{path}?done=refunded"));
    browser.post(&format!("{path}/refund"), &fields).await;
    let page = browser.get(&refunded.location).await;
    assert!(page.html.contains("The refund is made."));
    assert!(page.html.contains("partially refunded"), "{}", page.html);
    assert!(page.html.contains("to refund, up to 1"), "{}", page.html);
    let summary = browser.get(&format!("{path}/summary")).await;
    assert!(summary.html.contains("partially refunded") && !summary.html.contains("<html"));
    // Nothing chosen is said in words, not sent.
    let none = browser
        .post(
            &format!("{path}/refund"),
            &[("key", "k-2"), ("sku", "EB-1"), ("quantity", "0")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(none.html.contains("role=\"alert\""));
}

#[tokio::test]
async fn stock_is_set_per_location_from_a_skus_page_even_before_any_was_recorded() {
    let p = Platform::start().await;
    let token = store(&p, "stocked").await;
    api(
        &p,
        reqwest::Method::POST,
        "/v1/stores/stocked/products",
        &token,
        json!({
        "slug": "mug", "title": "Mug", "variants": [{"sku": "MUG-1", "price": {"amount_minor": 900}}]}),
    )
    .await;
    let mut browser = Browser::new(&p);
    browser.sign_in("stocked", "owner@stocked.test").await;
    let list = browser.get("/admin/stocked/stock").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("href=\"/admin/stocked/stock/MUG-1\""));
    let page = browser.get("/admin/stocked/stock/MUG-1").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("No stock is recorded for this SKU yet"));
    let bad = browser
        .post(
            "/admin/stocked/stock/MUG-1",
            &[("location", ""), ("on_hand", "many")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"on_hand-error\""), "{}", bad.html);
    let saved = browser
        .post(
            "/admin/stocked/stock/MUG-1",
            &[("location", "back-room"), ("on_hand", "7")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = browser.get(&saved.location).await;
    assert!(
        page.html.contains("The stock is saved.") && page.html.contains("back-room"),
        "{}",
        page.html
    );
}

#[tokio::test]
async fn a_product_with_sizes_is_created_and_edited_with_a_value_per_variant() {
    let p = Platform::start().await;
    store(&p, "sizes").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("sizes", "owner@sizes.test").await;
    // Naming the option and asking for rows shows each variant a field for its size.
    let rows = browser
        .post(
            "/admin/sizes/products",
            &[
                ("rows", "2"),
                ("title", "Tee"),
                ("opt0_name", "Size"),
                ("opt0_values", "S, M"),
                ("action", "more"),
            ],
        )
        .await;
    assert_eq!(rows.status, 200, "{}", rows.html);
    assert!(rows.html.contains(">Variant 1 Size</label>") && rows.html.contains("name=\"v3_sku\""));
    let fields = [
        ("rows", "2"),
        ("title", "Tee"),
        ("status", "active"),
        ("opt0_name", "Size"),
        ("opt0_values", "S, M"),
        ("v0_sku", "TEE-S"),
        ("v0_price", "10"),
        ("v0_opt0", "S"),
        ("v1_sku", "TEE-M"),
        ("v1_price", "10.50"),
        ("v1_opt0", "M"),
        ("v1_weight", "180"),
    ];
    let created = browser.post("/admin/sizes/products", &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let edit = browser.get(&created.location).await;
    assert!(edit.html.contains("value=\"TEE-M\"") && edit.html.contains("value=\"10.50\""));
    assert!(
        edit.html.contains("name=\"v1_opt0\" type=\"text\" value=\"M\""),
        "{}",
        edit.html
    );
    // Two variants with the same size are refused next to the second.
    let mut same = fields.to_vec();
    same[10] = ("v1_opt0", "S");
    let id = created
        .location
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let refused = browser.post(&format!("/admin/sizes/products/{id}"), &same).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("the same as another variant"),
        "{}",
        refused.html
    );
}
