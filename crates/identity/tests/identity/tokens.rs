//! The token endpoint: password logins, refresh rotation with reuse detection, client
//! credentials, and the checks a verifier applies to what it issues.

use crate::support::{Env, PASSWORD, auth};
use mercato_proto::identity::TokenRequest;
use mercato_runtime::auth::{Role, VerifyError};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_password_login_issues_a_bearer_token_that_verifies_against_the_jwks,
        an_access_token_is_refused_by_a_verifier_for_another_audience,
        a_wrong_password_an_unknown_user_and_a_wrong_store_all_fail_alike,
        a_refresh_token_is_exchanged_once_for_a_new_pair_in_the_same_family,
        replaying_a_used_refresh_token_revokes_the_whole_family,
        concurrent_use_of_one_refresh_token_lets_one_through_and_revokes_the_family,
        client_credentials_give_a_staff_token_for_the_clients_store_and_no_refresh_token,
        a_wrong_client_secret_or_unknown_client_is_invalid_client,
        an_unknown_grant_type_is_unsupported_and_a_missing_parameter_is_named,
    ],
}

const OWNER: &str = "owner@tea-house.example";

async fn a_password_login_issues_a_bearer_token_that_verifies_against_the_jwks(env: Env) {
    let p = env.provision("tea-house").await;
    let (store, owner) = (p.store.unwrap(), p.owner.unwrap());
    let t = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, 600);
    assert!(!t.refresh_token.is_empty());

    let header = jsonwebtoken::decode_header(&t.access_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert!(header.kid.is_some());

    let claims = env
        .verifier(&auth().audience)
        .await
        .verify(&t.access_token)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(claims.iss, auth().issuer);
    assert_eq!(claims.aud, auth().audience);
    assert_eq!(claims.sub, owner.id);
    assert_eq!(claims.store, store.id);
    assert_eq!(claims.role, Role::Owner);
    assert_eq!(claims.exp - claims.iat, 600);
    let jti = uuid::Uuid::parse_str(&claims.jti).unwrap();
    assert_eq!(jti.get_version_num(), 7);
}

async fn an_access_token_is_refused_by_a_verifier_for_another_audience(env: Env) {
    env.provision("tea-house").await;
    let t = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let result = env.verifier("someone-else").await.verify(&t.access_token);
    assert!(matches!(result, Err(VerifyError::Invalid(_))), "{result:?}");
}

async fn a_wrong_password_an_unknown_user_and_a_wrong_store_all_fail_alike(env: Env) {
    env.provision("tea-house").await;
    env.provision("coffee-house").await;
    for (store, user, password) in [
        ("tea-house", OWNER, "wrong password"),
        ("tea-house", "nobody@tea-house.example", PASSWORD),
        ("coffee-house", OWNER, PASSWORD),
        ("no-such-store", OWNER, PASSWORD),
    ] {
        let err = env.login(store, user, password).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant, "{store} {user}");
        assert_eq!(err.message, "invalid username or password");
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM refresh_tokens").await, 0);
}

async fn a_refresh_token_is_exchanged_once_for_a_new_pair_in_the_same_family(env: Env) {
    env.provision("tea-house").await;
    let first = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let second = env.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let claims = env
        .verifier(&auth().audience)
        .await
        .verify(&second.access_token)
        .unwrap();
    assert_eq!(claims.role, Role::Owner);

    let third = env.refresh(&second.refresh_token).await.unwrap();
    assert!(!third.refresh_token.is_empty());
    assert_eq!(
        env.count("SELECT COUNT(DISTINCT family_id) FROM refresh_tokens")
            .await,
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NOT NULL")
            .await,
        2
    );
}

async fn replaying_a_used_refresh_token_revokes_the_whole_family(env: Env) {
    env.provision("tea-house").await;
    let first = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let other_login = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let second = env.refresh(&first.refresh_token).await.unwrap();

    let replay = env.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(replay.code, ErrorCode::InvalidGrant);
    // The newest token of the family dies with it.
    let newest = env.refresh(&second.refresh_token).await.unwrap_err();
    assert_eq!(newest.code, ErrorCode::InvalidGrant);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL")
            .await,
        2
    );
    // Another login is another family, and keeps working.
    env.refresh(&other_login.refresh_token)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

