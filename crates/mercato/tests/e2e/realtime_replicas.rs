//! Real-time across replicas and through failures: fan-out between two realtime replicas,
//! resuming after a replica crashes, and no loss, duplicates or reordering under reconnect
//! churn.

use crate::harness::{Platform, base_settings, embedded_killable, platforms};
use crate::realtime::{messages, seqs};
use crate::ws::{Closed, Ws};
use serde_json::{Value, json};
use std::time::Duration;

/// A store with its owner signed in and one customer; (slug, owner token, customer token).
async fn store_with_customer(p: &Platform) -> (String, String, String) {
    let (slug, _, owner, customer, _) = crate::realtime::store_with_customer(p).await;
    (slug, owner, customer)
}

/// The seqs of the next `n` messages, ignoring read markers and typing.
async fn next_seqs(ws: &mut Ws, n: usize) -> Vec<i64> {
    seqs(&messages(ws, n).await)
}

async fn subscribe(ws: &mut Ws, channel: &str, after_seq: Option<i64>) -> Value {
    let mut frame = json!({"type": "subscribe", "channel": channel});
    if let Some(s) = after_seq {
        frame["after_seq"] = json!(s);
    }
    let r = ws.request(frame).await;
    assert_eq!(r["type"], "subscribed", "{r}");
    r
}

