//! The admin under `/admin/{store}/…`: the pages a store's owner and staff run it from. Like
//! the storefront, every page reads and writes through the REST API as the signed-in staff
//! member (`Staff` is their session), so the API's rules, roles and field errors apply as they
//! would to any client.
//!
//! # Layout
//!
//! - `sign_in`: `/admin` (store, email, password; owners and staff only) and sign-out.
//! - `access`: the `Staff` extractor every page takes, and the failure page of a refusal.
//! - `layout`: the frame (navigation, sign-out) of `templates/admin/layout.html`.
//! - `home`: today's sales and orders, the latest orders.
//! - `products` (list, delete), `product_edit` (the form's pages) with `product_form` (variants,
//!   options), `product_errors` (the API's field errors on their inputs), `product_data`,
//!   `product_import` (many products from pasted CSV, with a report per line) and `categories`.
//! - `stock`: levels per SKU and location, and setting them.
//! - `orders` (list with filters, followed live), `orders_export` (the same filters as CSV) and
//!   `order` (timeline from `timeline`, cancel, refunds) with `after_sale` (its shipments and
//!   returns) and `after_sale_actions` (their forms).
//! - `jobs`: background jobs (exports, image sizes, re-indexing) with progress, followed live;
//!   cancel, retry, and starting an export.
//! - `webhooks` (list, register with the secret shown once) and `webhook` (one endpoint: its
//!   delivery log, enable/disable, rotate, test, delete; one delivery's attempts, redeliver);
//!   owner only.
//! - `notification_prefs`: the signed-in member's own e-mail choices; `email_templates`: the
//!   store's mails (edit, preview, reset to built-in; owner only).
//! - `format`: money, times and dates as staff read and type them; `errors`: field messages.
//!
//! Live parts: `/admin/{store}/live` is the realtime WebSocket (`crate::live`); `admin.js`
//! subscribes to `staff:{store_id}` and refetches the HTML fragment the page names when an
//! order event arrives, so the pages stay plain HTML that works without script.

mod access;
mod after_sale;
mod after_sale_actions;
mod api_clients;
mod categories;
mod conversations;
mod customers;
mod email_templates;
mod errors;
mod format;
mod home;
mod home_figures;
mod jobs;
mod layout;
mod notification_prefs;
mod order;
mod orders;
mod orders_export;
mod people;
mod product_data;
mod product_edit;
mod product_errors;
mod product_form;
mod product_images;
mod product_import;
mod products;
mod sign_in;
mod staff;
mod stock;
mod timeline;
mod webhook;
mod webhooks;

use crate::WebState;
use axum::Router;
use axum::routing::get;

/// Every admin route.
pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/live", get(crate::live::proxy))
        .merge(sign_in::routes())
        .merge(home::routes())
        .merge(products::routes())
        .merge(product_edit::routes())
        .merge(product_images::routes())
        .merge(product_import::routes())
        .merge(categories::routes())
        .merge(stock::routes())
        .merge(orders::routes())
        .merge(orders_export::routes())
        .merge(order::routes())
        .merge(after_sale_actions::routes())
        .merge(customers::routes())
        .merge(conversations::routes())
        .merge(staff::routes())
        .merge(api_clients::routes())
        .merge(jobs::routes())
        .merge(webhooks::routes())
        .merge(webhook::routes())
        .merge(notification_prefs::routes())
        .merge(email_templates::routes())
}
