//! The storefront: what a shopper types is shown as text, forms are protected, sessions live
//! in safe cookies, and refusals are sentences next to what they concern.

use crate::harness::{Browser, Platform, store_with_product};

const MARKUP: &str = "<img src=x onerror=alert(1)>";

#[tokio::test]
async fn a_product_titled_with_markup_renders_as_text_on_every_storefront_page() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, MARKUP).await;
    let mut b = Browser::new(&p);
    let escaped = "&#60;img src=x onerror=alert(1)&#62;";
    for path in [
        format!("/s/{store}/"),
        format!("/s/{store}/p/{product}"),
        format!("/s/{store}/search?q=img"),
    ] {
        // The search index learns the product from the catalog's event, a moment later.
        let mut page = b.get(&path).await;
        for _ in 0..50 {
            if page.html.contains("onerror") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            page = b.get(&path).await;
        }
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.html.contains(MARKUP), "{path}: {}", page.html);
        assert!(
            page.html.contains(escaped) || page.html.contains("&lt;img"),
            "{path}: {}",
            page.html
        );
    }
    let added = b
        .post(
            &format!("/s/{store}/cart/items"),
            &[("sku", "THING-1"), ("quantity", "1"), ("product", &product)],
        )
        .await;
    assert_eq!(added.status, 303);
    let cart = b.get(&format!("/s/{store}/cart")).await;
    assert!(
        cart.html.contains("THING-1") && !cart.html.contains(MARKUP),
        "{}",
        cart.html
    );
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_site_is_refused() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    let path = format!("{}/s/{store}/cart/items", p.base);
    let fields = [
        ("sku", "THING-1"),
        ("quantity", "1"),
        ("product", product.as_str()),
    ];
    // No token.
    let request = p.http.post(&path).header("origin", p.base.clone()).form(&fields);
    let page = b.send(request).await;
    assert_eq!(page.status, 403);
    assert!(page.html.contains("role=\"alert\""), "{}", page.html);
    // The right token, from another site.
    let csrf = b.csrf();
    let mut with_token = vec![("csrf", csrf.as_str())];
    with_token.extend_from_slice(&fields);
    let request = p
        .http
        .post(&path)
        .header("origin", "https://evil.example")
        .form(&with_token);
    assert_eq!(b.send(request).await.status, 403);
    // Another token, from this site.
    let mut wrong = vec![("csrf", "not-the-token")];
    wrong.extend_from_slice(&fields);
    let request = p.http.post(&path).header("origin", p.base.clone()).form(&wrong);
    assert_eq!(b.send(request).await.status, 403);
    // Nothing was added; the real form works.
    assert!(!b.cookies.contains_key("mercato_cart"));
    let added = b.post(&format!("/s/{store}/cart/items"), &fields).await;
    assert_eq!(added.status, 303);
    assert_eq!(
        added.location.as_deref(),
        Some(format!("/s/{store}/p/{product}?added=true").as_str())
    );
}

