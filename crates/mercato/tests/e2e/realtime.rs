//! Real-time scenarios in both topologies: conversations in order with history and resume, the
//! authorization matrix, order and stock pushes, presence, and malformed frames.

use crate::harness::{Platform, platforms};
use crate::ws::Ws;
use serde_json::{Value, json};
use std::time::Duration;

/// A store with its owner signed in and one customer; (slug, store id, owner token, customer token, customer id).
pub(crate) async fn store_with_customer(p: &Platform) -> (String, String, String, String, String) {
    let (slug, provisioned) = p.provision(0).await;
    let store_id = provisioned["store"]["id"].as_str().unwrap().to_owned();
    let (owner, _) = p
        .sign_in(0, &slug, "owner@example.com", "correct horse battery")
        .await;
    let (customer, customer_id) = p.customer(&slug, "ann").await;
    (slug, store_id, owner, customer, customer_id)
}

/// Publishes a message and returns its `published` reply.
async fn publish(ws: &mut Ws, channel: &str, client_msg_id: &str, body: &str) -> Value {
    ws.request(json!({"type": "publish", "channel": channel, "client_msg_id": client_msg_id, "body": body}))
        .await
}

/// The next `n` message frames on a connection, failing on anything else.
pub(crate) async fn messages(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let f = ws.recv().await;
        match f["type"].as_str() {
            Some("message") => out.push(f),
            // Read markers and typing may interleave; they are not messages.
            Some("read" | "typing") => {}
            _ => panic!("unexpected frame {f}"),
        }
    }
    out
}

