//! Real requests to real local servers: what is refused, what is sent, and the limits.

use super::servers::{Answer, Server};
use crate::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use mercato_runtime::config::WebhookSettings;
use std::time::{Duration, Instant};

fn settings(allow_http: bool, allowed: &[&str]) -> WebhookSettings {
    WebhookSettings {
        allow_http,
        allowed_ranges: allowed.iter().map(|r| r.parse().expect("range")).collect(),
        ..WebhookSettings::default()
    }
}

fn client(settings: WebhookSettings) -> Outbound {
    Outbound::new(&settings).expect("outbound")
}

async fn post(outbound: &Outbound, url: url::Url) -> Result<OutboundResponse, OutboundError> {
    let request = OutboundRequest {
        url,
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body: b"{\"type\":\"order.confirmed\"}".to_vec().into(),
    };
    outbound.post(&request).await
}

fn refused(result: &Result<OutboundResponse, OutboundError>) -> String {
    match result {
        Err(OutboundError::Refused(why)) => why.detail().to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_is_refused_unless_its_range_is_allowed() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let why = refused(&post(&client(settings(true, &[])), server.url("/hook")).await);
    assert!(why.contains("loopback"), "{why}");
    assert_eq!(server.connections(), 0);

    let allowed = client(settings(true, &["127.0.0.1/32"]));
    let response = post(&allowed, server.url("/hook")).await.expect("delivered");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"ok");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn http_is_refused_unless_allowed_even_to_an_allowed_range() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let strict = client(settings(false, &["127.0.0.0/8"]));
    let why = refused(&post(&strict, server.url("/hook")).await);
    assert!(why.contains("http"), "{why}");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_after_resolution() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let outbound = client(settings(true, &[]));
    assert!(
        outbound
            .check_url(&"http://localhost/".parse().expect("url"))
            .is_ok()
    );
    let url: url::Url = format!("http://localhost:{}/hook", server.addr.port())
        .parse()
        .expect("url");
    let result = post(&outbound, url).await;
    let why = refused(&result);
    assert!(
        why.contains("localhost resolves to 127.0.0.1") || why.contains("localhost resolves to ::1"),
        "{why}"
    );
    assert_eq!(server.connections(), 0);
    // What the owner may read names no address (the resolver is no oracle for internal names).
    let public = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        public,
        "refused: localhost resolves to an address deliveries may not reach"
    );
}

