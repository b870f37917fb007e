//! The `/v1` routes, one module per resource.

mod analytics;
mod api_clients;
mod cart_pricing;
pub(crate) mod carts;
mod categories;
mod conversations;
mod customers;
pub(crate) mod exports;
mod fulfilment;
pub(crate) mod images;
pub(crate) mod imports;
mod inventory;
pub(crate) mod jobs;
pub(crate) mod notifications;
mod oauth;
mod orders;
mod payment_methods;
mod pricing;
mod products;
mod realtime;
mod search;
mod stores;
mod users;
pub(crate) mod webhooks;

pub(crate) use analytics::*;
pub(crate) use api_clients::*;
pub(crate) use cart_pricing::*;
pub(crate) use carts::*;
pub(crate) use categories::*;
pub(crate) use conversations::*;
pub(crate) use customers::*;
pub(crate) use fulfilment::*;
pub(crate) use inventory::*;
pub(crate) use oauth::*;
pub(crate) use orders::*;
pub(crate) use payment_methods::*;
pub(crate) use pricing::*;
pub(crate) use products::*;
pub(crate) use realtime::*;
pub(crate) use search::*;
pub(crate) use stores::*;
pub(crate) use users::*;

use crate::state::GatewayState;
use axum::Router;
use axum::routing::{delete, get, post, put};
use mercato_runtime::error::ServiceError;

