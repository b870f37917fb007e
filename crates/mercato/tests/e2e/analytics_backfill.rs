//! Adding the analytics role to an installation that already has orders: the new analytics
//! process rebuilds the store's figures from the orders service's history (backfill) while the
//! events it missed are also still on the bus (JetStream keeps them, so some arrive twice), and
//! the figures equal the hand-computed ones with verify finding no difference.

use crate::analytics::{scripted_orders, summary_until};
use crate::checkout::store_with_stock;
use crate::harness::{base_settings, embedded_roles, shared_turn};
use mercato_proto::analytics::{BackfillStatus, BackfillStatusRequest};
use mercato_runtime::clients::analytics::AnalyticsClient;
use mercato_runtime::clients::balanced_channel;
use mercato_runtime::config::Secret;
use mercato_runtime::env::{TEST_NATS_URL, test_url};
use mercato_runtime::shutdown::Shutdown;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The services of an installation from before the analytics issue, in one process that serves
/// them over gRPC (a process with the gateway role serves none, so the gateway is another).
const SERVICES: &str = "identity,catalog,inventory,payments,orders,realtime,notifications";

/// The analytics process's backfill status once it says `done` (within 10 s), over its gRPC
/// contract (the REST API does not show it).
async fn backfill_done(url: &str) -> BackfillStatus {
    let deadline = Duration::from_secs(2);
    let channel = balanced_channel(&[url.to_owned()], deadline).unwrap();
    let client = AnalyticsClient::remote(channel, deadline, None).unwrap();
    let started = Instant::now();
    loop {
        let status = client.get_backfill_status(BackfillStatusRequest {}).await;
        match status {
            Ok(s) if s.state == "done" => return s,
            other => assert!(
                started.elapsed() < Duration::from_secs(10),
                "the backfill never finished: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn analytics_added_later_rebuilds_the_figures_from_the_orders_history() {
    // Three processes (the services, a gateway, later analytics) share events over NATS, with
    // SQLite storage each in one data directory.
    let Some(nats) = test_url(TEST_NATS_URL) else {
        eprintln!("skipped: the analytics backfill test needs NATS ({TEST_NATS_URL})");
        return;
    };
    mercato_runtime::testing::init_logs();
    let turn = shared_turn().await;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut s = base_settings();
    s.nats.url = Some(Secret::new(nats.clone()));
    s.nats.namespace = format!("e2e{run}");
    let _guard = mercato_runtime::testing::NatsNamespaceGuard::new(&nats, &s.nats.namespace);
    let services = embedded_roles(s.clone(), SERVICES).await;
    let at = services.gateways.clone();
    s.services.identity = at.clone();
    s.services.catalog = at.clone();
    s.services.inventory = at.clone();
    s.services.payments = at.clone();
    s.services.orders = at.clone();
    s.services.notifications = at.clone();
    s.services.realtime = at;
    // The analytics process's address, known before it exists: the gateway dials it lazily.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut gateway = s.clone();
    gateway.services.analytics = vec![format!("http://{}", listener.local_addr().unwrap())];
    let p = embedded_roles(gateway, "gateway").await.holding(turn);

    let (store, owner, sku) = store_with_stock(&p, 20).await;
    scripted_orders(&p, &store, &owner, &sku).await;
    let base = format!("/v1/stores/{store}/analytics");

    // The analytics role joins, reaching identity and orders in the services' process.
    let app = mercato::app::App::build(&s, mercato::roles::Roles::parse("analytics").unwrap())
        .await
        .expect("the analytics process builds");
    let analytics_url = format!("http://{}", listener.local_addr().unwrap());
    let stop = Shutdown::new();
    tokio::spawn(app.serve(listener, stop.clone()));
    let status = backfill_done(&analytics_url).await;
    assert!(
        status.orders_done >= 3,
        "every order placed before, the failed one too: {status:?}"
    );
    assert_eq!(status.orders_total, status.orders_done, "{status:?}");

    let counted = |s: &Value| {
        let f = &s["figures"];
        f["orders"] == 2 && f["refunds_minor"] == 1500 && f["payment_declines"] == 1
    };
    let summary = summary_until(&p, &store, &owner, "", counted).await;
    let f = &summary["figures"];
    for (figure, expected) in [
        ("gross_sales_minor", 4500),
        ("refunds_minor", 1500),
        ("net_sales_minor", 3000),
        ("orders", 2),
        ("units", 3),
        ("average_order_value_minor", 2250),
        ("new_customers", 2),
        ("payment_declines", 1),
    ] {
        assert_eq!(
            f[figure], expected,
            "{figure}, counted once whatever came twice: {f}"
        );
    }
    // A moment more for any late duplicate, then the figures still hold and match the history.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = p.get(1, &format!("{base}/summary"), Some(&owner)).await;
    assert_eq!(again.body["figures"]["orders"], 2, "{}", again.body);
    let verify = p.get(0, &format!("{base}/verify"), Some(&owner)).await;
    assert_eq!(verify.status, 200, "{}", verify.body);
    assert_eq!(verify.body["differences"], json!([]), "{}", verify.body);
    assert!(
        verify.body["orders_checked"].as_i64().unwrap() >= 2,
        "{}",
        verify.body
    );
    stop.cancel();
    drop(services);
}
