//! Webhook endpoints: validation (URLs through the outbound rules, event types, the per-store
//! limit), updates, disabling and deleting (pending deliveries cancelled), store scoping, and the
//! retention sweep.

use crate::support::Builder;
use crate::webhooks::{deliveries, endpoint, order_event};
use mercato_proto::notifications::*;
use mercato_proto::subjects;
use mercato_runtime::testing::Backend;

mercato_runtime::backend_tests! {
    setup: |b| async move { b },
    cases: [
        loopback_http_is_refused_unless_allowed,
        endpoints_are_validated_and_scoped,
        disabling_and_deleting_cancel_pending_deliveries,
        old_finished_deliveries_are_swept,
    ],
}

fn create(store: &str, url: &str, types: &[&str]) -> CreateEndpointRequest {
    CreateEndpointRequest {
        store_id: store.to_owned(),
        url: url.to_owned(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        description: String::new(),
    }
}

fn fields(e: &mercato_runtime::error::ServiceError) -> Vec<String> {
    e.fields.iter().map(|f| f.field.clone()).collect()
}

async fn loopback_http_is_refused_unless_allowed(backend: Backend) {
    let production = Builder::new(backend).dispatcher(false).build().await;
    let w = &production.service.webhooks;
    let e = w
        .create_endpoint(create("s1", "http://127.0.0.1:9/hooks", &["*"]))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["url"], "{e:?}");
    let e = w
        .create_endpoint(create("s1", "https://127.0.0.1:9/hooks", &["*"]))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["url"], "a loopback literal is refused: {e:?}");
    let http_only = Builder::new(backend)
        .dispatcher(false)
        .webhooks(|w| w.allow_http = true)
        .build()
        .await;
    let e = http_only
        .service
        .webhooks
        .create_endpoint(create("s1", "http://127.0.0.1:9/hooks", &["*"]))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["url"], "{e:?}");
    let allowed = Builder::new(backend)
        .dispatcher(false)
        .local_receivers()
        .build()
        .await;
    allowed
        .service
        .webhooks
        .create_endpoint(create("s1", "http://127.0.0.1:9/hooks", &["*"]))
        .await
        .expect("allowed by the operator");
}

async fn endpoints_are_validated_and_scoped(backend: Backend) {
    let h = Builder::new(backend)
        .dispatcher(false)
        .local_receivers()
        .build()
        .await;
    let w = &h.service.webhooks;
    let e = w
        .create_endpoint(create("s1", "not a url", &["order.exploded"]))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["url", "event_types"]);
    let e = w
        .create_endpoint(create("s1", "http://127.0.0.1/x", &[]))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["event_types"]);
    let long = format!("http://127.0.0.1/{}", "a".repeat(2100));
    assert!(w.create_endpoint(create("s1", &long, &["*"])).await.is_err());

    let made = w
        .create_endpoint(create("s1", "http://127.0.0.1/a", &["stock.low", "order.placed"]))
        .await
        .unwrap();
    assert!(made.secret.starts_with("whsec_"));
    let e = made.endpoint.unwrap();
    assert_eq!(e.event_types, ["order.placed", "stock.low"]);
    assert_eq!(e.status, EndpointStatus::Enabled as i32);
    let other = EndpointRequest {
        store_id: "s2".into(),
        endpoint_id: e.id.clone(),
    };
    assert!(
        w.get_endpoint(other.clone()).await.is_err(),
        "another store's endpoint is not found"
    );
    assert!(w.delete_endpoint(other).await.is_err());
    let updated = w
        .update_endpoint(UpdateEndpointRequest {
            store_id: "s1".into(),
            endpoint_id: e.id.clone(),
            url: Some("http://127.0.0.1/b".into()),
            set_event_types: true,
            event_types: vec!["*".into()],
            description: Some("ERP".into()),
            enabled: None,
        })
        .await
        .unwrap();
    assert_eq!(updated.url, "http://127.0.0.1/b");
    assert_eq!(updated.event_types, ["*"]);
    assert_eq!(updated.description, "ERP");

    for i in 1..50 {
        w.create_endpoint(create("s1", &format!("http://127.0.0.1/{i}"), &["*"]))
            .await
            .unwrap();
    }
    assert!(
        w.create_endpoint(create("s1", "http://127.0.0.1/51", &["*"]))
            .await
            .is_err()
    );
    w.create_endpoint(create("s2", "http://127.0.0.1/51", &["*"]))
        .await
        .expect("the limit is per store");
    let listed = w
        .list_endpoints(ListEndpointsRequest {
            store_id: "s1".into(),
        })
        .await
        .unwrap();
    assert_eq!(listed.endpoints.len(), 50);
}

