//! Provisioning stores: all or nothing, slugs unique, every bad field reported.

use crate::support::{Env, PASSWORD, code, provision_request};
use mercato_proto::common::Role;
use mercato_proto::events::{AccountChanged, EventEnvelope, StoreProvisioned};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{GetStoreRequest, ProvisionStoreRequest, get_store_request};
use mercato_runtime::error::{ErrorCode, ServiceError};
use prost::Message;
use std::sync::Arc;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        provisioning_creates_the_store_its_owner_an_api_client_and_an_event,
        a_taken_slug_is_409_slug_taken_and_leaves_nothing_new_behind,
        concurrent_provisioning_of_one_slug_lets_exactly_one_win,
        invalid_input_lists_every_bad_field_and_writes_nothing,
        reserved_slugs_are_refused,
        a_store_is_found_by_id_or_slug_and_an_absent_one_is_404,
        the_owner_can_log_in_right_after_provisioning,
    ],
}

async fn provisioning_creates_the_store_its_owner_an_api_client_and_an_event(env: Env) {
    let notified = env.waker.notified();
    let p = env.provision("tea-house").await;

    let store = p.store.unwrap();
    assert_eq!(store.slug, "tea-house");
    assert_eq!(store.name, "The tea-house shop");
    assert_eq!(store.currency, "EUR");
    let owner = p.owner.unwrap();
    assert_eq!(owner.role(), Role::Owner);
    assert_eq!(owner.store_id, store.id);
    assert_eq!(owner.email, "owner@tea-house.example");
    let client = p.api_client.unwrap();
    assert!(client.client_id.starts_with("mc_"));
    assert_eq!(client.role(), Role::Staff);
    assert_eq!(client.client_secret.len(), 43, "32 bytes in base64url");
    assert_eq!(
        env.provisioned_rows().await,
        [1, 1, 1, 2],
        "store_provisioned and the owner's account_created"
    );

    // The secret is stored only as its SHA-256.
    let (stored,): (String,) = env
        .db
        .query_one("SELECT secret_hash FROM api_clients", &[])
        .await
        .unwrap();
    assert_ne!(stored, client.client_secret);
    assert_eq!(stored.len(), 64);

    let (subject, payload): (String, Vec<u8>) = env
        .db
        .query_one(
            "SELECT subject, payload FROM outbox WHERE subject = 'mercato.identity.store_provisioned'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(subject, "mercato.identity.store_provisioned");
    let envelope = EventEnvelope::decode(payload.as_slice()).unwrap();
    assert_eq!(envelope.store_id, store.id);
    assert_eq!(envelope.version, 1);
    let event = StoreProvisioned::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(event.slug, "tea-house");
    assert_eq!(event.currency, "EUR");

    // The owner's account is announced too (notifications learn who mail goes to), without
    // any password material.
    let (payload,): (Vec<u8>,) = env
        .db
        .query_one(
            "SELECT payload FROM outbox WHERE subject = 'mercato.identity.account_created'",
            &[],
        )
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&payload).contains("argon2"));
    let envelope = EventEnvelope::decode(payload.as_slice()).unwrap();
    let account = AccountChanged::decode(envelope.payload.as_slice()).unwrap();
    let user = account.user.unwrap();
    assert_eq!(
        (user.email.as_str(), user.role()),
        ("owner@tea-house.example", Role::Owner)
    );
    assert_eq!(user.id, owner.id);

    // The relay was woken; `notified` completes at once because a permit is stored.
    tokio::time::timeout(std::time::Duration::from_secs(1), notified)
        .await
        .unwrap_or_else(|_| panic!("outbox relay was not woken"));
}

async fn a_taken_slug_is_409_slug_taken_and_leaves_nothing_new_behind(env: Env) {
    env.provision("tea-house").await;
    let before = env.provisioned_rows().await;

    let mut again = provision_request("tea-house");
    again.owner_email = "someone.else@example.com".to_owned();
    let err = env
        .service
        .provision_store(Request::new(again))
        .await
        .unwrap_err();
    let err = ServiceError::from(err);
    assert_eq!(err.code, ErrorCode::SlugTaken);
    assert_eq!(err.message, "store slug is taken");
    assert_eq!(err.fields[0].field, "slug");
    assert_eq!(env.provisioned_rows().await, before);
}

async fn concurrent_provisioning_of_one_slug_lets_exactly_one_win(env: Env) {
    let service = Arc::clone(&env.service);
    let attempts = (0..4).map(|i| {
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            let mut req = provision_request("race");
            req.owner_email = format!("owner{i}@race.example");
            service.provision_store(Request::new(req)).await
        })
    });
    let results = join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1);
    for r in results.into_iter().filter_map(Result::err) {
        assert_eq!(code(r), ErrorCode::SlugTaken);
    }
    assert_eq!(
        env.provisioned_rows().await,
        [1, 1, 1, 2],
        "store_provisioned and the owner's account_created"
    );
}

async fn join_all<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

async fn invalid_input_lists_every_bad_field_and_writes_nothing(env: Env) {
    let bad = ProvisionStoreRequest {
        slug: "Admin!".to_owned(),
        name: "   ".to_owned(),
        currency: "eur".to_owned(),
        owner_email: "not-an-email".to_owned(),
        owner_password: "short".to_owned(),
        time_zone: String::new(),
    };
    let err = ServiceError::from(env.service.provision_store(Request::new(bad)).await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    assert_eq!(err.code.http_status(), 422);
    let mut fields: Vec<&str> = err.fields.iter().map(|f| f.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["currency", "name", "owner_email", "owner_password", "slug"]
    );
    assert_eq!(env.provisioned_rows().await, [0, 0, 0, 0]);
}

async fn reserved_slugs_are_refused(env: Env) {
    for slug in ["admin", "api", "v1", "www"] {
        let err = env
            .service
            .provision_store(Request::new(provision_request(slug)))
            .await
            .unwrap_err();
        let err = ServiceError::from(err);
        assert_eq!(err.fields[0].field, "slug", "{slug}");
    }
}

async fn a_store_is_found_by_id_or_slug_and_an_absent_one_is_404(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let get = |key| {
        let service = Arc::clone(&env.service);
        async move {
            service
                .get_store(Request::new(GetStoreRequest { key: Some(key) }))
                .await
        }
    };
    let by_id = get(get_store_request::Key::Id(store.id.clone())).await.unwrap();
    assert_eq!(by_id.into_inner(), store);
    let by_slug = get(get_store_request::Key::Slug("tea-house".into()))
        .await
        .unwrap();
    assert_eq!(by_slug.into_inner(), store);

    for key in [
        get_store_request::Key::Slug("coffee-house".into()),
        get_store_request::Key::Id(uuid::Uuid::now_v7().to_string()),
        get_store_request::Key::Id("not-a-uuid".into()),
    ] {
        assert_eq!(code(get(key).await.unwrap_err()), ErrorCode::NotFound);
    }
}

async fn the_owner_can_log_in_right_after_provisioning(env: Env) {
    env.provision("tea-house").await;
    let t = env
        .login("tea-house", "Owner@Tea-House.example", PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!t.refresh_token.is_empty());
}
