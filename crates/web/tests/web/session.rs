//! Sessions: access tokens are refreshed with the rotating refresh token, and signing out
//! revokes it.

use crate::harness::{Browser, Platform, store_with_product};

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_once_for_concurrent_pages_and_sign_out_revokes() {
    // Tokens that live 20 s are always within the refresh margin (30 s): every page refreshes.
    let p = Platform::start_with(|s| s.auth.access_token_ttl = std::time::Duration::from_secs(20)).await;
    let (store, _) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/")).await;
    let signed_up = b
        .post(
            &format!("/s/{store}/sign-up"),
            &[("email", "fresh@example.com"), ("password", "a long password")],
        )
        .await;
    assert_eq!(signed_up.status, 303);
    let first = b.cookies["mercato_refresh"].clone();

    // Two pages at once with the same cookies (a page and its live connection, two tabs): one
    // refresh, the same new tokens for both, and the session is not revoked as a reuse.
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let url = format!("{}/s/{store}/orders", p.base);
    let (one, two) = tokio::join!(
        p.http.get(&url).header("cookie", &cookie).send(),
        p.http.get(&url).header("cookie", &cookie).send()
    );
    let refreshed = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("mercato_refresh="))
            .map(|c| c.split(';').next().unwrap().to_owned())
    };
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!((one.status().as_u16(), two.status().as_u16()), (200, 200));
    let (r1, r2) = (refreshed(&one), refreshed(&two));
    assert!(r1.is_some() && r1 == r2, "{r1:?} {r2:?}");
    let rotated = r1.unwrap().trim_start_matches("mercato_refresh=").to_owned();
    assert_ne!(rotated, first, "the refresh token rotated");
    b.cookies.insert("mercato_refresh".into(), rotated.clone());
    b.cookies.remove("mercato_access");
    let orders = b.get(&format!("/s/{store}/orders")).await;
    assert_eq!(orders.status, 200, "the rotated token still works");
    let current = b.cookies["mercato_refresh"].clone();

    let out = b.post(&format!("/s/{store}/sign-out"), &[]).await;
    assert_eq!(out.status, 303);
    let grant = p
        .http
        .post(format!("{}/v1/oauth/token", p.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", current.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        grant.status(),
        400,
        "a signed-out session's refresh token is revoked"
    );
}

#[tokio::test]
async fn cookies_are_secure_when_a_trusted_proxy_says_the_request_came_over_tls() {
    let p = Platform::start_with(|s| s.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let (store, _) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    let over_tls = p
        .http
        .get(format!("{}/s/{store}/", p.base))
        .header("x-forwarded-proto", "https");
    b.send(over_tls).await;
    let csrf = b.set_cookies.last().expect("a CSRF cookie").clone();
    assert!(
        csrf.starts_with("mercato_csrf=") && csrf.ends_with("; Secure"),
        "{csrf}"
    );
    // The same header from a client that is not a trusted proxy is not believed.
    let p = Platform::start().await;
    let mut b = Browser::new(&p);
    let claimed = p
        .http
        .get(format!("{}/", p.base))
        .header("x-forwarded-proto", "https");
    b.send(claimed).await;
    let request = p
        .http
        .get(format!("{}/s/nope/", p.base))
        .header("x-forwarded-proto", "https");
    b.send(request).await;
    assert!(
        b.set_cookies.iter().all(|c| !c.contains("Secure")),
        "{:?}",
        b.set_cookies
    );
}

#[tokio::test]
async fn a_staff_account_is_sent_to_the_admin_from_the_storefront_sign_in() {
    let p = Platform::start().await;
    let (store, _) = store_with_product(&p, "Plain thing").await;
    let mut b = Browser::new(&p);
    b.get(&format!("/s/{store}/sign-in")).await;
    let page = b
        .post(
            &format!("/s/{store}/sign-in"),
            &[
                ("email", "owner@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.html.contains("sign in at the admin"), "{}", page.html);
    assert!(!b.cookies.contains_key("mercato_access") && !b.cookies.contains_key("mercato_refresh"));
}
