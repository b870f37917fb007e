//! The admin home: today's figures from the analytics API, against yesterday, and their live
//! fragment (`…/today`, which admin.js refetches on `figures.changed`).

use super::{Browser, place_order, store};
use crate::harness::Platform;

#[tokio::test]
async fn the_home_shows_todays_figures_from_analytics_once_an_order_is_counted() {
    let p = Platform::start().await;
    let token = store(&p, "figures").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("figures", "owner@figures.test").await;

    let empty = browser.get("/admin/figures/").await;
    assert_eq!(empty.status, 200, "{}", empty.html);
    for shown in [
        "Net sales",
        "Orders",
        "Average order value",
        "Returning customers",
        "Conversion rate",
        "Yesterday: 0.00 EUR",
        "Net sales by hour",
        "Nothing sold yet today.",
        "Shoppers today",
        "Low stock",
    ] {
        assert!(empty.html.contains(shown), "{shown}: {}", empty.html);
    }
    assert!(
        empty.html.contains("data-live-events=\"figures. order.\""),
        "the home follows figures.changed"
    );
    assert!(
        !empty.html.contains("style="),
        "no inline style: the CSP forbids it"
    );

    // Two units of a 15.00 e-book: 30.00 of net sales, one order, the product on top.
    place_order(&p, "figures", &token).await;
    let mut today = String::new();
    for _ in 0..100 {
        today = browser.get("/admin/figures/today").await.html;
        if today.contains("30.00 EUR") && today.contains("E-book") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(today.contains("<dd>30.00 EUR</dd>"), "net sales and AOV: {today}");
    assert!(today.contains("<dd>1</dd>"), "one order: {today}");
    assert!(today.contains("<td>E-book</td>"), "top product: {today}");
    assert!(
        today.contains("with 30.00 EUR"),
        "the chart's summary names the busiest hour: {today}"
    );
    assert!(!today.contains("<nav"), "the fragment alone");
}
