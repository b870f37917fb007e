//! The OpenAPI 3.1 document, generated from the route annotations, and the `/docs` page
//! (Swagger UI, vendored into the binary so it works offline).
//!
//! Each route's annotation lists what is particular to it: its parameters, its body (with an
//! example, on the DTO) and the statuses its handler answers, each described. What every route
//! shares is added once, by [`ErrorResponses`]: the problem document as the body of every error,
//! and the statuses the edge can answer for any route (400 for a request that cannot be read,
//! 413 for a body over the limit, 414, 431, 429, 500, 503, 504).

use crate::routes;
use crate::state::GatewayState;
use axum::Router;
use mercato_runtime::error::ErrorCode;
use serde_json::json;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, RefOr, Response};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Mercato API", description = "Multi-tenant commerce platform. Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`; the token endpoint answers RFC 6749 errors."),
    servers((url = "/", description = "The gateway serving this document")),
    paths(
        routes::provision_store, routes::get_store, routes::update_store, routes::register_customer, routes::create_staff,
        routes::list_staff, routes::disable_user, routes::enable_user,
        routes::create_api_client, routes::list_api_clients, routes::revoke_api_client,
        routes::rotate_api_client_secret,
        routes::get_me, routes::update_me, routes::list_my_addresses, routes::add_my_address,
        routes::get_my_address, routes::update_my_address, routes::delete_my_address,
        routes::list_customers, routes::get_customer,
        routes::issue_token, routes::revoke_token, routes::jwks,
        routes::list_products, routes::get_product, routes::create_product, routes::update_product,
        routes::delete_product, routes::list_categories, routes::create_category, routes::search,
        routes::get_synonyms, routes::set_synonyms,
        routes::get_stock, routes::set_stock, routes::get_availability,
        routes::create_cart, routes::get_cart, routes::add_cart_item, routes::set_cart_item, routes::merge_cart,
        routes::set_cart_addresses, routes::list_shipping_methods, routes::set_cart_shipping_method,
        routes::apply_promotion_code, routes::remove_promotion_code,
        routes::get_pricing, routes::create_zone, routes::update_zone, routes::delete_zone,
        routes::create_method, routes::update_method, routes::delete_method,
        routes::put_tax_rate, routes::delete_tax_rate, routes::put_tax_settings,
        routes::create_promotion, routes::list_promotions, routes::delete_promotion,
        routes::create_payment_method, routes::checkout, routes::list_orders, routes::get_order, routes::order_events, routes::cancel_order,
        routes::refund_order,
        routes::create_fulfilment, routes::ship_fulfilment, routes::deliver_fulfilment,
        routes::request_return, routes::approve_return, routes::reject_return, routes::receive_return,
        routes::open_conversation, routes::list_conversations, routes::get_conversation, routes::list_messages,
        routes::post_message, routes::mark_read, routes::list_presence,
        routes::analytics_summary, routes::analytics_timeseries, routes::analytics_top_products,
        routes::analytics_funnel, routes::analytics_low_stock, routes::analytics_verify,
    ),
    tags((name = "stores"), (name = "customers"), (name = "oauth"), (name = "catalog"), (name = "inventory"), (name = "orders"), (name = "pricing"), (name = "conversations"), (name = "analytics"))
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

/// The media type of every error body but the token endpoint's.
const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the problem schema, the responses every route shares, and a problem body to each
/// error response an annotation lists without one.
struct ErrorResponses;

/// The responses the edge may give any route: (status, component name, description, whether
/// it carries `Retry-After`). 400 and 413 are added only where they can happen (see
/// [`ErrorResponses::modify`]).
const SHARED: [(&str, &str, &str, bool); 8] = [
    (
        "400",
        "BadRequest",
        "The request cannot be read: a path segment that is not UTF-8, an invalid query parameter, malformed JSON, a body that is not a JSON object, or a missing or malformed header.",
        false,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the limit.",
        false,
    ),
    (
        "414",
        "UriTooLong",
        "The request target (path and query) is longer than 8 KiB.",
        false,
    ),
    (
        "431",
        "HeadersTooLarge",
        "The request carries more than 64 header fields or 32 KiB of them.",
        false,
    ),
    (
        "429",
        "RateLimited",
        "The client sent more requests than its allowance; retry after `Retry-After` seconds.",
        true,
    ),
    (
        "500",
        "Internal",
        "An unexpected failure; it is logged with the request's `X-Request-Id`.",
        false,
    ),
    (
        "503",
        "Unavailable",
        "A service this request needs is unreachable or overloaded; retry after `Retry-After` seconds.",
        true,
    ),
    (
        "504",
        "Timeout",
        "The request did not finish within its deadline.",
        false,
    ),
];

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        add_problem_schemas(components);
        for (status, name, description, retry_after) in SHARED {
            components.responses.insert(
                name.to_owned(),
                RefOr::T(problem_response(status, description, retry_after)),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let readable = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
                    || operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && is_error(status)
                        && response.content.is_empty()
                    {
                        *response = problem_response(status, &response.description, false);
                    }
                }
                for (status, name, _, _) in SHARED {
                    let applies = match status {
                        "400" => readable,
                        "413" => operation.request_body.is_some(),
                        _ => true,
                    };
                    if applies {
                        responses
                            .entry(status.to_owned())
                            .or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name(name)));
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn is_error(status: &str) -> bool {
    status == "default" || status.starts_with('4') || status.starts_with('5')
}

/// `Problem` (RFC 9457, with the stable `code`) and `FieldError`.
fn add_problem_schemas(components: &mut Components) {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let problem = json!({
        "type": "object",
        "description": "An RFC 9457 problem document.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "`urn:mercato:problem:<code>`."},
            "title": {"type": "string", "description": "A short summary of the kind of problem."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
            "detail": {"type": "string", "description": "What went wrong with this request."},
            "code": {"type": "string", "enum": codes, "description": "The stable machine-readable code."},
            "errors": {
                "type": "array",
                "description": "The invalid fields, when the request named some.",
                "items": {"$ref": "#/components/schemas/FieldError"}
            }
        },
        "examples": [{
            "type": "urn:mercato:problem:validation_failed",
            "title": "Validation failed",
            "status": 422,
            "detail": "slug must be 3–40 lower-case letters, digits and dashes",
            "code": "validation_failed",
            "errors": [{"field": "slug", "message": "must be 3–40 lower-case letters, digits and dashes"}]
        }]
    });
    let field_error = json!({
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "The field, as the request named it (`owner.email`)."},
            "message": {"type": "string"}
        }
    });
    for (name, schema) in [("Problem", problem), ("FieldError", field_error)] {
        let schema = serde_json::from_value(schema).expect("a valid schema object");
        components.schemas.insert(name.to_owned(), RefOr::T(schema));
    }
}

fn problem_response(status: &str, description: &str, retry_after: bool) -> Response {
    let mut response = json!({
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    if let Some(code) = status.parse().ok().and_then(ErrorCode::for_http_status) {
        response["content"][PROBLEM_JSON]["schema"] = json!({
            "allOf": [{"$ref": "#/components/schemas/Problem"}],
            "properties": {"status": {"const": code.http_status()}}
        });
    }
    if retry_after {
        response["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 0}
        }});
    }
    serde_json::from_value(response).expect("a valid response object")
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::jobs::ApiDoc::openapi());
    doc.merge(routes::exports::ApiDoc::openapi());
    doc.merge(routes::images::ApiDoc::openapi());
    doc.merge(routes::imports::ApiDoc::openapi());
    doc.merge(routes::webhooks::ApiDoc::openapi());
    doc.merge(routes::notifications::ApiDoc::openapi());
    // After the merge, so every route gets the bearer scheme and the shared error responses.
    utoipa::Modify::modify(&BearerAuth, &mut doc);
    utoipa::Modify::modify(&ErrorResponses, &mut doc);
    doc
}

/// `/openapi.json` and `/docs`.
pub fn routes() -> Router<GatewayState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", document()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(super::document()).unwrap()
    }

    fn operations(doc: &Value) -> impl Iterator<Item = (String, &Value)> {
        doc["paths"].as_object().unwrap().iter().flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (format!("{method} {path}"), op))
        })
    }

    /// Follows a `$ref` within the document.
    fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
            None => value,
        }
    }

    #[test]
    fn the_document_lists_every_public_path() {
        let json = document();
        for path in [
            "/v1/stores",
            "/v1/oauth/token",
            "/v1/oauth/revoke",
            "/v1/stores/{store}/api-clients/{client}/rotate-secret",
            "/v1/stores/{store}/search",
            "/v1/.well-known/jwks.json",
            "/v1/stores/{store}/conversations/{id}/messages",
            "/v1/stores/{store}/customers/me/addresses/{address}",
            "/v1/stores/{store}/customers/{customer}",
        ] {
            assert!(json["paths"].get(path).is_some(), "{path} missing");
        }
        assert_eq!(json["servers"][0]["url"], "/");
    }

    #[test]
    fn every_response_is_described_and_every_error_is_a_problem_or_an_oauth_error() {
        let doc = document();
        for (name, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = resolve(&doc, response);
                let description = response["description"].as_str().unwrap_or_default();
                assert!(!description.is_empty(), "{name} {status}: no description");
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object();
                    let content = content.unwrap_or_else(|| panic!("{name} {status}: no content"));
                    let problem = content.contains_key("application/problem+json");
                    let oauth = (name.ends_with("/v1/oauth/token") || name.ends_with("/v1/oauth/revoke"))
                        && content
                            .get("application/json")
                            .and_then(|c| c["schema"]["$ref"].as_str())
                            .is_some_and(|r| r.ends_with("/OAuthErrorView"));
                    assert!(problem || oauth, "{name} {status}: {content:?}");
                }
            }
            for status in ["429", "500", "503"] {
                assert!(op["responses"].get(status).is_some(), "{name}: no {status}");
            }
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_and_the_rest_in_the_query_or_headers() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    let declared_in_path = parameter["in"] == "path";
                    let in_template = path.contains(&format!("{{{name}}}"));
                    assert_eq!(declared_in_path, in_template, "{method} {path}: {parameter}");
                }
            }
        }
    }

    #[test]
    fn every_request_body_has_an_example() {
        let doc = document();
        for (name, op) in operations(&doc) {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media, body) in content {
                let schema = resolve(&doc, &body["schema"]);
                let has_example = body.get("example").is_some()
                    || body.get("examples").is_some()
                    || schema["examples"].as_array().is_some_and(|e| !e.is_empty());
                assert!(has_example, "{name} {media}: no example");
            }
        }
    }
}
