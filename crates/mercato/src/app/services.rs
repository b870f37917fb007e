//! Starting each service this process runs: its database, outbox relay, consumers, gRPC
//! endpoint, readiness check and pool metrics.

use super::Wiring;
use super::routing::{db_check, internal_token};
use crate::infra::Infra;
use mercato_analytics::{AnalyticsDeps, AnalyticsService};
use mercato_catalog::CatalogService;
use mercato_gateway::{GatewayState, RealtimeForward, Upstreams};
use mercato_identity::IdentityService;
use mercato_identity::kek::KeyEncryptionKey;
use mercato_inventory::InventoryService;
use mercato_notifications::{NotificationsConfig, NotificationsService};
use mercato_orders::{OrdersDeps, OrdersService};
use mercato_payments::{PaymentsConfig, PaymentsService};
use mercato_proto::analytics::analytics_server::AnalyticsServer;
use mercato_proto::catalog::catalog_server::CatalogServer;
use mercato_proto::identity::identity_server::IdentityServer;
use mercato_proto::inventory::inventory_server::InventoryServer;
use mercato_proto::notifications::notifications_server::NotificationsServer;
use mercato_proto::orders::orders_server::OrdersServer;
use mercato_proto::payments::payments_server::PaymentsServer;
use mercato_proto::realtime::realtime_server::RealtimeServer;
use mercato_realtime::live::Node;
use mercato_realtime::live::hub::Hub;
use mercato_realtime::{MemoryPresence, Presence, RealtimeService, RedisPresence};
use mercato_runtime::cache::{MemoryCache, TieredCache};
use mercato_runtime::clients::analytics::AnalyticsClient;
use mercato_runtime::clients::notifications::NotificationsClient;
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient, orders::OrdersClient,
    payments::PaymentsClient, realtime::RealtimeClient,
};
use mercato_runtime::config::Settings;
use mercato_runtime::db::Db;
use mercato_runtime::jwks::KeyedVerifier;
use mercato_runtime::outbox::OutboxRelay;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

/// How often each inventory replica looks for expired reservations.
const RESERVATION_EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// The database and relay of one service, registered for readiness and pool metrics.
async fn storage(w: &mut Wiring<'_>, service: &'static str) -> anyhow::Result<(Db, OutboxRelay)> {
    let db = Infra::database(w.settings, service).await?;
    w.collectors.push(db.pool_metrics(service));
    w.checks.push(db_check(service_db_check_name(service), &db));
    let relay = OutboxRelay::new(service, db.clone(), w.infra.bus.clone());
    w.relays.push(relay.clone());
    Ok((db, relay))
}

