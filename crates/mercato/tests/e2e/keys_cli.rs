//! `mercato keys rotate|list` against the embedded data directory of a running `mercato`: the
//! JWKS publishes the new key beside the old one at once, after a restart new tokens carry the
//! new key's id while tokens signed before still work; and the data files are owner-only.

use crate::harness::alone_turn;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

fn mercato(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mercato"));
    command
        .arg("--data-dir")
        .arg(data)
        .env("MERCATO__HTTP__RATE_LIMIT_PER_SECOND", "0")
        .env_remove("MERCATO_POSTGRES_URL")
        .env_remove("MERCATO_NATS_URL")
        .env_remove("MERCATO_REDIS_URL");
    command
}

fn serve(data: &Path, port: u16) -> Child {
    mercato(data)
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mercato starts")
}

/// Runs `mercato keys <what>` and returns its output.
fn keys(data: &Path, what: &str) -> String {
    // Logs go to stdout too; only errors, so that the output is the command's answer.
    let out = mercato(data)
        .args(["keys", what])
        .env("MERCATO__LOG__FILTER", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn ready(http: &reqwest::Client, url: &str) {
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

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn sign_in(http: &reqwest::Client, url: &str, store: &str) -> String {
    let token: Value = http
        .post(format!("{url}/v1/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("store", store),
            ("username", "owner@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

/// The `kid` of a token's header (decoded here: this test binary has no JWT library).
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&base64url_decode(header)).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut held = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | value;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    }
    out
}

async fn published_kids(http: &reqwest::Client, url: &str) -> Vec<String> {
    let jwks: Value = http
        .get(format!("{url}/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn authorized(http: &reqwest::Client, url: &str, store: &str, token: &str) -> u16 {
    http.get(format!("{url}/v1/stores/{store}/orders"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn keys_rotate_on_the_embedded_data_directory_publishes_both_keys_and_signs_with_the_new_one() {
    let _turn = alone_turn().await;
    let data = std::env::temp_dir()
        .join("mercato-tests")
        .join(format!("keys-{}", uuid::Uuid::now_v7()))
        .join("data");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &url).await;
    let store = format!("keys-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let provisioned = http
        .post(format!("{url}/v1/stores"))
        .json(&json!({"slug": store, "name": "Keys", "currency": "EUR", "owner": {"email": "owner@example.com", "password": PASSWORD}}))
        .send()
        .await
        .unwrap();
    assert_eq!(provisioned.status(), 201);
    let before = sign_in(&http, &url, &store).await;
    assert_eq!(published_kids(&http, &url).await, [kid(&before)]);

    let rotated = keys(&data, "rotate");
    assert!(rotated.starts_with("rotated: generation 2 kid "), "{rotated}");
    let new_kid = rotated.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(published_kids(&http, &url).await, [new_kid.clone(), kid(&before)]);
    let listed = keys(&data, "list");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].contains(&new_kid) && lines[0].ends_with("active"),
        "{listed}"
    );
    assert!(lines[1].contains("published until"), "{listed}");

    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = serve(&data, port);
    ready(&http, &url).await;
    let after = sign_in(&http, &url, &store).await;
    assert_eq!(kid(&after), new_kid, "new tokens are signed with the new key");
    assert_eq!(authorized(&http, &url, &store, &after).await, 200);
    assert_eq!(
        authorized(&http, &url, &store, &before).await,
        200,
        "old tokens verify during the overlap"
    );

    assert_eq!(mode(&data), 0o700);
    for file in ["identity.db", "identity.db-wal", "identity.kek", "orders.db"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
