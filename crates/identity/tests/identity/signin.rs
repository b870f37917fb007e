//! Brute-force protection of the password grant: failures counted per account and per client
//! address, doubling locks answered `rate_limited` with the seconds to wait, the same answers
//! for accounts that do not exist, shared by replicas on one database; and the bounded argon2
//! queue answering `unavailable` when it is full.

use crate::support::{Env, PASSWORD, auth, kek};
use mercato_identity::IdentityService;
use mercato_proto::identity::TokenRequest;
use mercato_runtime::config::{AuthSettings, SignInSettings};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: std::future::ready,
    cases: [
        an_account_is_locked_after_its_free_failures_even_for_the_right_password,
        an_unknown_account_or_store_gets_the_same_answers_as_a_real_one,
        a_successful_sign_in_clears_the_accounts_failures,
        a_lock_ends_after_its_window_and_the_right_password_then_works,
        one_address_is_locked_across_accounts_and_others_are_not,
        replicas_on_one_database_share_the_failures,
        a_full_hash_queue_is_unavailable_with_retry_after,
    ],
}

const OWNER: &str = "owner@tea-house.example";
const ADDRESS: &str = "203.0.113.7";

fn settings(sign_in: SignInSettings) -> AuthSettings {
    AuthSettings { sign_in, ..auth() }
}

/// Three free failures per account, then locks of 60 s, 120 s…; the address rule off.
fn strict() -> SignInSettings {
    SignInSettings {
        account_free_failures: 3,
        address_free_failures: 0,
        lockout_base: Duration::from_secs(60),
        lockout_max: Duration::from_secs(900),
        ..SignInSettings::default()
    }
}

async fn login_from(
    env: &Env,
    store: &str,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<(), ServiceError> {
    env.token(TokenRequest {
        grant_type: "password".to_owned(),
        store: store.to_owned(),
        username: username.to_owned(),
        password: password.to_owned(),
        client_ip: ip.to_owned(),
        ..Default::default()
    })
    .await
    .map(drop)
}

/// The seconds a refusal asks to wait.
fn retry_after(e: &ServiceError) -> u64 {
    let field = e.fields.iter().find(|f| f.field == "retry_after");
    field
        .unwrap_or_else(|| panic!("no retry_after in {e:?}"))
        .message
        .parse()
        .unwrap()
}

/// What a caller sees of an answer: the code, the message and the fields' names.
fn answer(r: Result<(), ServiceError>) -> (ErrorCode, String, Vec<String>) {
    let e = r.expect_err("a refusal");
    (e.code, e.message, e.fields.into_iter().map(|f| f.field).collect())
}

async fn an_account_is_locked_after_its_free_failures_even_for_the_right_password(backend: Backend) {
    let env = Env::with(backend, settings(strict())).await;
    env.provision("tea-house").await;
    for attempt in 1..=4 {
        let e = env.login("tea-house", OWNER, "wrong password").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "failure {attempt}");
    }
    // The fourth failure locked the account for 60 s: the right password is refused too.
    let e = env.login("tea-house", OWNER, PASSWORD).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited, "{e:?}");
    assert_eq!(e.code.http_status(), 429);
    assert_eq!(e.message, "too many failed sign-in attempts; retry later");
    let wait = retry_after(&e);
    assert!((59..=60).contains(&wait), "{wait}");
    // The email's case and spaces do not make another account.
    let e = env
        .login("tea-house", " Owner@Tea-House.example", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
}

async fn an_unknown_account_or_store_gets_the_same_answers_as_a_real_one(backend: Backend) {
    let env = Env::with(backend, settings(strict())).await;
    env.provision("tea-house").await;
    let mut sequences = Vec::new();
    for (store, user) in [
        ("tea-house", OWNER),
        ("tea-house", "nobody@tea-house.example"),
        ("no-such-shop", "owner@no-such-shop.example"),
    ] {
        let mut answers = Vec::new();
        for _ in 0..6 {
            answers.push(answer(env.login(store, user, "wrong password").await.map(drop)));
        }
        sequences.push(answers);
    }
    assert_eq!(sequences[0], sequences[1]);
    assert_eq!(sequences[0], sequences[2]);
    let codes: Vec<ErrorCode> = sequences[0].iter().map(|a| a.0).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidGrant,
            ErrorCode::RateLimited,
            ErrorCode::RateLimited,
        ]
    );
}

