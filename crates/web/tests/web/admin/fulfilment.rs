//! The order page's shipments and returns: create a shipment with tracking, mark it shipped and
//! delivered; request, reject, approve and receive returns (which refunds).

use super::{Browser, api, place_order, store};
use crate::harness::Platform;
use reqwest::Method;
use serde_json::Value;

/// The value of the first `name="key"` after `marker` in the page.
fn key_after(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|s| s.split("name=\"key\" value=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no key after {marker}: {html}"))
        .to_owned()
}

/// The id in the first form action `…/{kind}/{id}/{verb}` of the page.
fn id_in(html: &str, kind: &str, verb: &str) -> String {
    html.split(&format!("/{kind}/"))
        .filter_map(|s| s.split_once(&format!("/{verb}\"")))
        .map(|(id, _)| id.to_owned())
        .find(|id| !id.contains('/'))
        .unwrap_or_else(|| panic!("no {kind} to {verb}: {html}"))
}

#[tokio::test]
async fn a_shipment_with_tracking_is_created_shipped_and_delivered() {
    let p = Platform::start().await;
    let token = store(&p, "ships").await;
    let order_id = place_order(&p, "ships", &token).await;
    let mut browser = Browser::new(&p);
    browser.sign_in("ships", "owner@ships.test").await;
    let path = format!("/admin/ships/orders/{order_id}");

    let page = browser.get(&path).await;
    assert!(page.html.contains("Create shipment") && page.html.contains("Nothing is sent yet."));
    assert!(
        page.html.contains("Quantity of E-book (EB-1) to send, up to 2"),
        "{}",
        page.html
    );
    let key = key_after(&page.html, "/shipments\"");

    // The API's refusals next to their fields: too many units, a tracking link that is no URL.
    let refused = browser
        .post(
            &format!("{path}/shipments"),
            &[
                ("key", "k-bad"),
                ("sku", "EB-1"),
                ("quantity", "5"),
                ("tracking_url", "ftp://x"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("id=\"send-1-error\""), "{}", refused.html);
    let refused = browser
        .post(
            &format!("{path}/shipments"),
            &[
                ("key", "k-bad2"),
                ("sku", "EB-1"),
                ("quantity", "1"),
                ("tracking_url", "ftp://x"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("id=\"shipment-url-error\""),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"ftp://x\""), "what was typed stays");
    // Nothing chosen is not "everything".
    let none = browser
        .post(
            &format!("{path}/shipments"),
            &[("key", "k-0"), ("sku", "EB-1"), ("quantity", "0")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(
        none.html.contains("Choose at least one unit to send."),
        "{}",
        none.html
    );

    // One unit with tracking; the same form sent twice creates one shipment.
    let fields = [
        ("key", key.as_str()),
        ("sku", "EB-1"),
        ("quantity", "1"),
        ("carrier", "DHL"),
        ("tracking_number", "JD0146 <b>"),
    ];
    let created = browser.post(&format!("{path}/shipments"), &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert_eq!(created.location, format!("{path}?done=shipment#shipments"));
    browser.post(&format!("{path}/shipments"), &fields).await;
    let page = browser.get(&format!("{path}?done=shipment")).await;
    assert!(page.html.contains("The shipment is created."));
    assert!(
        page.html.contains("Shipment 1") && !page.html.contains("Shipment 2"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("JD0146 &#60;b&#62;") || page.html.contains("JD0146 &lt;b&gt;"),
        "{}",
        page.html
    );
    assert!(page.html.contains(">partially fulfilled</span>"), "{}", page.html);
    assert!(page.html.contains("to send, up to 1"), "{}", page.html);

    let shipment = id_in(&page.html, "shipments", "ship");
    let shipped = browser
        .post(&format!("{path}/shipments/{shipment}/ship"), &[])
        .await;
    assert_eq!(shipped.status, 303, "{}", shipped.html);
    let page = browser.get(&format!("{path}?done=shipped")).await;
    assert!(page.html.contains("The shipment is marked as shipped."));
    assert!(!page.html.contains("Mark as shipped") && page.html.contains("Mark as delivered"));
    let delivered = browser
        .post(&format!("{path}/shipments/{shipment}/deliver"), &[])
        .await;
    assert_eq!(delivered.status, 303, "{}", delivered.html);
    // The live fragment carries the section, with the timeline's new entries.
    let summary = browser.get(&format!("{path}/summary")).await;
    assert!(summary.html.contains(">delivered</span>"), "{}", summary.html);
    assert!(summary.html.contains("Shipped") && summary.html.contains("Delivered"));
    assert!(!summary.html.contains("Mark as delivered"), "{}", summary.html);
    let order = api(
        &p,
        Method::GET,
        &format!("/v1/stores/ships/orders/{order_id}"),
        &token,
        Value::Null,
    )
    .await;
    assert_eq!(order["fulfilments"][0]["tracking_number"], "JD0146 <b>");
    assert_eq!(order["fulfilments"][0]["status"], "delivered");
}

#[tokio::test]
async fn a_return_approved_and_received_refunds_the_order() {
    let p = Platform::start().await;
    let token = store(&p, "returns").await;
    let order_id = place_order(&p, "returns", &token).await;
    let mut browser = Browser::new(&p);
    browser.sign_in("returns", "owner@returns.test").await;
    let path = format!("/admin/returns/orders/{order_id}");
    let page = browser.get(&path).await;
    assert!(
        !page.html.contains("Request return"),
        "nothing sent, nothing to return"
    );
    let key = key_after(&page.html, "/shipments\"");
    let sent = browser
        .post(
            &format!("{path}/shipments"),
            &[("key", &key), ("sku", "EB-1"), ("quantity", "2")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);

    // One unit asked back and rejected; then the other asked back, approved and received.
    let page = browser.get(&path).await;
    assert!(page.html.contains("Nothing is left to send."), "{}", page.html);
    let key = key_after(&page.html, "/returns\"");
    let too_many = browser
        .post(
            &format!("{path}/returns"),
            &[("key", "r-bad"), ("sku", "EB-1"), ("quantity", "3")],
        )
        .await;
    assert_eq!(too_many.status, 422, "{}", too_many.html);
    assert!(
        too_many.html.contains("id=\"return-1-error\""),
        "{}",
        too_many.html
    );
    let requested = browser
        .post(
            &format!("{path}/returns"),
            &[
                ("key", &key),
                ("sku", "EB-1"),
                ("quantity", "1"),
                ("reason", "too small"),
            ],
        )
        .await;
    assert_eq!(requested.status, 303, "{}", requested.html);
    let page = browser.get(&format!("{path}?done=return-requested")).await;
    assert!(page.html.contains("The return is requested.") && page.html.contains("too small"));
    let first = id_in(&page.html, "returns", "reject");
    let rejected = browser.post(&format!("{path}/returns/{first}/reject"), &[]).await;
    assert_eq!(rejected.status, 303, "{}", rejected.html);
    // A rejected return cannot be received: said next to it.
    let late = browser
        .post(
            &format!("{path}/returns/{first}/receive"),
            &[("sku", "EB-1"), ("quantity", "1")],
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.html);
    assert!(
        late.html.contains("The return could not be changed"),
        "{}",
        late.html
    );

    let page = browser.get(&path).await;
    let key = key_after(&page.html, "/returns\"");
    browser
        .post(
            &format!("{path}/returns"),
            &[("key", &key), ("sku", "EB-1"), ("quantity", "1")],
        )
        .await;
    let page = browser.get(&path).await;
    let second = id_in(&page.html, "returns", "approve");
    assert_ne!(first, second);
    let approved = browser
        .post(&format!("{path}/returns/{second}/approve"), &[])
        .await;
    assert_eq!(approved.status, 303, "{}", approved.html);
    let page = browser.get(&format!("{path}?done=return-approved")).await;
    assert!(page.html.contains("Receive return"), "{}", page.html);
    let received = browser
        .post(
            &format!("{path}/returns/{second}/receive"),
            &[("sku", "EB-1"), ("quantity", "1"), ("sellable-1", "1")],
        )
        .await;
    assert_eq!(received.status, 303, "{}", received.html);
    // The refund may finish in the saga: the order's refunded amount becomes one unit's price.
    let mut refunded = 0;
    for _ in 0..100 {
        let order = api(
            &p,
            Method::GET,
            &format!("/v1/stores/returns/orders/{order_id}"),
            &token,
            Value::Null,
        )
        .await;
        refunded = order["refunded_minor"].as_i64().unwrap_or_default();
        if refunded > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(refunded, 1500);
    let summary = browser.get(&format!("{path}/summary")).await;
    assert!(
        summary.html.contains("<dt>Refunded</dt><dd>15.00 EUR</dd>"),
        "{}",
        summary.html
    );
    assert!(summary.html.contains("partially refunded"), "{}", summary.html);
    assert!(!summary.html.contains("Receive return"), "{}", summary.html);
}
