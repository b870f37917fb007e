//! One client per service contract: local (a direct call on the implementation: messages pass
//! as they are, and only an error is encoded, into a `tonic::Status` with its details and back,
//! exactly as over the wire) or remote (gRPC, load-balanced over the service's replicas). Both go through
//! the same deadline and the same metrics, so dashboards read the same in either topology.

use crate::error::{ErrorCode, ServiceError};
use crate::metric_handles::{CallMetrics, CallMetricsCache};
use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};

/// Runs one call with a deadline, recording `rpc_client_calls_total` and its duration.
pub async fn instrumented<T>(
    service: &'static str,
    method: &'static str,
    deadline: Duration,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, ServiceError> {
    let started = Instant::now();
    let span = tracing::info_span!("rpc.client", rpc.service = service, rpc.method = method);
    let call = tracing::Instrument::instrument(call, span);
    let result = match tokio::time::timeout(deadline, call).await {
        Ok(r) => r.map_err(ServiceError::from),
        Err(_) => {
            tracing::warn!(service, method, "call timed out");
            Err(ServiceError::new(
                ErrorCode::Timeout,
                format!("{service} did not answer in time"),
            ))
        }
    };
    let code = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    CLIENT_METRICS
        .get(&(service, method), code, || {
            let labels = [
                ("service", service.to_owned()),
                ("method", method.to_owned()),
                ("code", code.to_owned()),
            ];
            let handles = CallMetrics::new(
                metrics::counter!(RPC_CLIENT_CALLS.name, &labels),
                metrics::histogram!(RPC_CLIENT_CALL_DURATION.name, &labels),
            );
            ((service, method), code, handles)
        })
        .record(started.elapsed());
    result
}

type ClientKey = (&'static str, &'static str);
static CLIENT_METRICS: LazyLock<CallMetricsCache<ClientKey, &'static str>> =
    LazyLock::new(CallMetricsCache::default);

/// Describes what [`instrumented`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[RPC_CLIENT_CALLS, RPC_CLIENT_CALL_DURATION]);
}

crate::metric_families! {
    /// Calls to another service's contract, local or over gRPC, by callee service, method and
    /// result code (ok or a Mercato error code).
    pub(crate) const RPC_CLIENT_CALLS: Counter(Count) = "rpc_client_calls_total";
    /// Time for one call to another service, deadline included, by service, method and code.
    pub(crate) const RPC_CLIENT_CALL_DURATION: Histogram(Seconds) = "rpc_client_call_duration_seconds";
}

