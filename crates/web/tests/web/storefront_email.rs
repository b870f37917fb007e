//! The shopper's e-mail pages: the choice of non-transactional mail on the account, and the
//! unsubscribe link's landing page, which unsubscribes only when its button is pressed.

use crate::harness::{Browser, Platform, store_with_product};

#[tokio::test]
async fn a_customer_turns_non_transactional_mail_off_and_on() {
    let p = Platform::start().await;
    let (store, _) = store_with_product(&p, "Mail thing").await;
    let mut b = Browser::new(&p);
    let signed_out = b.get(&format!("/s/{store}/account/email")).await;
    assert_eq!(signed_out.status, 303, "sign in first");
    b.get(&format!("/s/{store}/")).await;
    b.post(
        &format!("/s/{store}/sign-up"),
        &[("email", "news@example.com"), ("password", "a long password")],
    )
    .await;
    let from_mail = b.get(&format!("/s/{store}/account")).await;
    assert_eq!(
        from_mail.location.as_deref(),
        Some(format!("/s/{store}/account/email").as_str()),
        "the mails' account link"
    );
    let page = b.get(&format!("/s/{store}/account/email")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains(r#"<label for="non-transactional">"#),
        "{}",
        page.html
    );
    let off = b.post(&format!("/s/{store}/account/email"), &[]).await;
    assert_eq!(off.status, 303, "{}", off.html);
    let shown = b.get(&format!("/s/{store}/account/email?saved=true")).await;
    assert!(shown.html.contains("Your choice is saved."), "{}", shown.html);
    assert!(
        !shown.html.contains("type=\"checkbox\" checked"),
        "{}",
        shown.html
    );
    b.post(
        &format!("/s/{store}/account/email"),
        &[("non_transactional", "on")],
    )
    .await;
    let on = b.get(&format!("/s/{store}/account/email")).await;
    assert!(on.html.contains("type=\"checkbox\" checked"), "{}", on.html);
}

#[tokio::test]
async fn the_unsubscribe_page_asks_first_and_refuses_a_forged_token_in_words() {
    let p = Platform::start().await;
    let (store, _) = store_with_product(&p, "Mail thing").await;
    let mut b = Browser::new(&p);
    let page = b
        .get(&format!("/s/{store}/unsubscribe?token=forged%3Cb%3E"))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains(">Unsubscribe</button>"),
        "a button, not a link: {}",
        page.html
    );
    assert!(page.html.contains("forged&lt;b&gt;") || page.html.contains("forged&#60;b&#62;"));
    let refused = b
        .post(&format!("/s/{store}/unsubscribe"), &[("token", "forged")])
        .await;
    assert!(refused.status >= 400 && refused.status < 500, "{}", refused.html);
    assert!(refused.html.contains("not valid"), "{}", refused.html);
    let no_token = b.get(&format!("/s/{store}/unsubscribe")).await;
    assert!(no_token.html.contains("has no token"), "{}", no_token.html);
}
