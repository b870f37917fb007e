//! The admin's people pages over HTTP as a browser uses them: customers, staff, API clients
//! and the conversations inbox, each against a fresh store on an embedded platform.

use crate::harness::Platform;
use reqwest::header::SET_COOKIE;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PASSWORD: &str = "a long password";

/// A browser: its cookies by name (one store per test) and the site.
struct Browser<'a> {
    p: &'a Platform,
    cookies: BTreeMap<String, String>,
}

/// A page's status, redirect target and HTML.
struct Page {
    status: u16,
    location: String,
    html: String,
}

impl<'a> Browser<'a> {
    /// A browser signed in to the admin of `store` as `email`.
    async fn signed_in(p: &'a Platform, store: &str, email: &str) -> Browser<'a> {
        let mut browser = Browser {
            p,
            cookies: BTreeMap::new(),
        };
        browser.get("/admin").await;
        let signed = browser
            .post(
                "/admin",
                &[("store", store), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(signed.status, 303, "{}", signed.html);
        browser
    }

    async fn page(&mut self, reply: reqwest::Response) -> Page {
        for value in reply.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = reply
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Page {
            status: reply.status().as_u16(),
            location,
            html: reply.text().await.unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }

    async fn get(&mut self, path: &str) -> Page {
        let reply = self
            .p
            .http
            .get(format!("{}{path}", self.p.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.page(reply).await
    }

    /// Posts a form as a page of this site does: same origin, with the CSRF cookie's token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.cookies.get("mercato_csrf").cloned().unwrap_or_default();
        let mut form = fields.to_vec();
        form.push(("csrf", &csrf));
        let reply = self
            .p
            .http
            .post(format!("{}{path}", self.p.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.p.base.clone())
            .form(&form)
            .send()
            .await
            .unwrap();
        self.page(reply).await
    }
}

/// A call to the API, answering its JSON.
async fn api(p: &Platform, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = p.http.post(format!("{}{path}", p.base)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.unwrap();
    let status = reply.status();
    let text = reply.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A password grant's access token.
async fn token(p: &Platform, store: &str, email: &str) -> String {
    let reply: Value = p
        .http
        .post(format!("{}/v1/oauth/token", p.base))
        .form(&[
            ("grant_type", "password"),
            ("store", store),
            ("username", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_owned()
}

/// A new store with its owner `owner@<slug>.test`; the owner's token.
async fn store(p: &Platform, slug: &str) -> String {
    let owner = json!({"email": format!("owner@{slug}.test"), "password": PASSWORD});
    api(
        p,
        "/v1/stores",
        None,
        json!({"slug": slug, "name": slug, "currency": "EUR", "owner": owner}),
    )
    .await;
    token(p, slug, &format!("owner@{slug}.test")).await
}

/// The first `attribute="…"` value after `marker` in `html`.
fn value_after<'h>(html: &'h str, marker: &str, attribute: &str) -> &'h str {
    let rest = &html[html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"))..];
    let start = rest.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    &rest[start..start + rest[start..].find('"').unwrap()]
}

#[tokio::test]
async fn the_owner_adds_a_staff_member_with_field_errors_first_then_disables_and_enables_them() {
    let p = Platform::start().await;
    store(&p, "crew").await;
    let mut owner = Browser::signed_in(&p, "crew", "owner@crew.test").await;

    let refused = owner
        .post(
            "/admin/crew/staff",
            &[("email", "bob@crew.test"), ("password", "short")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("Password must be 8 to 128 characters long.")
    );
    assert!(
        refused.html.contains("value=\"bob@crew.test\""),
        "the email is kept"
    );

    let created = owner
        .post(
            "/admin/crew/staff",
            &[("email", "bob@crew.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (created.status, created.location.as_str()),
        (303, "/admin/crew/staff?done=created")
    );
    let list = owner.get("/admin/crew/staff?done=created").await;
    assert!(list.html.contains("The staff account was created."));
    assert!(list.html.contains("owner@crew.test") && list.html.contains("Owner"));
    let disable = value_after(&list.html, "bob@crew.test", "action").to_owned();
    assert!(disable.ends_with("/disable"), "{disable}");
    assert!(list.html.contains("aria-label=\"Disable bob@crew.test\""));

    let done = owner.post(&disable, &[]).await;
    assert_eq!(done.location, "/admin/crew/staff?done=disabled");
    let list = owner.get("/admin/crew/staff").await;
    assert!(
        list.html.contains("aria-label=\"Enable bob@crew.test\""),
        "{}",
        list.html
    );

    // Staff may look at the list but not add staff; the owner's refusal is said in words.
    owner.post(&disable.replace("/disable", "/enable"), &[]).await;
    let mut bob = Browser::signed_in(&p, "crew", "bob@crew.test").await;
    let seen = bob.get("/admin/crew/staff").await;
    assert_eq!(seen.status, 200);
    assert!(seen.html.contains("Only the store's owner can add") && !seen.html.contains("Disable"));
    let refused = bob
        .post(
            "/admin/crew/staff",
            &[("email", "cy@crew.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("class=\"form-error\""), "{}", refused.html);
    let clients = bob.get("/admin/crew/api-clients").await;
    assert_eq!(clients.status, 403);
    assert!(
        clients
            .html
            .contains("Only the store&#39;s owner can manage API clients."),
        "{}",
        clients.html
    );
}

#[tokio::test]
async fn an_api_clients_secret_is_shown_once_works_and_stops_working_once_rotated_or_revoked() {
    let p = Platform::start().await;
    store(&p, "keys").await;
    let mut owner = Browser::signed_in(&p, "keys", "owner@keys.test").await;
    let page = owner.get("/admin/keys/api-clients").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Default"), "the provisioned client is listed");

    let created = owner
        .post("/admin/keys/api-clients", &[("name", "<b>Sync</b>")])
        .await;
    assert_eq!(created.status, 200, "{}", created.html);
    assert!(
        created.html.contains("&#60;b&#62;Sync&#60;/b&#62;"),
        "the name is text"
    );
    let id = value_after(&created.html, "id=\"new-client-id\"", "value").to_owned();
    let secret = value_after(&created.html, "id=\"new-client-secret\"", "value").to_owned();
    let grant = |secret: String| {
        let (p, id) = (&p, id.clone());
        async move {
            p.http
                .post(format!("{}/v1/oauth/token", p.base))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(grant(secret.clone()).await, 200);
    let listed = owner.get("/admin/keys/api-clients").await;
    assert!(!listed.html.contains(&secret), "the list never shows a secret");

    let rotated = owner
        .post(&format!("/admin/keys/api-clients/{id}/rotate"), &[])
        .await;
    let fresh = value_after(&rotated.html, "id=\"new-client-secret\"", "value").to_owned();
    assert_eq!((grant(secret).await, grant(fresh.clone()).await), (401, 200));

    let revoked = owner
        .post(&format!("/admin/keys/api-clients/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.location, "/admin/keys/api-clients?done=revoked");
    assert_eq!(grant(fresh).await, 401);

    let empty = owner.post("/admin/keys/api-clients", &[("name", " ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains("id=\"client-name-error\""), "{}", empty.html);
}

#[tokio::test]
async fn customers_are_found_by_name_and_a_customers_message_is_answered_from_the_inbox() {
    let p = Platform::start().await;
    store(&p, "inbox").await;
    for (email, first) in [("ann@example.com", "Ann"), ("bob@example.com", "Bob")] {
        let body = json!({"email": email, "password": PASSWORD, "first_name": first, "last_name": "Lee"});
        api(&p, "/v1/stores/inbox/customers", None, body).await;
    }
    let mut owner = Browser::signed_in(&p, "inbox", "owner@inbox.test").await;
    let found = owner.get("/admin/inbox/customers?q=ann").await;
    assert!(
        found.html.contains("Ann Lee") && !found.html.contains("Bob Lee"),
        "{}",
        found.html
    );
    let customer = value_after(&found.html, "<td><a", "href").to_owned();
    let profile = owner.get(&customer).await;
    assert!(profile.html.contains("ann@example.com") && profile.html.contains("0.00 EUR"));

    let ann = token(&p, "inbox", "ann@example.com").await;
    let opened = api(
        &p,
        "/v1/stores/inbox/conversations",
        Some(&ann),
        json!({"subject": "Sizes"}),
    )
    .await;
    let id = opened["id"].as_str().unwrap();
    let message = json!({"client_msg_id": "c-1", "body": "<script>alert(1)</script>"});
    api(
        &p,
        &format!("/v1/stores/inbox/conversations/{id}/messages"),
        Some(&ann),
        message,
    )
    .await;

    let inbox = owner.get("/admin/inbox/conversations").await;
    assert!(inbox.html.contains("ann@example.com: Sizes") && inbox.html.contains("1 unread"));
    let rows = owner.get("/admin/inbox/conversations/rows").await;
    assert!(
        rows.html.contains("Customer:</span> &#60;script&#62;"),
        "{}",
        rows.html
    );
    assert!(!rows.html.contains("<h1>"), "the rows alone, for the live script");
    let path = format!("/admin/inbox/conversations/{id}");
    let page = owner.get(&path).await;
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    assert!(page.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(
        page.html.contains("owner@inbox.test"),
        "the presence list names the staff"
    );
    let client_msg_id = value_after(&page.html, "name=\"client_msg_id\"", "value").to_owned();
    for _ in 0..2 {
        let sent = owner
            .post(
                &path,
                &[("client_msg_id", &client_msg_id), ("body", "Size M fits.")],
            )
            .await;
        assert_eq!(sent.status, 303, "{}", sent.html);
    }
    let page = owner.get(&path).await;
    assert_eq!(
        page.html.matches("Size M fits.").count(),
        1,
        "a resend stores nothing"
    );
    let inbox = owner.get("/admin/inbox/conversations").await;
    assert!(inbox.html.contains("data-unread=\"0\""), "opening it read it");
}