#[tokio::test]
async fn session_and_cart_cookies_are_http_only_same_site_and_scoped_to_the_store() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    b.post(
        &format!("/s/{store}/cart/items"),
        &[("sku", "THING-1"), ("quantity", "2"), ("product", &product)],
    )
    .await;
    let page = b
        .post(
            &format!("/s/{store}/sign-up"),
            &[
                ("email", "ann@example.com"),
                ("password", "a long password"),
                ("first_name", "Ann"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    for name in ["mercato_access", "mercato_refresh", "mercato_cart"] {
        let cookie = b
            .set_cookies
            .iter()
            .rev()
            .find(|c| c.starts_with(&format!("{name}=")) && !c.contains("Max-Age=0"))
            .unwrap_or_else(|| panic!("{name} is set: {:?}", b.set_cookies));
        assert!(cookie.contains("; HttpOnly"), "{cookie}");
        assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
        assert!(cookie.contains(&format!("; Path=/s/{store};")), "{cookie}");
        // Served over plain HTTP here; `Secure` is for TLS.
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
    // Signed in, the anonymous cart was merged into the customer's.
    let cart = b.get(&format!("/s/{store}/cart")).await;
    assert!(cart.html.contains("THING-1"), "{}", cart.html);
    let orders = b.get(&format!("/s/{store}/orders")).await;
    assert_eq!(orders.status, 200);
    // Signing out deletes the session.
    let out = b.post(&format!("/s/{store}/sign-out"), &[]).await;
    assert_eq!(out.status, 303);
    assert!(!b.cookies.contains_key("mercato_access") && !b.cookies.contains_key("mercato_refresh"));
    let orders = b.get(&format!("/s/{store}/orders")).await;
    assert_eq!(orders.status, 303, "signed out, orders ask to sign in");
}

#[tokio::test]
async fn a_declined_card_is_said_in_words_next_to_the_card_field_and_the_cart_stays() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    b.post(
        &format!("/s/{store}/cart/items"),
        &[("sku", "THING-1"), ("quantity", "1"), ("product", &product)],
    )
    .await;
    // Nothing in this cart ships: the payment step shows before any address.
    let checkout = b.get(&format!("/s/{store}/checkout")).await;
    assert!(
        checkout.html.contains("Place order")
            && checkout.html.contains("Nothing in this order needs shipping."),
        "{}",
        checkout.html
    );
    let address = [
        ("name", "Ann Lee"),
        ("line1", "Invalidenstraße 117"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "DE"),
    ];
    assert_eq!(
        b.post(&format!("/s/{store}/checkout/address"), &address)
            .await
            .status,
        303
    );
    let card = |number| {
        [
            ("email", "ann@example.com"),
            ("card_number", number),
            ("exp", "12/30"),
            ("cvc", "123"),
        ]
    };
    let declined = b
        .post(&format!("/s/{store}/checkout"), &card("4000000000000002"))
        .await;
    assert_eq!(declined.status, 402);
    assert!(
        declined
            .html
            .contains(r#"role="alert" id="card-number-error">Your card was declined. Try another card."#),
        "{}",
        declined.html
    );
    assert!(!declined.html.contains("payment_required") && !declined.html.contains("{\""));
    let invalid = b
        .post(&format!("/s/{store}/checkout"), &card("4242424242424241"))
        .await;
    assert_eq!(invalid.status, 422);
    assert!(
        invalid.html.contains("This card number is not valid"),
        "{}",
        invalid.html
    );
    let cart = b.get(&format!("/s/{store}/cart")).await;
    assert!(cart.html.contains("THING-1"), "the cart is intact: {}", cart.html);
    let placed = b
        .post(&format!("/s/{store}/checkout"), &card("4242424242424242"))
        .await;
    assert_eq!(placed.status, 200, "{}", placed.html);
    assert!(
        placed.html.contains("Thank you for your order"),
        "{}",
        placed.html
    );
    // A second click on "Place order" places nothing more: the cart is gone.
    let again = b
        .post(&format!("/s/{store}/checkout"), &card("4242424242424242"))
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(
        again.location.as_deref(),
        Some(format!("/s/{store}/cart").as_str())
    );
}

#[tokio::test]
async fn the_product_page_shows_availability_and_a_short_line_is_named_at_checkout() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    let page = b.get(&format!("/s/{store}/p/{product}")).await;
    assert!(page.html.contains(">In stock (10)</span>"), "{}", page.html);
    b.post(
        &format!("/s/{store}/cart/items"),
        &[("sku", "THING-1"), ("quantity", "11"), ("product", &product)],
    )
    .await;
    let address = [
        ("name", "Ann Lee"),
        ("line1", "Invalidenstraße 117"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "DE"),
    ];
    b.post(&format!("/s/{store}/checkout/address"), &address).await;
    let card = [
        ("card_number", "4242424242424242"),
        ("exp", "12/30"),
        ("cvc", "123"),
    ];
    let short = b.post(&format!("/s/{store}/checkout"), &card).await;
    assert_eq!(short.status, 409, "{}", short.html);
    assert!(
        short
            .html
            .contains(r#"<p class="error" role="alert">Only 10 left in stock.</p>"#),
        "{}",
        short.html
    );
}

#[tokio::test]
async fn a_customers_order_page_shows_its_status_and_a_conversation_as_text() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    b.post(
        &format!("/s/{store}/sign-up"),
        &[("email", "talk@example.com"), ("password", "a long password")],
    )
    .await;
    b.post(
        &format!("/s/{store}/cart/items"),
        &[("sku", "THING-1"), ("quantity", "1"), ("product", &product)],
    )
    .await;
    let address = [
        ("name", "Ann Lee"),
        ("line1", "Invalidenstraße 117"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "DE"),
    ];
    b.post(&format!("/s/{store}/checkout/address"), &address).await;
    let card = [
        ("card_number", "4242424242424242"),
        ("exp", "12/30"),
        ("cvc", "123"),
    ];
    let placed = b.post(&format!("/s/{store}/checkout"), &card).await;
    assert_eq!(placed.status, 303, "{}", placed.html);
    let order_page = placed.location.unwrap();
    let order_page = order_page.split('?').next().unwrap().to_owned();
    let page = b.get(&order_page).await;
    assert!(
        page.html
            .contains(r#"id="order-status" aria-live="polite">Confirmed</strong>"#),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("data-orders-channel=\"orders:"),
        "{}",
        page.html
    );

    let sent = b
        .post(
            &format!("{order_page}/messages"),
            &[("body", "Is it <b>here</b> yet?")],
        )
        .await;
    assert_eq!(sent.status, 303);
    let page = b.get(&order_page).await;
    assert!(
        page.html.contains("Is it &#60;b&#62;here&#60;/b&#62; yet?"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("data-channel=\"conversation:"),
        "the page subscribes to it"
    );
    let orders = b.get(&format!("/s/{store}/orders")).await;
    assert!(orders.html.contains(">Order #"), "{}", orders.html);
}

#[tokio::test]
async fn a_discount_code_is_applied_removed_and_refused_in_words_next_to_its_field() {
    let p = Platform::start().await;
    let (store, product) = store_with_product(&p, "Plain thing").await;
    let token: serde_json::Value = p
        .http
        .post(format!("{}/v1/oauth/token", p.base))
        .form(&[
            ("grant_type", "password"),
            ("store", store.as_str()),
            ("username", "owner@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let promotion = serde_json::json!({"code": "SAVE10", "name": "10 % off", "kind": "percent",
        "percent_bps": 1000, "target": "order"});
    let created = p
        .http
        .post(format!("{}/v1/stores/{store}/promotions", p.base))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&promotion)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    b.post(
        &format!("/s/{store}/cart/items"),
        &[("sku", "THING-1"), ("quantity", "2"), ("product", &product)],
    )
    .await;
    let refused = b
        .post(&format!("/s/{store}/cart/code"), &[("code", "NOPE")])
        .await;
    let cart = b.get(refused.location.as_deref().unwrap()).await;
    assert!(
        cart.html
            .contains(r#"role="alert" id="discount-code-error">This code does not exist."#),
        "{}",
        cart.html
    );
    b.post(&format!("/s/{store}/cart/code"), &[("code", "SAVE10")])
        .await;
    let cart = b.get(&format!("/s/{store}/cart")).await;
    assert!(
        cart.html
            .contains("Discount code <strong>SAVE10</strong> applied."),
        "{}",
        cart.html
    );
    assert!(
        cart.html.contains("<dt>Discount</dt><dd>-2.50 EUR</dd>"),
        "{}",
        cart.html
    );
    b.post(&format!("/s/{store}/cart/code/remove"), &[]).await;
    let cart = b.get(&format!("/s/{store}/cart")).await;
    assert!(
        cart.html.contains("Apply code") && !cart.html.contains("SAVE10"),
        "{}",
        cart.html
    );
}
