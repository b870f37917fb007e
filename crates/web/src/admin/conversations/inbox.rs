//! The inbox: a page of conversations (newest activity first) with their customer, unread
//! count and, when unread, the newest message; and the same rows alone for the live script.

use super::{Conversation, ConversationPage, CustomerName, Live, MessagePage, NAV, get_all, live, subject};
use crate::WebState;
use crate::admin::access::Staff;
use crate::admin::people::{minute, query, seg};
use crate::api::ApiError;
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use std::collections::HashMap;

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/conversations", get(inbox))
        .route("/admin/{store}/conversations/rows", get(rows))
}

/// Conversations per page of the inbox (each names its customer: one call per customer).
const PER_PAGE: usize = 25;

/// A row of the inbox.
struct Row {
    id: String,
    customer: String,
    subject: String,
    unread: i64,
    /// The newest message, shortened, and who wrote it, while the conversation has unread
    /// messages; empty otherwise.
    last_message: String,
    last_from: &'static str,
    updated: String,
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
    // Each customer's email and each unread conversation's newest message: one call each,
    // made at once.
    let mut customers: Vec<&str> = page.items.iter().map(|c| c.customer_id.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    let paths = customers
        .iter()
        .map(|id| staff.api_path(&format!("/customers/{}", seg(id))))
        .collect();
    let emails: HashMap<&str, String> = customers
        .iter()
        .zip(get_all::<CustomerName>(staff, paths).await)
        .map(|(id, found)| (*id, found.map_or_else(|_| format!("Customer {id}"), |c| c.email)))
        .collect();
    let unread: Vec<&Conversation> = page.items.iter().filter(|c| c.unread > 0).collect();
    let paths = unread
        .iter()
        .map(|c| {
            staff.api_path(&format!(
                "/conversations/{}/messages?after_seq={}&limit=1",
                seg(&c.id),
                c.last_seq - 1
            ))
        })
        .collect();
    let previews: HashMap<&str, (String, &'static str)> = unread
        .iter()
        .zip(get_all::<MessagePage>(staff, paths).await)
        .filter_map(|(c, found)| Some((c.id.as_str(), preview(found.ok()?)?)))
        .collect();
    let rows = page
        .items
        .iter()
        .map(|c| {
            let (last_message, last_from) = previews.get(c.id.as_str()).cloned().unwrap_or_default();
            Row {
                id: c.id.clone(),
                customer: emails.get(c.customer_id.as_str()).cloned().unwrap_or_default(),
                subject: subject(&c.subject),
                unread: c.unread,
                last_message,
                last_from,
                updated: minute(&c.updated_at),
            }
        })
        .collect();
    Ok((page.items, rows))
}

/// Characters of the newest unread message an inbox row shows.
const PREVIEW: usize = 140;

/// The newest unread message of a page asked for it alone, shortened, and who wrote it.
fn preview(page: MessagePage) -> Option<(String, &'static str)> {
    let m = page.items.into_iter().next()?;
    let from = if m.sender_role == "customer" {
        "Customer"
    } else {
        "Staff"
    };
    let mut text: String = m.body.chars().take(PREVIEW).collect();
    if m.body.chars().nth(PREVIEW).is_some() {
        text.push('…');
    }
    Some((text, from))
}
