//! The real `mercato` binary as a child process over its own data directory, for the scenarios
//! that kill it (`kill -9`), restart it on the same data, run its CLI beside it or read its
//! files: starting it, waiting until it is ready, and a store with a signed-in owner.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The owner's password of every store these scenarios provision.
pub const PASSWORD: &str = "correct horse battery";

/// A new, empty data directory for one run of `scenario`.
pub fn data_dir(scenario: &str) -> PathBuf {
    std::env::temp_dir()
        .join("mercato-tests")
        .join(format!("{scenario}-{}", uuid::Uuid::now_v7()))
}

/// `mercato` over `data`, embedded (no server URL from the environment) and without a rate
/// limit, ready for its arguments.
pub fn mercato(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mercato"));
    command
        .arg("--data-dir")
        .arg(data)
        .env("MERCATO__HTTP__RATE_LIMIT_PER_SECOND", "0")
        // A debug build beside parallel tests is slow, not overloaded: no shedding on CPU pressure.
        .env("MERCATO__HTTP__MAX_SCHEDULING_DELAY", "0s")
        .env_remove("MERCATO_POSTGRES_URL")
        .env_remove("MERCATO_NATS_URL")
        .env_remove("MERCATO_REDIS_URL");
    command
}

/// `mercato serve` on 127.0.0.1:`port` over `data`, without the demo store, quiet.
pub fn serve(data: &Path, port: u16) -> Child {
    mercato(data)
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mercato starts")
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An HTTP client whose every request is answered or fails within 20 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Waits (at most a minute) until the process at `url` answers `/readyz`.
pub async fn ready(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

/// Sends a request that must answer, and reads its JSON body.
pub trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::RequestBuilder {
    async fn json_value(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// Provisions a store named `prefix-…` whose owner is owner@example.com with [`PASSWORD`];
/// returns its slug and the owner's access token.
pub async fn store_with_owner(http: &reqwest::Client, url: &str, prefix: &str) -> (String, String) {
    let store = format!("{prefix}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let owner = json!({"email": "owner@example.com", "password": PASSWORD});
    let body = json!({"slug": store, "name": prefix, "currency": "EUR", "owner": owner});
    let provisioned = http
        .post(format!("{url}/v1/stores"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(provisioned.status(), 201);
    let token = owner_token(http, url, &store).await;
    (store, token)
}

/// A new access token of `store`'s owner (password grant).
pub async fn owner_token(http: &reqwest::Client, url: &str, store: &str) -> String {
    let token: Value = http
        .post(format!("{url}/v1/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("store", store),
            ("username", "owner@example.com"),
            ("password", PASSWORD),
        ])
        .json_value()
        .await;
    token["access_token"].as_str().unwrap().to_owned()
}
