//! `/s/{store}/live`: the realtime WebSocket for pages, authenticated by the session cookie.

use crate::harness::{Browser, Platform, store_with_product};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// Opens the live endpoint as `browser` (its cookies, `origin`); the next text frame as JSON.
async fn open(
    browser: &Browser<'_>,
    store: &str,
    origin: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let url = format!(
        "{}/s/{store}/live",
        browser.platform.base.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    if !cookie.is_empty() {
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
    }
    request.headers_mut().insert("origin", origin.parse().unwrap());
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "mercato.v1".parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

async fn next_json<S>(socket: &mut S) -> serde_json::Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn the_live_endpoint_connects_as_the_cookies_session_and_only_from_this_site() {
    let p = Platform::start().await;
    let (store, _) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    let signed_up = b
        .post(
            &format!("/s/{store}/sign-up"),
            &[("email", "live@example.com"), ("password", "a long password")],
        )
        .await;
    assert_eq!(signed_up.status, 303);

    // From another site: refused before any upgrade.
    assert!(open(&b, &store, "https://evil.example").await.is_err());

    let mut socket = open(&b, &store, &p.base).await.expect("upgraded");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["type"], "connected", "{hello}");
    assert_eq!(
        hello["role"], "customer",
        "the cookie's token went on as a bearer: {hello}"
    );
    let channel = format!(
        "orders:{}:{}",
        hello["store_id"].as_str().unwrap(),
        hello["user_id"].as_str().unwrap()
    );
    let subscribe = serde_json::json!({"type": "subscribe", "id": 1, "channel": channel});
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["type"], "subscribed", "{reply}");

    // Without a session the connection is anonymous.
    let anonymous = Browser::new(&p);
    let mut socket = open(&anonymous, &store, &p.base).await.expect("upgraded");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["type"], "connected");
    assert!(hello["role"].is_null() || hello["role"] == "anonymous", "{hello}");
}
