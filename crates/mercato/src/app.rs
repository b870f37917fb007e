//! Builds the services of one process and serves them until shutdown.
//!
//! A service whose role is local is constructed here, exposes its gRPC contract on this
//! process's port, and is called directly by the local gateway; a service whose role is not
//! local is reached over gRPC at its configured endpoints. The code path is the same either way:
//! only the client differs.

use crate::infra::Infra;
use crate::roles::{Role, Roles};
use axum::Router;
use axum::extract::Request;
use futures::future::BoxFuture;
use mercato_catalog::CatalogService;
use mercato_gateway::GatewayState;
use mercato_identity::IdentityService;
use mercato_proto::catalog::catalog_server::CatalogServer;
use mercato_proto::identity::identity_server::IdentityServer;
use mercato_runtime::cache::{MemoryCache, TieredCache};
use mercato_runtime::clients::{balanced_channel, catalog::CatalogClient, identity::IdentityClient};
use mercato_runtime::config::Settings;
use mercato_runtime::http::{ReadinessCheck, ops_routes, serve};
use mercato_runtime::outbox::OutboxRelay;
use mercato_runtime::shutdown::Shutdown;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// How long shutdown waits for outbox relays to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The services of one process, built and wired but not yet serving.
pub struct App {
    pub roles: Roles,
    pub identity: Option<IdentityClient>,
    pub catalog: Option<CatalogClient>,
    router: Router,
    relays: Vec<JoinHandle<()>>,
    /// Stops the outbox relays; cancelled once HTTP has drained, so their last run publishes
    /// the events of the final requests.
    relay_stop: Shutdown,
    /// Stops the event consumers; cancelled last, so in-process groups are still there to
    /// acknowledge the relays' final events.
    consumer_stop: Shutdown,
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
        && app.roles.has(Role::Identity)
        && app.roles.has(Role::Catalog)
        && let (Some(identity), Some(catalog)) = (&app.identity, &app.catalog)
    {
        crate::seed::demo_store(identity, catalog, settings.demo.products).await?;
    }
    app.serve(listener, shutdown).await
}

