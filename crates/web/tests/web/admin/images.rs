//! A product's images through the pages: the admin uploads one (a multipart form whose CSRF
//! token rides in its action), the shop's product page shows it once its sizes exist, and the
//! admin changes its alt text and deletes it.

use super::{Browser, api, store};
use crate::harness::Platform;
use serde_json::json;
use std::time::{Duration, Instant};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A browser's multipart upload of [`PNG`] to `path` (its query carrying the token, or not).
async fn upload(p: &Platform, browser: &Browser<'_>, path: &str) -> reqwest::Response {
    let boundary = "web-test-boundary-41";
    let mut body = Vec::new();
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\nA red dot\r\n")
            .as_bytes(),
    );
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dot.png\"\r\nContent-Type: image/png\r\n\r\n")
            .as_bytes(),
    );
    body.extend(PNG);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let cookies: Vec<String> = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    p.http
        .post(format!("{}{path}", p.base))
        .header("cookie", cookies.join("; "))
        .header("origin", p.base.clone())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_image_uploaded_in_the_admin_is_shown_in_the_shop_then_changed_and_deleted() {
    let p = Platform::start().await;
    let token = store(&p, "pics").await;
    let product = api(
        &p,
        reqwest::Method::POST,
        "/v1/stores/pics/products",
        &token,
        json!({"slug": "dot", "title": "Dot", "variants": [{"sku": "DOT-1", "price": {"amount_minor": 100, "currency": "EUR"}}]}),
    )
    .await;
    let id = product["id"].as_str().unwrap();
    let mut browser = Browser::new(&p);
    browser.sign_in("pics", "owner@pics.test").await;
    let page = format!("/admin/pics/products/{id}/images");
    let shown = browser.get(&page).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert!(shown.html.contains("No images yet."));

    let refused = upload(&p, &browser, &page).await;
    assert_eq!(refused.status(), 403, "an upload without its token is refused");
    let csrf = browser.cookies["mercato_csrf"].clone();
    let sent = upload(&p, &browser, &format!("{page}?csrf={csrf}")).await;
    assert_eq!(sent.status(), 303, "{}", sent.text().await.unwrap());

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shop = p
            .http
            .get(format!("{}/s/pics/p/dot", p.base))
            .send()
            .await
            .unwrap();
        let html = shop.text().await.unwrap();
        if html.contains("<picture>") {
            assert!(
                html.contains("type=\"image/webp\"") && html.contains("/large.jpg\" alt=\"A red dot\""),
                "{html}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the shop never showed the image");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let admin = browser.get(&page).await;
    assert!(admin.html.contains("Ready"), "{}", admin.html);
    let image = admin
        .html
        .split("id=\"alt-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let saved = browser
        .post(
            &format!("{page}/{image}"),
            &[("alt", "A dot <b>red</b>"), ("position", "1")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let admin = browser.get(&page).await;
    assert!(
        admin.html.contains("value=\"A dot &#60;b&#62;red&#60;/b&#62;\""),
        "{}",
        admin.html
    );
    let deleted = browser.post(&format!("{page}/{image}/delete"), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert!(browser.get(&page).await.html.contains("No images yet."));
}
