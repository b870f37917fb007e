//! E-mail end to end: events in, mail out through a real SMTP server (`aiosmtpd`), or to files
//! without one.

use crate::email_support::*;
use mercato_proto::common::Role;
use mercato_proto::notifications::{
    EmailTemplateRequest, PutEmailTemplateRequest, SetEmailPreferencesRequest, UnsubscribeRequest,
};
use mercato_proto::subjects::{identity, orders, payments};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::testing::Backend;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: |backend: Backend| async move { backend },
    cases: [
        a_confirmed_order_sends_one_escaped_confirmation_even_when_replayed,
        a_temporary_failure_is_retried_then_delivered,
        a_rejected_recipient_does_not_block_another,
        a_refused_sender_is_retried_not_dropped,
        an_opt_out_stops_the_welcome_but_not_order_mail,
        staff_get_new_order_mail_only_when_opted_in_and_enabled,
        a_template_override_renders_and_a_broken_one_is_refused,
        refund_mail_names_the_amount_of_each_refund,
        without_an_smtp_server_mail_is_written_to_files,
    ],
}

async fn a_confirmed_order_sends_one_escaped_confirmation_even_when_replayed(backend: Backend) {
    let Some(server) = smtp() else { return };
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    let order = order("o-1", "ada@example.com", XSS);
    let confirmed = order_confirmed(&order);
    apply(&h, &confirmed).await;

    let mail = mails(&server, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    let m = &mail[0];
    assert_eq!(m.rcpt_tos, ["ada@example.com"]);
    assert!(m.from.starts_with(STORE_NAME), "{}", m.from);
    assert!(m.from.contains("shop@mercato.test"), "{}", m.from);
    assert_eq!(m.subject, "The Tea House: order #1001 confirmed");
    assert_eq!(m.header("X-Mercato-Event-Id"), Some(confirmed.id.as_str()));
    let message_id = m.header("Message-ID").expect("a Message-ID");
    assert!(message_id.ends_with("@mercato>"), "{message_id}");
    assert_eq!(m.header("List-Unsubscribe"), None, "order mail is transactional");
    // The product title and the recipient's name arrive as text, never as markup.
    assert!(!m.html.contains("<img"), "{}", m.html);
    assert!(
        m.html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        m.html
    );
    assert!(!m.html.contains("<b>Lovelace"), "{}", m.html);
    assert!(m.text.contains(XSS), "{}", m.text);
    assert!(m.text.contains("€12.50"), "{}", m.text);
    assert!(
        m.html.contains("https://shop.example.com/s/tea-house/orders/o-1"),
        "{}",
        m.html
    );
    assert!(
        m.html.contains("/s/tea-house/unsubscribe?token="),
        "a footer link: {}",
        m.html
    );

    // The same event again (a redelivery) sends nothing new.
    apply(&h, &confirmed).await;
    h.service.email.wake();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(server.received().len(), 1);
    assert_eq!(
        jobs_to(&h, "ada@example.com").await,
        [("succeeded".to_owned(), 1)]
    );
}

async fn a_temporary_failure_is_retried_then_delivered(backend: Backend) {
    let Some(server) = smtp() else { return };
    server.set_failures(2, &[]);
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    apply(&h, &order_confirmed(&order("o-2", "bo@example.com", "Green tea"))).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.received().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        make_jobs_due(&h).await;
    }
    let mail = mails(&server, 1).await;
    assert_eq!(mail.len(), 1, "delivered after the 451s");
    let jobs = jobs_to(&h, "bo@example.com").await;
    assert_eq!(
        jobs,
        [("succeeded".to_owned(), 3)],
        "two 451 answers, then delivered"
    );
    // Every attempt was the same message.
    assert!(
        mail[0]
            .header("Message-ID")
            .is_some_and(|id| id.ends_with("@mercato>"))
    );
}

