//! The conversations inbox: the store's conversations, most recently active first, with
//! their customer, unread count and newest message (`inbox`); one conversation's history with a
//! reply form (`thread`); and, on both, which staff are online. The pages are plain HTML;
//! `admin-inbox.js` adds the live parts through `/admin/{store}/live`: the inbox follows the
//! store's staff feed and fetches its rows again when a conversation gets a message; a
//! conversation shows new messages, typing and presence, and sends without a reload.
//!
//! Opening a conversation moves the staff's read marker to its newest message.

mod inbox;
mod thread;

use super::access::Staff;
use super::people::seg;
use super::staff::StaffUser;
use crate::WebState;
use crate::api::ApiError;
use axum::Router;
use serde::Deserialize;

/// The navigation link of these pages.
const NAV: &str = "conversations";

pub(crate) fn routes() -> Router<WebState> {
    Router::new().merge(inbox::routes()).merge(thread::routes())
}

#[derive(Deserialize)]
struct Store {
    id: String,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    customer_id: String,
    subject: String,
    last_seq: i64,
    read_seq: i64,
    unread: i64,
    channel: String,
    updated_at: String,
    updated_at_ms: i64,
}

#[derive(Deserialize)]
struct ConversationPage {
    items: Vec<Conversation>,
}

#[derive(Deserialize)]
struct CustomerName {
    email: String,
}

#[derive(Deserialize)]
struct Presence {
    user_id: String,
    status: String,
}

#[derive(Deserialize)]
struct PresencePage {
    staff: Vec<Presence>,
}

/// A staff member and whether they are online, as the presence list shows them.
struct StaffPresence {
    user_id: String,
    email: String,
    /// `online`, `away` or `offline`.
    status: String,
}

impl StaffPresence {
    fn label(&self) -> &'static str {
        match self.status.as_str() {
            "online" => "Online",
            "away" => "Away",
            _ => "Offline",
        }
    }
}

/// What both pages carry for the live script: the socket, the presence channel and the staff
/// feed (which says when any conversation has a new message).
struct Live {
    socket: String,
    presence_channel: String,
    staff_channel: String,
    staff: Vec<StaffPresence>,
}

/// A conversation's subject as a list shows it: a customer may leave it empty.
fn subject(subject: &str) -> String {
    if subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        subject.to_owned()
    }
}

/// The customer's email; an account the API no longer shows is named by its id.
async fn customer_email(staff: &Staff, id: &str) -> String {
    let path = staff.api_path(&format!("/customers/{}", seg(id)));
    match staff.session.get(&path).send::<CustomerName>().await {
        Ok(c) => c.email,
        Err(_) => format!("Customer {id}"),
    }
}

/// GETs `paths` at once as this staff member (each call as `Session::get` makes it: the
/// session's bearer token and the browser's address), answering in the order asked; a page
/// that needs one call per row waits for the slowest, not for their sum.
async fn get_all<T>(staff: &Staff, paths: Vec<String>) -> Vec<Result<T, ApiError>>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let mut calls = tokio::task::JoinSet::new();
    let count = paths.len();
    for (i, path) in paths.into_iter().enumerate() {
        let api = staff.session.api().clone();
        let token = staff.session.access_token().map(str::to_owned);
        let client = staff.session.client.clone();
        let call = async move {
            let answer = api
                .get(&path)
                .bearer(token.as_deref())
                .client(&client)
                .send::<T>()
                .await;
            (i, answer)
        };
        // In the page's span, so that the calls stay part of its request's trace.
        calls.spawn(tracing::Instrument::instrument(call, tracing::Span::current()));
    }
    let mut answers: Vec<Option<Result<T, ApiError>>> = (0..count).map(|_| None).collect();
    while let Some(joined) = calls.join_next().await {
        if let Ok((i, answer)) = joined {
            answers[i] = Some(answer);
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            // A call that panicked has no answer: as the API would have said, an internal error.
            answer.unwrap_or_else(|| {
                Err(ApiError {
                    status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal".to_owned(),
                    detail: String::new(),
                    fields: Vec::new(),
                })
            })
        })
        .collect()
}

/// The store's staff with their presence, and where the live script connects.
async fn live(staff: &Staff) -> Result<Live, ApiError> {
    let store: Store = staff.session.get(&staff.api_path("")).send().await?;
    let users = super::staff::list(staff).await?;
    let presence: PresencePage = staff.session.get(&staff.api_path("/presence")).send().await?;
    Ok(Live {
        socket: format!("/admin/{}/live", staff.store),
        presence_channel: format!("presence:{}", store.id),
        staff_channel: format!("staff:{}", store.id),
        staff: with_presence(users, &presence.staff),
    })
}

/// Every enabled staff member and owner with their presence (offline when absent).
fn with_presence(users: Vec<StaffUser>, presence: &[Presence]) -> Vec<StaffPresence> {
    users
        .into_iter()
        .filter(|u| !u.disabled())
        .map(|u| {
            let status = presence
                .iter()
                .find(|p| p.user_id == u.id)
                .map_or("offline", |p| p.status.as_str())
                .to_owned();
            StaffPresence {
                user_id: u.id,
                email: u.email,
                status,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Message {
    seq: i64,
    sender_id: String,
    sender_role: String,
    body: String,
    sent_at: String,
}

#[derive(Deserialize)]
struct MessagePage {
    items: Vec<Message>,
}
