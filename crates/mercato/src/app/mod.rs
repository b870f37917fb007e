//! Builds the services of one process and serves them until shutdown.
//!
//! A service whose role is local is constructed here (`services`), exposes its gRPC contract on
//! this process's port, and is called directly by the local gateway; a service whose role is not
//! local is reached over gRPC at its configured endpoints. The code path is the same either way:
//! only the client differs.

mod routing;
mod services;

use crate::infra::Infra;
use crate::roles::{Role, Roles};
use axum::Router;
use mercato_gateway::{GatewayState, RealtimeForward, Upstreams};
use mercato_orders::OrdersDeps;
use mercato_runtime::clients::InternalAuth;
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient, orders::OrdersClient,
    payments::PaymentsClient, realtime::RealtimeClient,
};
use mercato_runtime::config::Settings;
use mercato_runtime::http::{ReadinessCheck, ops_routes, serve};
use mercato_runtime::outbox::OutboxRelay;
use mercato_runtime::shutdown::Shutdown;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use services::migrate_all;

/// How long shutdown waits for outbox relays to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The services of one process, built and wired but not yet serving.
pub struct App {
    pub roles: Roles,
    /// Clients of the local services (for the demo seed and tests).
    pub identity: Option<IdentityClient>,
    pub catalog: Option<CatalogClient>,
    pub inventory: Option<InventoryClient>,
    router: Router,
    relays: Vec<JoinHandle<()>>,
    /// Stops the outbox relays; cancelled once HTTP has drained, so their last run publishes
    /// the events of the final requests.
    relay_stop: Shutdown,
    /// Stops the event consumers; cancelled last, so in-process groups are still there to
    /// acknowledge the relays' final events.
    consumer_stop: Shutdown,
    /// Closes WebSocket connections (with "reconnect") when shutdown begins: upgraded
    /// connections are not requests, so HTTP draining does not wait for them.
    realtime_stop: Shutdown,
}

/// Builds the process, seeds the demo store when asked, and serves until `shutdown`.
pub async fn run(
    settings: Settings,
    roles: Roles,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let app = App::build(&settings, roles).await?;
    if settings.demo.seed
        && let (Some(identity), Some(catalog)) = (&app.identity, &app.catalog)
    {
        crate::seed::demo_store(identity, catalog, app.inventory.as_ref(), settings.demo.products).await?;
    }
    app.serve(listener, shutdown).await
}

/// What the service constructors add to the process as they start.
pub(crate) struct Wiring<'a> {
    pub settings: &'a Settings,
    pub infra: &'a Infra,
    pub admit: InternalAuth,
    pub checks: Vec<ReadinessCheck>,
    pub collectors: Vec<mercato_runtime::http::Collector>,
    pub grpc: tonic::service::RoutesBuilder,
    pub relays: Vec<OutboxRelay>,
    pub consumer_stop: Shutdown,
    /// Tells WebSocket clients to reconnect elsewhere; cancelled as soon as shutdown begins.
    pub realtime_stop: Shutdown,
}

