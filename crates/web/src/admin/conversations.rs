//! The conversations inbox: the store's conversations, most recently active first, with
//! their customer and unread count; one conversation's history with a reply form; and which
//! staff are online. Both pages are plain HTML; `admin-inbox.js` adds the live parts through
//! `/admin/{store}/live` (new messages, typing, staff presence, sending without a reload).
//!
//! Opening a conversation moves the staff's read marker to its newest message.

use super::access::Staff;
use super::people::{field_error, minute, query, seg};
use super::staff::StaffUser;
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use std::collections::HashMap;

/// The navigation link of these pages.
const NAV: &str = "conversations";

/// Conversations per page of the inbox (each names its customer: one call per customer).
const PER_PAGE: usize = 25;

/// Messages a conversation page shows: the newest ones.
const HISTORY: i64 = 100;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/conversations", get(inbox))
        .route("/admin/{store}/conversations/rows", get(rows))
        .route("/admin/{store}/conversations/{id}", get(show).post(reply))
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

/// A row of the inbox.
struct Row {
    id: String,
    customer: String,
    subject: String,
    unread: i64,
    /// The newest message, shortened, and who wrote it; empty before the first.
    last_message: String,
    last_from: &'static str,
    updated: String,
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

#[derive(Template)]
#[template(path = "admin/conversations.html")]
struct InboxPage {
    store: String,
    csrf: String,
    nav: &'static str,
    rows: Vec<Row>,
    /// The next (older) page's link.
    older: Option<String>,
    /// On the first page, where the live script fetches the rows again when a message comes.
    refresh: Option<String>,
    live: Live,
}

/// The rows alone, for the live script to put in place of the list's.
#[derive(Template)]
#[template(path = "admin/conversations_rows.html")]
struct InboxRows {
    store: String,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct InboxQuery {
    before_ms: Option<i64>,
}

async fn inbox(staff: Staff, Query(params): Query<InboxQuery>) -> Response {
    let first_page = params.before_ms.is_none_or(|ms| ms <= 0);
    let (items, rows) = match page_rows(&staff, params.before_ms).await {
        Ok(found) => found,
        Err(e) => return staff.failure(NAV, &e),
    };
    let live = match live(&staff).await {
        Ok(live) => live,
        Err(e) => return staff.failure(NAV, &e),
    };
    let older = (items.len() == PER_PAGE)
        .then(|| items.last())
        .flatten()
        .map(|c| {
            format!(
                "/admin/{}/conversations?before_ms={}",
                staff.store, c.updated_at_ms
            )
        });
    let page = InboxPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        rows,
        older,
        refresh: first_page.then(|| format!("/admin/{}/conversations/rows", staff.store)),
        live,
    };
    page::render(&page)
}

/// `GET …/conversations/rows`: the first page's rows, as the inbox shows them.
async fn rows(staff: Staff) -> Response {
    match page_rows(&staff, None).await {
        Ok((_, rows)) => page::render(&InboxRows {
            store: staff.store.clone(),
            rows,
        }),
        Err(e) => staff.failure(NAV, &e),
    }
}

/// A page of conversations (updated before `before_ms`, else the newest) and their rows.
async fn page_rows(staff: &Staff, before_ms: Option<i64>) -> Result<(Vec<Conversation>, Vec<Row>), ApiError> {
    let before = before_ms
        .filter(|ms| *ms > 0)
        .map(|ms| ms.to_string())
        .unwrap_or_default();
    let limit = PER_PAGE.to_string();
    let path = staff.api_path(&format!(
        "/conversations{}",
        query(&[("limit", &limit), ("before_ms", &before)])
    ));
    let page = staff.session.get(&path).send::<ConversationPage>().await?;
    let mut emails = HashMap::new();
    let mut rows = Vec::with_capacity(page.items.len());
    for c in &page.items {
        let customer = customer_email(staff, &mut emails, &c.customer_id).await;
        let (last_message, last_from) = newest_message(staff, c).await;
        rows.push(Row {
            id: c.id.clone(),
            customer,
            subject: subject(&c.subject),
            unread: c.unread,
            last_message,
            last_from,
            updated: minute(&c.updated_at),
        });
    }
    Ok((page.items, rows))
}

/// Characters of the newest message an inbox row shows.
const PREVIEW: usize = 140;

/// The conversation's newest message, shortened, and who wrote it (empty when there is none
/// or it cannot be read now: the row is still worth showing).
async fn newest_message(staff: &Staff, c: &Conversation) -> (String, &'static str) {
    if c.last_seq <= 0 {
        return (String::new(), "");
    }
    let path = staff.api_path(&format!(
        "/conversations/{}/messages?after_seq={}&limit=1",
        seg(&c.id),
        c.last_seq - 1
    ));
    let Ok(page) = staff.session.get(&path).send::<MessagePage>().await else {
        return (String::new(), "");
    };
    let Some(m) = page.items.into_iter().next() else {
        return (String::new(), "");
    };
    let from = if m.sender_role == "customer" {
        "Customer"
    } else {
        "Staff"
    };
    let mut text: String = m.body.chars().take(PREVIEW).collect();
    if m.body.chars().nth(PREVIEW).is_some() {
        text.push('…');
    }
    (text, from)
}

/// A conversation's subject as a list shows it: a customer may leave it empty.
fn subject(subject: &str) -> String {
    if subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        subject.to_owned()
    }
}

/// The customer's email, asked once per page; an account the API no longer shows is named
/// by its id.
async fn customer_email(staff: &Staff, known: &mut HashMap<String, String>, id: &str) -> String {
    if let Some(email) = known.get(id) {
        return email.clone();
    }
    let path = staff.api_path(&format!("/customers/{}", seg(id)));
    let email = match staff.session.get(&path).send::<CustomerName>().await {
        Ok(c) => c.email,
        Err(_) => format!("Customer {id}"),
    };
    known.insert(id.to_owned(), email.clone());
    email
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
    let mut emails = HashMap::new();
    let customer = customer_email(&staff, &mut emails, &conversation.customer_id).await;
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