impl App {
    /// Serves until `shutdown`, then lets in-flight requests finish and the outboxes drain.
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, roles = %self.roles, "serving");
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
        // Install the metrics recorder before anything records, or early figures are lost.
        mercato_runtime::http::metrics_handle();
        let (relay_stop, consumer_stop) = (Shutdown::new(), Shutdown::new());
        let internal_token = settings
            .services
            .internal_token
            .as_ref()
            .map(|t| t.expose().to_owned());
        let admit = mercato_runtime::clients::require_internal_token(internal_token.clone());
        let infra = Infra::connect(settings).await?;
        let deadline = settings.services.call_timeout;
        let mut checks: Vec<ReadinessCheck> = vec![bus_check(&infra)];
        let mut collectors = Vec::new();
        let mut grpc = tonic::service::Routes::builder();
        let mut relays = Vec::new();

        let mut identity = None;
        if roles.has(Role::Identity) {
            let db = Infra::database(settings, "identity").await?;
            collectors.push(db.pool_metrics("identity"));
            let relay = OutboxRelay::new("identity", db.clone(), infra.bus.clone());
            let service = IdentityService::new(db, settings.auth.clone(), relay.waker()).await?;
            grpc.add_service(tonic::service::interceptor::InterceptedService::new(
                IdentityServer::from_arc(service.clone()),
                admit.clone(),
            ));
            checks.push(check("identity_db", {
                let s = service.clone();
                move || {
                    let s = s.clone();
                    Box::pin(async move { s.ready().await })
                }
            }));
            identity = Some(IdentityClient::local(service, deadline));
            relays.push(relay);
        }

        let mut catalog = None;
        if roles.has(Role::Catalog) {
            let db = Infra::database(settings, "catalog").await?;
            collectors.push(db.pool_metrics("catalog"));
            let relay = OutboxRelay::new("catalog", db.clone(), infra.bus.clone());
            let l1 = MemoryCache::new(100_000, Duration::from_secs(300));
            let cache = Arc::new(TieredCache::new("catalog", l1, infra.l2.clone()));
            let service = CatalogService::new(db, cache.clone(), relay.waker()).await?;
            service
                .start_consumers(infra.bus.clone(), consumer_stop.clone())
                .await?;
            grpc.add_service(tonic::service::interceptor::InterceptedService::new(
                CatalogServer::from_arc(service.clone()),
                admit.clone(),
            ));
            checks.push(check("catalog_db", {
                let s = service.clone();
                move || {
                    let s = s.clone();
                    Box::pin(async move { s.ready().await })
                }
            }));
            if infra.l2.is_some() {
                checks.push(check("cache", move || {
                    let c = cache.clone();
                    Box::pin(async move { mercato_runtime::cache::Cache::ready(&*c).await })
                }));
            }
            catalog = Some(CatalogClient::local(service, deadline));
            relays.push(relay);
        }

        // Relays start only now, after every consumer of this process has subscribed, so that
        // no event is published into a bus with nobody yet listening in process.
        let relays = relays
            .into_iter()
            .map(|r| tokio::spawn(r.run(relay_stop.clone())))
            .collect();

        let mut http = Router::new();
        if roles.has(Role::Gateway) {
            let identity = match &identity {
                Some(c) => c.clone(),
                None => {
                    let channel = remote("identity", &settings.services.identity, deadline)?;
                    IdentityClient::remote(channel, deadline, internal_token.as_deref())?
                }
            };
            let catalog = match &catalog {
                Some(c) => c.clone(),
                None => {
                    let channel = remote("catalog", &settings.services.catalog, deadline)?;
                    CatalogClient::remote(channel, deadline, internal_token.as_deref())?
                }
            };
            let state = GatewayState::new(
                identity,
                catalog,
                &settings.auth,
                infra.limiter.clone(),
                settings.http.rate_limit_per_second,
            );
            if let Err(e) = state.refresh_keys(true).await {
                tracing::warn!(error = %e, "signing keys not loaded yet; will retry on the first token");
            }
            checks.push(check("identity", {
                let state = state.clone();
                move || {
                    let state = state.clone();
                    Box::pin(async move { state.refresh_keys(false).await.is_ok() })
                }
            }));
            http = http.merge(mercato_gateway::router(state, &settings.http));
        }
        let http = http.merge(ops_routes(checks, collectors));
        // A process with the gateway role faces the internet: its port serves no internal gRPC,
        // whose callers are trusted to name any store. Services are reachable over gRPC only
        // from processes without the gateway role (and, with `services.internal_token`, only by
        // peers that know the token).
        let router = if roles.has(Role::Gateway) {
            http
        } else {
            let grpc = grpc.routes().into_axum_router().layer(axum::middleware::from_fn(
                mercato_runtime::http::observe_grpc_server,
            ));
            dispatch(http, grpc)
        };
        Ok(App {
            roles,
            identity,
            catalog,
            router,
            relays,
            relay_stop,
            consumer_stop,
        })
    }
}

fn remote(
    service: &str,
    endpoints: &[String],
    deadline: Duration,
) -> anyhow::Result<tonic::transport::Channel> {
    balanced_channel(endpoints, deadline).map_err(|e| {
        anyhow::anyhow!(
            "the {service} role is not local, so services.{service} needs its gRPC endpoints: {e}"
        )
    })
}

/// One readiness check from a closure.
fn check<F>(name: &'static str, f: F) -> ReadinessCheck
where
    F: Fn() -> BoxFuture<'static, bool> + Send + Sync + 'static,
{
    Arc::new(move || {
        let fut = f();
        Box::pin(async move { (name.to_owned(), fut.await) })
    })
}

fn bus_check(infra: &Infra) -> ReadinessCheck {
    let bus = infra.bus.clone();
    check("bus", move || {
        let bus = bus.clone();
        Box::pin(async move { bus.ready().await })
    })
}

/// Sends gRPC requests (content-type `application/grpc…`) to the services and everything else
/// to the HTTP routes, so one port serves both.
fn dispatch(http: Router, grpc: Router) -> Router {
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

/// Creates and migrates every service's database (`mercato migrate`).
pub async fn migrate_all(settings: &Settings) -> anyhow::Result<()> {
    let db = Infra::database(settings, "identity").await?;
    let waker = Arc::new(tokio::sync::Notify::new());
    IdentityService::new(db, settings.auth.clone(), waker.clone()).await?;
    let db = Infra::database(settings, "catalog").await?;
    let cache = Arc::new(TieredCache::new(
        "catalog",
        MemoryCache::new(16, Duration::from_secs(1)),
        None,
    ));
    CatalogService::new(db, cache, waker).await?;
    tracing::info!("databases migrated");
    Ok(())
}