#[tokio::test]
async fn a_message_published_on_one_replica_reaches_subscribers_on_the_other_and_resumes_after_a_crash() {
    for p in platforms().await.into_iter().filter(|p| p.realtime.len() == 2) {
        let (slug, owner, customer) = store_with_customer(&p).await;
        let id = p.conversation(&slug, &customer).await;
        let channel = format!("conversation:{id}");
        // Connected straight to different replicas: no luck in where a client lands.
        let mut on_first = p.ws_direct(0, Some(&customer)).await;
        let mut on_second = p.ws_direct(1, Some(&owner)).await;
        subscribe(&mut on_first, &channel, None).await;
        subscribe(&mut on_second, &channel, None).await;
        for i in 1..=10 {
            on_first
                .request(json!({"type": "publish", "channel": channel, "client_msg_id": format!("a{i}"), "body": "x"}))
                .await;
        }
        assert_eq!(next_seqs(&mut on_second, 10).await, (1..=10).collect::<Vec<_>>());
        on_second
            .request(json!({"type": "publish", "channel": channel, "client_msg_id": "b1", "body": "back"}))
            .await;
        let mut seen = next_seqs(&mut on_first, 11).await;
        seen.dedup();
        assert_eq!(seen, (1..=11).collect::<Vec<_>>());

        // Events from other services reach both replicas too: a stock change through a gateway.
        let store_id = p.get(0, &format!("/v1/stores/{slug}"), None).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let stock = format!("stock:{store_id}:TEE-1");
        subscribe(&mut on_first, &stock, None).await;
        subscribe(&mut on_second, &stock, None).await;
        let set = p
            .send(
                0,
                p.http
                    .put(format!("{}/v1/stores/{slug}/inventory/TEE-1", p.gateway(0)))
                    .bearer_auth(&owner)
                    .json(&json!({"on_hand": 7})),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        for ws in [&mut on_first, &mut on_second] {
            let (event, _) = ws.recv_kind("event").await;
            assert_eq!(event["data"]["available"], 7, "{event}");
        }

        // The customer's last message is acknowledged, then replica 1 crashes: its clients lose
        // their connection without a word, and its outbox may not have relayed the message.
        // (A graceful stop says `reconnect` and closes with 1012; the realtime crate tests that.)
        let last = on_first
            .request(
                json!({"type": "publish", "channel": channel, "client_msg_id": "a-last", "body": "acked"}),
            )
            .await;
        assert_eq!(last["seq"], 12, "{last}");
        p.realtime[0].1.kill();
        assert_eq!(on_first.closed().await, Closed::Dropped);
        // Replica 2 carries on; the acknowledged message reaches its subscriber in order (live,
        // or from history once the next message shows the gap).
        for i in 2..=4 {
            on_second
                .request(json!({"type": "publish", "channel": channel, "client_msg_id": format!("b{i}"), "body": "y"}))
                .await;
        }
        assert_eq!(next_seqs(&mut on_second, 4).await, vec![12, 13, 14, 15]);
        // The customer reconnects through a gateway (which skips the dead replica) and
        // resumes from the last seq it had: it gets exactly what it missed, in order.
        let mut resumed = p.ws(0, Some(&customer)).await;
        let sub = subscribe(&mut resumed, &channel, Some(11)).await;
        assert_eq!(sub["last_seq"], 15);
        assert_eq!(next_seqs(&mut resumed, 4).await, vec![12, 13, 14, 15]);
        assert!(resumed.quiet(Duration::from_millis(300)).await);
        // The crashed replica's relay never ran again; replica 2's relay published its event
        // later, and that late copy was dropped as a repeat.
        assert!(
            on_second.quiet(Duration::from_millis(1200)).await,
            "a repeat was delivered"
        );
    }
}

#[tokio::test]
async fn reconnect_churn_loses_nothing_and_repeats_nothing() {
    for p in platforms().await {
        let (slug, owner, customer) = store_with_customer(&p).await;
        let id = p.conversation(&slug, &customer).await;
        let channel = format!("conversation:{id}");
        const TOTAL: i64 = 120;
        // The store writes steadily over REST (through both gateways) while the customer's
        // connection is dropped and reopened again and again.
        let writer = {
            let (http, gateways, slug, id, owner) = (
                p.http.clone(),
                p.gateways.clone(),
                slug.clone(),
                id.clone(),
                owner.clone(),
            );
            tokio::spawn(async move {
                for i in 1..=TOTAL {
                    let url = format!(
                        "{}/v1/stores/{slug}/conversations/{id}/messages",
                        gateways[i as usize % gateways.len()]
                    );
                    let body = json!({"client_msg_id": format!("w{i}"), "body": format!("n{i}")});
                    let r = http
                        .post(url)
                        .bearer_auth(&owner)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 201);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let mut received: Vec<i64> = Vec::new();
        let mut round = 0;
        while received.last().copied().unwrap_or(0) < TOTAL {
            round += 1;
            let mut ws = p.ws(round, Some(&customer)).await;
            let after = received.last().copied().unwrap_or(0);
            subscribe(&mut ws, &channel, Some(after)).await;
            // Take a few messages, then vanish without a goodbye (or with one, alternately).
            for _ in 0..(7 + round % 5) {
                if received.last().copied().unwrap_or(0) >= TOTAL {
                    break;
                }
                let (f, _) = ws.recv_kind("message").await;
                received.push(f["seq"].as_i64().unwrap());
            }
            if round % 2 == 0 {
                ws.abandon();
            } else {
                drop(ws);
            }
        }
        writer.await.unwrap();
        assert_eq!(
            received,
            (1..=TOTAL).collect::<Vec<_>>(),
            "{}: after {round} reconnects",
            p.name
        );
    }
}

#[tokio::test]
async fn after_the_embedded_process_crashes_and_restarts_members_resume_exactly() {
    let settings = base_settings();
    let (p, killable) = embedded_killable(settings.clone()).await;
    let (slug, owner, customer) = store_with_customer(&p).await;
    let id = p.conversation(&slug, &customer).await;
    let channel = format!("conversation:{id}");
    let mut staff = p.ws(0, Some(&owner)).await;
    subscribe(&mut staff, &channel, None).await;
    let mut ann = p.ws(0, Some(&customer)).await;
    for i in 1..=3 {
        ann.request(
            json!({"type": "publish", "channel": channel, "client_msg_id": format!("m{i}"), "body": "x"}),
        )
        .await;
    }
    assert_eq!(next_seqs(&mut staff, 3).await, vec![1, 2, 3]);
    drop(staff);
    for i in 4..=5 {
        let r = ann
            .request(
                json!({"type": "publish", "channel": channel, "client_msg_id": format!("m{i}"), "body": "y"}),
            )
            .await;
        assert_eq!(r["seq"], i);
    }
    killable.kill();
    assert_eq!(ann.closed().await, Closed::Dropped);
    drop(p);

    // The same data directory, a new process: what was acknowledged is there, in order.
    let (p, killable) = embedded_killable(settings).await;
    let mut staff = p.ws(0, Some(&owner)).await;
    let sub = subscribe(&mut staff, &channel, Some(3)).await;
    assert_eq!(sub["last_seq"], 5);
    assert_eq!(next_seqs(&mut staff, 2).await, vec![4, 5]);
    // A resend of an acknowledged message after the crash is recognised as one.
    let mut ann = p.ws(0, Some(&customer)).await;
    let again = ann
        .request(json!({"type": "publish", "channel": channel, "client_msg_id": "m5", "body": "y"}))
        .await;
    assert_eq!(
        (again["seq"].as_i64(), again["duplicate"].as_bool()),
        (Some(5), Some(true))
    );
    assert!(staff.quiet(Duration::from_millis(300)).await);
    killable.kill();
}

#[tokio::test]
async fn a_stopping_gateway_tells_relayed_clients_to_reconnect() {
    for p in platforms()
        .await
        .into_iter()
        .filter(|p| p.gateway_stops.len() == 2)
    {
        let (slug, owner, customer) = store_with_customer(&p).await;
        let id = p.conversation(&slug, &customer).await;
        let channel = format!("conversation:{id}");
        let mut staff = p.ws(1, Some(&owner)).await;
        subscribe(&mut staff, &channel, None).await;
        p.gateway_stops[1].cancel();
        let (reconnect, _) = staff.recv_kind("reconnect").await;
        assert_eq!(reconnect["reason"], "server restart");
        assert_eq!(staff.closed().await, Closed::Code(1012));
        // The other gateway serves the reconnecting client.
        let mut staff = p.ws(0, Some(&owner)).await;
        subscribe(&mut staff, &channel, Some(0)).await;
    }
}