async fn concurrent_use_of_one_refresh_token_lets_one_through_and_revokes_the_family(env: Env) {
    env.provision("tea-house").await;
    let first = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let env = Arc::new(env);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (env, token) = (Arc::clone(&env), first.refresh_token.clone());
            tokio::spawn(async move { env.refresh(&token).await })
        })
        .collect();
    let mut winners = Vec::new();
    for h in handles {
        match h.await.unwrap() {
            Ok(t) => winners.push(t),
            Err(e) => assert_eq!(e.code, ErrorCode::InvalidGrant),
        }
    }
    assert_eq!(winners.len(), 1);
    let err = env.refresh(&winners[0].refresh_token).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
}

mercato_runtime::backend_tests! {
    setup: with_refresh_tokens_that_expire_at_once,
    cases: [an_expired_or_unknown_refresh_token_is_an_invalid_grant],
}

/// A service whose refresh tokens expire the moment they are issued.
async fn with_refresh_tokens_that_expire_at_once(backend: Backend) -> Env {
    let mut short = auth();
    short.refresh_token_ttl = Duration::ZERO;
    Env::with(backend, short).await
}

async fn an_expired_or_unknown_refresh_token_is_an_invalid_grant(env: Env) {
    env.provision("tea-house").await;
    let t = env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    let expired = env.refresh(&t.refresh_token).await.unwrap_err();
    assert_eq!(expired.code, ErrorCode::InvalidGrant);
    let unknown = env.refresh("bm90LWEtdG9rZW4").await.unwrap_err();
    assert_eq!(unknown.code, ErrorCode::InvalidGrant);
}

fn client_credentials(id: &str, secret: &str) -> TokenRequest {
    TokenRequest {
        grant_type: "client_credentials".to_owned(),
        client_id: id.to_owned(),
        client_secret: secret.to_owned(),
        ..Default::default()
    }
}

async fn client_credentials_give_a_staff_token_for_the_clients_store_and_no_refresh_token(env: Env) {
    let p = env.provision("tea-house").await;
    let (store, client) = (p.store.unwrap(), p.api_client.unwrap());
    let req = client_credentials(&client.client_id, &client.client_secret);
    let t = env.token(req).await.unwrap();
    assert_eq!(t.refresh_token, "");
    assert_eq!(t.token_type, "Bearer");
    let claims = env
        .verifier(&auth().audience)
        .await
        .verify(&t.access_token)
        .unwrap();
    assert_eq!(claims.sub, client.client_id);
    assert_eq!(claims.store, store.id);
    assert_eq!(claims.role, Role::Staff);
    assert_eq!(env.count("SELECT COUNT(*) FROM refresh_tokens").await, 0);
}

async fn a_wrong_client_secret_or_unknown_client_is_invalid_client(env: Env) {
    let client = env.provision("tea-house").await.api_client.unwrap();
    for (id, secret) in [
        (client.client_id.as_str(), "wrong-secret"),
        ("mc_000000000000000000000000", client.client_secret.as_str()),
    ] {
        let req = client_credentials(id, secret);
        let err = env.token(req).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient, "{id}");
    }
}

async fn an_unknown_grant_type_is_unsupported_and_a_missing_parameter_is_named(env: Env) {
    let err = env
        .token(TokenRequest {
            grant_type: "implicit".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UnsupportedGrantType);

    let err = env
        .token(TokenRequest {
            grant_type: "password".to_owned(),
            username: OWNER.to_owned(),
            password: PASSWORD.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    assert!(err.message.contains("store"), "{}", err.message);

    let err = env
        .token(TokenRequest {
            grant_type: "refresh_token".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("refresh_token"), "{}", err.message);
}