/// Every API route.
pub fn all() -> Router<GatewayState> {
    Router::new()
        .merge(jobs::routes())
        .merge(exports::routes())
        .merge(images::routes())
        .merge(imports::routes())
        .merge(webhooks::routes())
        .merge(notifications::routes())
        .merge(crate::strangler::routes())
        .route("/v1/stores", post(provision_store))
        .route("/v1/stores/{store}", get(get_store).patch(update_store))
        .route(
            "/v1/stores/{store}/customers",
            post(register_customer).get(list_customers),
        )
        .route("/v1/stores/{store}/customers/me", get(get_me).patch(update_me))
        .route(
            "/v1/stores/{store}/customers/me/addresses",
            get(list_my_addresses).post(add_my_address),
        )
        .route(
            "/v1/stores/{store}/customers/me/addresses/{address}",
            get(get_my_address)
                .patch(update_my_address)
                .delete(delete_my_address),
        )
        .route("/v1/stores/{store}/customers/{customer}", get(get_customer))
        .route("/v1/stores/{store}/staff", post(create_staff).get(list_staff))
        .route(
            "/v1/stores/{store}/api-clients",
            get(list_api_clients).post(create_api_client),
        )
        .route(
            "/v1/stores/{store}/api-clients/{client}/revoke",
            post(revoke_api_client),
        )
        .route(
            "/v1/stores/{store}/api-clients/{client}/rotate-secret",
            post(rotate_api_client_secret),
        )
        .route("/v1/stores/{store}/users/{user}/disable", post(disable_user))
        .route("/v1/stores/{store}/users/{user}/enable", post(enable_user))
        .route("/v1/oauth/token", post(issue_token))
        .route("/v1/oauth/revoke", post(revoke_token))
        .route("/v1/.well-known/jwks.json", get(jwks))
        .route(
            "/v1/stores/{store}/products",
            get(list_products).post(create_product),
        )
        .route(
            "/v1/stores/{store}/products/{product}",
            get(get_product).patch(update_product).delete(delete_product),
        )
        .route(
            "/v1/stores/{store}/categories",
            get(list_categories).post(create_category),
        )
        .route("/v1/stores/{store}/search", get(search))
        .route(
            "/v1/stores/{store}/search/synonyms",
            get(get_synonyms).put(set_synonyms),
        )
        .route(
            "/v1/stores/{store}/inventory/{sku}",
            get(get_stock).put(set_stock),
        )
        .route(
            "/v1/stores/{store}/inventory/{sku}/availability",
            get(get_availability),
        )
        .route("/v1/stores/{store}/carts", post(create_cart))
        .route("/v1/stores/{store}/carts/merge", post(merge_cart))
        .route("/v1/stores/{store}/carts/{cart}", get(get_cart))
        .route("/v1/stores/{store}/carts/{cart}/items", post(add_cart_item))
        .route("/v1/stores/{store}/carts/{cart}/items/{sku}", put(set_cart_item))
        .route(
            "/v1/stores/{store}/carts/{cart}/addresses",
            put(set_cart_addresses),
        )
        .route(
            "/v1/stores/{store}/carts/{cart}/shipping-methods",
            get(list_shipping_methods),
        )
        .route(
            "/v1/stores/{store}/carts/{cart}/shipping-method",
            put(set_cart_shipping_method),
        )
        .route(
            "/v1/stores/{store}/carts/{cart}/promotion-code",
            post(apply_promotion_code).delete(remove_promotion_code),
        )
        .route("/v1/stores/{store}/pricing", get(get_pricing))
        .route("/v1/stores/{store}/shipping-zones", post(create_zone))
        .route(
            "/v1/stores/{store}/shipping-zones/{zone}",
            put(update_zone).delete(delete_zone),
        )
        .route("/v1/stores/{store}/shipping-methods", post(create_method))
        .route(
            "/v1/stores/{store}/shipping-methods/{method}",
            put(update_method).delete(delete_method),
        )
        .route("/v1/stores/{store}/tax-rates", put(put_tax_rate))
        .route(
            "/v1/stores/{store}/tax-rates/{zone}/{category}",
            delete(delete_tax_rate),
        )
        .route("/v1/stores/{store}/tax-settings", put(put_tax_settings))
        .route(
            "/v1/stores/{store}/promotions",
            get(list_promotions).post(create_promotion),
        )
        .route(
            "/v1/stores/{store}/promotions/{promotion}",
            delete(delete_promotion),
        )
        .route("/v1/stores/{store}/payment-methods", post(create_payment_method))
        .route("/v1/stores/{store}/checkout", post(checkout))
        .route("/v1/stores/{store}/orders", get(list_orders))
        .route("/v1/stores/{store}/analytics/summary", get(analytics_summary))
        .route(
            "/v1/stores/{store}/analytics/timeseries",
            get(analytics_timeseries),
        )
        .route(
            "/v1/stores/{store}/analytics/top-products",
            get(analytics_top_products),
        )
        .route("/v1/stores/{store}/analytics/funnel", get(analytics_funnel))
        .route("/v1/stores/{store}/analytics/low-stock", get(analytics_low_stock))
        .route("/v1/stores/{store}/analytics/verify", get(analytics_verify))
        .route("/v1/stores/{store}/orders/{order}", get(get_order))
        .route("/v1/stores/{store}/orders/{order}/events", get(order_events))
        .route(
            "/v1/stores/{store}/conversations",
            get(list_conversations).post(open_conversation),
        )
        .route("/v1/stores/{store}/conversations/{id}", get(get_conversation))
        .route(
            "/v1/stores/{store}/conversations/{id}/messages",
            get(list_messages).post(post_message),
        )
        .route("/v1/stores/{store}/conversations/{id}/read", post(mark_read))
        .route("/v1/stores/{store}/presence", get(list_presence))
        .route("/v1/stores/{store}/orders/{order}/cancel", post(cancel_order))
        .route("/v1/stores/{store}/orders/{order}/refunds", post(refund_order))
        .route(
            "/v1/stores/{store}/orders/{order}/fulfilments",
            post(create_fulfilment),
        )
        .route(
            "/v1/stores/{store}/orders/{order}/fulfilments/{fulfilment}/ship",
            post(ship_fulfilment),
        )
        .route(
            "/v1/stores/{store}/orders/{order}/fulfilments/{fulfilment}/deliver",
            post(deliver_fulfilment),
        )
        .route("/v1/stores/{store}/orders/{order}/returns", post(request_return))
        .route(
            "/v1/stores/{store}/orders/{order}/returns/{return}/approve",
            post(approve_return),
        )
        .route(
            "/v1/stores/{store}/orders/{order}/returns/{return}/reject",
            post(reject_return),
        )
        .route(
            "/v1/stores/{store}/orders/{order}/returns/{return}/receive",
            post(receive_return),
        )
}

/// Any path we do not serve.
pub async fn not_found() -> ServiceError {
    ServiceError::not_found("route")
}
