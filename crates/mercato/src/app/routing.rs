//! How this process's port is shared and how remote services are reached.

use crate::infra::Infra;
use crate::roles::{Role, Roles};
use axum::Router;
use axum::extract::Request;
use futures::future::BoxFuture;
use mercato_gateway::GatewayState;
use mercato_realtime::live::Node;
use mercato_runtime::clients::analytics::AnalyticsClient;
use mercato_runtime::clients::notifications::NotificationsClient;
use mercato_runtime::clients::{GrpcChannel, balanced_tls_channel};
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient, orders::OrdersClient,
    payments::PaymentsClient, realtime::RealtimeClient,
};
use mercato_runtime::config::{ServiceEndpoints, Settings, TlsFiles};
use mercato_runtime::http::ReadinessCheck;
use mercato_runtime::tls::{ClientTls, Dialer, ServerTls};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// A client of one service contract, which this process either runs (the local client) or
/// reaches over gRPC at the service's configured endpoints.
pub(super) trait ServiceClient: Clone {
    /// The service's name, as its role and its `services.<name>` setting spell it.
    const NAME: &'static str;
    /// The gRPC endpoints of its replicas.
    fn endpoints(services: &ServiceEndpoints) -> &[String];
    /// The deadline of one call to it.
    fn deadline(services: &ServiceEndpoints) -> Duration {
        services.call_timeout
    }
    /// A client calling it over `channel`.
    fn remote(channel: GrpcChannel, deadline: Duration, token: Option<&str>) -> anyhow::Result<Self>;
}

/// Names a client's service, endpoints and deadline once.
macro_rules! service_client {
    ($client:ty, $name:ident $(, deadline: $deadline:ident)?) => {
        impl ServiceClient for $client {
            const NAME: &'static str = stringify!($name);
            fn endpoints(services: &ServiceEndpoints) -> &[String] {
                &services.$name
            }
            $(fn deadline(services: &ServiceEndpoints) -> Duration {
                services.$deadline
            })?
            fn remote(channel: GrpcChannel, deadline: Duration, token: Option<&str>) -> anyhow::Result<Self> {
                <$client>::remote(channel, deadline, token)
            }
        }
    };
}

service_client!(IdentityClient, identity);
service_client!(CatalogClient, catalog);
service_client!(InventoryClient, inventory);
service_client!(PaymentsClient, payments);
service_client!(OrdersClient, orders, deadline: orders_call_timeout);
service_client!(RealtimeClient, realtime);
service_client!(AnalyticsClient, analytics, deadline: analytics_call_timeout);
service_client!(NotificationsClient, notifications);

/// Reaches the services of the platform from this process.
pub(super) struct Remotes<'a> {
    services: &'a ServiceEndpoints,
    /// The identity every remote client presents under `services.tls`, read once and shared, so
    /// that one watch of its files renews it under all of them.
    tls: Option<ClientTls>,
}

impl<'a> Remotes<'a> {
    /// Reads the client identity of `services.tls`; fails when its files do not load (a
    /// process does not run on a broken identity).
    pub fn new(settings: &'a Settings) -> anyhow::Result<Self> {
        let tls = settings.services.tls.as_ref().map(ClientTls::load).transpose();
        Ok(Remotes {
            services: &settings.services,
            tls: tls.map_err(|e| anyhow::anyhow!("services.tls: {e:#}"))?,
        })
    }

    /// The identity the clients present and the files it is re-read from, when `services.tls`
    /// is set.
    pub fn identity(&self) -> Option<(ClientTls, TlsFiles)> {
        Some((self.tls.clone()?, self.services.tls.clone()?))
    }

    /// The local client when the service runs here, else a gRPC client to its endpoints
    /// (over mutual TLS, presenting this process's certificate, when `services.tls` is set).
    pub fn client<C: ServiceClient>(&self, local: &Option<C>) -> anyhow::Result<C> {
        if let Some(client) = local {
            return Ok(client.clone());
        }
        let (service, deadline) = (C::NAME, C::deadline(self.services));
        let tls = self
            .tls
            .as_ref()
            .map(|identity| Dialer::grpc(identity, service))
            .transpose()?;
        let channel =
            balanced_tls_channel(C::endpoints(self.services), deadline, tls.as_ref()).map_err(|e| {
                anyhow::anyhow!(
                    "the {service} role is not local, so services.{service} needs its gRPC endpoints: {e}"
                )
            })?;
        C::remote(channel, deadline, internal_token(self.services))
    }

    /// Opens connections to `service` that are not gRPC (the WebSocket relay), over mutual TLS
    /// when `services.tls` is set.
    pub fn dialer(&self, service: &str) -> anyhow::Result<Dialer> {
        match &self.tls {
            Some(identity) => Dialer::tls(identity, service),
            None => Ok(Dialer::plain()),
        }
    }
}

/// The secret internal gRPC calls present, when one is configured.
pub(super) fn internal_token(services: &ServiceEndpoints) -> Option<&str> {
    services.internal_token.as_ref().map(|t| t.expose())
}

