//! Presence: one suite for the in-process and the Redis registry (set, fold, expiry, clear,
//! stores kept apart), and the service's listing.

use crate::support::{Realtime, limits};
use mercato_proto::realtime::ListPresenceRequest;
use mercato_realtime::{MemoryPresence, Presence, PresenceStatus, RedisPresence, Tab};
use mercato_runtime::db::Db;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(300);

/// `user`'s connection `connection` in `store`.
fn tab<'a>(store: &'a str, user: &'a str, connection: &'a str) -> Tab<'a> {
    Tab {
        store_id: store,
        user_id: user,
        connection_id: connection,
    }
}

/// (user, status) of a store's listing.
async fn listed(presence: &dyn Presence, store: &str) -> Vec<(String, PresenceStatus)> {
    let entries = presence.list(store).await.expect("presence lists");
    entries.into_iter().map(|e| (e.user_id, e.status)).collect()
}

fn own(v: &[(&str, PresenceStatus)]) -> Vec<(String, PresenceStatus)> {
    v.iter().map(|(u, s)| ((*u).to_owned(), *s)).collect()
}

/// The behaviour every presence registry shares.
async fn presence_suite(presence: &dyn Presence) {
    use PresenceStatus::{Away, Online};
    let (store, other_store) = (StoreId::new().to_string(), StoreId::new().to_string());
    assert!(presence.ready().await);
    assert!(listed(presence, &store).await.is_empty());

    let set_at = now_ms();
    presence
        .set(tab(&store, "alice", "tab-1"), Away, LONG)
        .await
        .unwrap();
    presence
        .set(tab(&store, "alice", "tab-2"), Online, SHORT)
        .await
        .unwrap();
    presence
        .set(tab(&store, "bob", "tab-1"), Online, LONG)
        .await
        .unwrap();
    assert_eq!(
        listed(presence, &store).await,
        own(&[("alice", Online), ("bob", Online)])
    );
    let alice = presence.list(&store).await.unwrap().remove(0);
    assert!(
        (set_at + 300..set_at + 1_000).contains(&alice.expires_at_ms),
        "online until the online tab lapses: {}",
        alice.expires_at_ms - set_at
    );
    assert!(
        listed(presence, &other_store).await.is_empty(),
        "stores are kept apart"
    );

    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
    assert_eq!(
        listed(presence, &store).await,
        own(&[("alice", Away), ("bob", Online)]),
        "alice's online tab lapsed; her away tab remains"
    );

    presence
        .set(tab(&store, "bob", "tab-1"), Away, LONG)
        .await
        .unwrap();
    presence.clear(tab(&store, "alice", "tab-1")).await.unwrap();
    assert_eq!(listed(presence, &store).await, own(&[("bob", Away)]));
    presence.clear(tab(&store, "bob", "tab-1")).await.unwrap();
    presence.clear(tab(&store, "bob", "never-there")).await.unwrap();
    assert!(listed(presence, &store).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn memory_presence_folds_connections_and_forgets_lapsed_and_cleared_ones() {
    presence_suite(&MemoryPresence::new()).await;
}

#[tokio::test]
async fn redis_presence_folds_connections_and_forgets_lapsed_and_cleared_ones() {
    let Some(url) = mercato_runtime::env::test_url(mercato_runtime::env::TEST_REDIS_URL) else {
        eprintln!("MERCATO_TEST_REDIS_URL is not set; skipping the Redis presence suite");
        return;
    };
    let prefix = format!("mercato-test-{}:", uuid::Uuid::now_v7().simple());
    let presence = RedisPresence::connect(&url, &prefix)
        .await
        .expect("redis connects");
    presence_suite(&presence).await;
}

#[tokio::test]
async fn the_service_lists_the_staff_present_in_a_store() {
    let rt = Realtime::start(Db::sqlite_temp().await.unwrap(), limits()).await;
    let store = StoreId::new();
    let presence = rt.service.presence();
    presence
        .set(tab(&store.to_string(), "sam", "c1"), PresenceStatus::Online, LONG)
        .await
        .unwrap();
    let listed = rt
        .client
        .list_presence(ListPresenceRequest {
            store_id: store.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(listed.staff.len(), 1);
    assert_eq!(
        (listed.staff[0].user_id.as_str(), listed.staff[0].status.as_str()),
        ("sam", "online")
    );
    assert!(listed.staff[0].expires_at_ms > now_ms());
    let bad = rt
        .client
        .list_presence(ListPresenceRequest {
            store_id: "not-a-store".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::ValidationFailed);
}