async fn a_rejected_recipient_does_not_block_another(backend: Backend) {
    let Some(server) = smtp() else { return };
    server.set_failures(0, &["gone@example.com"]);
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    apply(
        &h,
        &account_created("u-owner", "gone@example.com", Role::Owner, ""),
    )
    .await;
    staff_new_orders(&h, "u-owner", Role::Owner, true).await;
    apply(&h, &order_confirmed(&order("o-3", "cy@example.com", "Oolong"))).await;

    let mail = mails(&server, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(mail[0].rcpt_tos, ["cy@example.com"]);
    let ok = crate::support::eventually(10, || async {
        jobs_to(&h, "gone@example.com").await == [("dead".to_owned(), 1)]
    })
    .await;
    assert!(
        ok,
        "the 550 kills its job at once: {:?}",
        jobs_to(&h, "gone@example.com").await
    );
    assert_eq!(jobs_to(&h, "cy@example.com").await, [("succeeded".to_owned(), 1)]);
}

async fn a_refused_sender_is_retried_not_dropped(backend: Backend) {
    let Some(server) = smtp() else { return };
    server.reject_sender(true);
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    apply(&h, &order_confirmed(&order("o-10", "kim@example.com", "Chai"))).await;
    let tried = crate::support::eventually(10, || async {
        jobs_to(&h, "kim@example.com")
            .await
            .first()
            .is_some_and(|(_, attempts)| *attempts >= 1)
    })
    .await;
    assert!(tried);
    let jobs = jobs_to(&h, "kim@example.com").await;
    assert_eq!(jobs.len(), 1);
    assert_ne!(
        jobs[0].0, "dead",
        "a set-up problem (550 at MAIL FROM) must not drop the mail"
    );

    // Once the set-up is fixed the same job delivers it.
    server.reject_sender(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.received().is_empty() && tokio::time::Instant::now() < deadline {
        make_jobs_due(&h).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(mails(&server, 1).await.len(), 1);
}

async fn an_opt_out_stops_the_welcome_but_not_order_mail(backend: Backend) {
    let Some(server) = smtp() else { return };
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;

    // One customer is welcomed, with a one-click unsubscribe header…
    apply(
        &h,
        &account_created("u-1", "Dee@Example.com", Role::Customer, "Dee"),
    )
    .await;
    let mail = mails(&server, 1).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Welcome to The Tea House");
    assert!(mail[0].text.contains("Welcome, Dee!"), "{}", mail[0].text);
    let list = mail[0].header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        list.starts_with("<https://shop.example.com/v1/unsubscribe?token="),
        "{list}"
    );
    let page = "https://shop.example.com/s/tea-house/unsubscribe?token=";
    assert!(
        mail[0].html.contains(page),
        "the footer links the page: {}",
        mail[0].html
    );
    assert_eq!(
        mail[0].header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );

    // …and following its link opts the address out (twice is fine).
    let token = list
        .split("token=")
        .nth(1)
        .expect("a token")
        .trim_end_matches('>')
        .to_owned();
    for _ in 0..2 {
        let done = h
            .service
            .email
            .unsubscribe(UnsubscribeRequest { token: token.clone() })
            .await
            .unwrap();
        assert_eq!(
            (done.store_id.as_str(), done.email.as_str()),
            (STORE, "dee@example.com")
        );
    }
    let forged = h
        .service
        .email
        .unsubscribe(UnsubscribeRequest {
            token: format!("{token}x"),
        })
        .await;
    assert_eq!(forged.unwrap_err().code, ErrorCode::ValidationFailed);

    // Another who opted out through their preferences before signing up gets no welcome.
    let token = h.service.email.unsubscribe_token(STORE, "eve@example.com");
    h.service
        .email
        .unsubscribe(UnsubscribeRequest { token })
        .await
        .unwrap();
    apply(
        &h,
        &account_created("u-2", "eve@example.com", Role::Customer, "Eve"),
    )
    .await;
    let prefs = h
        .service
        .email
        .preferences(mercato_proto::notifications::EmailPreferencesRequest {
            store_id: STORE.to_owned(),
            user_id: "u-2".to_owned(),
            role: Role::Customer as i32,
        })
        .await
        .unwrap();
    assert!(!prefs.non_transactional);
    assert_eq!(prefs.email, "eve@example.com");

    // Order mail is transactional: it still comes.
    apply(&h, &order_confirmed(&order("o-4", "eve@example.com", "Sencha"))).await;
    let mail = mails(&server, 2).await;
    let subjects: Vec<_> = mail
        .iter()
        .map(|m| (m.rcpt_tos[0].as_str(), m.subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("dee@example.com", "Welcome to The Tea House"),
            ("eve@example.com", "The Tea House: order #1001 confirmed")
        ]
    );

    // A customer may not set staff preferences; setting their own works.
    let refused = h
        .service
        .email
        .set_preferences(SetEmailPreferencesRequest {
            store_id: STORE.to_owned(),
            user_id: "u-2".to_owned(),
            role: Role::Customer as i32,
            new_orders: Some(true),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    assert_eq!(refused.fields[0].field, "new_orders");
    let back = h
        .service
        .email
        .set_preferences(SetEmailPreferencesRequest {
            store_id: STORE.to_owned(),
            user_id: "u-2".to_owned(),
            role: Role::Customer as i32,
            non_transactional: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(back.non_transactional);
}

async fn staff_get_new_order_mail_only_when_opted_in_and_enabled(backend: Backend) {
    let Some(server) = smtp() else { return };
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    apply(
        &h,
        &account_created("u-owner", "owner@tea.example", Role::Owner, ""),
    )
    .await;
    apply(&h, &account_created("u-in", "in@tea.example", Role::Staff, "")).await;
    apply(&h, &account_created("u-out", "out@tea.example", Role::Staff, "")).await;
    apply(&h, &account_created("u-off", "off@tea.example", Role::Staff, "")).await;
    staff_new_orders(&h, "u-in", Role::Staff, true).await;
    staff_new_orders(&h, "u-off", Role::Staff, true).await;
    staff_new_orders(&h, "u-out", Role::Staff, true).await;
    staff_new_orders(&h, "u-out", Role::Staff, false).await;
    apply(
        &h,
        &account_event(
            identity::ACCOUNT_CHANGED,
            "u-off",
            "off@tea.example",
            Role::Staff,
            "",
            5,
        ),
    )
    .await;

    apply(&h, &order_confirmed(&order("o-5", "fay@example.com", "Rooibos"))).await;
    let mail = mails(&server, 2).await;
    let mut to: Vec<_> = mail.iter().map(|m| m.rcpt_tos[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["fay@example.com", "in@tea.example"]);
    let staff = mail.iter().find(|m| m.rcpt_tos[0] == "in@tea.example").unwrap();
    assert_eq!(staff.subject, "[The Tea House] New order #1001: €12.50");
    assert!(
        staff
            .html
            .contains("https://shop.example.com/admin/tea-house/orders/o-5"),
        "{}",
        staff.html
    );

    // A declined payment goes to those opted in to declines only.
    h.service
        .email
        .set_preferences(SetEmailPreferencesRequest {
            store_id: STORE.to_owned(),
            user_id: "u-owner".to_owned(),
            role: Role::Owner as i32,
            payment_declines: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let declined = mercato_proto::events::PaymentChanged {
        intent: Some(mercato_proto::payments::PaymentIntent {
            id: "pi-1".to_owned(),
            store_id: STORE.to_owned(),
            order_id: "o-6".to_owned(),
            amount_minor: 4200,
            currency: "EUR".to_owned(),
            card_last4: "0002".to_owned(),
            failure: mercato_proto::payments::PaymentFailure::CardDeclined as i32,
            ..Default::default()
        }),
    };
    apply(
        &h,
        &crate::support::event(STORE, payments::PAYMENT_DECLINED, &declined),
    )
    .await;
    let mail = mails(&server, 3).await;
    assert_eq!(mail.len(), 3);
    assert_eq!(mail[2].rcpt_tos, ["owner@tea.example"]);
    assert_eq!(mail[2].subject, "[The Tea House] Payment of €42.00 declined");
    assert!(mail[2].text.contains("the card was declined"), "{}", mail[2].text);
}

async fn a_template_override_renders_and_a_broken_one_is_refused(backend: Backend) {
    let Some(server) = smtp() else { return };
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    let email = &h.service.email;
    let put = |subject: &str, html: &str, text: &str| PutEmailTemplateRequest {
        store_id: STORE.to_owned(),
        name: "order_confirmed".to_owned(),
        subject: subject.to_owned(),
        html: html.to_owned(),
        text: text.to_owned(),
    };

    let broken = email
        .put_template(put("Hi", "<p>{% if order.number %}</p>", "x"))
        .await
        .unwrap_err();
    assert_eq!(broken.code, ErrorCode::ValidationFailed);
    assert_eq!(broken.fields[0].field, "html", "{broken:?}");
    let misspelt = email
        .put_template(put("{{ ordr.number }}", "<p>x</p>", "x"))
        .await
        .unwrap_err();
    assert_eq!(misspelt.fields[0].field, "subject", "{misspelt:?}");
    let huge = email
        .put_template(put("Hi", &"x".repeat(70_000), "x"))
        .await
        .unwrap_err();
    assert_eq!(huge.fields[0].field, "html");
    let unknown = email
        .get_template(EmailTemplateRequest {
            store_id: STORE.to_owned(),
            name: "nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);

    let kept = email
        .put_template(put(
            "Order {{ order.number }} from {{ store.name }}",
            "<p>Got it: {% for l in order.lines %}{{ l.title }}{% endfor %} for {{ order.total_minor | money }}</p>",
            "Got it: {{ order.total }}",
        ))
        .await
        .unwrap();
    assert!(kept.overridden);
    let preview = email.preview_template(put("", "", "")).await.unwrap();
    assert_eq!(preview.subject, "Order #1001 from Demo Shop");
    assert_eq!(preview.html, "<p>Got it: Linen shirtCanvas tote for €42.00</p>");

    apply(&h, &order_confirmed(&order("o-7", "gil@example.com", XSS))).await;
    let mail = mails(&server, 1).await;
    assert_eq!(mail[0].subject, "Order #1001 from The Tea House");
    assert!(
        mail[0]
            .html
            .contains("Got it: &lt;img src=x onerror=alert(1)&gt; for €12.50"),
        "{}",
        mail[0].html
    );

    let reset = email
        .delete_template(EmailTemplateRequest {
            store_id: STORE.to_owned(),
            name: "order_confirmed".to_owned(),
        })
        .await
        .unwrap();
    assert!(!reset.overridden);
    let listed = email
        .list_templates(mercato_proto::notifications::EmailTemplatesRequest {
            store_id: STORE.to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(listed.templates.len(), 7);
    assert!(listed.templates.iter().all(|t| !t.overridden));
}

async fn refund_mail_names_the_amount_of_each_refund(backend: Backend) {
    let Some(server) = smtp() else { return };
    let h = harness(backend, Some(&server)).await;
    apply(&h, &store_provisioned()).await;
    let mut o = order("o-8", "hal@example.com", "Matcha");
    o.refunded_minor = 500;
    apply(&h, &order_event(orders::ORDER_REFUNDED, &o)).await;
    o.refunded_minor = 1250;
    apply(&h, &order_event(orders::ORDER_REFUNDED, &o)).await;
    apply(&h, &order_event(orders::ORDER_CANCELLED, &o)).await;
    let mail = mails(&server, 3).await;
    let mut subjects: Vec<_> = mail.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "The Tea House: order #1001 cancelled",
            "The Tea House: refund of €5.00 for order #1001",
            "The Tea House: refund of €7.50 for order #1001",
        ]
    );
}

async fn without_an_smtp_server_mail_is_written_to_files(backend: Backend) {
    let h = harness(backend, None).await;
    apply(&h, &store_provisioned()).await;
    apply(&h, &order_confirmed(&order("o-9", "ivy@example.com", XSS))).await;
    let dir = h.data_dir.join("mail");
    let found = crate::support::eventually(10, || {
        let dir = dir.clone();
        async move { eml_files(&dir).len() == 1 }
    })
    .await;
    assert!(found, "one .eml in {}", dir.display());
    let text = std::fs::read_to_string(&eml_files(&dir)[0]).unwrap();
    assert!(text.contains("X-Mercato-Event-Id:"), "{text}");
    assert!(text.contains("To: ivy@example.com"), "{text}");
    assert!(text.contains("@mercato>"), "the Message-ID of the job: {text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default()
}