pub(crate) fn seqs(frames: &[Value]) -> Vec<i64> {
    frames.iter().map(|f| f["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn conversation_messages_arrive_in_order_once_with_history_and_resume() {
    for p in platforms().await {
        let (slug, _, owner, customer, _) = store_with_customer(&p).await;
        let id = p.conversation(&slug, &customer).await;
        let channel = format!("conversation:{id}");
        let mut ann = p.ws(0, Some(&customer)).await;
        let mut staff = p.ws(1, Some(&owner)).await;
        for ws in [&mut ann, &mut staff] {
            let sub = ws.request(json!({"type": "subscribe", "channel": channel})).await;
            assert_eq!(sub["type"], "subscribed", "{}: {sub}", p.name);
            assert_eq!(sub["last_seq"], 0);
        }
        for i in 1..=20 {
            let r = publish(&mut ann, &channel, &format!("m{i}"), &format!("hello {i}")).await;
            assert_eq!(r["type"], "published", "{}: {r}", p.name);
            assert_eq!(r["seq"], i);
        }
        // A resend is acknowledged with the first message and delivered to nobody.
        let again = publish(&mut ann, &channel, "m3", "hello 3").await;
        assert_eq!(
            (again["seq"].as_i64(), again["duplicate"].as_bool()),
            (Some(3), Some(true))
        );
        let got = messages(&mut staff, 20).await;
        assert_eq!(seqs(&got), (1..=20).collect::<Vec<_>>(), "{}", p.name);
        assert_eq!(got[4]["body"], "hello 5");
        assert!(
            staff.quiet(Duration::from_millis(300)).await,
            "{}: a duplicate was delivered",
            p.name
        );
        // The author sees its own messages too, in the same order.
        assert_eq!(seqs(&messages(&mut ann, 20).await), (1..=20).collect::<Vec<_>>());

        // Staff goes offline; the customer writes on; staff resumes from its last seq.
        drop(staff);
        for i in 21..=25 {
            publish(&mut ann, &channel, &format!("m{i}"), "while you were away").await;
        }
        let mut staff = p.ws(0, Some(&owner)).await;
        let sub = staff
            .request(json!({"type": "subscribe", "channel": channel, "after_seq": 20}))
            .await;
        assert_eq!(
            (sub["last_seq"].as_i64(), sub["from_seq"].as_i64()),
            (Some(25), Some(20))
        );
        assert_eq!(
            seqs(&messages(&mut staff, 5).await),
            (21..=25).collect::<Vec<_>>(),
            "{}",
            p.name
        );

        // Read markers: staff reads up to 25; the customer's connection is told.
        let acked = staff
            .request(json!({"type": "ack", "channel": channel, "seq": 25}))
            .await;
        assert_eq!(acked["read_seq"], 25, "{}: {acked}", p.name);
        let (read, _) = ann.recv_kind("read").await;
        assert_eq!(read["seq"], 25);
        // Without after_seq a member resumes from its read marker: nothing is unread for staff.
        let mut staff2 = p.ws(1, Some(&owner)).await;
        let sub = staff2
            .request(json!({"type": "subscribe", "channel": channel}))
            .await;
        assert_eq!(sub["from_seq"], 25, "{}: {sub}", p.name);
        assert!(staff2.quiet(Duration::from_millis(300)).await);

        // History over REST pages through the same messages, in order.
        let mut after = 0;
        let mut all = Vec::new();
        loop {
            let page = p
                .get(
                    1,
                    &format!("/v1/stores/{slug}/conversations/{id}/messages?after_seq={after}&limit=7"),
                    Some(&owner),
                )
                .await;
            assert_eq!(page.status, 200, "{}: {}", p.name, page.body);
            let items = page.body["items"].as_array().unwrap().clone();
            after = items.last().map_or(after, |m| m["seq"].as_i64().unwrap());
            all.extend(items);
            if !page.body["has_more"].as_bool().unwrap() {
                break;
            }
        }
        assert_eq!(seqs(&all), (1..=25).collect::<Vec<_>>(), "{}", p.name);
        let listed = p
            .get(0, &format!("/v1/stores/{slug}/conversations"), Some(&customer))
            .await;
        assert_eq!(
            listed.body["items"][0]["last_seq"], 25,
            "{}: {}",
            p.name, listed.body
        );
    }
}

#[tokio::test]
async fn nobody_sees_a_channel_that_is_not_theirs_and_bad_frames_change_nothing() {
    for p in platforms().await {
        let (slug, store_id, owner, ann, ann_id) = store_with_customer(&p).await;
        let (bob, bob_id) = p.customer(&slug, "bob").await;
        let (other_slug, _) = p.provision(1).await;
        let (other_owner, _) = p
            .sign_in(0, &other_slug, "owner@example.com", "correct horse battery")
            .await;
        let id = p.conversation(&slug, &ann).await;
        let conversation = format!("conversation:{id}");

        let mut bob_ws = p.ws(0, Some(&bob)).await;
        let mut other_ws = p.ws(1, Some(&other_owner)).await;
        let mut anon = p.ws(0, None).await;
        let denied = [
            (0, conversation.clone()),
            (0, format!("orders:{store_id}:{ann_id}")),
            (0, format!("staff:{store_id}")),
            (1, conversation.clone()),
            (1, format!("staff:{store_id}")),
            (1, format!("presence:{store_id}")),
            (2, conversation.clone()),
            (2, format!("orders:{store_id}:{bob_id}")),
            (2, format!("staff:{store_id}")),
        ];
        for (who, channel) in denied {
            let ws = match who {
                0 => &mut bob_ws,
                1 => &mut other_ws,
                _ => &mut anon,
            };
            let r = ws.request(json!({"type": "subscribe", "channel": channel})).await;
            assert_eq!(
                (r["type"].as_str(), r["code"].as_str()),
                (Some("error"), Some("forbidden")),
                "{}: {channel}: {r}",
                p.name
            );
        }
        // A conversation that does not exist reads exactly like one that is not yours.
        let missing = bob_ws
            .request(
                json!({"type": "subscribe", "channel": "conversation:0190c0de-0000-7000-8000-000000000000"}),
            )
            .await;
        assert_eq!(missing["code"], "forbidden");
        let foreign = bob_ws
            .request(json!({"type": "publish", "channel": conversation, "client_msg_id": "x1", "body": "hi"}))
            .await;
        assert_eq!(foreign["code"], "forbidden", "{}: {foreign}", p.name);
        // Other stores' staff cannot read the history either, nor other customers.
        for token in [&bob, &other_owner] {
            let r = p
                .get(
                    0,
                    &format!("/v1/stores/{slug}/conversations/{id}/messages"),
                    Some(token),
                )
                .await;
            assert_eq!(r.status, 404, "{}: {}", p.name, r.body);
        }
        let staff_open = p
            .post(
                0,
                &format!("/v1/stores/{slug}/conversations"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(staff_open.status, 403, "{}: {}", p.name, staff_open.body);

        // Public stock is open to anyone; own channels to their owner.
        let ok = anon
            .request(json!({"type": "subscribe", "channel": format!("stock:{store_id}:TEE-1")}))
            .await;
        assert_eq!(ok["type"], "subscribed", "{}: {ok}", p.name);
        let ok = bob_ws
            .request(json!({"type": "subscribe", "channel": format!("orders:{store_id}:{bob_id}")}))
            .await;
        assert_eq!(ok["type"], "subscribed");

        // Malformed frames get error frames; the connection lives on and nothing was stored.
        for bad in [
            "not json",
            "{\"type\":\"explode\"}",
            "{\"type\":\"subscribe\"}",
            "[]",
            "{\"type\":\"ping\",\"x\":1}",
        ] {
            anon.send_raw(bad.to_owned()).await;
            let e = anon.recv().await;
            assert_eq!(
                (e["type"].as_str(), e["code"].as_str()),
                (Some("error"), Some("invalid_frame")),
                "{bad}: {e}"
            );
        }
        let r = anon
            .request(json!({"type": "subscribe", "channel": "nonsense"}))
            .await;
        assert_eq!(r["code"], "invalid_channel");
        let empty = bob_ws
            .request(
                json!({"type": "publish", "channel": conversation, "client_msg_id": "bad id!", "body": ""}),
            )
            .await;
        assert_eq!(empty["type"], "error");
        let pong = anon.request(json!({"type": "ping"})).await;
        assert_eq!(pong["type"], "pong");
        let history = p
            .get(
                0,
                &format!("/v1/stores/{slug}/conversations/{id}/messages"),
                Some(&ann),
            )
            .await;
        assert_eq!(history.body["last_seq"], 0, "{}: {}", p.name, history.body);

        // A protocol version this server does not speak is refused with a clear close.
        let mut future = p.ws(0, None).await;
        future.send(json!({"type": "connect", "v": 2})).await;
        assert_eq!(future.recv().await["code"], "unsupported_version");
        assert_eq!(future.closed().await, crate::ws::Closed::Code(4000));
        // A forged token is refused.
        let mut forged = p.ws(1, None).await;
        forged
            .send(json!({"type": "connect", "token": "e30.e30.e30"}))
            .await;
        assert_eq!(forged.recv().await["code"], "unauthenticated");
        assert_eq!(forged.closed().await, crate::ws::Closed::Code(4001));
    }
}

#[tokio::test]
async fn staff_presence_is_shared_and_expires_with_the_connection() {
    for p in platforms().await {
        let (slug, store_id, owner, ann, _) = store_with_customer(&p).await;
        let mut watcher = p.ws(0, Some(&ann)).await;
        let sub = watcher
            .request(json!({"type": "subscribe", "channel": format!("presence:{store_id}")}))
            .await;
        assert_eq!(sub["type"], "subscribed");
        let mut staff = p.ws(1, Some(&owner)).await;
        let (online, _) = watcher.recv_kind("presence").await;
        assert_eq!(online["status"], "online", "{}: {online}", p.name);
        let listed = p.get(0, &format!("/v1/stores/{slug}/presence"), Some(&ann)).await;
        assert_eq!(
            listed.body["staff"][0]["status"], "online",
            "{}: {}",
            p.name, listed.body
        );

        let away = staff.request(json!({"type": "presence", "status": "away"})).await;
        assert_eq!(away["type"], "presence_set");
        let (frame, _) = watcher.recv_kind("presence").await;
        assert_eq!(frame["status"], "away");
        let refused = watcher
            .request(json!({"type": "presence", "status": "online"}))
            .await;
        assert_eq!(refused["code"], "forbidden", "customers have no presence");

        drop(staff);
        let (gone, _) = watcher.recv_kind("presence").await;
        assert_eq!(gone["status"], "offline", "{}: {gone}", p.name);
        let listed = p.get(0, &format!("/v1/stores/{slug}/presence"), Some(&ann)).await;
        assert_eq!(listed.body["staff"], json!([]), "{}: {}", p.name, listed.body);
    }
}

#[tokio::test]
async fn typing_reaches_the_other_member_and_not_outsiders() {
    for p in platforms().await {
        let (slug, _, owner, ann, _) = store_with_customer(&p).await;
        let id = p.conversation(&slug, &ann).await;
        let channel = format!("conversation:{id}");
        let mut customer = p.ws(0, Some(&ann)).await;
        let mut staff = p.ws(1, Some(&owner)).await;
        for ws in [&mut customer, &mut staff] {
            ws.request(json!({"type": "subscribe", "channel": channel})).await;
        }
        customer.send(json!({"type": "typing", "channel": channel})).await;
        let (typing, _) = staff.recv_kind("typing").await;
        assert_eq!(typing["role"], "customer", "{}: {typing}", p.name);
        let mut outsider = p.ws(0, None).await;
        outsider.send(json!({"type": "typing", "channel": channel})).await;
        assert_eq!(outsider.recv().await["code"], "not_subscribed");
    }
}

#[tokio::test]
async fn a_checkout_is_pushed_to_its_customer_and_to_the_staff_feed_and_stock_watchers() {
    for p in platforms().await {
        let (slug, store_id, owner, ann, ann_id) = store_with_customer(&p).await;
        let sku = "TEE-1";
        let product = json!({"slug": "tee", "title": "Tee", "variants": [
            {"sku": sku, "price": {"amount_minor": 1500, "currency": "EUR"}}]});
        let created = p
            .post(0, &format!("/v1/stores/{slug}/products"), Some(&owner), &product)
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let mut customer = p.ws(0, Some(&ann)).await;
        let mut staff = p.ws(1, Some(&owner)).await;
        let mut shopper = p.ws(0, None).await;
        customer
            .request(json!({"type": "subscribe", "channel": format!("orders:{store_id}:{ann_id}")}))
            .await;
        staff
            .request(json!({"type": "subscribe", "channel": format!("staff:{store_id}")}))
            .await;
        shopper
            .request(json!({"type": "subscribe", "channel": format!("stock:{store_id}:{sku}")}))
            .await;
        let stocked = p
            .send(
                0,
                p.http
                    .put(format!("{}/v1/stores/{slug}/inventory/{sku}", p.gateway(0)))
                    .bearer_auth(&owner)
                    .json(&json!({"on_hand": 3, "low_stock_threshold": 2})),
            )
            .await;
        assert_eq!(stocked.status, 200, "{}: {}", p.name, stocked.body);
        let (level, _) = shopper.recv_kind("event").await;
        assert_eq!(
            (level["event"].as_str(), level["data"]["available"].as_i64()),
            (Some("stock.changed"), Some(3))
        );
        assert!(
            level["data"].get("on_hand").is_none(),
            "public pushes show availability only"
        );

        // Ann buys two: her channel and the staff feed hear of it; the stock watcher sees 1 left.
        let cart = p
            .post(0, &format!("/v1/stores/{slug}/carts"), Some(&ann), &json!({}))
            .await;
        let cart_id = cart.body["id"].as_str().unwrap().to_owned();
        let started = std::time::Instant::now();
        while p
            .post(
                0,
                &format!("/v1/stores/{slug}/carts/{cart_id}/items"),
                Some(&ann),
                &json!({"sku": sku, "quantity": 2}),
            )
            .await
            .status
            != 200
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{}: the cart never took the SKU",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let method = crate::checkout::payment_method(&p, 0, &slug, "4242424242424242").await;
        let body = crate::harness::checkout_body(&cart_id, &method);
        let order = p
            .post_keyed(1, &format!("/v1/stores/{slug}/checkout"), &ann, "rt-1", &body)
            .await;
        assert_eq!(order.status, 201, "{}: {}", p.name, order.body);
        let order_id = order.body["id"].as_str().unwrap();

        let mut mine = Vec::new();
        while !mine.contains(&"order.confirmed".to_owned()) {
            let (e, _) = customer.recv_kind("event").await;
            assert_eq!(
                e["data"]["order_id"], order_id,
                "{}: another order on Ann's channel",
                p.name
            );
            mine.push(e["event"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            mine.first().map(String::as_str),
            Some("order.placed"),
            "{}: {mine:?}",
            p.name
        );
        let mut feed = Vec::new();
        while !(feed.contains(&"order.confirmed".to_owned()) && feed.contains(&"stock.low".to_owned())) {
            let (e, _) = staff.recv_kind("event").await;
            feed.push(e["event"].as_str().unwrap().to_owned());
        }
        loop {
            let (e, _) = shopper.recv_kind("event").await;
            if e["data"]["available"] == 1 {
                break;
            }
        }

        // A declined card is a payment problem on the staff feed (and never on Ann's channel as
        // someone else's order).
        let cart = p
            .post(0, &format!("/v1/stores/{slug}/carts"), Some(&ann), &json!({}))
            .await;
        let cart_id = cart.body["id"].as_str().unwrap().to_owned();
        p.post(
            0,
            &format!("/v1/stores/{slug}/carts/{cart_id}/items"),
            Some(&ann),
            &json!({"sku": sku, "quantity": 1}),
        )
        .await;
        let method = crate::checkout::payment_method(&p, 0, &slug, "4000000000000002").await;
        let body = crate::harness::checkout_body(&cart_id, &method);
        let declined = p
            .post_keyed(0, &format!("/v1/stores/{slug}/checkout"), &ann, "rt-2", &body)
            .await;
        assert_eq!(declined.status, 402, "{}: {}", p.name, declined.body);
        loop {
            let (e, _) = staff.recv_kind("event").await;
            if e["event"] == "payment.declined" {
                assert_eq!(e["data"]["card_last4"], "0002");
                break;
            }
        }
    }
}

#[tokio::test]
async fn a_bearer_token_on_the_upgrade_authenticates_and_a_bad_one_is_401() {
    for p in platforms().await {
        let (_, store_id, _, ann, ann_id) = store_with_customer(&p).await;
        for n in 0..p.gateways.len() {
            let mut ws = Ws::open_with_bearer(p.gateway(n), &ann).await;
            assert_eq!(
                ws.connected["user_id"],
                ann_id.as_str(),
                "{}: {}",
                p.name,
                ws.connected
            );
            let sub = ws
                .request(json!({"type": "subscribe", "channel": format!("orders:{store_id}:{ann_id}")}))
                .await;
            assert_eq!(sub["type"], "subscribed", "{}: {sub}", p.name);
        }
        let url = format!("{}/v1/realtime", p.gateway(0).replacen("http", "ws", 1));
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
        request
            .headers_mut()
            .insert("authorization", "Bearer not-a-token".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status().as_u16(), 401, "{}", p.name)
            }
            other => panic!("{}: expected 401, got {:?}", p.name, other.map(|_| ())),
        }
    }
}
