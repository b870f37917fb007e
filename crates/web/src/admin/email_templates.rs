//! `/admin/{store}/email-templates` (owner only; the API refuses staff): the mails the store
//! sends, each the built-in template or the store's own; editing one (subject, HTML, text) with a
//! preview on sample data, saving it (the API checks that it renders; its messages show next to
//! their fields) and going back to the built-in template.

use super::access::{Staff, plain_segment};
use super::errors::FieldErrors;
use super::people::{explain, minute};
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

const NAV: &str = "email-templates";

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/email-templates", get(list))
        .route("/admin/{store}/email-templates/{name}", get(edit).post(save))
        .route("/admin/{store}/email-templates/{name}/preview", post(preview))
        .route("/admin/{store}/email-templates/{name}/reset", post(reset))
}

/// A template as the API answers it.
#[derive(Deserialize)]
struct EmailTemplate {
    name: String,
    description: String,
    subject: String,
    html: String,
    text: String,
    overridden: bool,
    updated_at: Option<String>,
    variables: Vec<String>,
}

impl EmailTemplate {
    fn updated(&self) -> String {
        self.updated_at
            .as_deref()
            .map_or_else(|| "Built in".to_owned(), minute)
    }
}

#[derive(Deserialize)]
struct TemplateList {
    templates: Vec<EmailTemplate>,
}

#[derive(Deserialize)]
struct Preview {
    subject: String,
    html: String,
    text: String,
}

#[derive(Template)]
#[template(path = "admin/email_templates.html")]
struct ListPage {
    store: String,
    csrf: String,
    nav: &'static str,
    templates: Vec<EmailTemplate>,
}

#[derive(Template)]
#[template(path = "admin/email_template.html")]
struct EditPage {
    store: String,
    csrf: String,
    nav: &'static str,
    template: EmailTemplate,
    preview: Option<Preview>,
    errors: FieldErrors,
    notice: Option<&'static str>,
    alert: Option<String>,
}

/// What staff see: the API answers them 403, which means this.
fn owner_only(staff: &Staff) -> Response {
    let page = super::layout::ErrorPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        title: "Not allowed",
        message: "Only the store's owner can change the store's e-mails.".to_owned(),
    };
    page::render_status(StatusCode::FORBIDDEN, &page)
}

fn refused(staff: Staff, e: &ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        return owner_only(&staff);
    }
    staff.failure(NAV, e)
}

async fn list(staff: Staff) -> Response {
    let path = staff.api_path("/email-templates");
    match staff.session.get(&path).send::<TemplateList>().await {
        Ok(list) => page::render(&ListPage {
            store: staff.store.clone(),
            csrf: staff.csrf(),
            nav: NAV,
            templates: list.templates,
        }),
        Err(e) => refused(staff, &e),
    }
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn edit(
    staff: Staff,
    Path((_store, name)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let notice = match done.done.as_str() {
        "saved" => Some("Saved: this is the mail the store sends from now on."),
        "reset" => Some("Back to the built-in template."),
        _ => None,
    };
    let template = match current(&staff, &name).await {
        Ok(t) => t,
        Err(e) => return refused(staff, &e),
    };
    show(staff, template, None, None, notice)
}

async fn current(staff: &Staff, name: &str) -> Result<EmailTemplate, ApiError> {
    if !plain_segment(name) {
        return Err(not_found());
    }
    let path = staff.api_path(&format!("/email-templates/{name}"));
    staff.session.get(&path).send::<EmailTemplate>().await
}

fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found".to_owned(),
        detail: String::new(),
        fields: Vec::new(),
    }
}

/// The edit page: `template` as typed, a preview, or the API's refusal next to its fields.
fn show(
    staff: Staff,
    template: EmailTemplate,
    preview: Option<Preview>,
    error: Option<&ApiError>,
    notice: Option<&'static str>,
) -> Response {
    let errors = error.map(FieldErrors::of).unwrap_or_default();
    let alert = error.filter(|_| errors.is_empty()).map(explain);
    let status = error.map_or(StatusCode::OK, |e| e.status);
    page::render_status(
        status,
        &EditPage {
            store: staff.store.clone(),
            csrf: staff.csrf(),
            nav: NAV,
            template,
            preview,
            errors,
            notice,
            alert,
        },
    )
}

/// The form's three parts.
#[derive(Deserialize, serde::Serialize)]
struct Parts {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    text: String,
}

/// The current template with the typed parts in place of its own.
async fn typed(staff: &Staff, name: &str, parts: Parts) -> Result<EmailTemplate, ApiError> {
    let mut template = current(staff, name).await?;
    template.subject = parts.subject;
    template.html = parts.html;
    template.text = parts.text;
    Ok(template)
}

async fn save(
    staff: Staff,
    Path((_store, name)): Path<(String, String)>,
    Form(parts): Form<Parts>,
) -> Response {
    if !plain_segment(&name) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/email-templates/{name}"));
    let answer = staff.session.put(&path).json(&parts).send_empty().await;
    match answer {
        Ok(()) => Redirect::to(&format!(
            "/admin/{}/email-templates/{name}?done=saved",
            staff.store
        ))
        .into_response(),
        Err(e) if e.is_unauthenticated() || e.status == StatusCode::FORBIDDEN || e.is_not_found() => {
            refused(staff, &e)
        }
        Err(e) => match typed(&staff, &name, parts).await {
            Ok(template) => show(staff, template, None, Some(&e), None),
            Err(e) => refused(staff, &e),
        },
    }
}

async fn preview(
    staff: Staff,
    Path((_store, name)): Path<(String, String)>,
    Form(parts): Form<Parts>,
) -> Response {
    if !plain_segment(&name) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/email-templates/{name}/preview"));
    let answer = staff.session.post(&path).json(&parts).send::<Preview>().await;
    let (preview, error) = match answer {
        Ok(p) => (Some(p), None),
        Err(e) if e.is_unauthenticated() || e.status == StatusCode::FORBIDDEN || e.is_not_found() => {
            return refused(staff, &e);
        }
        Err(e) => (None, Some(e)),
    };
    match typed(&staff, &name, parts).await {
        Ok(template) => show(staff, template, preview, error.as_ref(), None),
        Err(e) => refused(staff, &e),
    }
}

async fn reset(staff: Staff, Path((_store, name)): Path<(String, String)>) -> Response {
    if !plain_segment(&name) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/email-templates/{name}"));
    match staff.session.delete(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!(
            "/admin/{}/email-templates/{name}?done=reset",
            staff.store
        ))
        .into_response(),
        Err(e) => refused(staff, &e),
    }
}
