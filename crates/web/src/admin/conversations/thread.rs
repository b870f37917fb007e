//! One conversation: its newest messages (read on opening), the reply form, and who is online.

use super::{Conversation, Live, MessagePage, NAV, customer_email, live, subject};
use crate::WebState;
use crate::admin::access::Staff;
use crate::admin::people::{field_error, minute, seg};
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use std::collections::HashMap;

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/conversations/{id}", get(show).post(reply))
}

/// Messages a conversation page shows: the newest ones.
const HISTORY: i64 = 100;

/// A message as the page shows it.
struct Shown {
    seq: i64,
    who: String,
    from_customer: bool,
    body: String,
    sent: String,
}

#[derive(Template)]
#[template(path = "admin/conversation.html")]
struct ConversationView {
    store: String,
    csrf: String,
    nav: &'static str,
    id: String,
    customer_id: String,
    customer: String,
    subject: String,
    channel: String,
    last_seq: i64,
    messages: Vec<Shown>,
    /// Whether older messages exist than those shown.
    earlier: bool,
    /// A fresh id for the reply form, so that sending it twice stores one message.
    client_msg_id: String,
    body: String,
    body_error: Option<String>,
    live: Live,
}

async fn show(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    render(staff, &id, String::new(), None, StatusCode::OK).await
}

async fn render(
    staff: Staff,
    id: &str,
    body: String,
    body_error: Option<String>,
    status: StatusCode,
) -> Response {
    let path = staff.api_path(&format!("/conversations/{}", seg(id)));
    let conversation = match staff.session.get(&path).send::<Conversation>().await {
        Ok(c) => c,
        Err(e) => return staff.failure(NAV, &e),
    };
    let after = (conversation.last_seq - HISTORY).max(0);
    let history = staff.api_path(&format!(
        "/conversations/{}/messages?after_seq={after}&limit={HISTORY}",
        seg(id)
    ));
    let messages = match staff.session.get(&history).send::<MessagePage>().await {
        Ok(page) => page.items,
        Err(e) => return staff.failure(NAV, &e),
    };
    let live = match live(&staff).await {
        Ok(live) => live,
        Err(e) => return staff.failure(NAV, &e),
    };
    // Opening the conversation reads it: the marker moves to its newest message. A failure
    // here only leaves it unread, so the page is shown anyway.
    if conversation.last_seq > conversation.read_seq {
        let read = staff.api_path(&format!("/conversations/{}/read", seg(id)));
        let marked = staff
            .session
            .post(&read)
            .json(&serde_json::json!({ "seq": conversation.last_seq }))
            .send_empty()
            .await;
        if let Err(e) = marked {
            tracing::debug!(error = %e, "the conversation was not marked read");
        }
    }
    let customer = customer_email(&staff, &conversation.customer_id).await;
    let names: HashMap<&str, &str> = live
        .staff
        .iter()
        .map(|s| (s.user_id.as_str(), s.email.as_str()))
        .collect();
    let shown = messages
        .into_iter()
        .map(|m| {
            let from_customer = m.sender_role == "customer";
            let who = if from_customer {
                customer.clone()
            } else {
                names.get(m.sender_id.as_str()).map_or("Staff", |n| n).to_owned()
            };
            Shown {
                seq: m.seq,
                who,
                from_customer,
                body: m.body,
                sent: minute(&m.sent_at),
            }
        })
        .collect();
    let page = ConversationView {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        id: conversation.id,
        customer_id: conversation.customer_id,
        customer,
        subject: subject(&conversation.subject),
        channel: conversation.channel,
        last_seq: conversation.last_seq,
        earlier: after > 0,
        messages: shown,
        client_msg_id: format!("admin-{}", uuid::Uuid::new_v4().simple()),
        body,
        body_error,
        live,
    };
    page::render_status(status, &page)
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    client_msg_id: String,
    #[serde(default)]
    body: String,
}

async fn reply(
    staff: Staff,
    Path((_store, id)): Path<(String, String)>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let path = staff.api_path(&format!("/conversations/{}/messages", seg(&id)));
    let message = serde_json::json!({ "client_msg_id": form.client_msg_id, "body": form.body });
    match staff.session.post(&path).json(&message).send_empty().await {
        Ok(()) => Redirect::to(&format!(
            "/admin/{}/conversations/{}#reply",
            staff.store,
            seg(&id)
        ))
        .into_response(),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let error = field_error(&e, "body", "Your reply")
                .unwrap_or_else(|| "Your reply could not be sent. Please try again.".to_owned());
            render(staff, &id, form.body, Some(error), e.status).await
        }
        Err(e) => staff.failure(NAV, &e),
    }
}
