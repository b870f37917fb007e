//! Product images: upload (multipart, answered at once while a job makes the sizes), change
//! and delete for owners and staff; and the public serving of the sizes from the file store,
//! at URLs holding the content hash, so that an answer is cacheable for a year.

use crate::access::{Staff, StoreScope};
use crate::dto_catalog::{ImageView, UpdateImageBody, UploadImageForm};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::Router;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use mercato_proto::catalog::{AddProductImageRequest, DeleteProductImageRequest, UpdateProductImageRequest};
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};

/// The upload route, which alone takes bodies over the gateway's limit.
pub(crate) const UPLOAD_PATH: &str = "/v1/stores/{store}/products/{product}/images";
/// An upload's body: a 20 MB image and the form around it.
pub(crate) const UPLOAD_BODY_LIMIT: usize = 20 * 1024 * 1024 + 64 * 1024;
/// Served sizes never change content (the URL names it).
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route(
            UPLOAD_PATH,
            post(add_image).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/v1/stores/{store}/products/{product}/images/{image}",
            patch(update_image).delete(delete_image),
        )
        .route(
            "/v1/stores/{store}/images/{image}/{hash}/{file}",
            get(serve_image),
        )
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(add_image, update_image, delete_image, serve_image),
    components(schemas(
        ImageView,
        UpdateImageBody,
        UploadImageForm,
        crate::dto_catalog::ImageUrlsView,
        crate::dto_catalog::ImageFormatsView
    ))
)]
pub(crate) struct ApiDoc;

/// Upload an image of a product (owner or staff). The answer comes at once, `processing`; a
/// job makes its sizes, and the product shows them (`urls`) once `ready`.
#[utoipa::path(post, path = "/v1/stores/{store}/products/{product}/images", tag = "catalog",
    request_body(content = UploadImageForm, content_type = "multipart/form-data"),
    params(("store" = String, Path, description = "store slug"), ("product" = uuid::Uuid, Path, description = "product id")),
    security(("bearer" = [])),
    responses((status = 202, body = ImageView, description = "The image, stored; its sizes are being made"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or product"),
              (status = 409, description = "The product has as many images as it may (50)"),
              (status = 413, description = "The image is over 20 MB"),
              (status = 422, description = "No `file`, a type other than JPEG, PNG or WebP, bytes that are not the declared type, over 50 megapixels, or a bad `alt` or `position`; `errors` names the field")))]
pub async fn add_image(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, product_id)): Path<(String, String)>,
    multipart: Multipart,
) -> Result<(StatusCode, axum::Json<ImageView>), ServiceError> {
    let form = read_form(multipart).await?;
    let store_id = scope.store.id;
    let image = state
        .catalog()
        .add_product_image(AddProductImageRequest {
            store_id: store_id.clone(),
            product_id,
            content_type: form.content_type,
            data: form.data,
            alt: form.alt,
            position: form.position,
            requested_by: scope.caller.sub,
        })
        .await?;
    state.reads().invalidate(&store_id);
    Ok((StatusCode::ACCEPTED, axum::Json(ImageView::new(&store_id, image))))
}

/// Change an image's alt text or position (owner or staff).
#[utoipa::path(patch, path = "/v1/stores/{store}/products/{product}/images/{image}", tag = "catalog",
    request_body = UpdateImageBody,
    params(("store" = String, Path, description = "store slug"), ("product" = uuid::Uuid, Path, description = "product id"),
           ("image" = uuid::Uuid, Path, description = "image id")),
    security(("bearer" = [])),
    responses((status = 200, body = ImageView, description = "The image as changed"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, product or image"),
              (status = 422, description = "`alt` is over 500 characters or holds control characters")))]
