//! Who may reach a store's webhooks, delivery log, e-mail templates and e-mail preferences, in
//! both topologies: the owner only for webhooks and templates (staff and customers 403, no token
//! 401, another store's owner 404 — on that store's own paths too, with this store's ids), any
//! member for their own preferences (a customer cannot opt in to staff mail), and a secret only
//! in the answer that made it.

use crate::harness::{Platform, Reply, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

/// The people of a store and of another one.
struct People {
    store: String,
    owner: String,
    staff: String,
    customer: String,
    other_store: String,
    stranger: String,
}

async fn people(p: &Platform) -> People {
    let (store, _) = p.provision(0).await;
    let (owner, _) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
    let staff = json!({"email": "sam@example.com", "password": PASSWORD});
    let made = p
        .post(0, &format!("/v1/stores/{store}/staff"), Some(&owner), &staff)
        .await;
    assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
    let (staff, _) = p.sign_in(0, &store, "sam@example.com", PASSWORD).await;
    let customer = json!({"email": "ann@example.com", "password": PASSWORD});
    let registered = p
        .post(0, &format!("/v1/stores/{store}/customers"), None, &customer)
        .await;
    assert_eq!(registered.status, 201, "{}: {}", p.name, registered.body);
    let (customer, _) = p.sign_in(0, &store, "ann@example.com", PASSWORD).await;
    let (other_store, _) = p.provision(0).await;
    let (stranger, _) = p.sign_in(0, &other_store, "owner@example.com", PASSWORD).await;
    People {
        store,
        owner,
        staff,
        customer,
        other_store,
        stranger,
    }
}

async fn call(p: &Platform, method: &str, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let url = format!("{}{path}", p.gateway(0));
    let mut request = match method {
        "GET" => p.http.get(url),
        "POST" => p.http.post(url).json(body),
        "PUT" => p.http.put(url).json(body),
        "PATCH" => p.http.patch(url).json(body),
        "DELETE" => p.http.delete(url),
        other => panic!("no method {other}"),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    p.send(0, request).await
}

/// The owner-only routes of `store`, with the ids of one endpoint and one delivery.
fn owner_routes(store: &str, endpoint: &str, delivery: &str) -> Vec<(&'static str, String, Value)> {
    let hook = format!("/v1/stores/{store}/webhooks");
    let delivery_path = format!("/v1/stores/{store}/webhook-deliveries/{delivery}");
    let template = format!("/v1/stores/{store}/email-templates/order_confirmed");
    let body = json!({"subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"});
    vec![
        ("GET", hook.clone(), Value::Null),
        (
            "POST",
            hook.clone(),
            json!({"url": "https://hooks.example.com/x", "event_types": ["*"]}),
        ),
        ("GET", format!("{hook}/{endpoint}"), Value::Null),
        (
            "PATCH",
            format!("{hook}/{endpoint}"),
            json!({"description": "changed"}),
        ),
        ("POST", format!("{hook}/{endpoint}/rotate-secret"), json!({})),
        ("POST", format!("{hook}/{endpoint}/test"), json!({})),
        ("GET", format!("{hook}/{endpoint}/deliveries"), Value::Null),
        ("GET", delivery_path.clone(), Value::Null),
        ("POST", format!("{delivery_path}/redeliver"), json!({})),
        ("DELETE", format!("{hook}/{endpoint}"), Value::Null),
        ("GET", format!("/v1/stores/{store}/email-templates"), Value::Null),
        ("GET", template.clone(), Value::Null),
        ("PUT", template.clone(), body.clone()),
        ("POST", format!("{template}/preview"), body),
        ("DELETE", template, Value::Null),
    ]
}

#[tokio::test]
async fn only_the_owner_reaches_webhooks_and_templates_and_other_stores_see_nothing() {
    for p in platforms().await {
        let who = people(&p).await;
        let store = who.store.as_str();
        let created = call(
            &p,
            "POST",
            &format!("/v1/stores/{store}/webhooks"),
            Some(&who.owner),
            &json!({"url": "https://hooks.example.com/mercato", "event_types": ["order.confirmed"]}),
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let secret = created.body["secret"]
            .as_str()
            .expect("the secret, once")
            .to_owned();
        let endpoint = created.body["webhook"]["id"].as_str().expect("an id").to_owned();
        let test = call(
            &p,
            "POST",
            &format!("/v1/stores/{store}/webhooks/{endpoint}/test"),
            Some(&who.owner),
            &json!({}),
        )
        .await;
        assert!(test.status < 300, "{}: {}", p.name, test.body);
        let delivery = test.body["id"].as_str().expect("a delivery id").to_owned();

        for (method, path, body) in owner_routes(store, &endpoint, &delivery) {
            let staff = call(&p, method, &path, Some(&who.staff), &body).await;
            assert_eq!(staff.status, 403, "{}: staff {method} {path}", p.name);
            let customer = call(&p, method, &path, Some(&who.customer), &body).await;
            assert_eq!(customer.status, 403, "{}: customer {method} {path}", p.name);
            let anonymous = call(&p, method, &path, None, &body).await;
            assert_eq!(anonymous.status, 401, "{}: no token {method} {path}", p.name);
            let stranger = call(&p, method, &path, Some(&who.stranger), &body).await;
            assert_eq!(
                stranger.status, 404,
                "{}: another store's owner {method} {path}",
                p.name
            );
        }
        // Another store's owner on their own store's paths, with this store's ids.
        for (method, path, body) in owner_routes(&who.other_store, &endpoint, &delivery) {
            let by_id = path.contains(&endpoint) || path.contains(&delivery);
            if !by_id {
                continue;
            }
            let reply = call(&p, method, &path, Some(&who.stranger), &body).await;
            assert_eq!(reply.status, 404, "{}: {method} {path}: {}", p.name, reply.body);
        }

        for path in [
            format!("/v1/stores/{store}/webhooks"),
            format!("/v1/stores/{store}/webhooks/{endpoint}"),
        ] {
            let reply = call(&p, "GET", &path, Some(&who.owner), &Value::Null).await;
            assert_eq!(reply.status, 200, "{}: {path}", p.name);
            let text = reply.body.to_string();
            assert!(!text.contains(&secret), "{}: {path} shows the secret", p.name);
            assert!(!text.contains("\"secret\""), "{}: {path}: {text}", p.name);
        }
    }
}

/// Sets `body` as the caller's preferences, waiting while the notifications service has not yet
/// learnt of the account (it learns from identity's events: 503 until then).
async fn set_preferences(p: &Platform, store: &str, token: &str, body: &Value) -> Reply {
    let path = format!("/v1/stores/{store}/me/email-preferences");
    let started = Instant::now();
    loop {
        let reply = call(p, "PUT", &path, Some(token), body).await;
        if reply.status != 503 || started.elapsed() > Duration::from_secs(20) {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn members_set_their_own_preferences_and_customers_cannot_opt_in_to_staff_mail() {
    for p in platforms().await {
        let who = people(&p).await;
        let store = who.store.as_str();
        let opted = set_preferences(&p, store, &who.staff, &json!({"new_orders": true})).await;
        assert_eq!(opted.status, 200, "{}: {}", p.name, opted.body);
        assert_eq!(opted.body["new_orders"], true, "{}: {}", p.name, opted.body);
        let read = call(
            &p,
            "GET",
            &format!("/v1/stores/{store}/me/email-preferences"),
            Some(&who.staff),
            &Value::Null,
        )
        .await;
        assert_eq!(read.status, 200, "{}: {}", p.name, read.body);
        assert_eq!(read.body["new_orders"], true, "{}: {}", p.name, read.body);
        assert_eq!(read.body["email"], "sam@example.com", "{}: {}", p.name, read.body);

        let refused = set_preferences(&p, store, &who.customer, &json!({"new_orders": true})).await;
        assert_eq!(refused.status, 422, "{}: {}", p.name, refused.body);
        assert!(
            refused.error_fields().contains(&"new_orders"),
            "{}: {}",
            p.name,
            refused.body
        );
        let opted_out = set_preferences(&p, store, &who.customer, &json!({"non_transactional": false})).await;
        assert_eq!(opted_out.status, 200, "{}: {}", p.name, opted_out.body);
        assert_eq!(
            opted_out.body["non_transactional"], false,
            "{}: {}",
            p.name, opted_out.body
        );

        let anonymous = call(
            &p,
            "GET",
            &format!("/v1/stores/{store}/me/email-preferences"),
            None,
            &Value::Null,
        )
        .await;
        assert_eq!(anonymous.status, 401, "{}", p.name);
        let foreign = call(
            &p,
            "GET",
            &format!("/v1/stores/{store}/me/email-preferences"),
            Some(&who.stranger),
            &Value::Null,
        )
        .await;
        assert_eq!(foreign.status, 404, "{}: {}", p.name, foreign.body);
    }
}
