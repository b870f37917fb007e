//! What the verifier every service uses refuses beyond a bad signature: `nbf` or `iat` in the
//! future past the leeway and lifetimes over the configured maximum; and identity refuses to
//! refresh tokens of a user that no longer exists.

use crate::support::{Env, PASSWORD, auth};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use mercato_proto::identity::{Jwk, Jwks};
use mercato_runtime::auth::TokenVerifier;
use mercato_runtime::error::ErrorCode;

const KID: &str = "test-kid";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3u8; 32])
}

/// A verifier of `auth()` (600 s tokens, 30 s leeway) that knows [`key`].
fn verifier() -> TokenVerifier {
    let verifier = TokenVerifier::for_settings(&auth());
    verifier.set_keys(&Jwks {
        keys: vec![Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key().verifying_key().as_bytes()),
            kid: KID.into(),
            alg: "EdDSA".into(),
            r#use: "sig".into(),
        }],
    });
    verifier
}

/// A token signed with [`key`] whose times are offsets in seconds from now; `nbf` only if given.
fn token(iat: i64, exp: i64, nbf: Option<i64>) -> String {
    let now = mercato_runtime::time::now_ms() / 1000;
    let a = auth();
    let nbf = nbf.map(|n| format!(r#","nbf":{}"#, now + n)).unwrap_or_default();
    let claims = format!(
        r#"{{"iss":"{}","aud":"{}","sub":"u1","exp":{},"iat":{}{nbf},"jti":"j","store":"s1","role":"owner"}}"#,
        a.issuer,
        a.audience,
        now + exp,
        now + iat
    );
    let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{KID}"}}"#);
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = key().sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn refusal(token: &str) -> String {
    match verifier().verify(token) {
        Ok(_) => "accepted".to_owned(),
        Err(mercato_runtime::auth::VerifyError::Invalid(e)) => e.message,
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn tokens_within_the_rules_and_the_leeway_are_accepted() {
    assert_eq!(refusal(&token(0, 600, None)), "accepted");
    assert_eq!(
        refusal(&token(20, 600, Some(20))),
        "accepted",
        "skew within the leeway"
    );
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    assert_eq!(
        refusal(&token(120, 600, None)),
        "access token issued in the future"
    );
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    assert_eq!(refusal(&token(0, 600, Some(120))), "access token not valid yet");
}

#[test]
fn a_token_living_longer_than_the_maximum_is_refused() {
    assert_eq!(
        refusal(&token(0, 601, None)),
        "access token lifetime exceeds the maximum"
    );
    assert_eq!(
        refusal(&token(-3600, 24 * 3600, None)),
        "access token lifetime exceeds the maximum"
    );
}

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [a_deleted_user_cannot_refresh_and_loses_the_token_family],
}

async fn a_deleted_user_cannot_refresh_and_loses_the_token_family(env: Env) {
    env.provision("tea-house").await;
    let tokens = env
        .login("tea-house", "owner@tea-house.example", PASSWORD)
        .await
        .unwrap();
    env.db
        .execute(
            "delete_user",
            "DELETE FROM users WHERE email = $1",
            &[&"owner@tea-house.example"],
        )
        .await
        .unwrap();
    let refused = env.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL")
            .await,
        0,
        "the family is revoked"
    );
}
