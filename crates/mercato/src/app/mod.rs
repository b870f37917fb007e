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
use anyhow::Context;
use axum::Router;
use mercato_analytics::AnalyticsDeps;
use mercato_gateway::Upstreams;
use mercato_orders::OrdersDeps;
use mercato_runtime::clients::InternalAuth;
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient, orders::OrdersClient,
};
use mercato_runtime::config::{Settings, TlsFiles};
use mercato_runtime::http::{ReadinessCheck, ops_routes, serve, serve_with};
use mercato_runtime::jobs::{JobHandler, JobRunner, Jobs};
use mercato_runtime::outbox::OutboxRelay;
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::tls::{ClientTls, RELOAD_INTERVAL, ServerTls};
use std::sync::Arc;
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
    pub orders: Option<OrdersClient>,
    router: Router,
    /// The port's mutual TLS (`services.tls` on a process without the gateway role) and the
    /// files it is re-read from.
    tls: Option<(ServerTls, TlsFiles)>,
    /// The identity this process's clients present under `services.tls` (the gateway's too),
    /// and the files it is re-read from.
    client_tls: Option<(ClientTls, TlsFiles)>,
    /// `/metrics` (with the probes) on its own listener, when `http.metrics_listen` is set.
    metrics: Option<(TcpListener, Router)>,
    relays: Vec<JoinHandle<()>>,
    job_runners: Vec<JoinHandle<()>>,
    /// Stops the job runners once HTTP has drained; their attempts are released, not failed.
    jobs_stop: Shutdown,
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
    let shows_pages = roles.has(Role::Gateway);
    // Built on the work lane when there is one: the services' tasks (consumers, relays, job
    // runners, samplers) are spawned where they are built; only serving stays on the edge.
    let app = {
        let settings = settings.clone();
        mercato_runtime::lanes::on_work(async move { App::build(&settings, roles).await }).await?
    };
    if settings.demo.seed
        && let (Some(identity), Some(catalog)) = (&app.identity, &app.catalog)
    {
        let orders = app.orders.as_ref();
        crate::seed::demo_store(
            identity,
            catalog,
            app.inventory.as_ref(),
            orders,
            settings.demo.products,
        )
        .await?;
    }
    if settings.demo.seed && shows_pages {
        print_addresses(&listener);
    }
    app.serve(listener, shutdown).await
}

