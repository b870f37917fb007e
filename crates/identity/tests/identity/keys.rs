//! Signing keys: published as Ed25519 JWKs, kept across restarts, one key for racing replicas.

use crate::support::{Env, PASSWORD, auth};
use mercato_identity::IdentityService;
use mercato_identity::store::migrations::MIGRATIONS;
use mercato_proto::identity::GetJwksRequest;
use mercato_proto::identity::identity_server::Identity;
use mercato_runtime::auth::TokenVerifier;
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
    let restarted = IdentityService::new(env.db.clone(), auth(), Arc::new(Notify::new()))
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
            tokio::spawn(async move { IdentityService::new(db, auth(), Arc::new(Notify::new())).await })
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
