//! The admin's customers: the list, searchable by email or name, newest first, a page at a
//! time (the API's keyset cursor), with each customer's order count and total spent; and one
//! customer's page (profile, addresses, recent orders), where staff disable or enable the
//! account.

use super::access::Staff;
use super::format::money;
use super::people::{day, explain, query, seg};
use crate::WebState;
use crate::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// The navigation link of these pages.
const NAV: &str = "customers";

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/customers", get(list))
        .route("/admin/{store}/customers/{customer}", get(show))
        .route("/admin/{store}/customers/{customer}/disable", post(disable))
        .route("/admin/{store}/customers/{customer}/enable", post(enable))
}

/// A customer as the API shows one to staff.
#[derive(Deserialize)]
struct Customer {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    marketing_consent: bool,
    order_count: i64,
    total_spent_minor: i64,
    currency: String,
    #[serde(default)]
    addresses: Option<Vec<CustomerAddress>>,
    created_at: String,
    disabled_at: Option<String>,
}

impl Customer {
    /// First and last name, or a dash when the customer gave none.
    fn name(&self) -> String {
        let parts: Vec<&str> = [&self.first_name, &self.last_name]
            .into_iter()
            .filter_map(|p| p.as_deref().filter(|p| !p.is_empty()))
            .collect();
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join(" ")
        }
    }

    fn spent(&self) -> String {
        money(self.total_spent_minor, &self.currency)
    }

    fn since(&self) -> &str {
        day(&self.created_at)
    }

    fn disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    fn addresses(&self) -> &[CustomerAddress] {
        self.addresses.as_deref().unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct CustomerAddress {
    address: Address,
    default_shipping: bool,
    default_billing: bool,
}

#[derive(Deserialize)]
struct Address {
    name: String,
    company: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: Option<String>,
    country: String,
    phone: Option<String>,
}

impl Address {
    /// The address as lines of a label.
    fn lines(&self) -> Vec<String> {
        let place = [
            self.postal_code.as_deref(),
            Some(self.city.as_str()),
            self.region.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        [
            Some(self.name.clone()),
            self.company.clone(),
            Some(self.line1.clone()),
            self.line2.clone(),
            Some(place),
            Some(self.country.clone()),
            self.phone.clone(),
        ]
        .into_iter()
        .flatten()
        .filter(|l| !l.is_empty())
        .collect()
    }
}

#[derive(Deserialize)]
struct CustomerPage {
    customers: Vec<Customer>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    store: String,
    csrf: String,
    nav: &'static str,
    q: String,
    /// The search's message (too long a query), next to its field.
    q_error: Option<String>,
    customers: Vec<Customer>,
    /// The next page's link, when there is one.
    next: Option<String>,
    /// On a later page, the link back to the first.
    first: Option<String>,
}

async fn list(staff: Staff, Query(params): Query<ListQuery>) -> Response {
    let store = staff.store.clone();
    let q = params.q.trim().to_owned();
    let path = staff.api_path(&format!(
        "/customers{}",
        query(&[("q", &q), ("after", &params.after), ("limit", "25")])
    ));
    let answer = staff.session.get(&path).send::<CustomerPage>().await;
    let (customers, next_cursor, q_error, status) = match answer {
        Ok(page) => (page.customers, page.next_cursor, None, StatusCode::OK),
        // A query the API refuses (over 254 characters, a cursor not its own) is said next to
        // the search field, with an empty list.
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            (Vec::new(), None, Some(explain(&e)), e.status)
        }
        Err(e) => return staff.failure(NAV, &e),
    };
    let next = next_cursor.map(|cursor| {
        format!(
            "/admin/{store}/customers{}",
            query(&[("q", &q), ("after", &cursor)])
        )
    });
    let first =
        (!params.after.is_empty()).then(|| format!("/admin/{store}/customers{}", query(&[("q", &q)])));
    let page = CustomersPage {
        store,
        csrf: staff.csrf(),
        nav: NAV,
        q,
        q_error,
        customers,
        next,
        first,
    };
    page::render_status(status, &page)
}

/// One of the customer's orders, as the orders list gives it.
#[derive(Deserialize)]
struct Order {
    id: String,
    number: Option<i64>,
    status: String,
    fulfilment_status: String,
    currency: String,
    total_minor: i64,
    created_at: String,
}

impl Order {
    fn label(&self) -> String {
        self.number
            .map_or_else(|| "Order".to_owned(), |n| format!("#{n}"))
    }

    fn total(&self) -> String {
        money(self.total_minor, &self.currency)
    }

    fn placed(&self) -> &str {
        day(&self.created_at)
    }

    /// `partially_refunded` as `partially refunded`.
    fn state(&self) -> String {
        format!("{}, {}", self.status, self.fulfilment_status).replace('_', " ")
    }
}

#[derive(Deserialize)]
struct OrderPage {
    items: Vec<Order>,
    total: u64,
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerView {
    store: String,
    csrf: String,
    nav: &'static str,
    customer: Customer,
    orders: Vec<Order>,
    /// When `orders` are only the newest: how many there are in all.
    orders_note: Option<String>,
    notice: Option<&'static str>,
    alert: Option<String>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(
    staff: Staff,
    Path((_store, customer)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let notice = match done.done.as_deref() {
        Some("disabled") => Some("The account was disabled. The customer can no longer sign in."),
        Some("enabled") => Some("The account was enabled. The customer can sign in again."),
        _ => None,
    };
    render(staff, &customer, notice, None, StatusCode::OK).await
}

async fn render(
    staff: Staff,
    id: &str,
    notice: Option<&'static str>,
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let path = staff.api_path(&format!("/customers/{}", seg(id)));
    let customer = match staff.session.get(&path).send::<Customer>().await {
        Ok(customer) => customer,
        Err(e) => return staff.failure(NAV, &e),
    };
    let orders_path = staff.api_path(&format!(
        "/orders{}",
        query(&[("customer_id", &customer.id), ("per_page", "10")])
    ));
    let (orders, order_total) = match staff.session.get(&orders_path).send::<OrderPage>().await {
        Ok(page) => (page.items, page.total),
        Err(e) => return staff.failure(NAV, &e),
    };
    let page = CustomerView {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        customer,
        orders_note: (order_total > orders.len() as u64)
            .then(|| format!("The {} newest of {order_total}.", orders.len())),
        orders,
        notice,
        alert,
    };
    page::render_status(status, &page)
}

async fn disable(staff: Staff, Path((_store, customer)): Path<(String, String)>) -> Response {
    set_disabled(staff, customer, true).await
}

async fn enable(staff: Staff, Path((_store, customer)): Path<(String, String)>) -> Response {
    set_disabled(staff, customer, false).await
}

async fn set_disabled(staff: Staff, customer: String, disabled: bool) -> Response {
    let action = if disabled { "disable" } else { "enable" };
    let path = staff.api_path(&format!("/users/{}/{action}", seg(&customer)));
    match staff.session.post(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!(
            "/admin/{}/customers/{}?done={action}d",
            staff.store,
            seg(&customer)
        ))
        .into_response(),
        Err(e) if e.is_unauthenticated() => staff.failure(NAV, &e),
        Err(e) => render(staff, &customer, None, Some(explain(&e)), e.status).await,
    }
}