/// Where a newcomer running the demo opens the shop, the admin and the API reference.
fn print_addresses(listener: &TcpListener) {
    let Ok(addr) = listener.local_addr() else { return };
    println!("  Shop:  http://{addr}/");
    println!("  Admin: http://{addr}/admin  (store demo; the owner sign-in printed when it was created)");
    println!("  API:   http://{addr}/docs");
    println!();
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
    /// Each local jobs-running service's runner, with its handlers registered.
    pub job_runners: Vec<JobRunner>,
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
        let metrics = self.metrics.map(|(listener, router)| {
            tracing::info!(addr = ?listener.local_addr(), "serving /metrics");
            tokio::spawn(serve(listener, router, shutdown.clone()))
        });
        let tls = self.tls.map(|(server, files)| {
            server.watch(files, RELOAD_INTERVAL, shutdown.clone());
            server
        });
        if let Some((client, files)) = self.client_tls {
            client.watch(files, RELOAD_INTERVAL, shutdown.clone());
        }
        let served = serve_with(listener, self.router, shutdown, tls).await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        self.jobs_stop.cancel();
        for runner in self.job_runners {
            if tokio::time::timeout(DRAIN_TIMEOUT, runner).await.is_err() {
                tracing::warn!(
                    "a job runner did not stop in time; its leases lapse and another replica takes over"
                );
            }
        }
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
    /// listens until [`App::serve`]. Each service runs here when its role is local; every
    /// caller of one that is not gets a gRPC client of it from `reach`.
    pub async fn build(settings: &Settings, roles: Roles) -> anyhow::Result<App> {
        ensure_shared_bus(settings, &roles)?;
        // Before anything starts: a process does not run on a broken identity.
        let tls = routing::port_tls(settings, &roles)?;
        let reach = routing::Remotes::new(settings)?;
        install_metrics();
        let infra = Infra::connect(settings).await?;
        let mut w = Wiring::new(settings, &infra);

        let identity = local(roles.has(Role::Identity), services::identity(&mut w)).await?;
        let inventory = local(roles.has(Role::Inventory), services::inventory(&mut w)).await?;
        let catalog = local(roles.has(Role::Catalog), async {
            let stock = reach.client(&inventory).inspect_err(|e| {
                tracing::warn!(error = %e, "the catalog's products exports cannot read stock");
            });
            services::catalog(&mut w, stock.ok()).await
        })
        .await?;
        let payments = local(roles.has(Role::Payments), services::payments(&mut w)).await?;
        let orders = local(roles.has(Role::Orders), async {
            let deps = OrdersDeps {
                inventory: reach.client(&inventory)?,
                payments: reach.client(&payments)?,
            };
            services::orders(&mut w, deps).await
        })
        .await?;
        let realtime = local(roles.has(Role::Realtime), async {
            let faces_clients = roles.has(Role::Gateway);
            services::realtime(&mut w, reach.client(&identity)?, faces_clients).await
        })
        .await?;
        let (realtime, live) = realtime.unzip();
        let analytics = local(roles.has(Role::Analytics), async {
            let deps = AnalyticsDeps::clients(reach.client(&orders)?, reach.client(&identity)?);
            services::analytics(&mut w, deps).await
        })
        .await?;
        let notifications = local(roles.has(Role::Notifications), services::notifications(&mut w)).await?;
        let gateway = local(roles.has(Role::Gateway), async {
            let upstreams = Upstreams {
                identity: reach.client(&identity)?,
                catalog: reach.client(&catalog)?,
                inventory: reach.client(&inventory)?,
                orders: reach.client(&orders)?,
                realtime: reach.client(&realtime)?,
                analytics: reach.client(&analytics)?,
                notifications: reach.client(&notifications)?,
            };
            let realtime_dialer = (!roles.has(Role::Realtime))
                .then(|| reach.dialer("realtime"))
                .transpose()?;
            services::gateway(&mut w, upstreams, realtime_dialer).await
        })
        .await?;

        // Relays start only now, after every consumer of this process has subscribed, so that
        // no event is published into a bus with nobody yet listening in process.
        let relay_stop = Shutdown::new();
        let relays = w
            .relays
            .drain(..)
            .map(|r| tokio::spawn(r.run(relay_stop.clone())))
            .collect();
        // Job runners stop when HTTP has drained, before the relays, so the events of the
        // attempts they stop go out.
        let jobs_stop = Shutdown::new();
        let job_runners = w
            .job_runners
            .drain(..)
            .map(|r| tokio::spawn(r.run(jobs_stop.clone())))
            .collect();
        // With a metrics listener, the main port keeps the probes but not `/metrics`.
        let (ops, metrics) = match settings.http.metrics_listen {
            None => (ops_routes(w.checks, w.collectors), None),
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding http.metrics_listen {addr}"))?;
                let metrics = ops_routes(w.checks.clone(), w.collectors);
                let ops = routing::without_metrics(ops_routes(w.checks, Vec::new()));
                (ops, Some((listener, metrics)))
            }
        };
        let router = routing::assemble(settings, live, gateway.as_ref(), ops, w.grpc);
        Ok(App {
            tls,
            client_tls: reach.identity(),
            roles,
            identity,
            catalog,
            inventory,
            orders,
            router,
            metrics,
            relays,
            relay_stop,
            job_runners,
            jobs_stop,
            consumer_stop: w.consumer_stop,
            realtime_stop: w.realtime_stop,
        })
    }
}

/// Runs a service here when `enabled` (its role is local): `start` is only awaited then.
async fn local<T>(
    enabled: bool,
    start: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    if enabled { start.await.map(Some) } else { Ok(None) }
}

/// Refuses a process running only some roles without a bus the others share.
fn ensure_shared_bus(settings: &Settings, roles: &Roles) -> anyhow::Result<()> {
    anyhow::ensure!(
        roles.is_all() || settings.nats.url.is_some(),
        "running only some roles ({roles}) needs a shared bus: set --nats-url, or the other \
         processes would never see this one's events"
    );
    Ok(())
}

/// Installs the metrics recorder, before anything records or describes a metric, or early
/// figures and descriptions are lost. Every service's metrics are described whatever the roles:
/// a description shows only beside a metric this process records.
fn install_metrics() {
    mercato_runtime::prometheus::install();
    mercato_runtime::pressure::describe_metrics();
    mercato_gateway::describe_metrics();
    mercato_orders::describe_metrics();
    mercato_inventory::describe_metrics();
    mercato_payments::describe_metrics();
    mercato_realtime::live::describe_metrics();
    mercato_analytics::describe_metrics();
    mercato_notifications::describe_metrics();
}

impl Wiring<'_> {
    /// Runs a service's jobs in this process with these handlers (started with the relays).
    pub fn run_jobs(&mut self, jobs: &Jobs, handlers: Vec<Arc<dyn JobHandler>>) {
        let mut runner = jobs.runner();
        for handler in handlers {
            runner.register(handler);
        }
        self.job_runners.push(runner);
    }
}

impl<'a> Wiring<'a> {
    fn new(settings: &'a Settings, infra: &'a Infra) -> Self {
        Wiring {
            settings,
            infra,
            admit: InternalAuth::new(routing::internal_token(&settings.services)),
            checks: vec![routing::bus_check(infra)],
            collectors: Vec::new(),
            grpc: tonic::service::Routes::builder(),
            relays: Vec::new(),
            job_runners: Vec::new(),
            consumer_stop: Shutdown::new(),
            realtime_stop: Shutdown::new(),
        }
    }
}
