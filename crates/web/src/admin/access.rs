//! Who may use the admin: a session of this store whose token says owner or staff. Every admin
//! page takes [`Staff`]; without such a session it answers with the sign-in page's address.

use super::layout::Section;
use crate::WebState;
use crate::api::ApiError;
use crate::session::Session;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;

/// The role a token names, read without verifying it: the API verifies every token it is
/// given; this only decides whether to show the admin at all.
pub(crate) fn token_role(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Claims {
        role: String,
    }
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Claims>(&json).ok().map(|c| c.role)
}

/// Whether a path segment can be passed on into an API path as it is: ids, slugs and SKUs are
/// `A-Z a-z 0-9 . _ -`, and nothing else (a decoded `/` or `..`) may reach the API's paths.
pub(crate) fn plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether a role runs a store (and so may use the admin).
pub(crate) fn runs_store(role: &str) -> bool {
    matches!(role, "owner" | "staff")
}

/// The signed-in owner or staff member of the store in the path.
pub(crate) struct Staff {
    pub session: Session,
    /// The store slug of the path.
    pub store: String,
    /// `owner` or `staff`.
    pub role: String,
}

impl FromRequestParts<WebState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let mut session = Session::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let store = session.store.clone();
        if !plain_segment(&store) {
            return Err(to_sign_in(""));
        }
        let role = session.access_token().and_then(token_role).unwrap_or_default();
        if !runs_store(&role) {
            if session.signed_in() {
                session.forget();
            }
            return Err(to_sign_in(&store));
        }
        Ok(Staff { session, store, role })
    }
}

/// The sign-in page, with the store filled in.
pub(crate) fn to_sign_in(store: &str) -> Response {
    let query = serde_urlencoded::to_string([("store", store)]).unwrap_or_default();
    Redirect::to(&format!("/admin?{query}")).into_response()
}

impl Staff {
    /// The CSRF token of the page's forms (and the layout's sign-out form).
    pub(crate) fn csrf(&self) -> String {
        self.session.csrf().to_owned()
    }

    /// The path of an API resource of this store: `api("/products")` →
    /// `/v1/stores/{store}/products`.
    pub(crate) fn api_path(&self, rest: &str) -> String {
        format!("/v1/stores/{}{rest}", self.store)
    }

    /// The "not found" page, for a path naming nothing the API could have.
    pub(crate) fn not_found(self, section: Section) -> Response {
        let error = ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found".to_owned(),
            detail: String::new(),
            fields: Vec::new(),
        };
        self.failure(section, &error)
    }

    /// The answer to a refusal the page cannot show next to a field: sign in again when the
    /// session ended, else a page saying what went wrong in words.
    pub(crate) fn failure(mut self, section: Section, error: &ApiError) -> Response {
        if error.is_unauthenticated() {
            self.session.forget();
            return to_sign_in(&self.store);
        }
        let (status, title) = match error.status.as_u16() {
            403 => (StatusCode::FORBIDDEN, "Not allowed"),
            404 => (StatusCode::NOT_FOUND, "Not found"),
            409 | 422 => (error.status, "Not done"),
            429 => (StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "Something went wrong"),
        };
        let page = super::layout::ErrorPage {
            store: self.store.clone(),
            csrf: self.csrf(),
            nav: section,
            title,
            message: error.plain_message(),
        };
        crate::page::render_status(status, &page)
    }
}
