//! Starts a platform in either topology on free ports and talks to it over HTTP.

use mercato::app;
use mercato::roles::Roles;
use mercato_runtime::config::{Secret, Settings};
use mercato_runtime::env::{TEST_NATS_URL, TEST_POSTGRES_URL, TEST_REDIS_URL, test_url};
use mercato_runtime::shutdown::Shutdown;
use serde_json::Value;
use std::time::Duration;

/// A running platform; stops when dropped.
pub struct Platform {
    pub name: &'static str,
    /// Base URLs of its gateways; requests are spread over them.
    pub gateways: Vec<String>,
    /// Base URLs of the internal identity service, when it runs in its own server.
    pub identity: Option<String>,
    /// Realtime replicas running as their own servers (distributed only), each killable alone.
    pub realtime: Vec<(String, Killable)>,
    /// The internal token, for tests that reach realtime replicas directly.
    pub internal_token: Option<String>,
    /// Stops one gateway (distributed only).
    pub gateway_stops: Vec<Shutdown>,
    /// The NATS namespace its events travel in (distributed only), for tests that watch the bus.
    pub nats_namespace: Option<String>,
    /// The notifications service in its own server (distributed only), killable and restartable.
    pub notifications: Option<Restartable>,
    pub http: reqwest::Client,
    shutdown: Shutdown,
    _nats: Option<mercato_runtime::testing::NatsNamespaceGuard>,
    _turn: Option<std::sync::Arc<Turn>>,
}

