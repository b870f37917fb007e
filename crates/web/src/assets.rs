//! The CSS and JS of the pages, embedded in the binary and served at URLs that name their
//! content (`/assets/site.<hash>.css`), so a browser may keep each for a year: a changed file
//! has a new URL. Nothing is loaded from anywhere else.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Every asset: its name as templates ask for it, its content type and bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "site.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/site.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/live.js"),
    ),
    (
        "product.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/product.js"),
    ),
    (
        "shop.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/shop.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/admin.css"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/admin.js"),
    ),
    (
        "admin-inbox.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/admin-inbox.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
];

struct Asset {
    name: &'static str,
    /// `/assets/<stem>.<hash>.<ext>`.
    url: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let hash = Sha256::digest(bytes);
            let short: String = hash[..5].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                url: format!("/assets/{stem}.{short}.{ext}"),
                content_type,
                bytes,
            }
        })
        .collect()
});

/// The URL of asset `name` (`site.css`), for templates: `{{ crate::assets::url("site.css") }}`.
/// An unknown name is a bug of the template; it gets a URL that is not found.
pub fn url(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or("/assets/missing", |a| a.url.as_str())
}

pub(crate) fn routes() -> Router<crate::WebState> {
    Router::new()
        .route("/assets/{file}", get(serve))
        // Browsers ask for it whatever the page links; a 404 would be a console error.
        .route(
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent(url("favicon.svg")) }),
        )
}

async fn serve(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    // By its hashed URL, cached for a year; by its plain name (what one module's `import
    // "./live.js"` asks for), revalidated each time.
    let (asset, cache) = match ASSETS.iter().find(|a| a.url == path) {
        Some(asset) => (asset, "public, max-age=31536000, immutable"),
        None => match ASSETS.iter().find(|a| a.name == file) {
            Some(asset) => (asset, "no-cache"),
            None => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
        },
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assets_url_names_its_content() {
        let css = url("site.css");
        assert!(css.starts_with("/assets/site.") && css.ends_with(".css"), "{css}");
        assert_eq!(css.len(), "/assets/site.0123456789.css".len());
        assert_eq!(url("nope.css"), "/assets/missing");
    }
}