/// The mutual TLS of this process's port: with `services.tls`, unless the process has the
/// gateway role, whose port faces clients (TLS to them ends at the ingress) and serves no
/// internal gRPC.
pub(super) fn port_tls(settings: &Settings, roles: &Roles) -> anyhow::Result<Option<(ServerTls, TlsFiles)>> {
    let Some(files) = &settings.services.tls else {
        return Ok(None);
    };
    if roles.has(Role::Gateway) {
        return Ok(None);
    }
    let server = ServerTls::load(files).map_err(|e| anyhow::anyhow!("services.tls: {e:#}"))?;
    Ok(Some((server, files.clone())))
}

/// One readiness check from a closure.
pub(super) fn check<F>(name: &'static str, f: F) -> ReadinessCheck
where
    F: Fn() -> BoxFuture<'static, bool> + Send + Sync + 'static,
{
    Arc::new(move || {
        let fut = f();
        Box::pin(async move { (name.to_owned(), fut.await) })
    })
}

/// Whether a service's database answers.
pub(super) fn db_check(name: &'static str, db: &mercato_runtime::db::Db) -> ReadinessCheck {
    let db = db.clone();
    check(name, move || {
        let db = db.clone();
        Box::pin(async move { db.ping().await })
    })
}

pub(super) fn bus_check(infra: &Infra) -> ReadinessCheck {
    let bus = infra.bus.clone();
    check("bus", move || {
        let bus = bus.clone();
        Box::pin(async move { bus.ready().await })
    })
}

/// A gateway is ready when it can reach identity (and so knows the signing keys).
pub(super) fn identity_check(state: GatewayState) -> ReadinessCheck {
    check("identity", move || {
        let state = state.clone();
        Box::pin(async move { state.refresh_keys(false).await.is_ok() })
    })
}

/// The one router of this process's port: the live endpoint of a local realtime service, the
/// gateway's routes and the web pages behind its edge, probes and metrics (`ops`), and the local services' gRPC.
pub(super) fn assemble(
    settings: &Settings,
    live: Option<Arc<Node>>,
    gateway: Option<&GatewayState>,
    ops: Router,
    grpc: tonic::service::RoutesBuilder,
) -> Router {
    let mut http = Router::new();
    // A port under mutual TLS (no gateway role) has peers, not clients: its WebSockets come
    // only from the gateways' relays.
    let mutual_tls = settings.services.tls.is_some() && gateway.is_none();
    if let Some(node) = live {
        let mut live = mercato_realtime::live::routes(node);
        if mutual_tls {
            live = live.route_layer(axum::middleware::from_fn(|request, next| {
                mercato_runtime::tls::authorize_http("realtime", request, next)
            }));
        }
        http = http.merge(live);
    }
    let Some(state) = gateway else {
        return with_grpc(http.merge(ops), grpc, mutual_tls);
    };
    let api = http.merge(mercato_gateway::router(state.clone(), &settings.http));
    // The web pages call the REST API in process (`mercato_web::api`), through the same routes
    // but not the edge, which they pass through once themselves.
    let http = api.clone().merge(mercato_web::routes(api, &settings.http));
    // A process with the gateway role faces the internet: its port serves no internal gRPC,
    // whose callers are trusted to name any store. Services are reachable over gRPC only from
    // processes without the gateway role (with `services.tls`, only by peers whose certificate
    // names a service the call graph admits; with `services.internal_token`, only by peers that
    // know the token).
    // The strangler fig (ADR 0016), when configured, routes in front of the whole edge.
    let edge = mercato_gateway::edge(state, &settings.http, http);
    mercato_gateway::strangler::wrap(state, &settings.strangler, edge).merge(ops)
}

/// The probes of `ops` without `/metrics`, which has its own listener (`http.metrics_listen`):
/// on the main port it is not found, like any other unknown path.
pub(super) fn without_metrics(ops: Router) -> Router {
    ops.route_layer(axum::middleware::from_fn(
        |request: Request, next: axum::middleware::Next| async move {
            if request.uri().path() == "/metrics" {
                let not_found = mercato_runtime::error::ServiceError::new(
                    mercato_runtime::error::ErrorCode::NotFound,
                    "no such resource",
                );
                return axum::response::IntoResponse::into_response(not_found);
            }
            next.run(request).await
        },
    ))
}

/// Serves gRPC (content-type `application/grpc…`) beside the HTTP routes on the one port;
/// under mutual TLS (`authorized`) only to the callers `mercato_runtime::tls::CALLERS` admits.
fn with_grpc(http: Router, grpc: tonic::service::RoutesBuilder, authorized: bool) -> Router {
    let mut grpc = grpc.routes().into_axum_router();
    if authorized {
        grpc = grpc.layer(axum::middleware::from_fn(mercato_runtime::tls::authorize));
    }
    // Outermost: refusals are observed (and counted) like any other answer.
    let grpc = grpc.layer(axum::middleware::from_fn(
        mercato_runtime::http::observe_grpc_server,
    ));
    let service = tower::service_fn(move |request: Request| {
        let is_grpc = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let target = if is_grpc { grpc.clone() } else { http.clone() };
        async move {
            Ok::<_, Infallible>(
                target
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {}),
            )
        }
    });
    Router::new().fallback_service(service)
}