pub async fn update_image(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, product_id, image_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<UpdateImageBody>,
) -> Result<axum::Json<ImageView>, ServiceError> {
    let store_id = scope.store.id;
    let image = state
        .catalog()
        .update_product_image(UpdateProductImageRequest {
            store_id: store_id.clone(),
            product_id,
            image_id,
            alt: body.alt,
            position: body.position,
        })
        .await?;
    state.reads().invalidate(&store_id);
    Ok(axum::Json(ImageView::new(&store_id, image)))
}

/// Delete an image and its files (owner or staff); the images after it move up.
#[utoipa::path(delete, path = "/v1/stores/{store}/products/{product}/images/{image}", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), ("product" = uuid::Uuid, Path, description = "product id"),
           ("image" = uuid::Uuid, Path, description = "image id")),
    security(("bearer" = [])),
    responses((status = 204, description = "The image is deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, product or image")))]
pub async fn delete_image(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, product_id, image_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ServiceError> {
    let store_id = scope.store.id;
    state
        .catalog()
        .delete_product_image(DeleteProductImageRequest {
            store_id: store_id.clone(),
            product_id,
            image_id,
        })
        .await?;
    state.reads().invalidate(&store_id);
    Ok(StatusCode::NO_CONTENT)
}

/// One size of an image, as the product's `urls` name it (public). The URL holds the content's
/// hash, so the answer never changes: it is cached for a year, and `If-None-Match` gets 304.
#[utoipa::path(get, path = "/v1/stores/{store}/images/{image}/{hash}/{file}", tag = "catalog",
    params(("store" = uuid::Uuid, Path, description = "store id (not its slug: the URL must never change, and a slug may)"),
           ("image" = uuid::Uuid, Path, description = "image id"),
           ("hash" = String, Path, description = "the original's SHA-256, hex"),
           ("file" = String, Path, description = "`thumbnail`, `card` or `large`, then `.webp` or `.jpg`"),
           crate::dto::IfNoneMatch),
    security(()),
    responses((status = 200, description = "The image", content_type = "image/webp",
               headers(("ETag" = String, description = "The file's version, for `If-None-Match`"),
                       ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
              (status = 304, description = "The client's copy (`If-None-Match`) is current"),
              (status = 404, description = "No such image, content or size")))]
pub async fn serve_image(
    State(state): State<GatewayState>,
    Path((store, image, hash, file)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let not_found = || ServiceError::not_found("image");
    let served = Served::parse(&store, &image, &hash, &file).ok_or_else(not_found)?;
    let files = state.files().ok_or_else(not_found)?;
    let found = files
        .store
        .get(&served.key)
        .await
        .map_err(ServiceError::internal)?
        .ok_or_else(not_found)?;
    let etag = HeaderValue::from_str(&served.etag).map_err(ServiceError::internal)?;
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| matches!(t.trim(), "*") || t.trim().trim_start_matches("W/") == served.etag)
        });
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from_stream(found.stream));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(served.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(found.size));
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, IMMUTABLE);
    Ok(response)
}

/// A size's URL, checked: anything else names no file.
struct Served {
    key: String,
    etag: String,
    content_type: &'static str,
}

impl Served {
    fn parse(store: &str, image: &str, hash: &str, file: &str) -> Option<Served> {
        let store = uuid::Uuid::parse_str(store).ok()?;
        let image = uuid::Uuid::parse_str(image).ok()?;
        let hex = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let (size, ext) = file.split_once('.')?;
        let content_type = match ext {
            "webp" => "image/webp",
            "jpg" => "image/jpeg",
            _ => return None,
        };
        if !hex || !matches!(size, "thumbnail" | "card" | "large") {
            return None;
        }
        Some(Served {
            key: format!("images/{store}/{image}/{hash}/{size}.{ext}"),
            etag: format!("\"{}-{size}-{ext}\"", &hash[..32]),
            content_type,
        })
    }
}

/// The upload form's parts.
struct UploadForm {
    content_type: String,
    data: Vec<u8>,
    alt: String,
    position: Option<u32>,
}