async fn a_successful_sign_in_clears_the_accounts_failures(backend: Backend) {
    let env = Env::with(backend, settings(strict())).await;
    env.provision("tea-house").await;
    for _ in 0..3 {
        env.login("tea-house", OWNER, "wrong password").await.unwrap_err();
    }
    env.login("tea-house", OWNER, PASSWORD).await.unwrap();
    // Three more free failures, not one.
    for attempt in 1..=3 {
        let e = env.login("tea-house", OWNER, "wrong password").await.unwrap_err();
        assert_eq!(
            e.code,
            ErrorCode::InvalidGrant,
            "failure {attempt} after the success"
        );
    }
    env.login("tea-house", OWNER, PASSWORD).await.unwrap();
}

async fn a_lock_ends_after_its_window_and_the_right_password_then_works(backend: Backend) {
    let env = Env::with(
        backend,
        settings(SignInSettings {
            account_free_failures: 2,
            lockout_base: Duration::from_millis(800),
            ..strict()
        }),
    )
    .await;
    env.provision("tea-house").await;
    for _ in 0..3 {
        env.login("tea-house", OWNER, "wrong password").await.unwrap_err();
    }
    let e = env.login("tea-house", OWNER, PASSWORD).await.unwrap_err();
    assert_eq!((e.code, retry_after(&e)), (ErrorCode::RateLimited, 1));
    tokio::time::sleep(Duration::from_millis(900)).await;
    env.login("tea-house", OWNER, PASSWORD).await.unwrap();
}

async fn one_address_is_locked_across_accounts_and_others_are_not(backend: Backend) {
    let env = Env::with(
        backend,
        settings(SignInSettings {
            account_free_failures: 100,
            address_free_failures: 4,
            ..strict()
        }),
    )
    .await;
    env.provision("tea-house").await;
    for n in 0..5 {
        let user = format!("guess{n}@tea-house.example");
        let e = login_from(&env, "tea-house", &user, "wrong password", ADDRESS)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "failure {n}");
    }
    let e = login_from(&env, "tea-house", OWNER, PASSWORD, ADDRESS)
        .await
        .unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::RateLimited,
        "the address is locked for every account"
    );
    assert!(retry_after(&e) >= 59);
    login_from(&env, "tea-house", OWNER, PASSWORD, "198.51.100.20")
        .await
        .expect("another address still signs in");
}

async fn replicas_on_one_database_share_the_failures(backend: Backend) {
    let env = Env::with(backend, settings(strict())).await;
    env.provision("tea-house").await;
    let other = IdentityService::new(env.db.clone(), settings(strict()), kek(), Arc::clone(&env.waker))
        .await
        .unwrap();
    let other = Env {
        db: env.db.clone(),
        service: other,
        waker: Arc::clone(&env.waker),
    };
    for n in 0..4 {
        let replica = if n % 2 == 0 { &env } else { &other };
        let e = replica
            .login("tea-house", OWNER, "wrong password")
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
    }
    for replica in [&env, &other] {
        let e = replica.login("tea-house", OWNER, PASSWORD).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimited);
    }
}

async fn a_full_hash_queue_is_unavailable_with_retry_after(backend: Backend) {
    let env = Env::with(
        backend,
        settings(SignInSettings {
            account_free_failures: 0,
            address_free_failures: 0,
            hash_concurrency: 1,
            hash_queue: 1,
            ..SignInSettings::default()
        }),
    )
    .await;
    env.provision("tea-house").await;
    let env = Arc::new(env);
    let attempts: Vec<_> = (0..64)
        .map(|n| {
            let env = Arc::clone(&env);
            tokio::spawn(async move {
                let user = format!("user{n}@tea-house.example");
                env.login("tea-house", &user, "wrong password").await.unwrap_err()
            })
        })
        .collect();
    let mut refused = Vec::new();
    for attempt in attempts {
        refused.push(attempt.await.unwrap());
    }
    let busy: Vec<&ServiceError> = refused
        .iter()
        .filter(|e| e.code == ErrorCode::Unavailable)
        .collect();
    let checked = refused
        .iter()
        .filter(|e| e.code == ErrorCode::InvalidGrant)
        .count();
    assert_eq!(busy.len() + checked, refused.len(), "{refused:?}");
    assert!(
        checked >= 2,
        "the running hash and the queued one are answered: {refused:?}"
    );
    assert!(
        !busy.is_empty(),
        "beyond the queue, callers are refused at once: {refused:?}"
    );
    for e in busy {
        assert_eq!(e.code.http_status(), 503);
        assert_eq!(retry_after(e), 1);
    }
    // Once the flood is over, sign-ins are checked again.
    env.login("tea-house", OWNER, PASSWORD).await.unwrap();
}
