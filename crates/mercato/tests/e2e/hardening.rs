//! Hardening at the edge: security headers on every page, CORS only for configured origins,
//! control characters refused in free text, and `/metrics` on its own listener.

use crate::harness::{base_settings, embedded_with, platforms};
use crate::realtime::store_with_customer;
use reqwest::header::HeaderMap;
use serde_json::json;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn html_pages_carry_a_strict_policy_and_frame_protection_and_every_answer_nosniff() {
    let p = embedded_with(base_settings()).await;
    for page in ["/", "/docs/"] {
        let reply = p.get(0, page, None).await;
        assert_eq!(reply.status, 200, "{page}");
        let h = &reply.headers;
        assert!(
            header(h, "content-type").unwrap().starts_with("text/html"),
            "{page}"
        );
        let csp = header(h, "content-security-policy").expect("a content security policy");
        assert!(csp.starts_with("default-src 'none'"), "{page}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header(h, "x-frame-options"), Some("DENY"), "{page}");
        assert_eq!(header(h, "x-content-type-options"), Some("nosniff"), "{page}");
        assert_eq!(
            header(h, "referrer-policy"),
            Some("strict-origin-when-cross-origin"),
            "{page}"
        );
    }
    // The policy allows no inline code, so no page may have any: Swagger UI loads its scripts
    // and styles from files (the web pages' own are checked in crates/web's tests).
    let docs = p.get(0, "/docs/", None).await;
    let html = docs.body.as_str().unwrap_or_default().to_ascii_lowercase();
    assert!(html.contains("<script src="), "{html}");
    for inline in ["<script>", "<style", " style=", " onload=", " onclick="] {
        assert!(!html.contains(inline), "{inline} in /docs/");
    }

    // JSON answers and problems are not pages: nosniff only.
    for path in ["/v1/stores/nope/products", "/openapi.json"] {
        let reply = p.get(0, path, None).await;
        assert_eq!(
            header(&reply.headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(reply.headers.get("content-security-policy").is_none(), "{path}");
    }
}

#[tokio::test]
async fn without_configured_origins_no_other_origin_gets_cors_headers() {
    let p = embedded_with(base_settings()).await;
    let (store, _) = p.provision(0).await;
    let reply = p
        .send(
            0,
            p.http
                .get(format!("{}/v1/stores/{store}/products", p.gateway(0)))
                .header("origin", "https://elsewhere.example"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_echoes_a_listed_origin_refuses_others_and_gives_a_star_only_anonymous_calls() {
    let mut settings = base_settings();
    settings.http.cors_allowed_origins = vec!["https://shop.example".into()];
    let p = embedded_with(settings.clone()).await;
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(0, &store, "owner@example.com", "correct horse battery")
        .await;
    let products = format!("{}/v1/stores/{store}/products", p.gateway(0));
    let preflight = |origin: &str, headers: &str| {
        p.http
            .request(reqwest::Method::OPTIONS, &products)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
    };

    // A listed origin: its preflight for a signed-in write is allowed, and so is the call.
    let allowed = p
        .send(
            0,
            preflight("https://shop.example", "authorization, content-type"),
        )
        .await;
    assert!(allowed.status < 300, "{}", allowed.status);
    let h = &allowed.headers;
    assert_eq!(
        header(h, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    let allow_headers = header(h, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    assert!(
        header(h, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(h.get("access-control-allow-credentials").is_none(), "no cookies");
    let call = p
        .send(
            0,
            p.http
                .get(&products)
                .bearer_auth(&owner)
                .header("origin", "https://shop.example"),
        )
        .await;
    assert_eq!(
        header(&call.headers, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(
        header(&call.headers, "vary")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("origin")
    );

    // Another origin: neither its preflight nor its call gets CORS headers.
    let refused = p
        .send(0, preflight("https://evil.example", "authorization"))
        .await;
    assert!(refused.headers.get("access-control-allow-origin").is_none());
    let call = p
        .send(0, p.http.get(&products).header("origin", "https://evil.example"))
        .await;
    assert_eq!(call.status, 200, "the server answers; the browser withholds it");
    assert!(call.headers.get("access-control-allow-origin").is_none());
    drop(p);

    // "*": any origin reads the public catalog, but never with a token.
    settings.http.cors_allowed_origins = vec!["*".into(), "https://shop.example".into()];
    settings.data_dir = base_settings().data_dir;
    let p = embedded_with(settings).await;
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(0, &store, "owner@example.com", "correct horse battery")
        .await;
    let products = format!("{}/v1/stores/{store}/products", p.gateway(0));
    let anonymous = p
        .send(0, p.http.get(&products).header("origin", "https://any.example"))
        .await;
    assert_eq!(
        header(&anonymous.headers, "access-control-allow-origin"),
        Some("https://any.example")
    );
    let with_token = p
        .send(
            0,
            p.http
                .get(&products)
                .bearer_auth(&owner)
                .header("origin", "https://any.example"),
        )
        .await;
    assert!(with_token.headers.get("access-control-allow-origin").is_none());
    let preflight = p
        .send(
            0,
            p.http
                .request(reqwest::Method::OPTIONS, &products)
                .header("origin", "https://any.example")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type, Authorization"),
        )
        .await;
    assert!(preflight.headers.get("access-control-allow-origin").is_none());
    let listed = p
        .send(
            0,
            p.http
                .get(&products)
                .bearer_auth(&owner)
                .header("origin", "https://shop.example"),
        )
        .await;
    assert_eq!(
        header(&listed.headers, "access-control-allow-origin"),
        Some("https://shop.example")
    );
}

#[tokio::test]
async fn control_characters_in_titles_names_and_messages_are_a_422_naming_the_field() {
    for p in platforms().await {
        let (slug, _, owner, customer, _) = store_with_customer(&p).await;
        let product = json!({
            "slug": "tee", "title": "Tee\u{0}", "description": "Soft.\n\tWashable.",
            "variants": [{"sku": "T-1", "title": "M", "price": {"amount_minor": 100, "currency": "EUR"}}]
        });
        let reply = p
            .post(0, &format!("/v1/stores/{slug}/products"), Some(&owner), &product)
            .await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert_eq!(reply.error_fields(), ["title"], "{}", p.name);
        let category = json!({"slug": "shirts", "name": "Shirts\u{1b}[2J"});
        let reply = p
            .post(
                0,
                &format!("/v1/stores/{slug}/categories"),
                Some(&owner),
                &category,
            )
            .await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert_eq!(reply.error_fields(), ["name"], "{}", p.name);
        let mut ok = product.clone();
        ok["title"] = json!("Tee");
        let reply = p
            .post(0, &format!("/v1/stores/{slug}/products"), Some(&owner), &ok)
            .await;
        assert_eq!(
            reply.status, 201,
            "{}: a description keeps line feeds and tabs: {}",
            p.name, reply.body
        );

        let conversations = format!("/v1/stores/{slug}/conversations");
        let reply = p
            .post(
                0,
                &conversations,
                Some(&customer),
                &json!({"subject": "Order\u{0}"}),
            )
            .await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert_eq!(reply.error_fields(), ["subject"], "{}", p.name);
        let opened = p
            .post(0, &conversations, Some(&customer), &json!({"subject": "Order"}))
            .await;
        assert_eq!(opened.status, 201, "{}: {}", p.name, opened.body);
        let messages = format!("{conversations}/{}/messages", opened.body["id"].as_str().unwrap());
        let reply = p
            .post(
                0,
                &messages,
                Some(&customer),
                &json!({"client_msg_id": "m1", "body": "hi\u{0}there"}),
            )
            .await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert_eq!(reply.error_fields(), ["body"], "{}", p.name);
        let reply = p
            .post(
                0,
                &messages,
                Some(&customer),
                &json!({"client_msg_id": "m2", "body": "hi\n\tthere"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}: {}", p.name, reply.body);
    }
}

/// Thousands of frames as fast as the socket takes them, nothing read meanwhile, then read:
/// the client finds the 4029 close frame, also through a gateway's relay (distributed).
#[tokio::test]
async fn a_websocket_flood_ends_with_the_4029_close_frame() {
    use futures::{SinkExt, StreamExt};
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::Message;
    for p in platforms().await {
        let url = format!("{}/v1/realtime", p.gateway(0).replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut written = 0;
        for _ in 0..20_000 {
            let frame = Message::Text(r#"{"type":"ping","id":1}"#.into());
            match tokio::time::timeout(Duration::from_secs(1), ws.feed(frame)).await {
                Ok(Ok(())) => written += 1,
                _ => break,
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.flush()).await;
        assert!(written > 1_000, "{}: only {written} frames written", p.name);
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(20), ws.next())
                .await
                .expect("closed in time")
            {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => break None,
            }
        };
        assert_eq!(code, Some(4029), "{}: after {written} frames", p.name);
    }
}

/// With `http.metrics_listen`, `/metrics` is served there and no longer on the API port, which
/// keeps its probes.
#[tokio::test]
async fn metrics_can_have_their_own_listener_and_then_leave_the_api_port() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let mut settings = base_settings();
    settings.http.metrics_listen = Some(metrics_addr);
    let p = embedded_with(settings).await;
    let metrics = p
        .http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("mercato_"), "{text}");
    assert_eq!(
        p.get(0, "/metrics", None).await.status,
        404,
        "not on the API port"
    );
    assert_eq!(p.get(0, "/healthz", None).await.status, 200);
    assert_eq!(p.get(0, "/readyz", None).await.status, 200);
    let api = p
        .http
        .get(format!("http://{metrics_addr}/v1/stores/nope/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "the metrics port serves no API");

    // Unset (the default), `/metrics` stays on the API port.
    let p = embedded_with(base_settings()).await;
    assert_eq!(p.get(0, "/metrics", None).await.status, 200);
}
