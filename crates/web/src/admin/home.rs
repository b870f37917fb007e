//! The admin's home `/admin/{store}/`: today's figures in the store's time zone, against
//! yesterday's, from the analytics API (`home_figures`), and the latest orders; both follow the
//! staff channel (admin.js refetches `…/today` on a `figures.changed` or order event).

use super::access::Staff;
use super::home_figures::{self, TodayFigures};
use super::layout::Section;
use super::orders::{OrderPage, OrderRow};
use crate::WebState;
use crate::api::ApiError;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/", get(home))
        .route("/admin/{store}/today", get(today_part))
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    store: String,
    csrf: String,
    nav: Section,
    /// `owner` or `staff`.
    role: String,
    today: Today,
}

/// The figures and latest orders, which follow the staff channel (`…/today`).
struct Today {
    store: String,
    /// `None` when the analytics service could not answer: the page says so and still shows
    /// the latest orders.
    figures: Option<TodayFigures>,
    latest: Vec<OrderRow>,
}

/// The figures and latest orders alone (`templates/admin/home_today.html`, which the home page
/// includes).
#[derive(Template)]
#[template(path = "admin/home_today.html")]
struct TodayPart {
    today: Today,
}

/// Today's figures and the latest orders. A refused token fails the page; figures the
/// analytics service cannot give now are left out.
async fn load_today(staff: &Staff) -> Result<Today, ApiError> {
    let latest_path = format!("{}?per_page=10", staff.api_path("/orders"));
    let (figures, latest) = tokio::join!(
        home_figures::load(staff),
        staff.session.get(&latest_path).send::<OrderPage>(),
    );
    let figures = match figures {
        Ok(figures) => Some(figures),
        Err(e) if e.is_unauthenticated() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, store = %staff.store, "today's figures are unavailable");
            None
        }
    };
    Ok(Today {
        store: staff.store.clone(),
        figures,
        latest: latest?.items.iter().map(OrderRow::from).collect(),
    })
}

async fn home(staff: Staff) -> Response {
    match load_today(&staff).await {
        Ok(today) => render(&HomePage {
            store: staff.store.clone(),
            csrf: staff.csrf(),
            nav: "home",
            role: staff.role.clone(),
            today,
        }),
        Err(e) => staff.failure("home", &e),
    }
}

/// The figures and latest orders alone, for the live refresh (admin.js, after a figures or
/// order event).
async fn today_part(staff: Staff) -> Response {
    match load_today(&staff).await {
        Ok(today) => render(&TodayPart { today }),
        Err(e) => staff.failure("home", &e),
    }
}
