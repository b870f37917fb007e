//! Store time zones: validated IANA names, "UTC" by default, changed with the store's name by
//! `UpdateStore` together with a `store_changed` event.

use crate::support::{Env, provision_request};
use mercato_proto::events::{EventEnvelope, StoreChanged, StoreProvisioned};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{GetStoreRequest, Store, UpdateStoreRequest, get_store_request};
use mercato_runtime::error::{ErrorCode, ServiceError};
use prost::Message;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_store_is_in_utc_unless_provisioned_with_a_time_zone,
        an_unknown_time_zone_is_refused_naming_the_field,
        updating_a_store_changes_it_and_records_store_changed_in_one_write,
        an_update_of_an_unknown_store_is_404_and_of_a_bad_zone_writes_nothing,
    ],
}

/// The events in the outbox with this subject, oldest first.
async fn events(env: &Env, subject: &str) -> Vec<EventEnvelope> {
    let all = mercato_runtime::testing::outbox_events(&env.db).await;
    all.into_iter().filter(|e| e.subject == subject).collect()
}

async fn get_store(env: &Env, id: &str) -> Store {
    let req = GetStoreRequest {
        key: Some(get_store_request::Key::Id(id.to_owned())),
    };
    env.service
        .get_store(Request::new(req))
        .await
        .unwrap()
        .into_inner()
}

async fn update(env: &Env, req: UpdateStoreRequest) -> Result<Store, ServiceError> {
    env.service
        .update_store(Request::new(req))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn a_store_is_in_utc_unless_provisioned_with_a_time_zone(env: Env) {
    let utc = env.provision("plain-shop").await.store.unwrap();
    assert_eq!(utc.time_zone, "UTC");

    let mut req = provision_request("berlin-shop");
    req.time_zone = "europe/berlin".to_owned();
    let berlin = env
        .service
        .provision_store(Request::new(req))
        .await
        .unwrap()
        .into_inner();
    let berlin = berlin.store.unwrap();
    assert_eq!(
        berlin.time_zone, "Europe/Berlin",
        "kept in its canonical spelling"
    );
    assert_eq!(get_store(&env, &berlin.id).await.time_zone, "Europe/Berlin");

    let provisioned = events(&env, "mercato.identity.store_provisioned").await;
    let zones: Vec<String> = provisioned
        .iter()
        .map(|e| StoreProvisioned::decode(e.payload.as_slice()).unwrap().time_zone)
        .collect();
    assert_eq!(zones, ["UTC", "Europe/Berlin"]);
}

async fn an_unknown_time_zone_is_refused_naming_the_field(env: Env) {
    let mut req = provision_request("mars-shop");
    req.time_zone = "Mars/Olympus_Mons".to_owned();
    let err = ServiceError::from(env.service.provision_store(Request::new(req)).await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    assert_eq!(err.fields.len(), 1);
    assert_eq!(err.fields[0].field, "time_zone");
    let (stores,): (i64,) = env
        .db
        .query_one("SELECT COUNT(*) FROM stores", &[])
        .await
        .unwrap();
    assert_eq!(stores, 0);
}

async fn updating_a_store_changes_it_and_records_store_changed_in_one_write(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let notified = env.waker.notified();

    let zoned = update(
        &env,
        UpdateStoreRequest {
            store_id: store.id.clone(),
            name: None,
            time_zone: Some("America/New_York".to_owned()),
        },
    )
    .await
    .unwrap();
    assert_eq!(zoned.time_zone, "America/New_York");
    assert_eq!(zoned.name, "The tea-house shop", "a field not given stays");
    tokio::time::timeout(std::time::Duration::from_secs(1), notified)
        .await
        .expect("outbox relay woken");

    let renamed = update(
        &env,
        UpdateStoreRequest {
            store_id: store.id.clone(),
            name: Some("  Tea House  ".to_owned()),
            time_zone: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.time_zone.as_str()),
        ("Tea House", "America/New_York")
    );
    assert_eq!(get_store(&env, &store.id).await, renamed);

    let changed: Vec<StoreChanged> = events(&env, "mercato.identity.store_changed")
        .await
        .iter()
        .map(|e| {
            assert_eq!((e.store_id.as_str(), e.version), (store.id.as_str(), 1));
            StoreChanged::decode(e.payload.as_slice()).unwrap()
        })
        .collect();
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0].time_zone, "America/New_York");
    assert_eq!(changed[1].name, "Tea House");
    assert_eq!(changed[1].slug, "tea-house");
    assert_eq!(changed[1].currency, "EUR");
}

async fn an_update_of_an_unknown_store_is_404_and_of_a_bad_zone_writes_nothing(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    for id in ["not-a-uuid", "0190c3a4-0000-7000-8000-000000000000"] {
        let req = UpdateStoreRequest {
            store_id: id.to_owned(),
            name: Some("Other".to_owned()),
            time_zone: None,
        };
        assert_eq!(
            update(&env, req).await.unwrap_err().code,
            ErrorCode::NotFound,
            "{id}"
        );
    }
    let bad = UpdateStoreRequest {
        store_id: store.id.clone(),
        name: Some(String::new()),
        time_zone: Some("Nowhere/Land".to_owned()),
    };
    let err = update(&env, bad).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    let mut fields: Vec<&str> = err.fields.iter().map(|f| f.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["name", "time_zone"]);
    assert_eq!(get_store(&env, &store.id).await, store);
    assert!(events(&env, "mercato.identity.store_changed").await.is_empty());
}