impl Platform {
    /// Keeps `turn` for as long as this platform lives.
    pub fn holding(mut self, turn: std::sync::Arc<Turn>) -> Platform {
        self._turn = Some(turn);
        self
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Tests share the machine; a load test takes it alone (see [`platforms_alone`]).
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A test's claim on the machine (shared, or alone), held as long as its platforms live.
pub struct Turn {
    _shared: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    _alone: Option<tokio::sync::RwLockWriteGuard<'static, ()>>,
}

/// Every topology this machine can run: embedded always, distributed when configured.
pub async fn platforms() -> Vec<Platform> {
    let turn = Turn {
        _shared: Some(MACHINE.read().await),
        _alone: None,
    };
    build_platforms(|_| {}, turn).await
}

/// Every topology this machine can run, with settings adjusted by `adjust` (e.g. a short
/// product-view flush), sharing the machine like [`platforms`].
pub async fn platforms_with(adjust: fn(&mut Settings)) -> Vec<Platform> {
    let turn = Turn {
        _shared: Some(MACHINE.read().await),
        _alone: None,
    };
    build_platforms(adjust, turn).await
}

/// A claim to share the machine, for tests that build their platform by hand.
pub async fn shared_turn() -> std::sync::Arc<Turn> {
    std::sync::Arc::new(Turn {
        _shared: Some(MACHINE.read().await),
        _alone: None,
    })
}

/// A claim to the whole machine, for tests that start their own processes under load.
pub async fn alone_turn() -> Turn {
    Turn {
        _shared: None,
        _alone: Some(MACHINE.write().await),
    }
}

/// Every topology, with settings adjusted by `adjust` (e.g. rate limits off), while no other
/// test of this binary runs: for load tests whose deadlines the machine's two cores must meet.
pub async fn platforms_alone(adjust: fn(&mut Settings)) -> Vec<Platform> {
    let turn = Turn {
        _shared: None,
        _alone: Some(MACHINE.write().await),
    };
    build_platforms(adjust, turn).await
}

/// Every topology, with settings adjusted by `adjust`, which may capture (e.g. the address of
/// a test's SMTP server), sharing the machine like [`platforms`].
pub async fn platforms_configured(adjust: impl FnOnce(&mut Settings)) -> Vec<Platform> {
    let turn = Turn {
        _shared: Some(MACHINE.read().await),
        _alone: None,
    };
    build_platforms(adjust, turn).await
}

async fn build_platforms(adjust: impl FnOnce(&mut Settings), turn: Turn) -> Vec<Platform> {
    mercato_runtime::testing::init_logs();
    let turn = Some(std::sync::Arc::new(turn));
    let mut settings = base_settings();
    adjust(&mut settings);
    let mut platforms = vec![embedded_with(settings.clone()).await];
    if let Some(p) = distributed_with(settings).await {
        platforms.push(p);
    }
    for p in &mut platforms {
        p._turn = turn.clone();
    }
    platforms
}

pub fn base_settings() -> Settings {
    let mut s = Settings::default();
    s.demo.seed = false;
    // Many debug-built platforms share this process on a busy machine, so its scheduling delay
    // says nothing about any one of them: shedding on it is off, except where a test turns it on.
    s.http.max_scheduling_delay = std::time::Duration::ZERO;
    s.data_dir = std::env::temp_dir()
        .join("mercato-tests")
        .join(uuid::Uuid::now_v7().to_string());
    s
}

async fn start(settings: Settings, roles: &str, shutdown: &Shutdown) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let roles = Roles::parse(roles).unwrap();
    let shutdown = shutdown.clone();
    let app = app::App::build(&settings, roles.clone())
        .await
        .expect("platform builds");
    tokio::spawn(async move { app.serve(listener, shutdown).await });
    url
}

/// A server that a test can kill as a crash would: it runs on its own runtime and thread, and
/// killing it drops every task mid-flight and closes every socket, with nothing drained and no
/// goodbye to clients.
#[derive(Clone)]
pub struct Killable(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>);

impl Killable {
    pub fn kill(&self) {
        if let Some(kill) = self.0.lock().unwrap().take() {
            let _ = kill.send(());
        }
    }
}

async fn start_killable(settings: Settings, roles: &str) -> (String, Killable) {
    start_killable_on(settings, roles, "127.0.0.1:0").await
}

/// A killable server on `address` (port 0: any free one).
async fn start_killable_on(settings: Settings, roles: &str, address: &str) -> (String, Killable) {
    let address = address.to_owned();
    let roles = Roles::parse(roles).unwrap();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = bind(&address).await;
            let url = format!("http://{}", listener.local_addr().unwrap());
            let app = app::App::build(&settings, roles).await.expect("platform builds");
            let _ = url_tx.send(url);
            tokio::select! {
                _ = app.serve(listener, Shutdown::new()) => {}
                _ = kill_rx => {}
            }
        });
        runtime.shutdown_background();
    });
    let url = url_rx.await.expect("killable server starts");
    (
        url,
        Killable(std::sync::Arc::new(std::sync::Mutex::new(Some(kill_tx)))),
    )
}

/// Binds `address`, retrying for a few seconds while a killed server's port is still held.
async fn bind(address: &str) -> tokio::net::TcpListener {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return listener,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!("binding {address}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot bind {address}: {e}"),
        }
    }
}

/// A server of one role that a test can kill as a crash would ([`Killable`]) and start again on
/// the same port and settings, so that the gateways reach the new process at the old address.
pub struct Restartable {
    pub url: String,
    roles: &'static str,
    settings: Settings,
    killable: std::sync::Mutex<Killable>,
}

impl Restartable {
    async fn start(settings: Settings, roles: &'static str, platform: &Shutdown) -> Restartable {
        let (url, killable) = start_killable(settings.clone(), roles).await;
        let (platform, k) = (platform.clone(), killable.clone());
        tokio::spawn(async move {
            platform.cancelled().await;
            k.kill();
        });
        Restartable {
            url,
            roles,
            settings,
            killable: std::sync::Mutex::new(killable),
        }
    }

    /// Kills it mid-flight: no draining, its leases and claims left held.
    pub fn kill(&self) {
        self.killable.lock().unwrap().kill();
    }

    /// Starts it again on the same port; ready to serve when this returns. It is not stopped
    /// with the platform: kill it before the test ends.
    pub async fn restart(&self) {
        let address = self.url.trim_start_matches("http://").to_owned();
        let (_, killable) = start_killable_on(self.settings.clone(), self.roles, &address).await;
        *self.killable.lock().unwrap() = killable;
    }
}

