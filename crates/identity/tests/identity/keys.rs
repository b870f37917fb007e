//! Signing keys: published as Ed25519 JWKs, kept across restarts, one key for racing replicas,
//! rotated on schedule and on demand with the old key published through the overlap only.

use crate::support::{Env, PASSWORD, auth, kek};
use mercato_identity::IdentityService;
use mercato_identity::keyring;
use mercato_identity::store::migrations::MIGRATIONS;
use mercato_identity::store::sql::SqlIdentityStore;
use mercato_proto::identity::GetJwksRequest;
use mercato_proto::identity::identity_server::Identity;
use mercato_runtime::auth::{TokenVerifier, VerifyError};
use mercato_runtime::db::Db;
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use tokio::sync::Notify;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        the_jwks_publishes_one_ed25519_signing_key,
        a_restarted_service_keeps_its_key_so_earlier_tokens_still_verify,
        a_rotation_signs_with_the_new_key_and_publishes_the_old_one_until_its_tokens_expired,
        a_key_older_than_the_rotation_period_is_replaced_at_the_next_maintenance,
    ],
}

async fn jwks(service: &IdentityService) -> mercato_proto::identity::Jwks {
    service
        .get_jwks(Request::new(GetJwksRequest {}))
        .await
        .unwrap()
        .into_inner()
}

async fn the_jwks_publishes_one_ed25519_signing_key(env: Env) {
    let keys = jwks(&env.service).await.keys;
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(
        (k.kty.as_str(), k.crv.as_str(), k.alg.as_str(), k.r#use.as_str()),
        ("OKP", "Ed25519", "EdDSA", "sig")
    );
    assert_eq!(k.x.len(), 43, "32 bytes in unpadded base64url");
    assert!(!k.kid.is_empty());
}

async fn a_restarted_service_keeps_its_key_so_earlier_tokens_still_verify(env: Env) {
    env.provision("tea-house").await;
    let t = env
        .login("tea-house", "owner@tea-house.example", PASSWORD)
        .await
        .unwrap();
    let restarted = IdentityService::new(env.db.clone(), auth(), kek(), Arc::new(Notify::new()))
        .await
        .unwrap();
    let keys = jwks(&restarted).await;
    assert_eq!(keys, jwks(&env.service).await);
    let verifier = TokenVerifier::new(&auth().issuer, &auth().audience);
    verifier.set_keys(&keys);
    verifier
        .verify(&t.access_token)
        .unwrap_or_else(|e| panic!("{e:?}"));
}

mercato_runtime::backend_tests! {
    setup: Backend::database,
    cases: [replicas_starting_together_agree_on_one_key],
}

async fn replicas_starting_together_agree_on_one_key(db: Db) {
    // Migrations first, so the replicas race on the key alone.
    db.migrate("identity", MIGRATIONS).await.unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(
                async move { IdentityService::new(db, auth(), kek(), Arc::new(Notify::new())).await },
            )
        })
        .collect();
    let mut kids = Vec::new();
    for h in handles {
        let service = h.await.unwrap().unwrap();
        let keys = jwks(&service).await.keys;
        assert_eq!(keys.len(), 1);
        kids.push(keys[0].kid.clone());
    }
    kids.dedup();
    assert_eq!(kids.len(), 1);
}

fn access_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn verifier_of(jwks: &mercato_proto::identity::Jwks) -> TokenVerifier {
    let verifier = TokenVerifier::for_settings(&auth());
    verifier.set_keys(jwks);
    verifier
}

async fn a_rotation_signs_with_the_new_key_and_publishes_the_old_one_until_its_tokens_expired(env: Env) {
    env.provision("tea-house").await;
    let login = || env.login("tea-house", "owner@tea-house.example", PASSWORD);
    let before = login().await.unwrap().access_token;
    let now = mercato_runtime::time::now_ms();
    let store = SqlIdentityStore::new(env.db.clone());
    let rotated = keyring::rotate(&store, &kek(), now).await.unwrap();
    assert_eq!(rotated.generation, 2);
    env.service.maintain_keys(now).await.unwrap();
    let after = login().await.unwrap().access_token;
    assert_eq!(access_kid(&after), rotated.kid, "new tokens use the new key");
    assert_ne!(access_kid(&before), rotated.kid);

    let during = env.service.jwks_at(now).await.unwrap();
    assert_eq!(during.keys.len(), 2);
    let verifier = verifier_of(&during);
    verifier
        .verify(&before)
        .unwrap_or_else(|e| panic!("old token during the overlap: {e:?}"));
    verifier
        .verify(&after)
        .unwrap_or_else(|e| panic!("new token: {e:?}"));

    let overlap_ms = keyring::overlap(&auth()).as_millis() as i64;
    let ended = now + overlap_ms + 1;
    let published = env.service.jwks_at(ended).await.unwrap();
    assert_eq!(
        published.keys.len(),
        1,
        "the old key is dropped after the overlap"
    );
    assert_eq!(published.keys[0].kid, rotated.kid);
    assert!(matches!(
        verifier_of(&published).verify(&before),
        Err(VerifyError::UnknownKey(_))
    ));
    env.service.maintain_keys(ended).await.unwrap();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM signing_keys").await,
        1,
        "the expired key is deleted"
    );
}

async fn a_key_older_than_the_rotation_period_is_replaced_at_the_next_maintenance(env: Env) {
    let first = jwks(&env.service).await.keys[0].kid.clone();
    let now = mercato_runtime::time::now_ms();
    env.service.maintain_keys(now).await.unwrap();
    assert_eq!(
        env.service.jwks_at(now).await.unwrap().keys.len(),
        1,
        "not due yet"
    );
    let due = now + auth().signing_key_rotation.as_millis() as i64;
    env.service.maintain_keys(due).await.unwrap();
    let kids: Vec<String> = env
        .service
        .jwks_at(due)
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], first, "the newest key is published first");
    assert_eq!(kids[1], first);
}
