//! A product's images: the upload form (multipart, passed on to the API as it came), the images
//! in order with their status, and per image its alt text and place, and delete.

use super::access::{Staff, plain_segment};
use super::layout::Section;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// An upload's body: the API's limit (a 20 MB image and its form).
const UPLOAD_LIMIT: usize = 20 * 1024 * 1024 + 64 * 1024;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/admin/{store}/products/{product}/images",
            get(page).post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/admin/{store}/products/{product}/images/{image}", post(change))
        .route(
            "/admin/{store}/products/{product}/images/{image}/delete",
            post(delete),
        )
}

use crate::WebState;

#[derive(Deserialize)]
struct ProductImages {
    id: String,
    title: String,
    #[serde(default)]
    images: Vec<ImageData>,
}

#[derive(Deserialize)]
struct ImageData {
    id: String,
    position: u32,
    #[serde(default)]
    alt: String,
    status: String,
    width: u32,
    height: u32,
    urls: Option<Urls>,
}

#[derive(Deserialize)]
struct Urls {
    thumbnail: Formats,
}

#[derive(Deserialize)]
struct Formats {
    webp: String,
    jpeg: String,
}

#[derive(Template)]
#[template(path = "admin/product_images.html")]
struct ImagesPage {
    store: String,
    csrf: String,
    nav: Section,
    product: ProductImages,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn page(
    staff: Staff,
    Path((_, product)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let notice = match done.done.as_str() {
        "uploaded" => Some("The image is uploaded; its sizes are being made."),
        "saved" => Some("The image is saved."),
        "deleted" => Some("The image is deleted."),
        _ => None,
    };
    show(staff, &product, notice, None).await
}

async fn show(staff: Staff, product: &str, notice: Option<&'static str>, error: Option<String>) -> Response {
    if !plain_segment(product) {
        return staff.not_found("products");
    }
    let path = staff.api_path(&format!("/products/{product}"));
    let product = match staff.session.get(&path).send::<ProductImages>().await {
        Ok(p) => p,
        Err(e) => return staff.failure("products", &e),
    };
    render(&ImagesPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        product,
        notice,
        error,
    })
}

/// Passes the browser's multipart form to the API as it came (the API reads and checks it).
async fn upload(
    staff: Staff,
    Path((_, product)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !plain_segment(&product) {
        return staff.not_found("products");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let path = staff.api_path(&format!("/products/{product}/images"));
    match staff
        .session
        .post(&path)
        .raw(content_type, body)
        .send_empty()
        .await
    {
        Ok(()) => done(&staff, &product, "uploaded"),
        Err(e) if e.is_unauthenticated() || e.is_not_found() => staff.failure("products", &e),
        Err(e) => {
            let error = format!("The image was not uploaded: {}", e.plain_message());
            show(staff, &product, None, Some(error)).await
        }
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    alt: String,
    #[serde(default)]
    position: String,
}

async fn change(
    staff: Staff,
    Path((_, product, image)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !plain_segment(&product) || !plain_segment(&image) {
        return staff.not_found("products");
    }
    let form: ChangeForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return show(staff, &product, None, Some("The form could not be read.".into())).await,
    };
    // A place is 1 first on the page, 0 first in the API.
    let position = match form.position.trim() {
        "" => None,
        p => match p.parse::<u32>() {
            Ok(n) if n >= 1 => Some(n - 1),
            _ => {
                let error = "The image was not saved: its place must be a whole number from 1.".to_owned();
                return show(staff, &product, None, Some(error)).await;
            }
        },
    };
    let path = staff.api_path(&format!("/products/{product}/images/{image}"));
    let body = serde_json::json!({"alt": form.alt, "position": position});
    match staff.session.patch(&path).json(&body).send_empty().await {
        Ok(()) => done(&staff, &product, "saved"),
        Err(e) if e.is_unauthenticated() || e.is_not_found() => staff.failure("products", &e),
        Err(e) => {
            let error = format!("The image was not saved: {}", e.plain_message());
            show(staff, &product, None, Some(error)).await
        }
    }
}

async fn delete(staff: Staff, Path((_, product, image)): Path<(String, String, String)>) -> Response {
    if !plain_segment(&product) || !plain_segment(&image) {
        return staff.not_found("products");
    }
    let path = staff.api_path(&format!("/products/{product}/images/{image}"));
    match staff.session.delete(&path).send_empty().await {
        Ok(()) => done(&staff, &product, "deleted"),
        Err(e) => staff.failure("products", &e),
    }
}

fn done(staff: &Staff, product: &str, what: &str) -> Response {
    Redirect::to(&format!(
        "/admin/{}/products/{product}/images?done={what}",
        staff.store
    ))
    .into_response()
}

impl ImageData {
    /// Its place as the page shows it, 1 first.
    fn place(&self) -> u32 {
        self.position + 1
    }

    fn status_text(&self) -> &'static str {
        match self.status.as_str() {
            "ready" => "Ready",
            "failed" => "Failed: the file could not be read as an image",
            _ => "Processing: its sizes are being made",
        }
    }
}
