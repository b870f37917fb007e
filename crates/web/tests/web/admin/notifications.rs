//! The notifications pages: an owner registers a webhook (its secret shown once), sees its
//! deliveries arrive at a real HTTP receiver, opens one, redelivers it, sends a test event,
//! disables, enables, rotates and deletes it; changes and previews an e-mail template (a broken
//! one refused next to its field) and resets it; chooses their own e-mail notifications.

use super::{Browser, place_order, store};
use crate::harness::Platform;
use axum::routing::post;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A receiver answering every POST to `/hook` with 200, counting them; its URL.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

/// A platform whose webhooks may reach this machine over plain HTTP, retrying fast.
async fn platform() -> Platform {
    Platform::start_with(|s| {
        s.notifications.webhooks.allow_http = true;
        s.notifications.webhooks.allowed_ranges = vec!["127.0.0.0/8".parse().unwrap()];
        s.notifications.webhooks.retry_base = std::time::Duration::from_millis(100);
    })
    .await
}

/// The first `href` of the page starting with `prefix`.
fn link(html: &str, prefix: &str) -> String {
    html.split("href=\"")
        .find(|s| s.starts_with(prefix))
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("a link to {prefix}…: {html}"))
        .to_owned()
}

#[tokio::test]
async fn an_owner_registers_a_webhook_follows_its_deliveries_and_manages_it() {
    let p = platform().await;
    let token = store(&p, "hooksweb").await;
    let (url, received) = receiver().await;
    let mut browser = Browser::new(&p);
    browser.sign_in("hooksweb", "owner@hooksweb.test").await;

    let empty = browser.get("/admin/hooksweb/webhooks").await;
    assert_eq!(empty.status, 200, "{}", empty.html);
    for shown in [
        "No webhooks yet.",
        "order.confirmed",
        r#"aria-current="page">Webhooks"#,
    ] {
        assert!(empty.html.contains(shown), "{shown}: {}", empty.html);
    }
    assert!(
        !empty.html.contains("style="),
        "no inline style: the CSP forbids it"
    );

    let refused = browser
        .post(
            "/admin/hooksweb/webhooks",
            &[("url", "ftp://nowhere"), ("event_types", "order.confirmed")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains(r#"id="webhook-url-error""#),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains(r#"value="ftp://nowhere""#),
        "the form keeps what was typed"
    );

    let created = browser
        .post(
            "/admin/hooksweb/webhooks",
            &[
                ("url", &url),
                ("description", "<b>ERP</b>"),
                ("event_types", "order.confirmed"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.html);
    assert!(
        created.html.contains("whsec_"),
        "the secret, once: {}",
        created.html
    );
    assert!(created.html.contains("only time it is shown"), "{}", created.html);
    assert!(
        created.html.contains("&#60;b&#62;ERP&#60;/b&#62;"),
        "escaped: {}",
        created.html
    );
    let list = browser.get("/admin/hooksweb/webhooks").await;
    assert!(!list.html.contains("whsec_"), "never again");
    assert!(list.html.contains("Enabled"), "{}", list.html);
    let page_path = link(&list.html, "/admin/hooksweb/webhooks/");

    place_order(&p, "hooksweb", &token).await;
    let mut page = String::new();
    for _ in 0..200 {
        page = browser.get(&page_path).await.html;
        if page.contains("succeeded") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("<code>order.confirmed</code>") && page.contains("succeeded"),
        "{page}"
    );
    assert!(page.contains("<td>200</td>"), "the last status code: {page}");
    assert!(received.load(Ordering::SeqCst) >= 1);

    let delivery_path = link(&page, "/admin/hooksweb/webhook-deliveries/");
    let delivery = browser.get(&delivery_path).await;
    assert_eq!(delivery.status, 200, "{}", delivery.html);
    for shown in [
        "Attempts, oldest first",
        "Redeliver",
        "&#34;type&#34;: &#34;order.confirmed&#34;",
    ] {
        assert!(delivery.html.contains(shown), "{shown}: {}", delivery.html);
    }
    let again = browser.post(&format!("{delivery_path}/redeliver"), &[]).await;
    assert_eq!(again.status, 303, "{}", again.html);
    assert!(again.location.starts_with("/admin/hooksweb/webhook-deliveries/"));
    assert_ne!(again.location, delivery_path, "a new delivery");

    let tested = browser.post(&format!("{page_path}/test"), &[]).await;
    assert_eq!(tested.status, 303, "{}", tested.html);
    assert_eq!(tested.location, format!("{page_path}?done=test"));

    let disabled = browser.post(&format!("{page_path}/disable"), &[]).await;
    assert_eq!(disabled.location, format!("{page_path}?done=disable"));
    let shown = browser.get(&disabled.location).await;
    assert!(
        shown.html.contains(">Disabled<") && shown.html.contains(">Enable<"),
        "{}",
        shown.html
    );
    let enabled = browser.post(&format!("{page_path}/enable"), &[]).await;
    assert_eq!(enabled.location, format!("{page_path}?done=enable"));

    let rotated = browser.post(&format!("{page_path}/rotate"), &[]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.html);
    assert!(rotated.html.contains("whsec_") && rotated.html.contains("previous secret keeps signing"));

    let deleted = browser.post(&format!("{page_path}/delete"), &[]).await;
    assert_eq!(deleted.location, "/admin/hooksweb/webhooks");
    let gone = browser.get("/admin/hooksweb/webhooks").await;
    assert!(gone.html.contains("No webhooks yet."), "{}", gone.html);
}

#[tokio::test]
async fn an_owner_edits_previews_and_resets_an_email_template() {
    let p = Platform::start().await;
    store(&p, "mailweb").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("mailweb", "owner@mailweb.test").await;

    let list = browser.get("/admin/mailweb/email-templates").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("order_confirmed"), "{}", list.html);
    let edit = browser
        .get("/admin/mailweb/email-templates/order_confirmed")
        .await;
    assert_eq!(edit.status, 200, "{}", edit.html);
    assert!(edit.html.contains(r#"<label for="subject">Subject</label>"#));

    let parts = |subject: &'static str| {
        [
            ("subject", subject),
            ("html", "<p>Thanks for order {{ order.number }}</p>"),
            ("text", "Thanks"),
        ]
    };
    let preview = browser
        .post(
            "/admin/mailweb/email-templates/order_confirmed/preview",
            &parts("Order {{ order.number }} <ok>"),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(
        preview.html.contains("Preview with sample data"),
        "{}",
        preview.html
    );
    assert!(preview.html.contains("&#60;ok&#62;"), "escaped: {}", preview.html);

    let broken = browser
        .post(
            "/admin/mailweb/email-templates/order_confirmed",
            &parts("Order {{ order.number"),
        )
        .await;
    assert_eq!(broken.status, 422, "{}", broken.html);
    assert!(broken.html.contains(r#"id="subject-error""#), "{}", broken.html);

    let saved = browser
        .post(
            "/admin/mailweb/email-templates/order_confirmed",
            &parts("Your order {{ order.number }}"),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let shown = browser.get(&saved.location).await;
    assert!(shown.html.contains("This store&#39;s own version") || shown.html.contains("own version"));
    assert!(
        shown.html.contains("Reset to the built-in template"),
        "{}",
        shown.html
    );
    let reset = browser
        .post("/admin/mailweb/email-templates/order_confirmed/reset", &[])
        .await;
    assert_eq!(reset.status, 303, "{}", reset.html);
    let built_in = browser.get(&reset.location).await;
    assert!(
        built_in.html.contains("The built-in template."),
        "{}",
        built_in.html
    );
}

#[tokio::test]
async fn a_staff_member_chooses_their_own_email_notifications() {
    let p = Platform::start().await;
    store(&p, "prefsweb").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("prefsweb", "owner@prefsweb.test").await;

    let page = browser.get("/admin/prefsweb/notifications").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(r#"<label for="new-orders">"#), "{}", page.html);
    let saved = browser
        .post("/admin/prefsweb/notifications", &[("new_orders", "on")])
        .await;
    assert_eq!(saved.location, "/admin/prefsweb/notifications?done=saved");
    let shown = browser.get(&saved.location).await;
    assert!(
        shown
            .html
            .contains(r#"name="new_orders" type="checkbox" checked"#),
        "{}",
        shown.html
    );
    assert!(
        !shown
            .html
            .contains(r#"name="payment_declines" type="checkbox" checked"#)
    );
}
