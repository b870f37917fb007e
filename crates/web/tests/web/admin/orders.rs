//! Orders: the list and its filters, the live fragments, the order page's refunds and cancel.

use super::{Browser, place_order, store};
use crate::harness::Platform;

#[tokio::test]
async fn a_refund_posted_from_the_order_page_refunds_the_order() {
    let p = Platform::start().await;
    let token = store(&p, "refunds").await;
    let order_id = place_order(&p, "refunds", &token).await;

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
    let csv = browser.get("/admin/refunds/orders.csv?status=confirmed").await;
    assert_eq!(csv.status, 200);
    let mut lines = csv.html.lines();
    assert!(lines.next().unwrap().starts_with("number,placed_at,email,"));
    let row = lines.next().expect("the order's row");
    assert!(
        row.starts_with("1001,") && row.contains(",buyer@shop.test,confirmed,unfulfilled,EUR,30.00,0.00,"),
        "{row}"
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
async fn an_order_cancelled_from_its_page_is_cancelled_and_offers_nothing_more() {
    let p = Platform::start().await;
    let token = store(&p, "cancels").await;
    let order_id = place_order(&p, "cancels", &token).await;
    let mut browser = Browser::new(&p);
    browser.sign_in("cancels", "owner@cancels.test").await;
    let path = format!("/admin/cancels/orders/{order_id}");
    let page = browser.get(&path).await;
    let key = page
        .html
        .split("action=\"/admin/cancels/orders/")
        .find(|s| s.contains("/cancel\""))
        .and_then(|s| s.split("name=\"key\" value=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let cancelled = browser.post(&format!("{path}/cancel"), &[("key", &key)]).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.html);
    let page = browser.get(&cancelled.location).await;
    assert!(page.html.contains("The order is cancelled."), "{}", page.html);
    assert!(page.html.contains(">cancelled</span>") && page.html.contains("Order cancelled"));
    assert!(!page.html.contains("Cancel order</button>") && !page.html.contains("Refund whole order"));
    // A refund of a cancelled order is refused in words, not as a document.
    let refused = browser
        .post(&format!("{path}/refund"), &[("key", "late"), ("all", "1")])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(
        refused.html.contains("The order could not be refunded"),
        "{}",
        refused.html
    );
}
