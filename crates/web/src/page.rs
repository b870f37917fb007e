//! Rendering pages, and the pages every area shares (errors, refusals).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A rendered template as an HTML answer; a template that fails to render (a bug) is a 500.
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `render` with another status (a 404, a 422 form with its errors).
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = render(page);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

/// `/` when there is no demo store: how to create one.
#[derive(Template)]
#[template(path = "no_store.html")]
pub struct NoStore {}

/// A refused form (another origin, an expired CSRF token), in words.
#[derive(Template)]
#[template(path = "refused.html")]
pub struct Refused {
    pub message: &'static str,
}

/// A page that says what went wrong and where to go next.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
    /// Where "Back" leads.
    pub back: String,
}

impl ErrorPage {
    pub fn response(status: StatusCode, title: &str, message: &str, back: &str) -> Response {
        render_status(
            status,
            &ErrorPage {
                title: title.to_owned(),
                message: message.to_owned(),
                back: back.to_owned(),
            },
        )
    }
}
