//! Provisioning stores: all or nothing, slugs unique, every bad field reported.

use crate::support::{PASSWORD, code, envs, provision_request};
use mercato_proto::common::Role;
use mercato_proto::events::{EventEnvelope, StoreProvisioned};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{GetStoreRequest, ProvisionStoreRequest, get_store_request};
use mercato_runtime::error::{ErrorCode, ServiceError};
use prost::Message;
use std::sync::Arc;
use tonic::Request;

#[tokio::test]
async fn provisioning_creates_the_store_its_owner_an_api_client_and_an_event() {
    for env in envs().await {
        let b = env.backend;
        let notified = env.waker.notified();
        let p = env.provision("tea-house").await;

        let store = p.store.unwrap();
        assert_eq!(store.slug, "tea-house", "{b}");
        assert_eq!(store.name, "The tea-house shop", "{b}");
        assert_eq!(store.currency, "EUR", "{b}");
        let owner = p.owner.unwrap();
        assert_eq!(owner.role(), Role::Owner, "{b}");
        assert_eq!(owner.store_id, store.id, "{b}");
        assert_eq!(owner.email, "owner@tea-house.example", "{b}");
        let client = p.api_client.unwrap();
        assert!(client.client_id.starts_with("mc_"), "{b}");
        assert_eq!(client.role(), Role::Staff, "{b}");
        assert_eq!(client.client_secret.len(), 43, "{b}: 32 bytes in base64url");
        assert_eq!(env.provisioned_rows().await, [1, 1, 1, 1], "{b}");

        // The secret is stored only as its SHA-256.
        let (stored,): (String,) = env
            .db
            .query_one("SELECT secret_hash FROM api_clients", &[])
            .await
            .unwrap();
        assert_ne!(stored, client.client_secret, "{b}");
        assert_eq!(stored.len(), 64, "{b}");

        let (subject, payload): (String, Vec<u8>) = env
            .db
            .query_one("SELECT subject, payload FROM outbox", &[])
            .await
            .unwrap();
        assert_eq!(subject, "mercato.identity.store_provisioned", "{b}");
        let envelope = EventEnvelope::decode(payload.as_slice()).unwrap();
        assert_eq!(envelope.store_id, store.id, "{b}");
        assert_eq!(envelope.version, 1, "{b}");
        let event = StoreProvisioned::decode(envelope.payload.as_slice()).unwrap();
        assert_eq!(event.slug, "tea-house", "{b}");
        assert_eq!(event.currency, "EUR", "{b}");

        // The relay was woken; `notified` completes at once because a permit is stored.
        tokio::time::timeout(std::time::Duration::from_secs(1), notified)
            .await
            .unwrap_or_else(|_| panic!("{b}: outbox relay was not woken"));
    }
}

#[tokio::test]
async fn a_taken_slug_is_409_and_leaves_nothing_new_behind() {
    for env in envs().await {
        let b = env.backend;
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
        assert_eq!(err.code, ErrorCode::Conflict, "{b}");
        assert_eq!(err.message, "store slug is taken", "{b}");
        assert_eq!(env.provisioned_rows().await, before, "{b}");
    }
}

#[tokio::test]
async fn concurrent_provisioning_of_one_slug_lets_exactly_one_win() {
    for env in envs().await {
        let b = env.backend;
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
        assert_eq!(won, 1, "{b}");
        for r in results.into_iter().filter_map(Result::err) {
            assert_eq!(code(r), ErrorCode::Conflict, "{b}");
        }
        assert_eq!(env.provisioned_rows().await, [1, 1, 1, 1], "{b}");
    }
}

async fn join_all<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn invalid_input_lists_every_bad_field_and_writes_nothing() {
    for env in envs().await {
        let b = env.backend;
        let bad = ProvisionStoreRequest {
            slug: "Admin!".to_owned(),
            name: "   ".to_owned(),
            currency: "eur".to_owned(),
            owner_email: "not-an-email".to_owned(),
            owner_password: "short".to_owned(),
        };
        let err = ServiceError::from(env.service.provision_store(Request::new(bad)).await.unwrap_err());
        assert_eq!(err.code, ErrorCode::ValidationFailed, "{b}");
        assert_eq!(err.code.http_status(), 422, "{b}");
        let mut fields: Vec<&str> = err.fields.iter().map(|f| f.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["currency", "name", "owner_email", "owner_password", "slug"],
            "{b}"
        );
        assert_eq!(env.provisioned_rows().await, [0, 0, 0, 0], "{b}");
    }
}

#[tokio::test]
async fn reserved_slugs_are_refused() {
    for env in envs().await {
        for slug in ["admin", "api", "v1", "www"] {
            let err = env
                .service
                .provision_store(Request::new(provision_request(slug)))
                .await
                .unwrap_err();
            let err = ServiceError::from(err);
            assert_eq!(err.fields[0].field, "slug", "{}: {slug}", env.backend);
        }
    }
}

#[tokio::test]
async fn a_store_is_found_by_id_or_slug_and_an_absent_one_is_404() {
    for env in envs().await {
        let b = env.backend;
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
        assert_eq!(by_id.into_inner(), store, "{b}");
        let by_slug = get(get_store_request::Key::Slug("tea-house".into()))
            .await
            .unwrap();
        assert_eq!(by_slug.into_inner(), store, "{b}");

        for key in [
            get_store_request::Key::Slug("coffee-house".into()),
            get_store_request::Key::Id(uuid::Uuid::now_v7().to_string()),
            get_store_request::Key::Id("not-a-uuid".into()),
        ] {
            assert_eq!(code(get(key).await.unwrap_err()), ErrorCode::NotFound, "{b}");
        }
    }
}

#[tokio::test]
async fn the_owner_can_log_in_right_after_provisioning() {
    for env in envs().await {
        env.provision("tea-house").await;
        let t = env
            .login("tea-house", "Owner@Tea-House.example", PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", env.backend));
        assert!(!t.refresh_token.is_empty(), "{}", env.backend);
    }
}
