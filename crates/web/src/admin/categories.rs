//! Categories: the store's tree as a list (each with its path, `Clothing › Shirts`) and the
//! form that creates one; the same list feeds the product form's category choice.

use super::access::Staff;
use super::errors::FieldErrors;
use super::layout::Section;
use super::product_form::slugify;
use crate::WebState;
use crate::api::ApiError;
use crate::page::render_status;
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/categories", get(list).post(create))
}

#[derive(Deserialize)]
struct CategoryData {
    id: String,
    slug: String,
    name: String,
    #[serde(default)]
    children: Vec<CategoryData>,
}

/// A category with the names of its ancestors.
pub(crate) struct CategoryOption {
    pub id: String,
    pub slug: String,
    pub path: String,
}

/// Every category of the store, depth first, each with its path.
pub(crate) async fn options(staff: &Staff) -> Result<Vec<CategoryOption>, ApiError> {
    let tree = staff
        .session
        .get(&staff.api_path("/categories"))
        .send::<Vec<CategoryData>>()
        .await?;
    let mut out = Vec::new();
    fn walk(nodes: &[CategoryData], prefix: &str, out: &mut Vec<CategoryOption>) {
        for c in nodes {
            let path = if prefix.is_empty() {
                c.name.clone()
            } else {
                format!("{prefix} › {}", c.name)
            };
            out.push(CategoryOption {
                id: c.id.clone(),
                slug: c.slug.clone(),
                path: path.clone(),
            });
            walk(&c.children, &path, out);
        }
    }
    walk(&tree, "", &mut out);
    Ok(out)
}

#[derive(Deserialize, Default)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    parent: String,
}

#[derive(Template)]
#[template(path = "admin/categories.html")]
struct CategoriesPage {
    store: String,
    csrf: String,
    nav: Section,
    categories: Vec<CategoryOption>,
    form: CategoryForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn list(staff: Staff, Query(done): Query<Done>) -> Response {
    let notice = (done.done == "created").then_some("The category is created.");
    show(
        staff,
        CategoryForm::default(),
        FieldErrors::default(),
        notice,
        None,
    )
    .await
}

async fn show(
    staff: Staff,
    form: CategoryForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let categories = match options(&staff).await {
        Ok(categories) => categories,
        Err(e) => return staff.failure("products", &e),
    };
    let status = if errors.is_empty() && error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CategoriesPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        categories,
        form,
        errors,
        notice,
        error,
    };
    render_status(status, &page)
}

async fn create(staff: Staff, axum::Form(form): axum::Form<CategoryForm>) -> Response {
    let slug = match form.slug.trim() {
        "" => slugify(&form.name),
        s => s.to_owned(),
    };
    let mut body = serde_json::json!({"slug": slug, "name": form.name});
    if !form.parent.is_empty() {
        body["parent"] = serde_json::Value::from(form.parent.clone());
    }
    let created = staff
        .session
        .post(&staff.api_path("/categories"))
        .json(&body)
        .send_empty()
        .await;
    match created {
        Ok(()) => Redirect::to(&format!("/admin/{}/categories?done=created", staff.store)).into_response(),
        Err(e) if !e.fields.is_empty() => {
            let errors = FieldErrors::of(&e);
            let others = errors.others(&["name", "slug", "parent"]);
            let error = (!others.is_empty()).then(|| others.join(" "));
            show(staff, form, errors, None, error).await
        }
        Err(e) if e.is_unauthenticated() => staff.failure("products", &e),
        Err(e) => {
            let error = Some(e.plain_message());
            show(staff, form, FieldErrors::default(), None, error).await
        }
    }
}