impl Drop for Restartable {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn embedded_with(settings: Settings) -> Platform {
    let shutdown = Shutdown::new();
    let url = start(settings, "all", &shutdown).await;
    embedded_at(url, shutdown)
}

/// One process running only `roles` (a list such as `gateway,orders`), as an embedded platform
/// whose other roles are reached as `settings.services` says: for tests that add a role to an
/// installation later (the analytics backfill).
pub async fn embedded_roles(settings: Settings, roles: &str) -> Platform {
    let shutdown = Shutdown::new();
    let url = start(settings, roles, &shutdown).await;
    embedded_at(url, shutdown)
}

/// The embedded platform serving at `url`.
fn embedded_at(url: String, shutdown: Shutdown) -> Platform {
    Platform {
        name: "embedded",
        gateways: vec![url],
        identity: None,
        realtime: Vec::new(),
        internal_token: None,
        gateway_stops: Vec::new(),
        nats_namespace: None,
        notifications: None,
        http: client(),
        shutdown,
        _nats: None,
        _turn: None,
    }
}

/// The embedded platform on its own runtime, so that a test can crash it and start it again on
/// the same data directory.
pub async fn embedded_killable(settings: Settings) -> (Platform, Killable) {
    let turn = shared_turn().await;
    let (url, killable) = start_killable(settings, "all").await;
    (embedded_at(url, Shutdown::new()).holding(turn), killable)
}

/// Identity, catalog, inventory, payments, orders, analytics and notifications as their own servers, two realtime replicas
/// (each killable alone) and two gateways (each stoppable alone) reaching them over gRPC.
pub async fn distributed_with(settings: Settings) -> Option<Platform> {
    let (pg, nats, redis) = (
        test_url(TEST_POSTGRES_URL)?,
        test_url(TEST_NATS_URL)?,
        test_url(TEST_REDIS_URL)?,
    );
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut s = settings;
    s.postgres.url = Some(Secret::new(pg));
    s.postgres.database_prefix = format!("mercato_e2e_{}_", &run[20..]);
    s.nats.url = Some(Secret::new(nats.clone()));
    s.nats.namespace = format!("e2e{run}");
    let guard = mercato_runtime::testing::NatsNamespaceGuard::new(&nats, &s.nats.namespace);
    s.redis.url = Some(Secret::new(redis));
    s.redis.key_prefix = format!("e2e:{run}:");
    s.services.internal_token = Some(Secret::new(format!("token-{run}")));
    let shutdown = Shutdown::new();
    let identity = start(s.clone(), "identity", &shutdown).await;
    // Before the catalog, whose products export reads stock from inventory.
    let inventory = start(s.clone(), "inventory", &shutdown).await;
    s.services.inventory = vec![inventory];
    let catalog = start(s.clone(), "catalog", &shutdown).await;
    let payments = start(s.clone(), "payments", &shutdown).await;
    s.services.identity = vec![identity.clone()];
    s.services.catalog = vec![catalog];
    s.services.payments = vec![payments];
    let orders = start(s.clone(), "orders", &shutdown).await;
    s.services.orders = vec![orders];
    let analytics = start(s.clone(), "analytics", &shutdown).await;
    s.services.analytics = vec![analytics];
    // Killable and restartable on its port (the kill -9 scenario of e-mail and webhooks).
    let notifications = Restartable::start(s.clone(), "notifications", &shutdown).await;
    s.services.notifications = vec![notifications.url.clone()];
    // Two realtime replicas, each killable on its own (and killed with the platform).
    let mut realtime = Vec::new();
    for _ in 0..2 {
        let (url, killable) = start_killable(s.clone(), "realtime").await;
        let (platform, k) = (shutdown.clone(), killable.clone());
        tokio::spawn(async move {
            platform.cancelled().await;
            k.kill();
        });
        realtime.push((url, killable));
    }
    s.services.realtime = realtime.iter().map(|(url, _)| url.clone()).collect();
    let internal_token = s.services.internal_token.as_ref().map(|t| t.expose().to_owned());
    // Gateways stop with the platform, or alone (`gateway_stops`).
    let mut gateway_stops = Vec::new();
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let own = Shutdown::new();
        gateways.push(start(s.clone(), "gateway", &own).await);
        let (platform, own2) = (shutdown.clone(), own.clone());
        tokio::spawn(async move {
            platform.cancelled().await;
            own2.cancel();
        });
        gateway_stops.push(own);
    }
    Some(Platform {
        name: "distributed",
        gateways,
        gateway_stops,
        nats_namespace: Some(s.nats.namespace.clone()),
        notifications: Some(notifications),
        identity: Some(identity),
        realtime,
        internal_token,
        http: client(),
        shutdown,
        _nats: Some(guard),
        _turn: None,
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The fields a problem document's `errors` names, in order.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default()
    }
}

impl Platform {
    /// The Prometheus text a gateway serves on `/metrics`.
    pub async fn metrics(&self, gateway: &str) -> String {
        let response = self.http.get(format!("{gateway}/metrics")).send().await;
        response.expect("metrics answered").text().await.unwrap()
    }

