//! `ListOrderHistories`: every order's whole history and state, oldest first, a page at a time;
//! paging neither skips nor repeats an order, even as orders are placed between pages, for
//! one store or every store.

use crate::support::*;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        paging_neither_skips_nor_repeats_orders_placed_meanwhile,
        every_stores_orders_are_paged_together_and_filters_bound_creation_time,
        bad_requests_name_their_field,
    ],
}

/// The same platform, addressed as another store.
fn other_store(env: &Env) -> Env {
    Env {
        store: StoreId::new(),
        orders: env.orders.clone(),
        orders_db: env.orders_db.clone(),
        inventory: env.inventory.clone(),
        payments: env.payments.clone(),
        payments_db: env.payments_db.clone(),
        inventory_db: env.inventory_db.clone(),
    }
}

async fn page(env: &Env, req: ListOrderHistoriesRequest) -> Result<ListOrderHistoriesResponse, ServiceError> {
    env.call(|o| async move { o.list_order_histories(tonic::Request::new(req)).await })
        .await
}

/// Every page from `first` on: the orders' ids in the order they came, and the first total.
async fn walk(
    env: &Env,
    first: ListOrderHistoriesRequest,
    between: impl AsyncFn(usize),
) -> (Vec<String>, i64) {
    let mut req = first;
    let (mut ids, mut total, mut pages) = (Vec::new(), None, 0);
    loop {
        let got = page(env, req.clone()).await.unwrap();
        let limit = if req.limit == 0 { 100 } else { req.limit };
        assert!(got.orders.len() <= limit as usize);
        total.get_or_insert(got.total);
        if pages > 0 {
            assert_eq!(got.total, 0, "counted on the first page only");
        }
        for history in &got.orders {
            let state = history.state.as_ref().unwrap();
            assert_eq!(history.events[0].sequence, 1, "the whole history");
            assert!(history.events.len() >= 2);
            ids.push(state.id.clone());
        }
        pages += 1;
        between(pages).await;
        if got.next_cursor.is_empty() {
            return (ids, total.unwrap());
        }
        req.after = got.next_cursor;
    }
}

async fn paging_neither_skips_nor_repeats_orders_placed_meanwhile(env: Env) {
    env.sku("A", 1000, 100).await;
    let mut placed = Vec::new();
    for n in 0..5 {
        let card = if n == 2 { DECLINE } else { APPROVE };
        placed.push(env.buy("ann", &[("A", 1)], card).await.id);
    }
    let first = ListOrderHistoriesRequest {
        store_id: env.store.to_string(),
        limit: 2,
        ..Default::default()
    };
    let late = std::sync::Mutex::new(Vec::new());
    let (ids, total) = walk(&env, first, async |pages| {
        if pages <= 2 {
            let order = env.buy("bob", &[("A", 1)], APPROVE).await;
            late.lock().unwrap().push(order.id);
        }
    })
    .await;
    assert_eq!(total, 5, "counted when the first page was read");
    placed.extend(late.into_inner().unwrap());
    assert_eq!(
        ids, placed,
        "every order once, oldest first, those placed meanwhile last"
    );

    // Each history is GetOrderEvents' for the order.
    let one = page(
        &env,
        ListOrderHistoriesRequest {
            store_id: env.store.to_string(),
            limit: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let declined = &one.orders[2];
    let direct = env.events(&staff(), &placed[2], None).await.unwrap();
    assert_eq!(declined, &direct);
    assert_eq!(declined.state.as_ref().unwrap().status_name(), "failed");
    assert!(!declined.state.as_ref().unwrap().cart_id.is_empty());
}

async fn every_stores_orders_are_paged_together_and_filters_bound_creation_time(env: Env) {
    let other = other_store(&env);
    env.sku("A", 1000, 100).await;
    other.sku("A", 500, 100).await;
    let mut placed = Vec::new();
    for n in 0..4 {
        let shop = if n % 2 == 0 { &env } else { &other };
        placed.push(shop.buy("ann", &[("A", 1)], APPROVE).await);
    }
    let all = ListOrderHistoriesRequest {
        limit: 3,
        ..Default::default()
    };
    let (ids, total) = walk(&env, all, async |_| {}).await;
    assert_eq!(total, 4);
    let want: Vec<String> = placed.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, want);

    let one_store = ListOrderHistoriesRequest {
        store_id: other.store.to_string(),
        ..Default::default()
    };
    let (ids, total) = walk(&env, one_store, async |_| {}).await;
    assert_eq!((ids, total), (vec![want[1].clone(), want[3].clone()], 2));

    // [from, to): the second and third order.
    let window = ListOrderHistoriesRequest {
        created_from_ms: placed[1].created_at_ms,
        created_to_ms: placed[3].created_at_ms,
        limit: 500,
        ..Default::default()
    };
    let got = page(&env, window).await.unwrap();
    let ids: Vec<&str> = got
        .orders
        .iter()
        .map(|h| h.state.as_ref().unwrap().id.as_str())
        .collect();
    let expected: Vec<&str> = placed
        .iter()
        .filter(|o| o.created_at_ms >= placed[1].created_at_ms && o.created_at_ms < placed[3].created_at_ms)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(got.total, expected.len() as i64);
    assert!(got.next_cursor.is_empty());
}

async fn bad_requests_name_their_field(env: Env) {
    let cases = [
        (
            ListOrderHistoriesRequest {
                limit: 501,
                ..Default::default()
            },
            "limit",
        ),
        (
            ListOrderHistoriesRequest {
                after: "not-a-cursor".into(),
                ..Default::default()
            },
            "after",
        ),
        (
            ListOrderHistoriesRequest {
                store_id: "nope".into(),
                ..Default::default()
            },
            "store_id",
        ),
        (
            ListOrderHistoriesRequest {
                created_from_ms: 20,
                created_to_ms: 10,
                ..Default::default()
            },
            "created_to_ms",
        ),
    ];
    for (req, field) in cases {
        let err = page(&env, req).await.unwrap_err();
        assert_eq!(
            (err.code, err.fields[0].field.as_str()),
            (ErrorCode::ValidationFailed, field)
        );
    }
    let empty = page(&env, ListOrderHistoriesRequest::default()).await.unwrap();
    assert_eq!(
        (empty.orders.len(), empty.total, empty.next_cursor.as_str()),
        (0, 0, "")
    );
}
