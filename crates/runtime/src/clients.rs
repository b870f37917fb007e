//! One client per service contract: local (a direct call on the implementation: messages pass
//! as they are, and only an error is encoded, into a `tonic::Status` with its details and back,
//! exactly as over the wire) or remote (gRPC, load-balanced over the service's replicas). Both go through
//! the same deadline, the same metrics and the same [`crate::resilience`] (circuit breaker,
//! concurrency limit, retries of the methods each client's table marks `Idempotent`, within a
//! retry budget), so dashboards and failures read the same in either topology.

use crate::error::{ErrorCode, ServiceError};
use crate::metric_handles::{CallMetrics, CallMetricsCache};
use std::future::Future;
use std::sync::LazyLock;
use std::time::Instant;

mod channel;
pub use channel::{GrpcChannel, balanced_channel, balanced_tls_channel};

/// The largest gRPC message a client accepts, and the catalog server: a 20 MB product image
/// upload and its envelope (tonic's default is 4 MB; clients send any size already).
pub const MAX_MESSAGE_BYTES: usize = 24 * 1024 * 1024;

/// Runs one attempt of a call until `deadline`, recording `rpc_client_calls_total` and its
/// duration.
pub(crate) async fn instrumented<T>(
    service: &'static str,
    method: &'static str,
    deadline: Instant,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, ServiceError> {
    let started = Instant::now();
    let span = tracing::info_span!("rpc.client", rpc.service = service, rpc.method = method);
    let call = tracing::Instrument::instrument(call, span);
    let result = match tokio::time::timeout_at(deadline.into(), call).await {
        Ok(Ok(answer)) => Ok(answer),
        // A failure that arrives once the deadline has passed is the deadline's doing, however
        // the server worded it (it gives up at the same deadline: DEADLINE_EXCEEDED, or a
        // cancelled stream).
        Ok(Err(status)) if Instant::now() < deadline => Err(ServiceError::from(status)),
        Ok(Err(_)) | Err(_) => {
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
/// remote gRPC client through the client's [`Upstream`](crate::resilience::Upstream). Each
/// method's line ends with its [`Retry`](crate::resilience::Retry) policy: that table is the one
/// place saying which calls may be sent again.
macro_rules! service_client {
    (
        $(#[$meta:meta])*
        $client:ident, $service:literal, $server_trait:path, $grpc:ident,
        { $( $method:ident($req:ty) -> $resp:ty = $retry:ident; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $client {
            target: Target,
            deadline: std::time::Duration,
            /// `authorization` metadata proving to the remote service that we are a peer.
            token: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
            upstream: std::sync::Arc<$crate::resilience::Upstream>,
        }

        #[derive(Clone)]
        enum Target {
            Local(std::sync::Arc<dyn $server_trait>),
            Remote($grpc<$crate::clients::GrpcChannel>),
        }

        impl $client {
            /// Calls the implementation in this process directly.
            pub fn local(service: std::sync::Arc<dyn $server_trait>, deadline: std::time::Duration) -> Self {
                Self { target: Target::Local(service), deadline, token: None, upstream: Self::default_upstream() }
            }

            /// Calls the service over gRPC, presenting the internal token when one is configured.
            pub fn remote(
                channel: impl Into<$crate::clients::GrpcChannel>,
                deadline: std::time::Duration,
                internal_token: Option<&str>,
            ) -> anyhow::Result<Self> {
                let token = internal_token
                    .map(|t| format!("Bearer {t}").parse())
                    .transpose()
                    .map_err(|_| anyhow::anyhow!("the internal token must be printable ASCII"))?;
                let grpc = $grpc::new(channel.into())
                    .max_decoding_message_size($crate::clients::MAX_MESSAGE_BYTES);
                Ok(Self { target: Target::Remote(grpc), deadline, token, upstream: Self::default_upstream() })
            }

            /// The same client with its own breaker, budget and limit set to `settings`.
            pub fn with_resilience(mut self, settings: $crate::resilience::ResilienceSettings) -> Self {
                self.upstream = $crate::resilience::Upstream::new($service, settings);
                self
            }

            /// The breaker, budget and limit its calls go through.
            pub fn upstream(&self) -> &$crate::resilience::Upstream {
                &self.upstream
            }

            fn default_upstream() -> std::sync::Arc<$crate::resilience::Upstream> {
                $crate::resilience::Upstream::new($service, Default::default())
            }

            /// The metadata of a remote call: trace context, internal token, and the time left as
            /// `grpc-timeout`.
            fn remote_request<Req>(&self, message: Req, remaining: std::time::Duration) -> tonic::Request<Req> {
                let mut request = tonic::Request::new(message);
                if $crate::telemetry::traces_exported() {
                    let mut headers = http::HeaderMap::new();
                    $crate::trace_context::inject_headers(&mut headers);
                    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
                }
                if let Some(token) = &self.token {
                    request.metadata_mut().insert("authorization", token.clone());
                }
                request.set_timeout(remaining);
                request
            }

            $(
                pub async fn $method(&self, request: $req) -> Result<$resp, $crate::error::ServiceError> {
                    use $crate::resilience::Retry;
                    let retry = Retry::$retry;
                    let mut message = Some(request);
                    // Boxed, so that a caller's state holds a pointer to the call's future
                    // (retries, deadline, lane hop) rather than a copy of it.
                    Box::pin(self.upstream.call(stringify!($method), retry, self.deadline, |remaining| {
                        // A call sent once moves its message; a retried one sends copies.
                        let message = match retry {
                            Retry::Once => message.take(),
                            Retry::Idempotent => message.clone(),
                        }
                        .expect("a call sent once has one attempt");
                        // In process the callee runs inside the caller's deadline scope, on the
                        // work lane when the process has one (`lanes`).
                        async move {
                            match &self.target {
                                Target::Local(s) => {
                                    let s = s.clone();
                                    $crate::lanes::on_work(async move {
                                        s.$method(tonic::Request::new(message)).await
                                    })
                                    .await
                                }
                                Target::Remote(c) => {
                                    c.clone().$method(self.remote_request(message, remaining)).await
                                }
                            }
                            .map(tonic::Response::into_inner)
                        }
                    }))
                    .await
                }
            )*
        }
    };
}

/// The identity service's client.
pub mod identity {
    use mercato_proto::identity::identity_client::IdentityClient as Grpc;
    use mercato_proto::identity::*;
    use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};

    service_client!(
        /// Stores, users, tokens and signing keys.
        IdentityClient, "identity", identity_server::Identity, Grpc,
        {
            provision_store(ProvisionStoreRequest) -> ProvisionStoreResponse = Once;
            get_store(GetStoreRequest) -> Store = Idempotent;
            update_store(UpdateStoreRequest) -> Store = Idempotent;
            register_customer(RegisterCustomerRequest) -> User = Once;
            create_staff(CreateStaffRequest) -> User = Once;
            set_user_disabled(SetUserDisabledRequest) -> User = Idempotent;
            issue_token(TokenRequest) -> TokenResponse = Once;
            revoke_token(RevokeTokenRequest) -> RevokeTokenResponse = Idempotent;
            get_jwks(GetJwksRequest) -> Jwks = Idempotent;
            list_staff(ListStaffRequest) -> ListStaffResponse = Idempotent;
            create_api_client(CreateApiClientRequest) -> ApiClient = Once;
            list_api_clients(ListApiClientsRequest) -> ListApiClientsResponse = Idempotent;
            revoke_api_client(RevokeApiClientRequest) -> ApiClient = Idempotent;
            rotate_api_client_secret(RotateApiClientSecretRequest) -> ApiClient = Once;
            get_customer(GetCustomerRequest) -> Customer = Idempotent;
            update_customer(UpdateCustomerRequest) -> Customer = Once;
            list_customers(ListCustomersRequest) -> ListCustomersResponse = Idempotent;
            add_customer_address(AddCustomerAddressRequest) -> CustomerAddress = Once;
            update_customer_address(UpdateCustomerAddressRequest) -> CustomerAddress = Once;
            delete_customer_address(DeleteCustomerAddressRequest) -> DeleteCustomerAddressResponse = Idempotent;
            list_jobs(ListJobsRequest) -> ListJobsResponse = Idempotent;
            get_job(JobRequest) -> Job = Idempotent;
            cancel_job(JobRequest) -> Job = Idempotent;
            retry_job(JobRequest) -> Job = Idempotent;
            start_export(StartExportRequest) -> Job = Idempotent;
            import_customers(mercato_proto::imports::ImportCustomersRequest) -> mercato_proto::imports::ImportReply = Idempotent;
            imported_records(mercato_proto::imports::RecordsRequest) -> mercato_proto::imports::CustomerRecords = Idempotent;
            import_checksums(mercato_proto::imports::ChecksumsRequest) -> mercato_proto::imports::ChecksumsReply = Idempotent;
            get_import_progress(mercato_proto::imports::ImportProgressRequest) -> mercato_proto::imports::ImportProgress = Idempotent;
            record_import_pass(mercato_proto::imports::ImportPass) -> mercato_proto::imports::ImportWatermark = Idempotent;
        }
    );
}

/// The catalog service's client.
pub mod catalog {
    use mercato_proto::catalog::catalog_client::CatalogClient as Grpc;
    use mercato_proto::catalog::*;
    use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};

    service_client!(
        /// Products, categories and search.
        CatalogClient, "catalog", catalog_server::Catalog, Grpc,
        {
            create_product(CreateProductRequest) -> Product = Once;
            update_product(UpdateProductRequest) -> Product = Once;
            delete_product(DeleteProductRequest) -> DeleteProductResponse = Once;
            get_product(GetProductRequest) -> Product = Idempotent;
            list_products(ListProductsRequest) -> ListProductsResponse = Idempotent;
            create_category(CreateCategoryRequest) -> Category = Once;
            list_categories(ListCategoriesRequest) -> ListCategoriesResponse = Idempotent;
            search(SearchRequest) -> SearchResponse = Idempotent;
            get_synonyms(GetSynonymsRequest) -> Synonyms = Idempotent;
            set_synonyms(SetSynonymsRequest) -> Synonyms = Idempotent;
            add_product_image(AddProductImageRequest) -> ProductImage = Once;
            update_product_image(UpdateProductImageRequest) -> ProductImage = Idempotent;
            delete_product_image(DeleteProductImageRequest) -> DeleteProductImageResponse = Idempotent;
            reindex_search(ReindexSearchRequest) -> Job = Once;
            list_jobs(ListJobsRequest) -> ListJobsResponse = Idempotent;
            get_job(JobRequest) -> Job = Idempotent;
            cancel_job(JobRequest) -> Job = Idempotent;
            retry_job(JobRequest) -> Job = Idempotent;
            start_export(StartExportRequest) -> Job = Idempotent;
            import_categories(mercato_proto::imports::ImportCategoriesRequest) -> mercato_proto::imports::ImportReply = Idempotent;
            import_products(mercato_proto::imports::ImportProductsRequest) -> mercato_proto::imports::ImportReply = Idempotent;
            imported_records(mercato_proto::imports::RecordsRequest) -> mercato_proto::imports::CatalogRecords = Idempotent;
            import_checksums(mercato_proto::imports::ChecksumsRequest) -> mercato_proto::imports::ChecksumsReply = Idempotent;
            get_import_progress(mercato_proto::imports::ImportProgressRequest) -> mercato_proto::imports::ImportProgress = Idempotent;
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
            set_stock(SetStockRequest) -> StockLevel = Once;
            adjust_stock(AdjustStockRequest) -> StockLevel = Once;
            get_stock(GetStockRequest) -> StockLevels = Idempotent;
            reserve(ReserveRequest) -> ReserveResponse = Idempotent;
            commit(CommitRequest) -> Reservation = Idempotent;
            release(ReleaseRequest) -> Reservation = Idempotent;
            restock(RestockRequest) -> Reservation = Idempotent;
            import_stock(mercato_proto::imports::ImportStockRequest) -> mercato_proto::imports::ImportReply = Idempotent;
            imported_records(mercato_proto::imports::RecordsRequest) -> mercato_proto::imports::StockRecords = Idempotent;
            import_checksums(mercato_proto::imports::ChecksumsRequest) -> mercato_proto::imports::ChecksumsReply = Idempotent;
            get_import_progress(mercato_proto::imports::ImportProgressRequest) -> mercato_proto::imports::ImportProgress = Idempotent;
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
            authorize(AuthorizeRequest) -> PaymentIntent = Idempotent;
            capture(CaptureRequest) -> PaymentIntent = Idempotent;
            void(VoidRequest) -> PaymentIntent = Idempotent;
            refund(RefundRequest) -> PaymentIntent = Idempotent;
            get_intent(GetIntentRequest) -> PaymentIntent = Idempotent;
            score_fraud(FraudRequest) -> FraudAssessment = Once;
            create_payment_method(CreatePaymentMethodRequest) -> PaymentMethod = Once;
        }
    );
}

/// The orders service's client.
pub mod orders {
    use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};
    use mercato_proto::orders::orders_client::OrdersClient as Grpc;
    use mercato_proto::orders::*;
    use mercato_proto::payments::{CreatePaymentMethodRequest, PaymentMethod};

    service_client!(
        /// Carts, checkout and orders.
        OrdersClient, "orders", orders_server::Orders, Grpc,
        {
            create_cart(CreateCartRequest) -> Cart = Once;
            get_cart(GetCartRequest) -> Cart = Idempotent;
            add_cart_item(AddCartItemRequest) -> Cart = Once;
            set_cart_item(SetCartItemRequest) -> Cart = Once;
            merge_cart(MergeCartRequest) -> Cart = Once;
            checkout(CheckoutRequest) -> CheckoutResponse = Idempotent;
            get_order(GetOrderRequest) -> Order = Idempotent;
            list_orders(ListOrdersRequest) -> ListOrdersResponse = Idempotent;
            get_order_events(GetOrderEventsRequest) -> OrderEvents = Idempotent;
            list_order_histories(ListOrderHistoriesRequest) -> ListOrderHistoriesResponse = Idempotent;
            cancel_order(CancelOrderRequest) -> Order = Idempotent;
            refund_order(RefundOrderRequest) -> Order = Idempotent;
            create_fulfilment(CreateFulfilmentRequest) -> Order = Idempotent;
            update_fulfilment(UpdateFulfilmentRequest) -> Order = Idempotent;
            request_return(RequestReturnRequest) -> Order = Idempotent;
            decide_return(DecideReturnRequest) -> Order = Idempotent;
            receive_return(ReceiveReturnRequest) -> Order = Idempotent;
            get_pricing_config(PricingRequest) -> PricingConfig = Idempotent;
            put_shipping_zone(PutShippingZoneRequest) -> ShippingZone = Once;
            delete_shipping_zone(DeletePricingItemRequest) -> Deleted = Idempotent;
            put_shipping_method(PutShippingMethodRequest) -> ShippingMethod = Once;
            delete_shipping_method(DeletePricingItemRequest) -> Deleted = Idempotent;
            put_tax_rate(PutTaxRateRequest) -> TaxRate = Idempotent;
            delete_tax_rate(DeleteTaxRateRequest) -> Deleted = Idempotent;
            put_tax_settings(PutTaxSettingsRequest) -> TaxSettings = Idempotent;
            create_promotion(CreatePromotionRequest) -> Promotion = Once;
            list_promotions(PricingRequest) -> ListPromotionsResponse = Idempotent;
            delete_promotion(DeletePricingItemRequest) -> Deleted = Idempotent;
            set_cart_addresses(SetCartAddressesRequest) -> Cart = Idempotent;
            list_shipping_options(GetCartRequest) -> ShippingOptions = Idempotent;
            set_cart_shipping_method(SetCartShippingMethodRequest) -> Cart = Idempotent;
            set_cart_promotion_code(SetCartPromotionCodeRequest) -> Cart = Idempotent;
            create_payment_method(CreatePaymentMethodRequest) -> PaymentMethod = Once;
            list_jobs(ListJobsRequest) -> ListJobsResponse = Idempotent;
            get_job(JobRequest) -> Job = Idempotent;
            cancel_job(JobRequest) -> Job = Idempotent;
            retry_job(JobRequest) -> Job = Idempotent;
            start_export(StartExportRequest) -> Job = Idempotent;
            import_orders(mercato_proto::imports::ImportOrdersRequest) -> mercato_proto::imports::ImportReply = Idempotent;
            imported_records(mercato_proto::imports::RecordsRequest) -> mercato_proto::imports::OrderRecords = Idempotent;
            import_checksums(mercato_proto::imports::ChecksumsRequest) -> mercato_proto::imports::ChecksumsReply = Idempotent;
            get_import_progress(mercato_proto::imports::ImportProgressRequest) -> mercato_proto::imports::ImportProgress = Idempotent;
        }
    );
}

/// The analytics service's client.
pub mod analytics {
    use mercato_proto::analytics::analytics_client::AnalyticsClient as Grpc;
    use mercato_proto::analytics::*;

    service_client!(
        /// A store's figures, funnel, low stock, backfill status and verification.
        AnalyticsClient, "analytics", analytics_server::Analytics, Grpc,
        {
            get_summary(SummaryRequest) -> Summary = Idempotent;
            get_timeseries(TimeseriesRequest) -> Timeseries = Idempotent;
            get_top_products(TopProductsRequest) -> TopProducts = Idempotent;
            get_funnel(FunnelRequest) -> Funnel = Idempotent;
            list_low_stock(LowStockRequest) -> LowStock = Idempotent;
            get_backfill_status(BackfillStatusRequest) -> BackfillStatus = Idempotent;
            verify(VerifyRequest) -> VerifyReport = Idempotent;
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
            open_conversation(OpenConversationRequest) -> Conversation = Once;
            get_conversation(GetConversationRequest) -> Conversation = Idempotent;
            list_conversations(ListConversationsRequest) -> ListConversationsResponse = Idempotent;
            post_message(PostMessageRequest) -> PostMessageResponse = Idempotent;
            list_messages(ListMessagesRequest) -> ListMessagesResponse = Idempotent;
            mark_read(MarkReadRequest) -> Conversation = Idempotent;
            list_presence(ListPresenceRequest) -> ListPresenceResponse = Idempotent;
        }
    );
}

/// The notifications service's client.
pub mod notifications {
    use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse};
    use mercato_proto::notifications::notifications_client::NotificationsClient as Grpc;
    use mercato_proto::notifications::*;

    service_client!(
        /// Webhook endpoints and their delivery log, e-mail preferences and templates, and the
        /// e-mail jobs.
        NotificationsClient, "notifications", notifications_server::Notifications, Grpc,
        {
            create_endpoint(CreateEndpointRequest) -> EndpointWithSecret = Once;
            list_endpoints(ListEndpointsRequest) -> ListEndpointsResponse = Idempotent;
            get_endpoint(EndpointRequest) -> Endpoint = Idempotent;
            update_endpoint(UpdateEndpointRequest) -> Endpoint = Idempotent;
            delete_endpoint(EndpointRequest) -> Deleted = Idempotent;
            rotate_endpoint_secret(RotateSecretRequest) -> EndpointWithSecret = Once;
            send_test_event(EndpointRequest) -> Delivery = Once;
            list_deliveries(ListDeliveriesRequest) -> ListDeliveriesResponse = Idempotent;
            get_delivery(DeliveryRequest) -> Delivery = Idempotent;
            redeliver(DeliveryRequest) -> Delivery = Once;
            list_event_types(EventTypesRequest) -> EventTypes = Idempotent;
            get_email_preferences(EmailPreferencesRequest) -> EmailPreferences = Idempotent;
            set_email_preferences(SetEmailPreferencesRequest) -> EmailPreferences = Idempotent;
            unsubscribe(UnsubscribeRequest) -> Unsubscribed = Idempotent;
            list_email_templates(EmailTemplatesRequest) -> ListEmailTemplatesResponse = Idempotent;
            get_email_template(EmailTemplateRequest) -> EmailTemplate = Idempotent;
            put_email_template(PutEmailTemplateRequest) -> EmailTemplate = Idempotent;
            delete_email_template(EmailTemplateRequest) -> EmailTemplate = Idempotent;
            preview_email_template(PutEmailTemplateRequest) -> EmailPreview = Idempotent;
            list_jobs(ListJobsRequest) -> ListJobsResponse = Idempotent;
            get_job(JobRequest) -> Job = Idempotent;
            cancel_job(JobRequest) -> Job = Idempotent;
            retry_job(JobRequest) -> Job = Idempotent;
        }
    );
}
