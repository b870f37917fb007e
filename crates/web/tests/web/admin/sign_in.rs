//! Signing in and out of the admin: owners and staff admitted, customers refused.

use super::{Browser, PASSWORD, api, store};
use crate::harness::Platform;
use serde_json::json;

#[tokio::test]
async fn a_customer_is_refused_at_the_admin_sign_in_and_gets_no_session() {
    let p = Platform::start().await;
    store(&p, "refusing").await;
    let reply = p
        .http
        .post(format!("{}/v1/stores/refusing/customers", p.base))
        .json(&json!({"email": "ann@refusing.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("refusing", "ann@refusing.test").await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.html.contains("This is a customer account."),
        "{}",
        answer.html
    );
    assert!(answer.html.contains("role=\"alert\""));
    assert!(!browser.cookies.contains_key("mercato_access"));
    // Nor does a path of the admin let them in.
    let home = browser.get("/admin/refusing/").await;
    assert_eq!(
        (home.status, home.location.as_str()),
        (303, "/admin?store=refusing")
    );
}

#[tokio::test]
async fn a_staff_member_is_admitted_to_the_admin_as_the_owner_is() {
    let p = Platform::start().await;
    let token = store(&p, "staffed").await;
    api(
        &p,
        reqwest::Method::POST,
        "/v1/stores/staffed/staff",
        &token,
        json!({"email": "sam@staffed.test", "password": PASSWORD}),
    )
    .await;
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("staffed", "sam@staffed.test").await;
    assert_eq!(
        (answer.status, answer.location.as_str()),
        (303, "/admin/staffed/")
    );
    let home = browser.get("/admin/staffed/").await;
    assert!(
        home.html.contains("Signed in as the store&#39;s staff.")
            || home.html.contains("Signed in as the store's staff."),
        "{}",
        home.html
    );
    // A wrong password is said in words, and the form keeps what was typed but the password.
    let mut other = Browser::new(&p);
    other.get("/admin").await;
    let wrong = other
        .post(
            "/admin",
            &[
                ("store", "staffed"),
                ("email", "sam@staffed.test"),
                ("password", "not it at all"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("The store, email or password is not right."));
    assert!(wrong.html.contains("value=\"sam@staffed.test\""));
}

#[tokio::test]
async fn the_owner_signs_in_sees_the_home_page_and_signs_out() {
    let p = Platform::start().await;
    store(&p, "owned").await;
    let mut browser = Browser::new(&p);
    let answer = browser.sign_in("owned", "owner@owned.test").await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/admin/owned/"));
    let home = browser.get("/admin/owned/").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert!(
        home.html.contains("Net sales") && home.html.contains("0.00 EUR"),
        "{}",
        home.html
    );
    assert!(home.html.contains("aria-label=\"Admin\""));
    // The figures alone, as admin.js refetches them after an order event.
    let today = browser.get("/admin/owned/today").await;
    assert!(
        today.html.contains("Net sales") && !today.html.contains("<nav"),
        "{}",
        today.html
    );
    let out = browser.post("/admin/owned/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.cookies.contains_key("mercato_access"));
    assert_eq!(browser.get("/admin/owned/").await.status, 303);
}
