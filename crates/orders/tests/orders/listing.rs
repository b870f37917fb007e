//! Listing orders: the filters staff use, what customers see, and cursor paging that neither
//! skips nor repeats an order while new ones are placed.

use crate::support::*;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::{ErrorCode, ServiceError};

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        staff_filter_orders_by_status_fulfilment_customer_time_number_and_email,
        paging_by_cursor_neither_skips_nor_repeats_orders_placed_meanwhile,
    ],
}

async fn list(
    env: &Env,
    caller: &Caller,
    req: ListOrdersRequest,
) -> Result<ListOrdersResponse, ServiceError> {
    let req = ListOrdersRequest {
        store_id: env.store.to_string(),
        caller: Some(caller.clone()),
        ..req
    };
    env.call(|o| async move { o.list_orders(tonic::Request::new(req)).await })
        .await
}

fn numbers(page: &ListOrdersResponse) -> Vec<i64> {
    page.orders.iter().map(|o| o.number).collect()
}

/// Checks a cart of `lines` out for `user`, giving `email` at checkout.
async fn buy_as(env: &Env, user: &str, email: &str, lines: &[(&str, i64)]) -> Order {
    let caller = customer(user);
    let cart = env.cart_for(&caller, lines).await;
    let mut req = env.checkout_request(&caller, &cart.id, &format!("k-{}", cart.id), APPROVE);
    if let Some(p) = req.payment.as_mut() {
        p.email = email.to_owned();
    }
    env.checkout(req).await.unwrap().order.unwrap()
}

async fn staff_filter_orders_by_status_fulfilment_customer_time_number_and_email(env: Env) {
    env.sku("A", 500, 3).await;
    // A few milliseconds apart, so that the time window below separates them.
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(3));
    let ann1 = buy_as(&env, "ann", "Ann@Example.com", &[("A", 1)]).await;
    pause().await;
    let bob = buy_as(&env, "bob", "bob@shop.test", &[("A", 2)]).await;
    pause().await;
    let failed = buy_as(&env, "ann", "ann@example.com", &[("A", 1)]).await;
    assert_eq!(
        (ann1.number, bob.number, failed.number, failed.status_name()),
        (1001, 1002, 1003, "failed")
    );
    let all = list(&env, &staff(), ListOrdersRequest::default()).await.unwrap();
    assert_eq!((numbers(&all), all.total), (vec![1003, 1002, 1001], 3));
    let by_status = ListOrdersRequest {
        status: OrderStatus::Failed.into(),
        ..Default::default()
    };
    assert_eq!(numbers(&list(&env, &staff(), by_status).await.unwrap()), [1003]);
    let fulfil = CreateFulfilmentRequest {
        store_id: env.store.to_string(),
        caller: Some(staff()),
        order_id: bob.id.clone(),
        idempotency_key: "f".into(),
        ..Default::default()
    };
    env.call(|o| async move { o.create_fulfilment(tonic::Request::new(fulfil)).await })
        .await
        .unwrap();
    let fulfilled = ListOrdersRequest {
        fulfilment_status: FulfilmentStatus::Fulfilled.into(),
        ..Default::default()
    };
    assert_eq!(numbers(&list(&env, &staff(), fulfilled).await.unwrap()), [1002]);
    let of_ann = ListOrdersRequest {
        customer_id: "ann".into(),
        ..Default::default()
    };
    assert_eq!(
        numbers(&list(&env, &staff(), of_ann).await.unwrap()),
        [1003, 1001]
    );
    for (query, expected) in [
        ("#1002", vec![1002]),
        ("1001", vec![1001]),
        ("ANN@", vec![1003, 1001]),
        ("bob@shop.test", vec![1002]),
        ("%", vec![]),
        ("#9999", vec![]),
    ] {
        let search = ListOrdersRequest {
            query: query.into(),
            ..Default::default()
        };
        let page = list(&env, &staff(), search).await.unwrap();
        assert_eq!(numbers(&page), expected, "{query}");
        assert_eq!(page.total, expected.len() as u64, "{query}");
    }
    let window = ListOrdersRequest {
        created_from_ms: Some(bob.created_at_ms),
        created_to_ms: Some(failed.created_at_ms),
        ..Default::default()
    };
    assert_eq!(numbers(&list(&env, &staff(), window).await.unwrap()), [1002]);
    // A customer lists their own orders only, whatever customer they name.
    let bobs = ListOrdersRequest {
        customer_id: "ann".into(),
        ..Default::default()
    };
    assert_eq!(
        numbers(&list(&env, &customer("bob"), bobs).await.unwrap()),
        [1002]
    );
    // Another store sees none of them.
    let other = ListOrdersRequest {
        store_id: mercato_runtime::ids::StoreId::new().to_string(),
        caller: Some(staff()),
        ..Default::default()
    };
    let none = env
        .call(|o| async move { o.list_orders(tonic::Request::new(other)).await })
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let bad = ListOrdersRequest {
        cursor: "not-a-cursor".into(),
        ..Default::default()
    };
    assert_eq!(code(list(&env, &staff(), bad).await), ErrorCode::ValidationFailed);
    let backwards = ListOrdersRequest {
        created_from_ms: Some(2),
        created_to_ms: Some(1),
        ..Default::default()
    };
    assert_eq!(
        code(list(&env, &staff(), backwards).await),
        ErrorCode::ValidationFailed
    );
}

async fn paging_by_cursor_neither_skips_nor_repeats_orders_placed_meanwhile(env: Env) {
    env.sku("A", 100, 100).await;
    for i in 0..5 {
        env.buy(&format!("c{i}"), &[("A", 1)], &card(i)).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let req = ListOrdersRequest {
            per_page: 2,
            cursor: cursor.clone(),
            ..Default::default()
        };
        let page = list(&env, &staff(), req).await.unwrap();
        seen.extend(numbers(&page));
        pages += 1;
        // Orders placed while paging are newer than every page's cursor.
        env.buy(&format!("late{pages}"), &[("A", 1)], &card(10 + pages))
            .await;
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(seen, [1005, 1004, 1003, 1002, 1001]);
    assert_eq!(pages, 3);
    // Offset paging still works (and shifts as orders are placed).
    let second = ListOrdersRequest {
        page: 2,
        per_page: 2,
        ..Default::default()
    };
    let page = list(&env, &staff(), second).await.unwrap();
    assert_eq!((numbers(&page), page.total), (vec![1006, 1005], 8));
}
