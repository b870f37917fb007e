//! The pages every area shares: `/`, assets, the policy they run under.

use crate::harness::Platform;

#[tokio::test]
async fn the_root_without_a_demo_store_says_how_to_create_one_under_a_strict_policy() {
    let p = Platform::start().await;
    let reply = p.http.get(format!("{}/", p.base)).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let csp = reply.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = reply.text().await.unwrap();
    assert!(html.contains("<h1>Welcome to Mercato</h1>"), "{html}");
    // The stylesheet it links is served, and cached forever under its content's name.
    let css = html
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|u| u.ends_with(".css")))
        .unwrap()
        .to_owned();
    let reply = p.http.get(format!("{}{css}", p.base)).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn the_root_leads_to_the_demo_stores_storefront_when_there_is_one() {
    let p = Platform::start().await;
    let body = serde_json::json!({"slug": "demo", "name": "Demo", "currency": "EUR",
        "owner": {"email": "owner@example.com", "password": "correct horse battery"}});
    let created = p
        .http
        .post(format!("{}/v1/stores", p.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let reply = p.http.get(format!("{}/", p.base)).send().await.unwrap();
    assert_eq!(reply.status(), 303);
    assert_eq!(reply.headers()["location"], "/s/demo/");
    let home = p.http.get(format!("{}/s/demo/", p.base)).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("<h1>Demo</h1>"));
}
