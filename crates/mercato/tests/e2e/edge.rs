//! The edge's promises: bad input gets a clear 4xx and changes nothing; errors are problem
//! documents; every response carries a request id.

use crate::harness::{Platform, Reply, platforms};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn an_unknown_json_field_is_a_422_that_names_it_and_creates_nothing() {
    for p in platforms().await {
        let body = json!({"slug": "typo-shop", "name": "T", "currency": "EUR", "colour": "red",
                          "owner": {"email": "o@example.com", "password": "long enough password"}});
        let reply = p.post(0, "/v1/stores", None, &body).await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert!(
            reply.body["detail"].as_str().unwrap().contains("colour"),
            "{}",
            reply.body
        );
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(
            p.get(1, "/v1/stores/typo-shop", None).await.status,
            404,
            "{}: nothing was created",
            p.name
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    for p in platforms().await {
        let request = p
            .http
            .post(format!("{}/v1/stores", p.gateway(0)))
            .header("content-type", "application/json")
            .body("{\"slug\": ");
        let reply = p.send(0, request).await;
        assert_eq!(reply.status, 400, "{}: {}", p.name, reply.body);
        assert_eq!(reply.body["code"], "invalid_request");
    }
}

#[tokio::test]
async fn invalid_store_input_lists_every_bad_field() {
    for p in platforms().await {
        let body = json!({"slug": "No Spaces!", "name": "", "currency": "euro",
                          "owner": {"email": "not-an-email", "password": "short"}});
        let reply = p.post(0, "/v1/stores", None, &body).await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        let fields = reply.error_fields();
        for f in ["slug", "name", "currency"] {
            assert!(
                fields.iter().any(|x| x.contains(f)),
                "{}: {f} missing in {fields:?}",
                p.name
            );
        }
    }
}

#[tokio::test]
async fn a_taken_store_slug_is_a_409_slug_taken() {
    for p in platforms().await {
        let (slug, _) = p.provision(0).await;
        let body = json!({"slug": slug, "name": "Again", "currency": "EUR",
                          "owner": {"email": "x@example.com", "password": "long enough password"}});
        let reply = p.post(1, "/v1/stores", None, &body).await;
        assert_eq!(reply.status, 409, "{}: {}", p.name, reply.body);
        assert_eq!(reply.body["code"], "slug_taken");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    for p in platforms().await {
        let huge = "x".repeat(2 * 1024 * 1024);
        let body = json!({"slug": "big", "name": huge, "currency": "EUR", "owner": {"email": "a@b.co", "password": "long enough password"}});
        let reply = p.post(0, "/v1/stores", None, &body).await;
        assert_eq!(reply.status, 413, "{}", p.name);
    }
}

#[tokio::test]
async fn private_routes_without_a_token_are_401_and_with_a_forged_one_too() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let body = json!({"slug": "a", "title": "A", "variants": []});
        let reply = p
            .post(1, &format!("/v1/stores/{store}/products"), None, &body)
            .await;
        assert_eq!(reply.status, 401, "{}", p.name);
        let forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert_eq!(
            p.post(0, &format!("/v1/stores/{store}/products"), Some(forged), &body)
                .await
                .status,
            401,
            "{}",
            p.name
        );
    }
}

#[tokio::test]
async fn invented_http_methods_share_one_metrics_label() {
    for p in platforms().await {
        let gw = p.gateway(0);
        for n in 0..20 {
            let method = reqwest::Method::from_bytes(format!("INVENTED{n}X").as_bytes()).unwrap();
            let reply = p.send(0, p.http.request(method, format!("{gw}/v1/stores"))).await;
            assert!(reply.status >= 400, "{}: {}", p.name, reply.status);
        }
        let metrics = p.metrics(gw).await;
        assert!(
            !metrics.contains("INVENTED"),
            "{}: a client's method became a label",
            p.name
        );
        assert!(metrics.contains(r#"method="other""#), "{}", p.name);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_health_is_reported() {
    for p in platforms().await {
        let reply = p.get(0, "/v1/stores/nobody-here/products", None).await;
        assert_eq!(reply.status, 404, "{}", p.name);
        assert!(reply.headers.contains_key("x-request-id"));
        for gw in &p.gateways {
            assert_eq!(
                p.http.get(format!("{gw}/healthz")).send().await.unwrap().status(),
                200
            );
            let ready = p.http.get(format!("{gw}/readyz")).send().await.unwrap();
            let status = ready.status();
            assert_eq!(status, 200, "{}: {}", p.name, ready.text().await.unwrap());
            let metrics = p.metrics(gw).await;
            assert!(metrics.contains("http_requests_total"), "{}", p.name);
        }
        let openapi = p.get(0, "/openapi.json", None).await;
        assert!(openapi.body["paths"]["/v1/stores"].is_object());
        let docs = p
            .http
            .get(format!("{}/docs/", p.gateway(0)))
            .send()
            .await
            .unwrap();
        assert_eq!(docs.status(), 200);
    }
}

/// Internal gRPC trusts the store id it is given, so it must never be reachable from outside.
#[tokio::test]
async fn internal_grpc_is_refused_on_gateways_and_without_the_service_token() {
    use mercato_proto::identity::{GetStoreRequest, get_store_request::Key};
    use mercato_runtime::clients::{balanced_channel, identity::IdentityClient};
    use std::time::Duration;
    for p in platforms().await {
        let (slug, _) = p.provision(0).await;
        let request = || GetStoreRequest {
            key: Some(Key::Slug(slug.clone())),
        };
        let deadline = Duration::from_secs(5);
        let at_gateway = balanced_channel(&[p.gateway(0).to_owned()], deadline).unwrap();
        let client = IdentityClient::remote(at_gateway, deadline, None).unwrap();
        // The wrapped client reports any transport failure as `unavailable`, so the raw status
        // says what happened: the gateway answered with its HTTP 404 problem document, rather
        // than refusing the connection or timing out.
        assert!(client.get_store(request()).await.is_err(), "{}", p.name);
        let channel = balanced_channel(&[p.gateway(0).to_owned()], deadline).unwrap();
        let raw = mercato_proto::identity::identity_client::IdentityClient::new(channel)
            .get_store(request())
            .await
            .unwrap_err();
        let answered = raw.metadata().get("content-type").map(|v| v.as_bytes());
        assert_eq!(
            answered,
            Some(&b"application/problem+json"[..]),
            "{}: a gateway port answers gRPC with its not-found problem: {raw:?}",
            p.name
        );
        if let Some(identity) = &p.identity {
            let channel = balanced_channel(std::slice::from_ref(identity), deadline).unwrap();
            let anonymous = IdentityClient::remote(channel, deadline, None).unwrap();
            let refused = anonymous.get_store(request()).await.unwrap_err();
            assert_eq!(
                refused.code,
                mercato_runtime::error::ErrorCode::Unauthenticated,
                "{}",
                p.name
            );
        }
    }
}

#[tokio::test]
async fn a_client_over_its_allowance_gets_429_with_retry_after() {
    let mut settings = crate::harness::base_settings();
    settings.http.rate_limit_per_second = 5;
    let turn = crate::harness::shared_turn().await;
    let p = crate::harness::embedded_with(settings).await.holding(turn);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let reply = p.get(0, "/v1/stores/nobody/products", None).await;
        statuses.push(reply.status);
        if reply.status == 429 {
            assert_eq!(reply.headers["retry-after"], "1");
            assert_eq!(reply.body["code"], "rate_limited");
        }
    }
    // A window boundary may fall inside the burst, so allow up to two windows' worth.
    let allowed = statuses.iter().filter(|s| **s == 404).count();
    assert!((5..=10).contains(&allowed), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// A new store, its owner's token, and the answer that created its one product, `mug`.
async fn store_with_a_mug(p: &Platform) -> (String, String, Reply) {
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(0, &store, "owner@example.com", "correct horse battery")
        .await;
    let body = json!({"slug": "mug", "title": "Mug",
        "variants": [{"sku": "MUG-1", "title": "One", "price": {"amount_minor": 900, "currency": "EUR"}}]});
    let created = p
        .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &body)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    (store, owner, created)
}

#[tokio::test]
async fn public_reads_carry_an_etag_answer_304_and_change_with_the_product() {
    for p in platforms().await {
        let (store, owner, _) = store_with_a_mug(&p).await;
        let url = format!("{}/v1/stores/{store}/products/mug", p.gateway(0));

        let first = p.send(0, p.http.get(&url)).await;
        assert_eq!(first.status, 200, "{}", p.name);
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(first.headers["cache-control"], "no-cache");
        let again = p.send(0, p.http.get(&url).header("if-none-match", &etag)).await;
        assert_eq!(again.status, 304, "{}: the client's copy is current", p.name);
        assert_eq!(again.headers["etag"].to_str().unwrap(), etag);

        // The gateway that made a change answers with it at once, under a new tag.
        let patch = p
            .send(
                0,
                p.http
                    .patch(format!(
                        "{}/v1/stores/{store}/products/{}",
                        p.gateway(0),
                        first.body["id"].as_str().unwrap()
                    ))
                    .bearer_auth(&owner)
                    .json(&json!({"title": "Big Mug"})),
            )
            .await;
        assert_eq!(patch.status, 200, "{}: {}", p.name, patch.body);
        let changed = p.send(0, p.http.get(&url).header("if-none-match", &etag)).await;
        assert_eq!(changed.status, 200, "{}: the old tag no longer matches", p.name);
        assert_eq!(changed.body["title"], "Big Mug", "{}", p.name);
        assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);
    }
}

#[tokio::test]
async fn an_array_sent_to_patch_a_product_is_a_422_problem_and_changes_nothing() {
    for p in platforms().await {
        let (store, owner, created) = store_with_a_mug(&p).await;
        let id = created.body["id"].as_str().unwrap();
        let url = format!("{}/v1/stores/{store}/products/{id}", p.gateway(1));

        // serde reads a struct from an array field by field: this was a new slug and title.
        let positional = json!(["renamed", "Renamed by position"]);
        let reply = p
            .send(1, p.http.patch(&url).bearer_auth(&owner).json(&positional))
            .await;
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(reply.body["code"], "validation_failed", "{}", p.name);
        for other in [json!(42), json!("Mug"), json!(null)] {
            let reply = p
                .send(1, p.http.patch(&url).bearer_auth(&owner).json(&other))
                .await;
            assert_eq!(reply.status, 422, "{}: {other} {}", p.name, reply.body);
        }

        let after = p.get(0, &format!("/v1/stores/{store}/products/{id}"), None).await;
        assert_eq!(after.body["slug"], "mug", "{}: the product is unchanged", p.name);
        assert_eq!(after.body["title"], "Mug", "{}", p.name);
        assert_eq!(after.body["version"], created.body["version"], "{}", p.name);
    }
}

#[tokio::test]
async fn requests_over_the_edge_limits_or_with_undecodable_paths_get_problem_documents() {
    for p in platforms().await {
        let gw = p.gateway(0);
        let problem = |reply: &crate::harness::Reply, status: u16, code: &str| {
            assert_eq!(reply.status, status, "{}: {}", p.name, reply.body);
            assert_eq!(
                reply.headers["content-type"], "application/problem+json",
                "{}: {status}",
                p.name
            );
            assert_eq!(reply.body["code"], code, "{}: {}", p.name, reply.body);
            assert_eq!(reply.body["status"], status, "{}", p.name);
        };

        // 413: a JSON body, and a body read as bytes (checkout hashes them) alike.
        let huge = json!({"slug": "big", "name": "x".repeat(2 * 1024 * 1024), "currency": "EUR",
                          "owner": {"email": "a@b.co", "password": "long enough password"}});
        problem(
            &p.post(0, "/v1/stores", None, &huge).await,
            413,
            "payload_too_large",
        );
        let raw = p
            .http
            .post(format!("{gw}/v1/stores/any/checkout"))
            .header("idempotency-key", "k-413")
            .header("content-type", "application/json")
            .body(vec![b' '; 2 * 1024 * 1024]);
        problem(&p.send(0, raw).await, 413, "payload_too_large");

        // 414: a request target over 8 KiB.
        let long = format!("/v1/stores/any/search?q={}", "a".repeat(9 * 1024));
        problem(&p.get(0, &long, None).await, 414, "uri_too_long");

        // 431: header fields over 32 KiB, and more than 64 of them.
        let big_header = p
            .http
            .get(format!("{gw}/v1/stores/any"))
            .header("x-padding", "p".repeat(33 * 1024));
        problem(&p.send(0, big_header).await, 431, "headers_too_large");
        let mut many = p.http.get(format!("{gw}/v1/stores/any"));
        for i in 0..70 {
            many = many.header(format!("x-h{i}"), "v");
        }
        problem(&p.send(0, many).await, 431, "headers_too_large");

        // A path segment that does not decode to UTF-8.
        problem(
            &p.get(0, "/v1/stores/%FF%FE/products", None).await,
            400,
            "invalid_request",
        );

        // A method the route does not answer: 405, and Allow still says which do.
        let reply = p.send(0, p.http.delete(format!("{gw}/v1/stores"))).await;
        problem(&reply, 405, "method_not_allowed");
        assert_eq!(reply.headers["allow"], "POST", "{}", p.name);
    }
}

/// What hyper refuses before the gateway's middleware runs — a request line it cannot parse,
/// more than 100 header fields — is a problem document too, sent on the raw connection.
#[tokio::test]
async fn request_heads_hyper_refuses_are_problem_documents() {
    for p in platforms().await {
        let addr = p.gateway(0).trim_start_matches("http://").to_owned();
        let mut many = String::from("GET /v1/stores/any HTTP/1.1\r\nhost: test\r\n");
        for i in 0..101 {
            many.push_str(&format!("x-h{i}: v\r\n"));
        }
        many.push_str("\r\n");
        let cases = [
            (
                b"GET /v1/\xff\xfe HTTP/1.1\r\nhost: test\r\n\r\n".to_vec(),
                400,
                "invalid_request",
            ),
            (many.into_bytes(), 431, "headers_too_large"),
        ];
        for (request, status, code) in cases {
            let addr = addr.clone();
            let response = tokio::task::spawn_blocking(move || {
                use std::io::{Read, Write};
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                stream
                    .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                stream.write_all(&request).unwrap();
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response);
                String::from_utf8(response).unwrap()
            })
            .await
            .unwrap();
            let (head, body) = response.split_once("\r\n\r\n").expect("a whole response");
            let head = head.to_ascii_lowercase();
            assert!(
                head.starts_with(&format!("http/1.1 {status} ")),
                "{}: {head}",
                p.name
            );
            assert!(
                head.contains("\r\ncontent-type: application/problem+json"),
                "{}: {head}",
                p.name
            );
            assert!(head.contains("\r\nconnection: close"), "{}: {head}", p.name);
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["status"], status, "{}: {body}", p.name);
            assert_eq!(body["code"], code, "{}: {body}", p.name);
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_shopper_and_each_signed_in_caller_has_its_own_allowance() {
    let mut settings = crate::harness::base_settings();
    settings.http.rate_limit_per_second = 5;
    // The test client is the proxy: every request reaches the gateway from 127.0.0.1.
    settings.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let turn = crate::harness::shared_turn().await;
    let p = crate::harness::embedded_with(settings).await.holding(turn);
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(0, &store, "owner@example.com", "correct horse battery")
        .await;
    // Uncached answers: a current cached read is served before any limit is counted.
    let url = format!("{}/v1/stores/nobody/products", p.gateway(0));
    let orders = format!("{}/v1/stores/{store}/orders", p.gateway(0));
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Many shoppers behind one proxy (a NAT, a CDN): the proxy names each, and each is its own.
    for shopper in 1..=12 {
        let forwarded = p
            .http
            .get(&url)
            .header("x-forwarded-for", format!("198.51.100.{shopper}"));
        let reply = p.send(0, forwarded).await;
        assert_eq!(reply.status, 404, "shopper {shopper}: {}", reply.body);
    }
    // One shopper sending too fast is still limited. Each burst is sent at once, so that it
    // falls in one or two one-second windows however slow the machine.
    let one_shopper = statuses(
        &p,
        (0..12).map(|_| p.http.get(&url).header("x-forwarded-for", "198.51.100.200")),
    )
    .await;
    assert!(one_shopper.contains(&429), "{one_shopper:?}");

    // A signed-in caller is counted by its subject, wherever it comes from.
    let signed_in = statuses(
        &p,
        (0..12).map(|n| {
            p.http
                .get(&orders)
                .bearer_auth(&owner)
                .header("x-forwarded-for", format!("203.0.113.{n}"))
        }),
    )
    .await;
    assert!(signed_in.contains(&429), "{signed_in:?}");
    let someone_else = p.http.get(&url).header("x-forwarded-for", "203.0.113.99");
    assert_eq!(p.send(0, someone_else).await.status, 404);
}

/// The statuses of `requests`, all sent at once.
async fn statuses(p: &Platform, requests: impl Iterator<Item = reqwest::RequestBuilder>) -> Vec<u16> {
    let replies = futures::future::join_all(requests.map(|r| p.send(0, r))).await;
    replies.iter().map(|r| r.status).collect()
}
