//! The admin's staff page: the store's owners and staff (role, state, since when), a form to
//! add a staff member (owner only), and disabling or enabling a staff account. The API decides
//! who may do what; a refusal is shown on the page in its words.

use super::access::Staff;
use super::people::{explain, field_error, seg};
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

/// The navigation link of this page.
const NAV: &str = "staff";

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/staff", get(show).post(create))
        .route("/admin/{store}/staff/{user}/disable", post(disable))
        .route("/admin/{store}/staff/{user}/enable", post(enable))
}

/// An account as `GET /v1/stores/{store}/staff` lists it.
#[derive(Deserialize)]
pub(crate) struct StaffUser {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
    pub disabled_at: Option<String>,
}

impl StaffUser {
    pub fn role_label(&self) -> &'static str {
        match self.role.as_str() {
            "owner" => "Owner",
            _ => "Staff",
        }
    }

    /// Staff accounts can be disabled from this page; owners cannot.
    pub fn is_staff(&self) -> bool {
        self.role == "staff"
    }

    pub fn since(&self) -> &str {
        super::people::day(&self.created_at)
    }

    pub fn disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

#[derive(Deserialize)]
struct StaffList {
    staff: Vec<StaffUser>,
}

/// The store's owners and staff, for this page and the inbox's names.
pub(crate) async fn list(staff: &Staff) -> Result<Vec<StaffUser>, ApiError> {
    let path = staff.api_path("/staff");
    Ok(staff.session.get(&path).send::<StaffList>().await?.staff)
}

/// The new-staff form as sent, with the messages for its fields.
#[derive(Default)]
pub(crate) struct NewStaff {
    pub email: String,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
    /// A refusal that is not about one field (only the owner may add staff).
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    store: String,
    csrf: String,
    nav: &'static str,
    staff: Vec<StaffUser>,
    /// Only an owner is offered the forms (the API would refuse staff anyway).
    owner: bool,
    notice: Option<&'static str>,
    alert: Option<String>,
    form: NewStaff,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// What a finished action says, by the `done` of the redirect (never text from the request).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("The staff account was created. It can sign in now."),
        "disabled" => Some("The account was disabled. It can no longer sign in."),
        "enabled" => Some("The account was enabled. It can sign in again."),
        _ => None,
    }
}

async fn show(staff: Staff, Query(done): Query<Done>) -> Response {
    render(
        staff,
        notice(done.done.as_deref()),
        None,
        NewStaff::default(),
        StatusCode::OK,
    )
    .await
}

/// The page with the list as the API has it now, or the refusal of the list itself.
async fn render(
    staff: Staff,
    notice: Option<&'static str>,
    alert: Option<String>,
    form: NewStaff,
    status: StatusCode,
) -> Response {
    let users = match list(&staff).await {
        Ok(users) => users,
        Err(e) => return staff.failure(NAV, &e),
    };
    let page = StaffPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        staff: users,
        owner: staff.role == "owner",
        notice,
        alert,
        form,
    };
    page::render_status(status, &page)
}

#[derive(Deserialize)]
struct NewStaffForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Serialize)]
struct Credentials<'a> {
    email: &'a str,
    password: &'a str,
}

async fn create(staff: Staff, Form(form): Form<NewStaffForm>) -> Response {
    let path = staff.api_path("/staff");
    let body = Credentials {
        email: form.email.trim(),
        password: &form.password,
    };
    let e = match staff.session.post(&path).json(&body).send_empty().await {
        Ok(()) => return done(&staff.store, "created"),
        Err(e) if e.is_unauthenticated() => return staff.failure(NAV, &e),
        Err(e) => e,
    };
    let mut again = NewStaff {
        email: form.email,
        email_error: field_error(&e, "email", "Email"),
        password_error: field_error(&e, "password", "Password"),
        error: None,
    };
    if again.email_error.is_none() && again.password_error.is_none() {
        again.error = Some(explain(&e));
    }
    render(staff, None, None, again, e.status).await
}

async fn disable(staff: Staff, Path((_store, user)): Path<(String, String)>) -> Response {
    set_disabled(staff, user, true).await
}

async fn enable(staff: Staff, Path((_store, user)): Path<(String, String)>) -> Response {
    set_disabled(staff, user, false).await
}

async fn set_disabled(staff: Staff, user: String, disabled: bool) -> Response {
    let action = if disabled { "disable" } else { "enable" };
    let path = staff.api_path(&format!("/users/{}/{action}", seg(&user)));
    match staff.session.post(&path).send_empty().await {
        Ok(()) => done(&staff.store, if disabled { "disabled" } else { "enabled" }),
        Err(e) if e.is_unauthenticated() => staff.failure(NAV, &e),
        Err(e) => render(staff, None, Some(explain(&e)), NewStaff::default(), e.status).await,
    }
}

/// Back to the list after a change (POST, then 303, then GET), saying what happened.
fn done(store: &str, what: &str) -> Response {
    Redirect::to(&format!("/admin/{store}/staff?done={what}")).into_response()
}