impl App {
    /// Serves until `shutdown`, then lets in-flight requests finish and the outboxes drain.
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, roles = %self.roles, "serving");
        let (begun, realtime_stop) = (shutdown.clone(), self.realtime_stop.clone());
        tokio::spawn(async move {
            begun.cancelled().await;
            realtime_stop.cancel();
        });
        let served = serve(listener, self.router, shutdown).await;
        self.relay_stop.cancel();
        for relay in self.relays {
            if tokio::time::timeout(DRAIN_TIMEOUT, relay).await.is_err() {
                tracing::warn!("an outbox relay did not drain in time; its events go out on the next start");
            }
        }
        self.consumer_stop.cancel();
        tracing::info!("stopped");
        Ok(served?)
    }

    /// Builds the services of `roles`, their relays and consumers, and the router; nothing
    /// listens until [`App::serve`].
    pub async fn build(settings: &Settings, roles: Roles) -> anyhow::Result<App> {
        anyhow::ensure!(
            roles.is_all() || settings.nats.url.is_some(),
            "running only some roles ({roles}) needs a shared bus: set --nats-url, or the other \
             processes would never see this one's events"
        );
        // Install the metrics recorder before anything records or describes a metric, or early
        // figures and descriptions are lost. Every service's metrics are described whatever the
        // roles: a description shows only beside a metric this process records.
        mercato_runtime::prometheus::install();
        mercato_gateway::describe_metrics();
        mercato_orders::describe_metrics();
        mercato_inventory::describe_metrics();
        mercato_payments::describe_metrics();
        mercato_realtime::live::describe_metrics();
        let token = settings
            .services
            .internal_token
            .as_ref()
            .map(|t| t.expose().to_owned());
        let infra = Infra::connect(settings).await?;
        let mut w = Wiring {
            settings,
            infra: &infra,
            admit: InternalAuth::new(token.as_deref()),
            checks: vec![routing::bus_check(&infra)],
            collectors: Vec::new(),
            grpc: tonic::service::Routes::builder(),
            relays: Vec::new(),
            consumer_stop: Shutdown::new(),
            realtime_stop: Shutdown::new(),
        };
        let identity = if roles.has(Role::Identity) {
            Some(services::identity(&mut w).await?)
        } else {
            None
        };
        let catalog = if roles.has(Role::Catalog) {
            Some(services::catalog(&mut w).await?)
        } else {
            None
        };
        let inventory = if roles.has(Role::Inventory) {
            Some(services::inventory(&mut w).await?)
        } else {
            None
        };
        let payments = if roles.has(Role::Payments) {
            Some(services::payments(&mut w).await?)
        } else {
            None
        };
        let remotes = routing::Remotes {
            settings,
            token: token.as_deref(),
        };
        let orders = if roles.has(Role::Orders) {
            let deps = OrdersDeps {
                inventory: remotes.or_local(
                    "inventory",
                    &inventory,
                    &settings.services.inventory,
                    InventoryClient::remote,
                )?,
                payments: remotes.or_local(
                    "payments",
                    &payments,
                    &settings.services.payments,
                    PaymentsClient::remote,
                )?,
            };
            Some(services::orders(&mut w, deps).await?)
        } else {
            None
        };

        let realtime = if roles.has(Role::Realtime) {
            let identity = remotes.or_local(
                "identity",
                &identity,
                &settings.services.identity,
                IdentityClient::remote,
            )?;
            Some(services::realtime(&mut w, identity, roles.has(Role::Gateway)).await?)
        } else {
            None
        };

        let mut http = Router::new();
        let (realtime_client, realtime_node) = realtime.unzip();
        if let Some(node) = realtime_node {
            http = http.merge(mercato_realtime::live::routes(node));
        }
        let mut gateway = None;
        if roles.has(Role::Gateway) {
            let upstreams = Upstreams {
                identity: remotes.or_local(
                    "identity",
                    &identity,
                    &settings.services.identity,
                    IdentityClient::remote,
                )?,
                catalog: remotes.or_local(
                    "catalog",
                    &catalog,
                    &settings.services.catalog,
                    CatalogClient::remote,
                )?,
                inventory: remotes.or_local(
                    "inventory",
                    &inventory,
                    &settings.services.inventory,
                    InventoryClient::remote,
                )?,
                orders: remotes.or_local(
                    "orders",
                    &orders,
                    &settings.services.orders,
                    OrdersClient::remote,
                )?,
                realtime: remotes.or_local(
                    "realtime",
                    &realtime_client,
                    &settings.services.realtime,
                    RealtimeClient::remote,
                )?,
            };
            let forward = (!roles.has(Role::Realtime)).then(|| RealtimeForward {
                upstreams: settings.services.realtime.clone(),
                internal_token: token.clone(),
                heartbeat: settings.realtime.heartbeat,
                stop: w.realtime_stop.clone(),
            });
            let state = GatewayState::new(
                upstreams,
                forward,
                &settings.auth,
                &settings.http,
                infra.limiter.clone(),
            );
            if let Err(e) = state.refresh_keys(true).await {
                tracing::warn!(error = %e, "signing keys not loaded yet; will retry on the first token");
            }
            w.checks.push(routing::identity_check(state.clone()));
            state
                .follow_catalog(infra.bus.clone(), w.consumer_stop.clone())
                .await?;
            http = http.merge(mercato_gateway::router(state.clone(), &settings.http));
            gateway = Some(state);
        }
        // Relays start only now, after every consumer of this process has subscribed, so that
        // no event is published into a bus with nobody yet listening in process.
        let relay_stop = Shutdown::new();
        let relays = w
            .relays
            .drain(..)
            .map(|r| tokio::spawn(r.run(relay_stop.clone())))
            .collect();

        let Wiring {
            checks,
            collectors,
            grpc,
            consumer_stop,
            realtime_stop,
            ..
        } = w;
        if let Some(state) = &gateway {
            http = mercato_gateway::edge(state, http);
        }
        let http = http.merge(ops_routes(checks, collectors));
        // A process with the gateway role faces the internet: its port serves no internal gRPC,
        // whose callers are trusted to name any store. Services are reachable over gRPC only
        // from processes without the gateway role (and, with `services.internal_token`, only by
        // peers that know the token).
        let router = if roles.has(Role::Gateway) {
            http
        } else {
            routing::with_grpc(http, grpc)
        };
        Ok(App {
            roles,
            identity,
            catalog,
            inventory,
            router,
            relays,
            relay_stop,
            consumer_stop,
            realtime_stop,
        })
    }
}