fn service_db_check_name(service: &'static str) -> &'static str {
    match service {
        "identity" => "identity_db",
        "catalog" => "catalog_db",
        "inventory" => "inventory_db",
        "payments" => "payments_db",
        "orders" => "orders_db",
        "realtime" => "realtime_db",
        "analytics" => "analytics_db",
        "notifications" => "notifications_db",
        other => other,
    }
}

pub(super) async fn identity(w: &mut Wiring<'_>) -> anyhow::Result<IdentityClient> {
    let (db, relay) = storage(w, "identity").await?;
    let kek = KeyEncryptionKey::from_settings(&w.settings.auth, &w.settings.data_dir)?;
    let service = IdentityService::new(db, w.settings.auth.clone(), kek, relay.waker()).await?;
    let handlers = service.job_handlers(&w.infra.files.store, &w.settings.files);
    w.run_jobs(service.jobs(), handlers);
    service
        .start_consumers(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    w.grpc.add_service(InterceptedService::new(
        IdentityServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(IdentityClient::local(service, w.settings.services.call_timeout))
}

/// The catalog; its products export reads stock through `inventory` (without one, that export
/// fails saying so; the rest of the catalog needs no inventory).
pub(super) async fn catalog(
    w: &mut Wiring<'_>,
    inventory: Option<InventoryClient>,
) -> anyhow::Result<CatalogClient> {
    let (db, relay) = storage(w, "catalog").await?;
    let l1 = MemoryCache::new(100_000, Duration::from_secs(300));
    let cache = Arc::new(TieredCache::new("catalog", l1, w.infra.l2.clone()));
    let service = CatalogService::new(db, cache.clone(), relay.waker()).await?;
    service.attach_files(w.infra.files.store.clone());
    let handlers = service.job_handlers(&w.infra.files.store, &w.settings.files, inventory.as_ref());
    w.run_jobs(service.jobs(), handlers);
    service
        .start_consumers(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    w.grpc.add_service(InterceptedService::new(
        // Image uploads are up to 20 MB.
        CatalogServer::from_arc(service.clone())
            .max_decoding_message_size(mercato_runtime::clients::MAX_MESSAGE_BYTES),
        w.admit.clone(),
    ));
    if w.infra.l2.is_some() {
        w.checks.push(super::routing::check("cache", move || {
            let c = cache.clone();
            Box::pin(async move { mercato_runtime::cache::Cache::ready(&*c).await })
        }));
    }
    Ok(CatalogClient::local(service, w.settings.services.call_timeout))
}

pub(super) async fn inventory(w: &mut Wiring<'_>) -> anyhow::Result<InventoryClient> {
    let (db, relay) = storage(w, "inventory").await?;
    let service = InventoryService::new(db, relay.waker()).await?;
    service.start_expiry(RESERVATION_EXPIRY_INTERVAL, w.consumer_stop.clone());
    w.grpc.add_service(InterceptedService::new(
        InventoryServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(InventoryClient::local(service, w.settings.services.call_timeout))
}

pub(super) async fn payments(w: &mut Wiring<'_>) -> anyhow::Result<PaymentsClient> {
    let (db, relay) = storage(w, "payments").await?;
    let service = PaymentsService::new(db, relay.waker(), payments_config(w.settings)?).await?;
    w.grpc.add_service(InterceptedService::new(
        PaymentsServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(PaymentsClient::local(service, w.settings.services.call_timeout))
}

pub(super) async fn orders(w: &mut Wiring<'_>, deps: OrdersDeps) -> anyhow::Result<OrdersClient> {
    let (db, relay) = storage(w, "orders").await?;
    let service = OrdersService::new(db, relay.waker(), deps).await?;
    service
        .start(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    let handlers = service.job_handlers(&w.infra.files.store, &w.settings.files);
    w.run_jobs(service.jobs(), handlers);
    w.grpc.add_service(InterceptedService::new(
        OrdersServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(OrdersClient::local(
        service,
        w.settings.services.orders_call_timeout,
    ))
}

/// The analytics service: its consumers, `FiguresChanged` publisher and (once) backfill start
/// here. It writes no outbox (it publishes `FiguresChanged` straight on the bus), so it gets no
/// relay.
pub(super) async fn analytics(w: &mut Wiring<'_>, deps: AnalyticsDeps) -> anyhow::Result<AnalyticsClient> {
    let db = Infra::database(w.settings, "analytics").await?;
    w.collectors.push(db.pool_metrics("analytics"));
    w.checks.push(db_check(service_db_check_name("analytics"), &db));
    let service = AnalyticsService::new(db, deps).await?;
    service
        .start(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    w.grpc.add_service(InterceptedService::new(
        AnalyticsServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(AnalyticsClient::local(
        service,
        w.settings.services.analytics_call_timeout,
    ))
}

/// The notifications service: its consumer, webhook dispatcher and `email.send` jobs.
pub(super) async fn notifications(w: &mut Wiring<'_>) -> anyhow::Result<NotificationsClient> {
    let (db, relay) = storage(w, "notifications").await?;
    let service = NotificationsService::new(db, relay.waker(), notifications_config(w.settings)?).await?;
    let handlers = service.job_handlers();
    w.run_jobs(service.jobs(), handlers);
    service
        .start(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    w.grpc.add_service(InterceptedService::new(
        NotificationsServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    Ok(NotificationsClient::local(
        service,
        w.settings.services.call_timeout,
    ))
}

fn notifications_config(settings: &Settings) -> anyhow::Result<NotificationsConfig> {
    Ok(NotificationsConfig {
        settings: settings.notifications.clone(),
        data_dir: settings.data_dir.clone(),
        http_port: settings.http.listen.port(),
        kek: Arc::new(KeyEncryptionKey::from_settings(
            &settings.auth,
            &settings.data_dir,
        )?),
    })
}

/// The realtime service and its live side. `faces_clients` is whether this process also runs
/// the gateway (then `/v1/realtime` here is public); otherwise only callers presenting the
/// internal token (gateways forwarding clients) may open WebSockets here.
pub(super) async fn realtime(
    w: &mut Wiring<'_>,
    identity: IdentityClient,
    faces_clients: bool,
) -> anyhow::Result<(RealtimeClient, Arc<Node>)> {
    let (db, relay) = storage(w, "realtime").await?;
    let presence: Arc<dyn Presence> = match &w.settings.redis.url {
        Some(url) => Arc::new(RedisPresence::connect(url.expose(), &w.settings.redis.key_prefix).await?),
        None => Arc::new(MemoryPresence::new()),
    };
    let service = RealtimeService::new(
        db,
        relay.waker(),
        presence.clone(),
        w.infra.limiter.clone(),
        w.settings.realtime.clone(),
    )
    .await?;
    let auth = &w.settings.auth;
    let verifier = Arc::new(KeyedVerifier::for_settings(auth, identity));
    if let Err(e) = verifier.refresh(true).await {
        tracing::warn!(error = %e, "signing keys not loaded yet; will retry on the first token");
    }
    let internal_token = internal_token(&w.settings.services)
        .filter(|_| !faces_clients)
        .map(str::to_owned);
    let node = Arc::new(Node {
        service: service.clone(),
        hub: Hub::new(),
        bus: w.infra.bus.clone(),
        verifier,
        settings: w.settings.realtime.clone(),
        stop: w.realtime_stop.clone(),
        internal_token,
        instance: uuid::Uuid::now_v7().simple().to_string()[20..].to_owned(),
    });
    node.start_listeners(w.consumer_stop.clone()).await?;
    w.grpc.add_service(InterceptedService::new(
        RealtimeServer::from_arc(service.clone()),
        w.admit.clone(),
    ));
    if w.settings.redis.url.is_some() {
        w.checks.push(super::routing::check("presence", move || {
            let p = presence.clone();
            Box::pin(async move { p.ready().await })
        }));
    }
    Ok((
        RealtimeClient::local(service, w.settings.services.call_timeout),
        node,
    ))
}

/// The gateway's shared state over the clients of `upstreams`: it learns the signing keys,
/// counts identity in readiness and follows the catalog's events. `realtime_dialer` when the
/// realtime service runs in other processes, whose replicas then get WebSocket clients opened
/// by it.
pub(super) async fn gateway(
    w: &mut Wiring<'_>,
    upstreams: Upstreams,
    realtime_dialer: Option<mercato_runtime::tls::Dialer>,
) -> anyhow::Result<GatewayState> {
    let settings = w.settings;
    let forward = realtime_dialer.map(|dialer| RealtimeForward {
        upstreams: settings.services.realtime.clone(),
        internal_token: internal_token(&settings.services).map(str::to_owned),
        dialer,
        heartbeat: settings.realtime.heartbeat,
        stop: w.realtime_stop.clone(),
    });
    let state = GatewayState::new(
        upstreams,
        forward,
        &settings.auth,
        &settings.http,
        w.infra.limiter.clone(),
        Some(w.infra.files.clone()),
    );
    if let Err(e) = state.refresh_keys(true).await {
        tracing::warn!(error = %e, "signing keys not loaded yet; will retry on the first token");
    }
    w.checks.push(super::routing::identity_check(state.clone()));
    state
        .follow_catalog(w.infra.bus.clone(), w.consumer_stop.clone())
        .await?;
    Ok(state)
}

fn payments_config(settings: &Settings) -> anyhow::Result<PaymentsConfig> {
    Ok(PaymentsConfig {
        slow_card_delay: Duration::from_secs(3),
        fingerprint_key: mercato_payments::service::fingerprint_key(&settings.payments, &settings.data_dir)?,
    })
}

/// Creates and migrates every service's database (`mercato migrate`).
pub async fn migrate_all(settings: &Settings) -> anyhow::Result<()> {
    let waker = Arc::new(tokio::sync::Notify::new());
    IdentityService::new(
        Infra::database(settings, "identity").await?,
        settings.auth.clone(),
        KeyEncryptionKey::from_settings(&settings.auth, &settings.data_dir)?,
        waker.clone(),
    )
    .await?;
    let cache = Arc::new(TieredCache::new(
        "catalog",
        MemoryCache::new(16, Duration::from_secs(1)),
        None,
    ));
    CatalogService::new(Infra::database(settings, "catalog").await?, cache, waker.clone()).await?;
    InventoryService::new(Infra::database(settings, "inventory").await?, waker.clone()).await?;
    let config = payments_config(settings)?;
    PaymentsService::new(
        Infra::database(settings, "payments").await?,
        waker.clone(),
        config,
    )
    .await?;
    // Orders only needs clients to run checkouts; migrating touches neither.
    let deadline = settings.services.call_timeout;
    let unused = |url: &str| mercato_runtime::clients::balanced_channel(&[url.to_owned()], deadline);
    let deps = OrdersDeps {
        inventory: InventoryClient::remote(unused("http://127.0.0.1:1")?, deadline, None)?,
        payments: PaymentsClient::remote(unused("http://127.0.0.1:1")?, deadline, None)?,
    };
    OrdersService::new(Infra::database(settings, "orders").await?, waker.clone(), deps).await?;
    NotificationsService::new(
        Infra::database(settings, "notifications").await?,
        waker.clone(),
        notifications_config(settings)?,
    )
    .await?;
    let limiter = Arc::new(mercato_runtime::ratelimit::MemoryRateLimiter::default());
    RealtimeService::new(
        Infra::database(settings, "realtime").await?,
        waker,
        Arc::new(MemoryPresence::new()),
        limiter,
        settings.realtime.clone(),
    )
    .await?;
    AnalyticsService::new(
        Infra::database(settings, "analytics").await?,
        AnalyticsDeps::default(),
    )
    .await?;
    tracing::info!("databases migrated");
    Ok(())
}
