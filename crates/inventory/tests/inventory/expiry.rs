//! Expiry: holds past their expiry give their stock back, once, whoever sweeps.

use crate::support::{Inventory, StatusName, code, rid};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use mercato_runtime::shutdown::Shutdown;
use std::time::{Duration, Instant};

mercato_runtime::backend_tests! {
    setup: Inventory::on,
    cases: [
        an_expired_hold_gives_its_stock_back_and_can_no_longer_be_committed,
        the_expiry_timer_releases_due_holds_until_shutdown,
    ],
}

async fn an_expired_hold_gives_its_stock_back_and_can_no_longer_be_committed(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let short = rid();
    let r = inv.reserve(&store, &short, &[("A", 4)], 1).await.unwrap();
    let long = rid();
    inv.reserve(&store, &long, &[("A", 3)], 3600).await.unwrap();
    let sold = rid();
    inv.reserve(&store, &sold, &[("A", 1)], 1).await.unwrap();
    inv.commit(&store, &sold).await.unwrap();

    assert_eq!(
        inv.service.expire_due(r.expires_at_ms - 1).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(inv.level(&store, "A", "default").await.reserved, 7);

    let expired = inv.service.expire_due(r.expires_at_ms + 1).await.unwrap();
    assert_eq!(expired, 1, "only the held, due one");
    let a = inv.level(&store, "A", "default").await;
    assert_eq!((a.on_hand, a.reserved, a.available), (9, 3, 6));
    assert_eq!(inv.service.expire_due(r.expires_at_ms + 1).await.unwrap(), 0);

    assert_eq!(
        code(inv.commit(&store, &short).await),
        ErrorCode::ReservationStatusConflict
    );
    assert_eq!(
        inv.release(&store, &short).await.unwrap().status_name(),
        "expired"
    );
    assert_eq!(
        inv.commit(&store, &long).await.unwrap().status_name(),
        "committed"
    );
    assert_eq!(inv.events("mercato.inventory.reservation_expired").await.len(), 1);
}

async fn the_expiry_timer_releases_due_holds_until_shutdown(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 5).await;
    let shutdown = Shutdown::new();
    inv.service
        .start_expiry(Duration::from_millis(50), shutdown.clone());
    let id = rid();
    inv.reserve(&store, &id, &[("A", 5)], 1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while inv.level(&store, "A", "default").await.reserved != 0 {
        assert!(Instant::now() < deadline, "the hold was not expired within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    inv.reserve(&store, &rid(), &[("A", 2)], 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        inv.level(&store, "A", "default").await.reserved,
        2,
        "a stopped timer expires nothing"
    );
}