async fn disabling_and_deleting_cancel_pending_deliveries(backend: Backend) {
    let h = Builder::new(backend)
        .dispatcher(false)
        .local_receivers()
        .build()
        .await;
    let w = &h.service.webhooks;
    let a = endpoint(&h, "s1", "http://127.0.0.1:9/a", &["order.confirmed"])
        .await
        .endpoint
        .unwrap()
        .id;
    let b = endpoint(&h, "s1", "http://127.0.0.1:9/b", &["*"])
        .await
        .endpoint
        .unwrap()
        .id;
    h.service
        .apply(vec![order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1")])
        .await
        .unwrap();
    assert_eq!(
        deliveries(&h, "s1", &a).await[0].status,
        DeliveryStatus::Pending as i32
    );
    w.update_endpoint(UpdateEndpointRequest {
        store_id: "s1".into(),
        endpoint_id: a.clone(),
        enabled: Some(false),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        deliveries(&h, "s1", &a).await[0].status,
        DeliveryStatus::Cancelled as i32
    );
    w.delete_endpoint(EndpointRequest {
        store_id: "s1".into(),
        endpoint_id: b.clone(),
    })
    .await
    .unwrap();
    // A deleted endpoint has no log of its own any more (404); its delivery is among the
    // store's cancelled ones below.
    let gone = w
        .list_deliveries(ListDeliveriesRequest {
            store_id: "s1".into(),
            endpoint_id: b.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code, mercato_runtime::error::ErrorCode::NotFound, "{gone:?}");
    // A disabled endpoint gets nothing new, and nothing is sent to it by hand (409).
    let refused = w
        .send_test_event(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: a.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        mercato_runtime::error::ErrorCode::Conflict,
        "{refused:?}"
    );
    h.service
        .apply(vec![order_event("s1", subjects::orders::ORDER_CONFIRMED, "o2")])
        .await
        .unwrap();
    assert_eq!(deliveries(&h, "s1", &a).await.len(), 1);
    let cancelled = w
        .list_deliveries(ListDeliveriesRequest {
            store_id: "s1".into(),
            statuses: vec![DeliveryStatus::Cancelled as i32],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(cancelled.deliveries.len(), 2);
    let bad = w
        .list_deliveries(ListDeliveriesRequest {
            store_id: "s1".into(),
            limit: 201,
            ..Default::default()
        })
        .await;
    assert!(bad.is_err());
}

async fn old_finished_deliveries_are_swept(backend: Backend) {
    let h = Builder::new(backend)
        .dispatcher(false)
        .local_receivers()
        .build()
        .await;
    let a = endpoint(&h, "s1", "http://127.0.0.1:9/a", &["*"])
        .await
        .endpoint
        .unwrap()
        .id;
    h.service
        .apply(vec![
            order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1"),
            order_event("s1", subjects::orders::ORDER_PLACED, "o2"),
        ])
        .await
        .unwrap();
    h.service
        .webhooks
        .update_endpoint(UpdateEndpointRequest {
            store_id: "s1".into(),
            endpoint_id: a.clone(),
            enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    let later = mercato_runtime::time::now_ms() + 1000;
    assert_eq!(h.service.webhooks.sweep(later).await.unwrap(), 2);
    assert!(deliveries(&h, "s1", &a).await.is_empty());
    let (messages,): (i64,) = h
        .service
        .db()
        .query_one("SELECT COUNT(*) FROM webhook_messages", &[])
        .await
        .unwrap();
    assert_eq!(messages, 0);
}
