//! A running platform slice for tests: orders, inventory and payments, each on its own fresh
//! database of the backend under test, the latter two reached through the clients the orders
//! service uses — local ones, or remote ones over a real gRPC channel (`Topology`).

use mercato_inventory::InventoryService;
use mercato_orders::{OrdersDeps, OrdersService};
use mercato_payments::{PaymentsConfig, PaymentsService};
use mercato_proto::catalog::{Money, Product, Variant};
use mercato_proto::events::{ProductChanged, ProductDeleted};
use mercato_proto::inventory::inventory_server::InventoryServer;
use mercato_proto::inventory::{GetStockRequest, SetStockRequest};
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_proto::payments::payments_server::PaymentsServer;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::clients::payments::PaymentsClient;
use mercato_runtime::clients::{InternalAuth, balanced_channel};
use mercato_runtime::db::Db;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::envelope;
pub use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;

pub const APPROVE: &str = "4242424242424242";
pub const DECLINE: &str = "4000000000000002";

pub struct Env {
    pub store: StoreId,
    pub orders: Arc<OrdersService>,
    pub orders_db: Db,
    pub inventory: InventoryClient,
    pub payments: PaymentsClient,
    pub payments_db: Db,
    pub inventory_db: Db,
}

/// How the orders service reaches inventory and payments, and the backend all three store on.
#[derive(Clone, Copy, Debug)]
pub enum Topology {
    /// In one process: the local clients call the services directly.
    Local(Backend),
    /// As separate processes would: the remote clients call a tonic server on an ephemeral
    /// 127.0.0.1 port, through the internal-token interceptor, so every request and answer (and
    /// every error) crosses the wire.
    Grpc(Backend),
}

impl Topology {
    /// The backend all three services store on.
    pub fn backend(self) -> Backend {
        match self {
            Topology::Local(backend) | Topology::Grpc(backend) => backend,
        }
    }
}

impl mercato_runtime::testing::Variant for Topology {
    fn runs_here(&self) -> bool {
        self.backend().runs_here()
    }
}

/// The token the test server demands and the remote clients present.
const INTERNAL_TOKEN: &str = "orders-suite-internal-token";

impl Env {
    /// A fresh slice on `backend`, in one process.
    pub async fn on(backend: Backend) -> Env {
        Env::start(Topology::Local(backend)).await
    }

    /// A fresh slice in `topology`, each service on its own new database.
    pub async fn start(topology: Topology) -> Env {
        mercato_runtime::testing::init_logs();
        let backend = topology.backend();
        let (orders_db, inventory_db, payments_db) = (
            backend.database().await,
            backend.database().await,
            backend.database().await,
        );
        let inventory = InventoryService::new(inventory_db.clone(), Arc::new(Notify::new()))
            .await
            .expect("inventory starts");
        let payments = PaymentsService::new(
            payments_db.clone(),
            Arc::new(Notify::new()),
            PaymentsConfig::default(),
        )
        .await
        .expect("payments starts");
        let deadline = Duration::from_secs(30);
        let (inventory, payments) = match topology {
            Topology::Local(_) => (
                InventoryClient::local(inventory, deadline),
                PaymentsClient::local(payments, deadline),
            ),
            Topology::Grpc(_) => {
                let channel = serve_grpc(inventory, payments).await;
                (
                    InventoryClient::remote(channel.clone(), deadline, Some(INTERNAL_TOKEN)).unwrap(),
                    PaymentsClient::remote(channel, deadline, Some(INTERNAL_TOKEN)).unwrap(),
                )
            }
        };
        let deps = OrdersDeps {
            inventory: inventory.clone(),
            payments: payments.clone(),
        };
        let orders = OrdersService::new(orders_db.clone(), Arc::new(Notify::new()), deps)
            .await
            .expect("orders starts");
        Env {
            store: StoreId::new(),
            orders,
            orders_db,
            inventory,
            payments,
            payments_db,
            inventory_db,
        }
    }
}

