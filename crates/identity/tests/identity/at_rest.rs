//! Signing keys at rest: nothing in the database file opens without the key-encryption key,
//! keys a previous build stored in clear are sealed at the first start, and a wrong KEK stops
//! the service instead of signing with a new key nobody else trusts.

use crate::support::{Env, PASSWORD, auth, kek};
use base64::Engine;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use mercato_identity::IdentityService;
use mercato_identity::kek::{KekOrigin, KeyEncryptionKey};
use mercato_identity::keys::Signer;
use mercato_identity::store::IdentityStore;
use mercato_identity::store::migrations::MIGRATIONS;
use mercato_identity::store::sql::SqlIdentityStore;
use mercato_runtime::db::Db;
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use tokio::sync::Notify;

/// The first bytes of every Ed25519 PKCS#8 v1 DER: SEQUENCE, version 0, OID 1.3.101.112,
/// OCTET STRING of 34 bytes holding the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn other_kek() -> KeyEncryptionKey {
    let text = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    KeyEncryptionKey::from_base64(&text, KekOrigin::Configured).unwrap()
}

#[tokio::test]
async fn the_identity_database_files_hold_no_private_key_a_token_could_be_forged_with() {
    mercato_runtime::testing::init_logs();
    let dir = std::env::temp_dir()
        .join("mercato-tests")
        .join(format!("at-rest-{}", uuid::Uuid::now_v7()));
    let path = dir.join("identity.db");
    let db = Db::sqlite(&path).await.unwrap();
    let service = IdentityService::new(db.clone(), auth(), kek(), Arc::new(Notify::new()))
        .await
        .unwrap();
    let store = SqlIdentityStore::new(db.clone());
    mercato_identity::keyring::rotate(&store, &kek(), mercato_runtime::time::now_ms())
        .await
        .unwrap();
    service
        .maintain_keys(mercato_runtime::time::now_ms())
        .await
        .unwrap();
    let env = Env {
        db: db.clone(),
        service,
        waker: Arc::new(Notify::new()),
    };
    env.provision("tea-house").await;
    env.login("tea-house", "owner@tea-house.example", PASSWORD)
        .await
        .unwrap();

    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        bytes.extend(std::fs::read(dir.join(format!("identity.db{suffix}"))).unwrap_or_default());
    }
    assert!(bytes.len() > 4096, "the database was read");
    assert!(
        !contains(&bytes, &PKCS8_ED25519_PREFIX),
        "a PKCS#8 key is stored in clear"
    );

    // What someone holding the file has: the sealed key. It is no PKCS#8 key, and it opens
    // neither with another KEK nor as the other row's key; only the configured KEK opens it.
    let record = store.newest_signing_key().await.unwrap().unwrap();
    assert!(
        contains(&bytes, &record.sealed.ciphertext[..16]),
        "the sealed key is what is stored"
    );
    assert!(SigningKey::from_pkcs8_der(&record.sealed.ciphertext).is_err());
    assert!(Signer::open(&record, &other_kek()).is_err());
    let mut moved = record.clone();
    moved.kid = "another-kid".to_owned();
    assert!(
        Signer::open(&moved, &kek()).is_err(),
        "the kid is bound as associated data"
    );
    assert_eq!(Signer::open(&record, &kek()).unwrap().kid(), record.kid);
}

mercato_runtime::backend_tests! {
    setup: Backend::database,
    cases: [
        a_key_stored_in_clear_by_an_earlier_build_is_sealed_at_start_and_keeps_signing,
        a_service_given_another_kek_refuses_to_start,
    ],
}

async fn a_key_stored_in_clear_by_an_earlier_build_is_sealed_at_start_and_keeps_signing(db: Db) {
    db.migrate("identity", &MIGRATIONS[..2]).await.unwrap();
    let legacy = SigningKey::from_bytes(&[7u8; 32]);
    let der = legacy.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(legacy.verifying_key().as_bytes());
    db.execute(
        "legacy_key",
        "INSERT INTO signing_keys (kid, generation, private_pkcs8, public_x, created_at) \
         VALUES ('legacy-kid', 1, $1, $2, $3)",
        &[&der, &x, &mercato_runtime::time::now_ms()],
    )
    .await
    .unwrap();

    let env = Env {
        service: IdentityService::new(db.clone(), auth(), kek(), Arc::new(Notify::new()))
            .await
            .unwrap(),
        db: db.clone(),
        waker: Arc::new(Notify::new()),
    };
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM signing_keys WHERE length(private_pkcs8) > 0 OR sealed_pkcs8 IS NULL"
        )
        .await,
        0,
        "the clear column is emptied and the key sealed"
    );
    env.provision("tea-house").await;
    let token = env
        .login("tea-house", "owner@tea-house.example", PASSWORD)
        .await
        .unwrap()
        .access_token;
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().kid.unwrap(),
        "legacy-kid"
    );
    let verifier = env.verifier(&auth().audience).await;
    verifier.verify(&token).unwrap_or_else(|e| panic!("{e:?}"));

    // A second start finds nothing left to seal and signs with the same key.
    let store = SqlIdentityStore::new(db.clone());
    assert_eq!(
        mercato_identity::keyring::seal_legacy_keys(&store, &kek())
            .await
            .unwrap(),
        0
    );
    let again = IdentityService::new(db, auth(), kek(), Arc::new(Notify::new()))
        .await
        .unwrap();
    assert_eq!(
        again.jwks_at(mercato_runtime::time::now_ms()).await.unwrap().keys[0].kid,
        "legacy-kid"
    );
}

async fn a_service_given_another_kek_refuses_to_start(db: Db) {
    IdentityService::new(db.clone(), auth(), kek(), Arc::new(Notify::new()))
        .await
        .unwrap();
    let refused = IdentityService::new(db, auth(), other_kek(), Arc::new(Notify::new())).await;
    let Err(e) = refused else {
        panic!("a service with another KEK started")
    };
    let message = format!("{e:#}");
    assert!(
        message.contains(kek().id()) && message.contains(other_kek().id()),
        "{message}"
    );
}
