//! The OpenAPI 3.1 document, generated from the route annotations, and the `/docs` page
//! (Swagger UI, vendored into the binary so it works offline).

use crate::routes;
use crate::state::GatewayState;
use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Mercato API", description = "Multi-tenant commerce platform. Errors are RFC 9457 problem documents with a stable `code`."),
    paths(
        routes::provision_store, routes::get_store, routes::register_customer, routes::create_staff,
        routes::issue_token, routes::jwks,
        routes::list_products, routes::get_product, routes::create_product, routes::update_product,
        routes::delete_product, routes::list_categories, routes::create_category, routes::search,
        routes::get_stock, routes::set_stock,
        routes::create_cart, routes::get_cart, routes::add_cart_item, routes::set_cart_item, routes::merge_cart,
        routes::checkout, routes::list_orders, routes::get_order, routes::order_events, routes::cancel_order,
        routes::refund_order,
        routes::open_conversation, routes::list_conversations, routes::get_conversation, routes::list_messages,
        routes::post_message, routes::mark_read, routes::list_presence,
    ),
    modifiers(&BearerAuth),
    tags((name = "stores"), (name = "oauth"), (name = "catalog"), (name = "inventory"), (name = "orders"), (name = "conversations"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `/openapi.json` and `/docs`.
pub fn routes() -> Router<GatewayState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", document()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_lists_every_public_path() {
        let json = serde_json::to_value(super::document()).unwrap();
        for path in [
            "/v1/stores",
            "/v1/oauth/token",
            "/v1/stores/{store}/search",
            "/v1/.well-known/jwks.json",
            "/v1/stores/{store}/conversations/{id}/messages",
        ] {
            assert!(json["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