/// Serves inventory and payments over gRPC on an ephemeral 127.0.0.1 port, as a process running
/// both roles would, and returns a channel to it. The server is a task of the test's runtime, so
/// it stops when the test ends.
async fn serve_grpc(inventory: Arc<InventoryService>, payments: Arc<PaymentsService>) -> Channel {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let admit = InternalAuth::new(Some(INTERNAL_TOKEN));
    let server = tonic::transport::Server::builder()
        .add_service(InterceptedService::new(
            InventoryServer::from_arc(inventory),
            admit.clone(),
        ))
        .add_service(InterceptedService::new(PaymentsServer::from_arc(payments), admit))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(async move { server.await.expect("the test gRPC server runs") });
    balanced_channel(&[url], Duration::from_secs(30)).unwrap()
}

pub fn customer(user: &str) -> Caller {
    Caller {
        user_id: user.to_owned(),
        role: mercato_proto::common::Role::Customer.into(),
        cart_token: String::new(),
    }
}

pub fn staff() -> Caller {
    Caller {
        user_id: "staff-1".to_owned(),
        role: mercato_proto::common::Role::Staff.into(),
        cart_token: String::new(),
    }
}

pub fn anonymous(token: &str) -> Caller {
    Caller {
        cart_token: token.to_owned(),
        ..Caller::default()
    }
}

/// A distinct approved card number for each `n` (fraud velocity counts per card).
pub use mercato_payments::provider::test::approving_card as card;

pub fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> ErrorCode {
    r.expect_err("expected an error").code
}

impl Env {
    /// Publishes a product with one variant per `(sku, price)` into the SKU projection, the way
    /// the catalog's `product_created` / `product_updated` event would.
    pub async fn product(&self, product_id: &str, version: i64, variants: &[(&str, i64, &str)]) {
        self.product_in_status(product_id, version, variants, "").await;
    }

    /// [`Env::product`] with the catalog's status (`draft`, `active`, `archived`; empty: from
    /// before statuses).
    pub async fn product_in_status(
        &self,
        product_id: &str,
        version: i64,
        variants: &[(&str, i64, &str)],
        status: &str,
    ) {
        let product = Product {
            id: product_id.to_owned(),
            store_id: self.store.to_string(),
            slug: product_id.to_owned(),
            title: format!("Product {product_id}"),
            variants: variants
                .iter()
                .map(|(sku, price, currency)| Variant {
                    id: format!("v-{sku}"),
                    sku: (*sku).to_owned(),
                    title: String::new(),
                    price: Some(Money {
                        amount_minor: *price,
                        currency: (*currency).to_owned(),
                    }),
                    ..Variant::default()
                })
                .collect(),
            version,
            status: status.to_owned(),
            ..Product::default()
        };
        let subject = if version == 1 {
            "mercato.catalog.product_created"
        } else {
            "mercato.catalog.product_updated"
        };
        let event = ProductChanged {
            product: Some(product),
            ..ProductChanged::default()
        };
        let e = envelope(&self.store.to_string(), subject, 1, &event);
        self.orders.apply_catalog_event(&e).await.unwrap();
    }

    pub async fn delete_product(&self, product_id: &str, version: i64) {
        let event = ProductDeleted {
            product_id: product_id.to_owned(),
            version,
        };
        let e = envelope(
            &self.store.to_string(),
            "mercato.catalog.product_deleted",
            1,
            &event,
        );
        self.orders.apply_catalog_event(&e).await.unwrap();
    }

    /// A SKU at `price` EUR cents with `on_hand` units in stock.
    pub async fn sku(&self, sku: &str, price: i64, on_hand: i64) {
        self.product(&format!("p-{sku}"), 1, &[(sku, price, "EUR")]).await;
        self.inventory
            .set_stock(SetStockRequest {
                store_id: self.store.to_string(),
                sku: sku.to_owned(),
                location: String::new(),
                on_hand,
                low_stock_threshold: None,
            })
            .await
            .unwrap();
    }

