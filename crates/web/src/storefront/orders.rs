//! A signed-in customer's orders: the history, and the order page, whose status changes live
//! (the orders channel) and which holds the conversation with the store about the order (its
//! history over REST, new messages live on the conversation channel).

use super::views::{Conversation, ConversationPage, Message, MessagePage, Order, OrderPage};
use super::{Chrome, failure, see_other};
use crate::page::render;
use crate::session::Session;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;

/// Sends a signed-out shopper to sign in, and back here afterwards.
fn sign_in_first(chrome: &Chrome, here: &str) -> Response {
    let next = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    see_other(&chrome.url(&format!("/sign-in?{next}")))
}

#[derive(Template)]
#[template(path = "shop/orders.html")]
struct OrdersPage {
    chrome: Chrome,
    orders: Vec<Order>,
}

/// "Your orders", newest first.
pub(super) async fn list(session: Session) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !session.signed_in() {
        return sign_in_first(&chrome, &chrome.url("/orders"));
    }
    let path = format!("/v1/stores/{}/orders?per_page=50", chrome.store.slug);
    match session.get(&path).send::<OrderPage>().await {
        Ok(page) => render(&OrdersPage {
            chrome,
            orders: page.items,
        }),
        Err(e) if e.is_unauthenticated() => sign_in_first(&chrome, &chrome.url("/orders")),
        Err(e) => failure(&e, &chrome.home()),
    }
}

#[derive(Template)]
#[template(path = "shop/order.html")]
pub(super) struct OrderView {
    pub chrome: Chrome,
    pub order: Order,
    pub placed: bool,
    /// The orders channel of this customer (`orders:{store}:{customer}`), for live status.
    pub orders_channel: String,
    pub conversation: Option<Conversation>,
    pub messages: Vec<Message>,
    pub last_seq: i64,
    pub message_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct OrderParams {
    #[serde(default)]
    placed: bool,
    #[serde(default)]
    error: Option<String>,
}

/// The conversation subject of an order, which finds it again.
fn subject(order: &Order) -> String {
    format!("Order {}", order.name())
}

/// The order page.
pub(super) async fn show(
    session: Session,
    Path((_, id)): Path<(String, String)>,
    Query(params): Query<OrderParams>,
) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let here = chrome.url(&format!("/orders/{}", super::catalog::encode(&id)));
    if !session.signed_in() {
        return sign_in_first(&chrome, &here);
    }
    let base = format!("/v1/stores/{}", chrome.store.slug);
    let order = match session
        .get(&format!("{base}/orders/{}", super::catalog::encode(&id)))
        .send::<Order>()
        .await
    {
        Ok(o) => o,
        Err(e) if e.is_unauthenticated() => return sign_in_first(&chrome, &here),
        Err(e) => return failure(&e, &chrome.url("/orders")),
    };
    let conversation = find_conversation(&session, &base, &subject(&order)).await;
    let (messages, last_seq) = match &conversation {
        Some(c) => {
            let path = format!("{base}/conversations/{}/messages?after_seq=0&limit=200", c.id);
            match session.get(&path).send::<MessagePage>().await {
                Ok(page) => {
                    let last = page.items.last().map_or(page.last_seq, |m| m.seq);
                    (page.items, last)
                }
                Err(_) => (Vec::new(), 0),
            }
        }
        None => (Vec::new(), 0),
    };
    let customer = customer_id(session.access_token().unwrap_or_default());
    let message_error = params
        .error
        .filter(|e| e == "message")
        .map(|_| "Write a message of up to 4000 characters.".to_owned());
    render(&OrderView {
        orders_channel: format!("orders:{}:{customer}", chrome.store.id),
        chrome,
        order,
        placed: params.placed,
        conversation,
        messages,
        last_seq,
        message_error,
    })
}

async fn find_conversation(session: &Session, base: &str, subject: &str) -> Option<Conversation> {
    let page = session
        .get(&format!("{base}/conversations?limit=100"))
        .send::<ConversationPage>()
        .await
        .ok()?;
    page.items.into_iter().find(|c| c.subject == subject)
}

/// The subject (`sub`) of the session's access token: the customer's id, which names their
/// orders channel.
fn customer_id(token: &str) -> String {
    crate::session::TokenClaims::read(token).sub
}

#[derive(Deserialize)]
pub(super) struct MessageForm {
    #[serde(default)]
    body: String,
}

/// "Send" a message about the order (the page's script sends it live instead when it can).
pub(super) async fn send_message(
    session: Session,
    Path((store, id)): Path<(String, String)>,
    Form(form): Form<MessageForm>,
) -> Response {
    let here = format!("/s/{store}/orders/{}", super::catalog::encode(&id));
    let body = form.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return see_other(&format!("{here}?error=message#conversation"));
    }
    let base = format!("/v1/stores/{store}");
    let order = match session
        .get(&format!("{base}/orders/{}", super::catalog::encode(&id)))
        .send::<Order>()
        .await
    {
        Ok(o) => o,
        Err(e) => return failure(&e, &here),
    };
    let subject = subject(&order);
    let conversation = match find_conversation(&session, &base, &subject).await {
        Some(c) => c,
        None => {
            let opened = session
                .post(&format!("{base}/conversations"))
                .json(&serde_json::json!({ "subject": subject }))
                .send::<Conversation>()
                .await;
            match opened {
                Ok(c) => c,
                Err(e) => return failure(&e, &here),
            }
        }
    };
    let message = serde_json::json!({
        "client_msg_id": format!("web-{}", uuid::Uuid::new_v4().simple()),
        "body": body,
    });
    let path = format!("{base}/conversations/{}/messages", conversation.id);
    match session.post(&path).json(&message).send_empty().await {
        Ok(()) => see_other(&format!("{here}#conversation")),
        Err(e) if e.status.as_u16() == 422 => see_other(&format!("{here}?error=message#conversation")),
        Err(e) => failure(&e, &here),
    }
}