#[tokio::test]
async fn a_failed_lookup_tells_the_owner_nothing_of_the_resolver() {
    let outbound = client(settings(true, &[]));
    let result = post(
        &outbound,
        "http://no-such-host.invalid/hook".parse().expect("url"),
    )
    .await;
    let error = result.expect_err("a failure");
    assert!(matches!(error, OutboundError::Failed(_)), "{error:?}");
    assert_eq!(error.to_string(), "DNS lookup of no-such-host.invalid failed");
    assert!(
        error.detail().len() > error.to_string().len(),
        "{}",
        error.detail()
    );
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_refused_although_the_first_hop_was_allowed() {
    let target = Server::start("127.0.0.1", Answer::Ok).await;
    let first = Server::start(
        "127.0.0.2",
        Answer::Redirect(307, target.url("/next").to_string()),
    )
    .await;
    let outbound = client(WebhookSettings {
        max_redirects: 3,
        ..settings(true, &["127.0.0.2/32"])
    });
    let why = refused(&post(&outbound, first.url("/hook")).await);
    assert!(why.contains("127.0.0.1"), "{why}");
    assert_eq!(first.requests(), 1);
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn an_allowed_307_redirect_is_followed_with_the_post() {
    let target = Server::start("127.0.0.1", Answer::Ok).await;
    let first = Server::start(
        "127.0.0.1",
        Answer::Redirect(308, target.url("/next").to_string()),
    )
    .await;
    let outbound = client(WebhookSettings {
        max_redirects: 1,
        ..settings(true, &["127.0.0.0/8"])
    });
    let response = post(&outbound, first.url("/hook")).await.expect("delivered");
    assert_eq!(response.status, 200);
    assert_eq!(target.requests(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed_by_default() {
    let target = Server::start("127.0.0.1", Answer::Ok).await;
    let first = Server::start(
        "127.0.0.1",
        Answer::Redirect(307, target.url("/next").to_string()),
    )
    .await;
    let outbound = client(settings(true, &["127.0.0.0/8"]));
    let response = post(&outbound, first.url("/hook")).await.expect("a response");
    assert_eq!(response.status, 307);
    assert_eq!(target.requests(), 0);
}

#[tokio::test]
async fn a_redirect_that_would_turn_the_post_into_a_get_is_not_followed() {
    let target = Server::start("127.0.0.1", Answer::Ok).await;
    for status in [301, 302, 303] {
        let first = Server::start("127.0.0.1", Answer::Redirect(status, target.url("/").to_string())).await;
        let outbound = client(WebhookSettings {
            max_redirects: 5,
            ..settings(true, &["127.0.0.0/8"])
        });
        let response = post(&outbound, first.url("/hook")).await.expect("a response");
        assert_eq!(response.status, status);
    }
    assert_eq!(target.requests(), 0);
}

#[tokio::test]
async fn a_receiver_that_hangs_fails_the_attempt_at_the_timeout() {
    let server = Server::start("127.0.0.1", Answer::Hang).await;
    let outbound = client(WebhookSettings {
        timeout: Duration::from_millis(300),
        ..settings(true, &["127.0.0.0/8"])
    });
    let started = Instant::now();
    let result = post(&outbound, server.url("/hook")).await;
    assert!(matches!(result, Err(OutboundError::Failed(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_tls_handshake_that_never_completes_fails_at_the_connect_timeout() {
    // Accepts the connection and then says nothing: TCP succeeds, TLS waits for ever.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let held = tokio::spawn(async move {
        let (_stream, _) = listener.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let outbound = client(WebhookSettings {
        connect_timeout: Duration::from_millis(200),
        ..settings(false, &["127.0.0.0/8"])
    });
    let started = Instant::now();
    let result = post(&outbound, format!("https://{addr}/hook").parse().expect("url")).await;
    match &result {
        Err(OutboundError::Failed(why)) => assert!(why.to_string().contains("longer than"), "{why}"),
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    held.abort();
}

#[tokio::test]
async fn only_the_first_bytes_of_a_huge_response_are_read_and_its_connection_is_closed() {
    let server = Server::start("127.0.0.1", Answer::Big(10 * 1024 * 1024)).await;
    let outbound = client(WebhookSettings {
        max_response_bytes: 1024,
        ..settings(true, &["127.0.0.0/8"])
    });
    let started = Instant::now();
    let response = post(&outbound, server.url("/hook")).await.expect("a response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), 1024);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(outbound.pool.idle_count(), 0);
    post(&outbound, server.url("/hook")).await.expect("a response");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn keep_alive_connections_are_reused() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let outbound = client(settings(true, &["127.0.0.0/8"]));
    for _ in 0..20 {
        let response = post(&outbound, server.url("/hook")).await.expect("delivered");
        assert_eq!(response.status, 200);
    }
    assert_eq!(server.requests(), 20);
    assert_eq!(server.connections(), 1);

    let outbound = std::sync::Arc::new(outbound);
    for _ in 0..5 {
        let posts = (0..8).map(|_| {
            let (outbound, url) = (outbound.clone(), server.url("/hook"));
            tokio::spawn(async move { post(&outbound, url).await })
        });
        for result in futures::future::join_all(posts).await {
            assert_eq!(result.expect("joined").expect("delivered").status, 200);
        }
    }
    assert_eq!(server.requests(), 60);
    assert!(server.connections() <= 9, "{} connections", server.connections());
}

#[tokio::test]
async fn an_unresolvable_name_is_a_failure_to_retry() {
    let outbound = client(settings(true, &[]));
    let result = post(
        &outbound,
        "http://no-such-host.invalid/hook".parse().expect("url"),
    )
    .await;
    assert!(matches!(result, Err(OutboundError::Failed(_))), "{result:?}");
}

#[tokio::test]
async fn https_to_a_server_that_does_not_speak_tls_fails() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let outbound = client(settings(false, &["127.0.0.0/8"]));
    let url: url::Url = format!("https://{}/hook", server.addr).parse().expect("url");
    let result = post(&outbound, url).await;
    assert!(matches!(result, Err(OutboundError::Failed(_))), "{result:?}");
}

#[tokio::test]
async fn the_sweep_closes_idle_connections_the_receiver_closed() {
    let server = Server::start("127.0.0.1", Answer::Ok).await;
    let outbound = client(settings(true, &["127.0.0.0/8"]));
    post(&outbound, server.url("/hook")).await.expect("delivered");
    assert_eq!(outbound.pool.idle_count(), 1);
    outbound.pool.sweep();
    assert_eq!(outbound.pool.idle_count(), 1, "an open connection stays");
    server.close_connections();
    tokio::time::sleep(Duration::from_millis(100)).await;
    outbound.pool.sweep();
    assert_eq!(outbound.pool.idle_count(), 0);
}