    /// (on hand, reserved) of a SKU over every location.
    pub async fn stock(&self, sku: &str) -> (i64, i64) {
        let levels = self
            .inventory
            .get_stock(GetStockRequest {
                store_id: self.store.to_string(),
                sku: sku.to_owned(),
            })
            .await
            .unwrap();
        levels
            .locations
            .iter()
            .fold((0, 0), |(h, r), l| (h + l.on_hand, r + l.reserved))
    }

    pub async fn cart_for(&self, caller: &Caller, lines: &[(&str, i64)]) -> Cart {
        let mut cart = self
            .orders
            .create_cart(tonic::Request::new(CreateCartRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
            }))
            .await
            .unwrap()
            .into_inner();
        for (sku, quantity) in lines {
            cart = self.add(caller, &cart.id, sku, *quantity).await.unwrap();
        }
        cart
    }

    pub async fn add(
        &self,
        caller: &Caller,
        cart: &str,
        sku: &str,
        quantity: i64,
    ) -> Result<Cart, ServiceError> {
        self.call(|o| async move {
            o.add_cart_item(tonic::Request::new(AddCartItemRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
                sku: sku.to_owned(),
                quantity,
            }))
            .await
        })
        .await
    }

    pub async fn set(
        &self,
        caller: &Caller,
        cart: &str,
        sku: &str,
        quantity: i64,
    ) -> Result<Cart, ServiceError> {
        self.call(|o| async move {
            o.set_cart_item(tonic::Request::new(SetCartItemRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
                sku: sku.to_owned(),
                quantity,
            }))
            .await
        })
        .await
    }

    pub async fn get_cart(&self, caller: &Caller, cart: &str) -> Result<Cart, ServiceError> {
        self.call(|o| async move {
            o.get_cart(tonic::Request::new(GetCartRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
            }))
            .await
        })
        .await
    }

    pub fn checkout_request(&self, caller: &Caller, cart: &str, key: &str, card: &str) -> CheckoutRequest {
        CheckoutRequest {
            store_id: self.store.to_string(),
            caller: Some(caller.clone()),
            cart_id: cart.to_owned(),
            idempotency_key: key.to_owned(),
            payment: Some(PaymentDetails {
                // A card number, which [`Env::checkout`] tokenizes before sending.
                payment_method: card.to_owned(),
                email: "buyer@example.com".to_owned(),
                billing_country: "DE".to_owned(),
                shipping_country: "DE".to_owned(),
                // A private address, as behind a proxy: every buyer of a flash sale shares it,
                // and the fraud rules rightly give a shared address no velocity signal.
                ip: "10.0.0.1".to_owned(),
            }),
            request_hash: format!("hash-{cart}-{card}"),
            // Goods ship: every checkout of physical goods needs an address.
            shipping_address: Some(shipping_address()),
            ..CheckoutRequest::default()
        }
    }

    /// Checks out; a request naming a card number instead of a payment method gets the card
    /// tokenized first, through orders' `CreatePaymentMethod`, as a storefront would.
    pub async fn checkout(&self, mut req: CheckoutRequest) -> Result<CheckoutResponse, ServiceError> {
        if let Some(payment) = req.payment.as_mut()
            && !payment.payment_method.starts_with("pm_")
        {
            payment.payment_method = self.tokenize(&payment.payment_method).await?;
        }
        self.call(|o| async move { o.checkout(tonic::Request::new(req)).await })
            .await
    }

    /// Checks out with the request exactly as given (no tokenizing).
    pub async fn checkout_as_sent(&self, req: CheckoutRequest) -> Result<CheckoutResponse, ServiceError> {
        self.call(|o| async move { o.checkout(tonic::Request::new(req)).await })
            .await
    }

    /// The id of a new payment method of this store for `card`.
    pub async fn tokenize(&self, card: &str) -> Result<String, ServiceError> {
        let req = mercato_proto::payments::CreatePaymentMethodRequest {
            store_id: self.store.to_string(),
            card_number: card.to_owned(),
            ..Default::default()
        };
        let method = self
            .call(|o| async move { o.create_payment_method(tonic::Request::new(req)).await })
            .await?;
        Ok(method.id)
    }

    /// Checks a new cart of `lines` out for `user` and returns the order.
    pub async fn buy(&self, user: &str, lines: &[(&str, i64)], card: &str) -> Order {
        let caller = customer(user);
        let cart = self.cart_for(&caller, lines).await;
        let key = format!("key-{}", uuid::Uuid::now_v7());
        self.checkout(self.checkout_request(&caller, &cart.id, &key, card))
            .await
            .unwrap()
            .order
            .unwrap()
    }

    pub async fn get_order(&self, caller: &Caller, id: &str) -> Result<Order, ServiceError> {
        self.call(|o| async move {
            o.get_order(tonic::Request::new(GetOrderRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                order_id: id.to_owned(),
            }))
            .await
        })
        .await
    }

    pub async fn events(
        &self,
        caller: &Caller,
        id: &str,
        as_of_ms: Option<i64>,
    ) -> Result<OrderEvents, ServiceError> {
        self.call(|o| async move {
            o.get_order_events(tonic::Request::new(GetOrderEventsRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                order_id: id.to_owned(),
                as_of_ms,
            }))
            .await
        })
        .await
    }

    pub async fn kinds(&self, id: &str) -> Vec<String> {
        let events = self.events(&staff(), id, None).await.unwrap();
        events.events.iter().map(|e| kind(e).to_owned()).collect()
    }

    pub(crate) async fn call<'a, T, F, Fut>(&'a self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&'a OrdersService) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        f(&self.orders)
            .await
            .map(tonic::Response::into_inner)
            .map_err(ServiceError::from)
    }

    /// Counts rows in the payments database with a fixed, test-controlled query.
    pub async fn payments_count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.payments_db.query_one(sql, &[]).await.unwrap();
        n
    }

    pub async fn orders_count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.orders_db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// Outbox subjects of the orders service, oldest first.
    pub async fn outbox_subjects(&self) -> Vec<String> {
        let rows: Vec<(String,)> = self
            .orders_db
            .query_all("SELECT subject FROM outbox ORDER BY id", &[])
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0).collect()
    }
}