    /// The gateway for the n-th request of a test, alternating between gateways.
    pub fn gateway(&self, n: usize) -> &str {
        &self.gateways[n % self.gateways.len()]
    }

    pub async fn send(&self, n: usize, request: reqwest::RequestBuilder) -> Reply {
        let _ = n;
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, n: usize, path: &str, token: Option<&str>) -> Reply {
        let mut r = self.http.get(format!("{}{path}", self.gateway(n)));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(n, r).await
    }

    pub async fn post(&self, n: usize, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut r = self.http.post(format!("{}{path}", self.gateway(n))).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(n, r).await
    }

    /// A POST carrying an `Idempotency-Key`, as checkout, cancellation and refunds require.
    pub async fn post_keyed(&self, n: usize, path: &str, token: &str, key: &str, body: &Value) -> Reply {
        let r = self
            .http
            .post(format!("{}{path}", self.gateway(n)))
            .bearer_auth(token)
            .header("idempotency-key", key);
        self.send(n, r.json(body)).await
    }

    pub async fn token(&self, n: usize, form: &[(&str, &str)]) -> Reply {
        let r = self
            .http
            .post(format!("{}/v1/oauth/token", self.gateway(n)))
            .form(form);
        self.send(n, r).await
    }

    /// Provisions a store with a random slug; returns (slug, owner password, the whole reply).
    pub async fn provision(&self, n: usize) -> (String, Value) {
        let slug = format!("shop-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let body = serde_json::json!({
            "slug": slug, "name": "Test Shop", "currency": "EUR",
            "owner": {"email": "owner@example.com", "password": "correct horse battery"}
        });
        let reply = self.post(n, "/v1/stores", None, &body).await;
        assert_eq!(reply.status, 201, "{}: {}", self.name, reply.body);
        (slug, reply.body)
    }

    /// Signs in with the password grant; returns (access token, refresh token).
    pub async fn sign_in(&self, n: usize, store: &str, email: &str, password: &str) -> (String, String) {
        let reply = self
            .token(
                n,
                &[
                    ("grant_type", "password"),
                    ("store", store),
                    ("username", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{}: {}", self.name, reply.body);
        let access = reply.body["access_token"].as_str().unwrap().to_owned();
        let refresh = reply.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (access, refresh)
    }
}

/// A valid German shipping address, as a checkout or a cart takes it.
pub fn shipping_address() -> Value {
    serde_json::json!({"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Köln",
        "postal_code": "51147", "country": "DE"})
}

/// A checkout body for `cart` paid with the payment method `method`, shipped to
/// [`shipping_address`] (goods that ship need one, here or on the cart).
pub fn checkout_body(cart: &str, method: &str) -> Value {
    serde_json::json!({"cart_id": cart, "payment": {"payment_method": method},
        "shipping_address": shipping_address()})
}
