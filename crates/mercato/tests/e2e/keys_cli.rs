//! `mercato keys rotate|list` against the embedded data directory of a running `mercato`: the
//! JWKS publishes the new key beside the old one at once, after a restart new tokens carry the
//! new key's id while tokens signed before still work; and the data files are owner-only.

use crate::harness::alone_turn;
use crate::process::{JsonValue, client, free_port, mercato, owner_token, ready, serve, store_with_owner};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
        .json_value()
        .await;
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
    // A directory the process creates, so that it sets its mode.
    let data = crate::process::data_dir("keys").join("data");
    let http = client();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &url).await;
    let (store, before) = store_with_owner(&http, &url, "keys").await;
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
    let after = owner_token(&http, &url, &store).await;
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