/// A gRPC channel spreading calls over every endpoint; connections are made lazily so that a
/// process can start before its upstreams.
pub fn balanced_channel(endpoints: &[String], deadline: Duration) -> anyhow::Result<Channel> {
    anyhow::ensure!(!endpoints.is_empty(), "no endpoints configured");
    let endpoints = endpoints
        .iter()
        .map(|url| {
            Ok(Endpoint::from_shared(url.clone())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(deadline)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Channel::balance_list(endpoints.into_iter()))
}

/// A gRPC interceptor admitting only peers that present the internal token. Without a
/// configured token every call is admitted, which is only safe on a private network.
#[derive(Clone)]
pub struct InternalAuth {
    expected: Option<std::sync::Arc<str>>,
}

impl InternalAuth {
    pub fn new(token: Option<&str>) -> Self {
        InternalAuth {
            expected: token.map(|t| format!("Bearer {t}").into()),
        }
    }
}

impl tonic::service::Interceptor for InternalAuth {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if constant_time_eq(presented, expected.as_bytes()) {
            Ok(request)
        } else {
            Err(tonic::Status::unauthenticated(
                "internal call without a valid service token",
            ))
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Defines a client with one method per RPC, dispatching to a local implementation or a
/// remote gRPC client.
macro_rules! service_client {
    (
        $(#[$meta:meta])*
        $client:ident, $service:literal, $server_trait:path, $grpc:ident,
        { $( $method:ident($req:ty) -> $resp:ty; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $client {
            target: Target,
            deadline: std::time::Duration,
            /// `authorization` metadata proving to the remote service that we are a peer.
            token: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
        }

        #[derive(Clone)]
        enum Target {
            Local(std::sync::Arc<dyn $server_trait>),
            Remote($grpc<tonic::transport::Channel>),
        }

        impl $client {
            /// Calls the implementation in this process directly.
            pub fn local(service: std::sync::Arc<dyn $server_trait>, deadline: std::time::Duration) -> Self {
                Self { target: Target::Local(service), deadline, token: None }
            }

            /// Calls the service over gRPC, presenting the internal token when one is configured.
            pub fn remote(
                channel: tonic::transport::Channel,
                deadline: std::time::Duration,
                internal_token: Option<&str>,
            ) -> anyhow::Result<Self> {
                let token = internal_token
                    .map(|t| format!("Bearer {t}").parse())
                    .transpose()
                    .map_err(|_| anyhow::anyhow!("the internal token must be printable ASCII"))?;
                Ok(Self { target: Target::Remote($grpc::new(channel)), deadline, token })
            }

            $(
                pub async fn $method(&self, request: $req) -> Result<$resp, $crate::error::ServiceError> {
                    let call = async {
                        match &self.target {
                            Target::Local(s) => s.$method(tonic::Request::new(request)).await,
                            Target::Remote(c) => {
                                let mut request = tonic::Request::new(request);
                                if $crate::telemetry::traces_exported() {
                                    let mut headers = http::HeaderMap::new();
                                    $crate::trace_context::inject_headers(&mut headers);
                                    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
                                }
                                if let Some(token) = &self.token {
                                    request.metadata_mut().insert("authorization", token.clone());
                                }
                                c.clone().$method(request).await
                            }
                        }
                        .map(tonic::Response::into_inner)
                    };
                    $crate::clients::instrumented($service, stringify!($method), self.deadline, call).await
                }
            )*
        }
    };
}

/// The identity service's client.
pub mod identity {
    use mercato_proto::identity::identity_client::IdentityClient as Grpc;
    use mercato_proto::identity::*;

    service_client!(
        /// Stores, users, tokens and signing keys.
        IdentityClient, "identity", identity_server::Identity, Grpc,
        {
            provision_store(ProvisionStoreRequest) -> ProvisionStoreResponse;
            get_store(GetStoreRequest) -> Store;
            register_customer(RegisterCustomerRequest) -> User;
            create_staff(CreateStaffRequest) -> User;
            issue_token(TokenRequest) -> TokenResponse;
            get_jwks(GetJwksRequest) -> Jwks;
        }
    );
}

/// The catalog service's client.
pub mod catalog {
    use mercato_proto::catalog::catalog_client::CatalogClient as Grpc;
    use mercato_proto::catalog::*;

    service_client!(
        /// Products, categories and search.
        CatalogClient, "catalog", catalog_server::Catalog, Grpc,
        {
            create_product(CreateProductRequest) -> Product;
            update_product(UpdateProductRequest) -> Product;
            delete_product(DeleteProductRequest) -> DeleteProductResponse;
            get_product(GetProductRequest) -> Product;
            list_products(ListProductsRequest) -> ListProductsResponse;
            create_category(CreateCategoryRequest) -> Category;
            list_categories(ListCategoriesRequest) -> ListCategoriesResponse;
            search(SearchRequest) -> SearchResponse;
        }
    );
}

/// The inventory service's client.
pub mod inventory {
    use mercato_proto::inventory::inventory_client::InventoryClient as Grpc;
    use mercato_proto::inventory::*;

    service_client!(
        /// Stock, reservations, commits and releases.
        InventoryClient, "inventory", inventory_server::Inventory, Grpc,
        {
            set_stock(SetStockRequest) -> StockLevel;
            adjust_stock(AdjustStockRequest) -> StockLevel;
            get_stock(GetStockRequest) -> StockLevels;
            reserve(ReserveRequest) -> ReserveResponse;
            commit(CommitRequest) -> Reservation;
            release(ReleaseRequest) -> Reservation;
            restock(RestockRequest) -> Reservation;
        }
    );
}

/// The payments service's client.
pub mod payments {
    use mercato_proto::payments::payments_client::PaymentsClient as Grpc;
    use mercato_proto::payments::*;

    service_client!(
        /// Payment intents and fraud scoring.
        PaymentsClient, "payments", payments_server::Payments, Grpc,
        {
            authorize(AuthorizeRequest) -> PaymentIntent;
            capture(CaptureRequest) -> PaymentIntent;
            void(VoidRequest) -> PaymentIntent;
            refund(RefundRequest) -> PaymentIntent;
            get_intent(GetIntentRequest) -> PaymentIntent;
            score_fraud(FraudRequest) -> FraudAssessment;
        }
    );
}

/// The orders service's client.
pub mod orders {
    use mercato_proto::orders::orders_client::OrdersClient as Grpc;
    use mercato_proto::orders::*;

    service_client!(
        /// Carts, checkout and orders.
        OrdersClient, "orders", orders_server::Orders, Grpc,
        {
            create_cart(CreateCartRequest) -> Cart;
            get_cart(GetCartRequest) -> Cart;
            add_cart_item(AddCartItemRequest) -> Cart;
            set_cart_item(SetCartItemRequest) -> Cart;
            merge_cart(MergeCartRequest) -> Cart;
            checkout(CheckoutRequest) -> CheckoutResponse;
            get_order(GetOrderRequest) -> Order;
            list_orders(ListOrdersRequest) -> ListOrdersResponse;
            get_order_events(GetOrderEventsRequest) -> OrderEvents;
            cancel_order(CancelOrderRequest) -> Order;
            refund_order(RefundOrderRequest) -> Order;
        }
    );
}

/// The realtime service's client.
pub mod realtime {
    use mercato_proto::realtime::realtime_client::RealtimeClient as Grpc;
    use mercato_proto::realtime::*;

    service_client!(
        /// Conversations, their history and read markers, and staff presence.
        RealtimeClient, "realtime", realtime_server::Realtime, Grpc,
        {
            open_conversation(OpenConversationRequest) -> Conversation;
            get_conversation(GetConversationRequest) -> Conversation;
            list_conversations(ListConversationsRequest) -> ListConversationsResponse;
            post_message(PostMessageRequest) -> PostMessageResponse;
            list_messages(ListMessagesRequest) -> ListMessagesResponse;
            mark_read(MarkReadRequest) -> Conversation;
            list_presence(ListPresenceRequest) -> ListPresenceResponse;
        }
    );
}