#[test]
fn generated_cards_pass_the_luhn_check() {
    assert_eq!(card(0).len(), 16);
    assert_ne!(card(1), card(2));
}

/// Statuses and failure codes by the names the public API gives them, for readable asserts.
pub trait Named {
    fn status_name(&self) -> &'static str;
    fn failure_name(&self) -> &'static str {
        ""
    }
}

impl Named for Order {
    fn status_name(&self) -> &'static str {
        mercato_proto::names::order_status(self.status())
    }

    fn failure_name(&self) -> &'static str {
        mercato_proto::names::failure_code(self.failure_code()).unwrap_or("")
    }
}

impl Named for Cart {
    fn status_name(&self) -> &'static str {
        mercato_proto::names::cart_status(self.status())
    }
}

/// An event's kind by its public name.
pub fn kind(e: &OrderEvent) -> &'static str {
    e.data
        .as_ref()
        .map_or("none", mercato_proto::names::order_event_kind)
}

/// The cases of a file of the orders suite, each run three ways: `sqlite`, `postgres`, and
/// `sqlite_grpc` (inventory and payments behind a real gRPC server).
macro_rules! local_and_grpc_tests {
    ($($cases:tt)*) => {
        mercato_runtime::backend_tests! {
            setup: Env::start,
            variants: {
                sqlite: Topology::Local(Backend::Sqlite),
                postgres: Topology::Local(Backend::Postgres),
                sqlite_grpc: Topology::Grpc(Backend::Sqlite),
            },
            cases: [$($cases)*],
        }
    };
}
pub(crate) use local_and_grpc_tests;

/// A valid German shipping address, for checkouts of goods that ship.
pub fn shipping_address() -> mercato_proto::common::Address {
    mercato_proto::common::Address {
        name: "Erika Mustermann".to_owned(),
        line1: "Heidestraße 17".to_owned(),
        city: "Köln".to_owned(),
        postal_code: "51147".to_owned(),
        country: "DE".to_owned(),
        ..Default::default()
    }
}