/// Reads the form: `file` (required), `alt` and `position`; another part is refused.
async fn read_form(mut multipart: Multipart) -> Result<UploadForm, ServiceError> {
    let mut file = None;
    let mut alt = String::new();
    let mut position = None;
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let content_type = field.content_type().unwrap_or_default().to_owned();
                file = Some((content_type, field.bytes().await.map_err(form_error)?.to_vec()));
            }
            "alt" => alt = text(field).await?,
            "position" => {
                let value = text(field).await?;
                position =
                    Some(value.trim().parse::<u32>().map_err(|_| {
                        ServiceError::invalid_field("position", "must be a whole number from 0")
                    })?);
            }
            other => {
                return Err(ServiceError::invalid_field(
                    other,
                    "is not a field of the upload form (file, alt, position)",
                ));
            }
        }
    }
    let (content_type, data) =
        file.ok_or_else(|| ServiceError::invalid_field("file", "is required (the image, as a form part)"))?;
    Ok(UploadForm {
        content_type,
        data,
        alt,
        position,
    })
}

async fn text(field: Field<'_>) -> Result<String, ServiceError> {
    let name = field.name().unwrap_or_default().to_owned();
    let bytes = field.bytes().await.map_err(form_error)?;
    if bytes.len() > 4096 {
        return Err(ServiceError::invalid_field(&name, "is too long"));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| ServiceError::invalid_field(&name, "must be UTF-8 text"))
}

/// A form that could not be read: too large (413), or not a multipart form this route can read
/// (422, like any other upload it refuses: a part's headers that are not text, say).
fn form_error(e: MultipartError) -> ServiceError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ServiceError {
            code: ErrorCode::PayloadTooLarge,
            message: "the upload is larger than 20 MB".to_owned(),
            fields: vec![FieldError::new("file", "must be at most 20 MB")],
        };
    }
    ServiceError::invalid_field(
        "file",
        &format!("the body is not a readable multipart form: {}", e.body_text()),
    )
}

#[cfg(test)]
mod tests {
    use super::Served;

    #[test]
    fn only_the_sizes_of_a_well_formed_url_name_a_file() {
        let (store, image) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
        let hash = "ab".repeat(32);
        let served = Served::parse(&store, &image, &hash, "card.webp").unwrap();
        assert_eq!(served.key, format!("images/{store}/{image}/{hash}/card.webp"));
        assert_eq!(served.content_type, "image/webp");
        assert!(Served::parse(&store, &image, &hash, "original.jpg").is_none());
        assert!(Served::parse(&store, &image, &hash, "card.png").is_none());
        assert!(Served::parse(&store, &image, "../../x", "card.jpg").is_none());
        assert!(Served::parse("shop", &image, &hash, "card.jpg").is_none());
    }

    #[test]
    fn the_image_routes_are_documented_with_examples_and_problem_answers() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let paths = [
            "/v1/stores/{store}/products/{product}/images",
            "/v1/stores/{store}/products/{product}/images/{image}",
            "/v1/stores/{store}/images/{image}/{hash}/{file}",
        ];
        for path in paths {
            let item = doc["paths"][path]
                .as_object()
                .unwrap_or_else(|| panic!("{path} missing"));
            for (method, op) in item {
                for (status, response) in op["responses"].as_object().unwrap() {
                    let described = response["description"].as_str().is_some_and(|d| !d.is_empty())
                        || response["$ref"].is_string();
                    assert!(described, "{method} {path} {status}");
                    if status.starts_with('4') && response["$ref"].is_null() {
                        let content = response["content"].as_object().unwrap();
                        assert!(
                            content.contains_key("application/problem+json"),
                            "{method} {path} {status}"
                        );
                    }
                }
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for (media, body) in content {
                        let schema = match body["schema"]["$ref"].as_str() {
                            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
                            None => &body["schema"],
                        };
                        assert!(
                            schema["examples"].as_array().is_some_and(|e| !e.is_empty()),
                            "{path} {media}"
                        );
                    }
                }
            }
        }
    }
}
