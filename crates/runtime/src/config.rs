//! Typed settings, layered: defaults → an optional TOML file (`MERCATO_CONFIG`) → environment
//! variables `MERCATO__SECTION__KEY`. Loading settings never opens a socket.
//!
//! The topology follows from what is configured: without `postgres.url` services keep SQLite
//! files under `data_dir`; with it, each service gets its own PostgreSQL database. Likewise
//! `nats.url` selects NATS JetStream over the in-process bus and `redis.url` adds a shared L2
//! cache. Services whose role is not local are reached over gRPC at `services.<name>`.

use crate::env;

mod notifications;
mod strangler;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
pub use notifications::{NotificationsSettings, WebhookSettings};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
pub use strangler::{RouteRule, RoutingFile, StoreRouting, StranglerSettings, Target};

/// A value that must never be logged, such as a URL with a password in it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting of a Mercato process.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    /// Where embedded services keep their SQLite files.
    pub data_dir: PathBuf,
    pub postgres: PostgresSettings,
    pub nats: NatsSettings,
    pub redis: RedisSettings,
    pub services: ServiceEndpoints,
    pub auth: AuthSettings,
    pub demo: DemoSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub realtime: RealtimeSettings,
    pub payments: PaymentsSettings,
    #[serde(default)]
    pub files: FilesSettings,
    #[serde(default)]
    pub notifications: NotificationsSettings,
    /// Routing a legacy shop's traffic during a migration (the strangler fig, ADR 0016).
    #[serde(default)]
    pub strangler: StranglerSettings,
}

/// Where exports and images are kept, and how download links are signed (`runtime::files`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSettings {
    /// `s3://bucket/prefix` (credentials, region and endpoint from the usual `AWS_*` variables)
    /// or `file:///dir`; unset: `<data_dir>/files`. Every process of a deployment must share it.
    pub url: Option<String>,
    /// The HMAC key download links are signed with, at least 32 characters; every gateway must
    /// share it. Unset: a random key kept in `data_dir` (`file-link.key`, mode 0600).
    pub link_key: Option<Secret>,
    /// How long a download link stays valid.
    #[serde(with = "humantime_serde")]
    pub link_ttl: Duration,
    /// How long an export's file is kept before it is deleted.
    #[serde(with = "humantime_serde")]
    pub export_retention: Duration,
}

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings {
            url: None,
            link_key: None,
            link_ttl: Duration::from_secs(24 * 3600),
            export_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Settings of the payments service.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsSettings {
    /// The secret card fingerprints are keyed with (HMAC-SHA256), at least 32 characters; every
    /// payments replica must share it. Unset: a random key kept in `data_dir`
    /// (`payments-fingerprint.key`, mode 0600), for a single embedded process.
    pub fingerprint_key: Option<Secret>,
}

/// Limits and timings of the WebSocket endpoint (see the realtime service).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeSettings {
    /// Open WebSocket connections one realtime replica accepts; more are refused with 503.
    pub max_connections: usize,
    /// Channels one connection may be subscribed to at once.
    pub max_subscriptions_per_connection: usize,
    /// Subscriptions one store's connections may hold on one replica.
    pub max_subscriptions_per_store: usize,
    /// Frames per second one connection may send (beyond it: `rate_limited` error frames, and
    /// a close after ten times as many).
    pub frames_per_second: u32,
    /// Conversation messages per second one store may receive across all replicas.
    pub store_messages_per_second: u32,
    /// Frames waiting to be written to one connection; a client that lets more pile up is
    /// disconnected as a slow consumer.
    pub outbound_queue: usize,
    /// How often the server pings; a connection silent for three intervals is closed.
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// How long a staff member counts as online or away after their last sign of life.
    #[serde(with = "humantime_serde")]
    pub presence_ttl: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// The main port of this process: REST, gRPC, health, and metrics unless `metrics_listen`
    /// is set.
    pub listen: SocketAddr,
    /// A second port serving only `/metrics`, e.g. `0.0.0.0:9090`, for a scraper that the API's
    /// clients cannot impersonate (Kubernetes lets only the monitoring namespace reach it). When
    /// set, `/metrics` is no longer served on `listen`. Unset (the default): served on `listen`.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Larger request bodies get 413.
    pub body_limit_bytes: usize,
    /// Requests running longer are answered with 504.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Concurrent requests above this are shed with 503 and `Retry-After`.
    pub max_concurrent_requests: usize,
    /// While the async runtime's scheduling delay (how late a 5 ms timer fires: the time a
    /// ready request waits for a CPU) is over this, a growing share of requests is shed with
    /// 503 and `Retry-After`, so that the CPU serves what it can at once instead of everything
    /// late (`runtime::pressure`). 0s turns it off.
    #[serde(with = "humantime_serde", default = "default_max_scheduling_delay")]
    pub max_scheduling_delay: Duration,
    /// In a process that runs the gateway beside services (embedded): the services run on a
    /// second runtime, so that requests are read, refused or answered from the cache without
    /// queueing behind the work (`runtime::lanes`, which says what stays on the edge). Off by
    /// default: refusals came 6–18× sooner under overload, but the goodput share fell below
    /// 90 % in all but one run (ADR 0017).
    #[serde(default = "default_work_lane")]
    pub work_lane: bool,
    /// Requests per second one client (a signed-in user or API client, else an address) may
    /// send before getting 429; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Proxies (addresses or networks, `["10.0.0.0/8"]`) whose `Forwarded` and
    /// `X-Forwarded-For` headers name the client; from anyone else those headers are ignored,
    /// since a client can write them. Empty: the peer address is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Store provisionings (`POST /v1/stores`) and customer sign-ups per second one client
    /// address may make, each route counted on its own, before getting 429; 0 turns the limit off.
    #[serde(default = "default_sign_ups_per_second")]
    pub sign_ups_per_second: u32,
    /// Origins whose pages may call the API from a browser (CORS), each as the browser sends it:
    /// `["https://shop.example", "http://localhost:3000"]`. Empty (the default): same origin
    /// only, no CORS headers — all the built-in storefront at `/` needs. `"*"` lets every other
    /// origin make anonymous calls too (no `Authorization` header: the public catalog); calls
    /// with a token are allowed only from origins listed by name. The allowed origin is echoed,
    /// never `*`, and credentials (cookies) are never allowed.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// How often a gateway publishes the product views it counted in memory
    /// (`mercato.gateway.product_views_counted`, one event per store and minute); a gateway that
    /// crashes loses at most this much counting. Default one minute.
    #[serde(with = "humantime_serde", default = "default_product_views_flush")]
    pub product_views_flush: Duration,
}

fn default_product_views_flush() -> Duration {
    Duration::from_secs(60)
}

fn default_work_lane() -> bool {
    false
}

fn default_max_scheduling_delay() -> Duration {
    Duration::from_millis(20)
}

fn default_sign_ups_per_second() -> u32 {
    5
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// Server URL without a database, e.g. `postgres://mercato@db:5432/`.
    pub url: Option<Secret>,
    /// Each service's database is `<prefix><service>`.
    pub database_prefix: String,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    pub url: Option<Secret>,
    /// Isolates this deployment's subjects, stream and consumers on a shared server.
    pub namespace: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Option<Secret>,
    /// Prefix of every key, so deployments can share a server.
    pub key_prefix: String,
}

/// gRPC endpoints of services that do not run in this process; several per service are
/// load-balanced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEndpoints {
    pub identity: Vec<String>,
    pub catalog: Vec<String>,
    pub inventory: Vec<String>,
    pub payments: Vec<String>,
    pub orders: Vec<String>,
    /// Realtime replicas: their gRPC endpoints, and the same URLs serve `/v1/realtime`, to
    /// which the gateway forwards WebSocket clients.
    pub realtime: Vec<String>,
    /// Analytics replicas (the gateway's figures; `mercato analytics verify`).
    #[serde(default)]
    pub analytics: Vec<String>,
    /// Notifications replicas (the gateway's webhook, e-mail preference and template routes).
    #[serde(default)]
    pub notifications: Vec<String>,
    /// Deadline of every service-to-service call.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Deadline of calls to orders: a checkout runs a whole saga (stock, payment, waiting for
    /// held stock), so it gets longer than a single lookup.
    #[serde(with = "humantime_serde")]
    pub orders_call_timeout: Duration,
    /// Deadline of calls to analytics: its reads are index lookups, but `Verify` pages a store's
    /// whole orders history, so it gets as long as the edge allows.
    #[serde(with = "humantime_serde")]
    pub analytics_call_timeout: Duration,
    /// Shared secret every internal gRPC call must present. Set it whenever service ports are
    /// reachable by anything but the platform's own processes.
    pub internal_token: Option<Secret>,
    /// Mutual TLS between services (ADR 0008): this process's certificate and key and the
    /// platform's CA. Set, the ports of processes without the gateway role accept only TLS
    /// peers presenting a certificate of that CA whose service may call the one they call, and
    /// every `services.*` endpoint must be `https://`. Unset, internal calls are plain HTTP/2.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
}

/// PEM files of one process's identity: what `mercato certs init` writes and a Kubernetes TLS
/// Secret mounts (`ca.crt`, `tls.crt`, `tls.key`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The CA certificate(s) peers' certificates must chain to.
    pub ca: std::path::PathBuf,
    /// This process's certificate (chain), naming `<service>.mercato.internal` per local role.
    pub cert: std::path::PathBuf,
    /// Its private key.
    pub key: std::path::PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// At most 15 minutes.
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// Brute-force protection of the password grant and the bound on argon2 work.
    #[serde(default)]
    pub sign_in: SignInSettings,
    /// The key-encryption key sealing the token-signing private keys in identity's database:
    /// base64 of 32 random bytes. Wins over `key_encryption_key_file`; with neither, identity
    /// generates one once into `<data_dir>/identity.kek` (mode 0600) — configure one in
    /// production, the same for every identity replica.
    #[serde(default)]
    pub key_encryption_key: Option<Secret>,
    /// A file holding the key-encryption key (base64 of 32 bytes), e.g. a mounted secret.
    #[serde(default)]
    pub key_encryption_key_file: Option<PathBuf>,
    /// Age at which the signing key is replaced (checked at start and every minute); the old
    /// key stays in the JWKS until every token it signed has expired. At least one hour.
    #[serde(with = "humantime_serde", default = "default_signing_key_rotation")]
    pub signing_key_rotation: Duration,
    /// Clock skew tolerated when checking a token's `exp`, `nbf` and `iat`; at most 5 minutes.
    #[serde(with = "humantime_serde", default = "default_clock_leeway")]
    pub clock_leeway: Duration,
}

fn default_signing_key_rotation() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}

fn default_clock_leeway() -> Duration {
    Duration::from_secs(30)
}

/// How the password grant resists guessing: failures are counted per account and per client
/// address; past the free ones each further failure locks the key for a window that doubles
/// (`lockout_base`, 2×, 4×, … up to `lockout_max`), answered 429 with `Retry-After`. Failures
/// older than `failure_window` are forgotten; a successful sign-in clears the account's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignInSettings {
    /// Failed sign-ins one account may have before it is locked; 0 turns the account rule off.
    pub account_free_failures: u32,
    /// Failed sign-ins one client address may have, whatever the accounts, before it is locked;
    /// 0 turns the address rule off.
    pub address_free_failures: u32,
    /// The first lock's length.
    #[serde(with = "humantime_serde")]
    pub lockout_base: Duration,
    /// The longest lock.
    #[serde(with = "humantime_serde")]
    pub lockout_max: Duration,
    /// Failures are forgotten this long after the last one.
    #[serde(with = "humantime_serde")]
    pub failure_window: Duration,
    /// Password hashes computed at once (each holds 19 MiB); 0 means one per CPU.
    pub hash_concurrency: usize,
    /// Sign-ins and sign-ups that may wait for a hash slot; beyond them the answer is 503 with
    /// `Retry-After`.
    pub hash_queue: usize,
}

impl Default for SignInSettings {
    fn default() -> Self {
        SignInSettings {
            account_free_failures: 5,
            address_free_failures: 50,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(15 * 60),
            failure_window: Duration::from_secs(15 * 60),
            hash_concurrency: 0,
            hash_queue: 64,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Seed a demo store on first start.
    pub seed: bool,
    pub products: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for machines.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Trace export.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// OTLP/gRPC collector, e.g. `http://jaeger:4317`; no export when unset.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces sampled (0.0–1.0); a sampled caller's decision is always followed.
    pub sample_ratio: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// Default filter when `RUST_LOG` is unset.
    pub filter: String,
}

impl Default for Settings {
    // Long on purpose: one literal holds every default, so they are read (and changed) in one place.
    fn default() -> Self {
        Settings {
            http: HttpSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                body_limit_bytes: 1024 * 1024,
                request_timeout: Duration::from_secs(15),
                max_concurrent_requests: 4096,
                max_scheduling_delay: default_max_scheduling_delay(),
                work_lane: default_work_lane(),
                rate_limit_per_second: 200,
                trusted_proxies: Vec::new(),
                sign_ups_per_second: default_sign_ups_per_second(),
                cors_allowed_origins: Vec::new(),
                metrics_listen: None,
                product_views_flush: default_product_views_flush(),
            },
            data_dir: PathBuf::from("data"),
            postgres: PostgresSettings {
                url: None,
                database_prefix: "mercato_".to_owned(),
                max_connections: 16,
            },
            nats: NatsSettings::default(),
            redis: RedisSettings {
                url: None,
                key_prefix: "mercato:".to_owned(),
            },
            services: ServiceEndpoints {
                identity: Vec::new(),
                catalog: Vec::new(),
                inventory: Vec::new(),
                payments: Vec::new(),
                orders: Vec::new(),
                realtime: Vec::new(),
                analytics: Vec::new(),
                notifications: Vec::new(),
                call_timeout: Duration::from_secs(5),
                orders_call_timeout: Duration::from_secs(14),
                analytics_call_timeout: Duration::from_secs(14),
                internal_token: None,
                tls: None,
            },
            payments: PaymentsSettings::default(),
            files: FilesSettings::default(),
            notifications: NotificationsSettings::default(),
            strangler: StranglerSettings::default(),
            realtime: RealtimeSettings {
                max_connections: 100_000,
                max_subscriptions_per_connection: 64,
                max_subscriptions_per_store: 200_000,
                frames_per_second: 50,
                store_messages_per_second: 500,
                outbound_queue: 256,
                heartbeat: Duration::from_secs(25),
                presence_ttl: Duration::from_secs(60),
            },
            auth: AuthSettings {
                issuer: "mercato".to_owned(),
                audience: "mercato-api".to_owned(),
                access_token_ttl: Duration::from_secs(15 * 60),
                refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
                sign_in: SignInSettings::default(),
                key_encryption_key: None,
                key_encryption_key_file: None,
                signing_key_rotation: default_signing_key_rotation(),
                clock_leeway: default_clock_leeway(),
            },
            demo: DemoSettings {
                seed: true,
                products: 500,
            },
            log: LogSettings {
                format: LogFormat::Pretty,
                filter: "info".to_owned(),
            },
            telemetry: TelemetrySettings {
                otlp_endpoint: None,
                sample_ratio: 1.0,
            },
        }
    }
}

impl Settings {
    /// Loads defaults, then the file named by `MERCATO_CONFIG`, then `MERCATO__…` variables.
    pub fn load() -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var(env::CONFIG_FILE) {
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed(env::CONFIG_PREFIX).split("__"))
            .extract()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.auth.access_token_ttl <= Duration::from_secs(15 * 60),
            "auth.access_token_ttl must be at most 15 minutes"
        );
        anyhow::ensure!(
            self.auth.clock_leeway <= Duration::from_secs(5 * 60),
            "auth.clock_leeway must be at most 5 minutes"
        );
        anyhow::ensure!(
            self.auth.signing_key_rotation >= Duration::from_secs(3600),
            "auth.signing_key_rotation must be at least 1 hour"
        );
        anyhow::ensure!(
            self.http.body_limit_bytes > 0,
            "http.body_limit_bytes must be positive"
        );
        for origin in &self.http.cors_allowed_origins {
            let (scheme, host) = origin.split_once("://").unwrap_or_default();
            anyhow::ensure!(
                origin == "*"
                    || (matches!(scheme, "http" | "https")
                        && !host.is_empty()
                        && !host.contains(['/', '?', '#', ' '])),
                "http.cors_allowed_origins: {origin:?} is not \"*\" or an origin such as https://shop.example (no path, no trailing slash)"
            );
        }
        anyhow::ensure!(
            self.http.metrics_listen.is_none_or(|m| m != self.http.listen),
            "http.metrics_listen must differ from http.listen"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_printed_in_debug_output() {
        let s = Secret::new("postgres://u:hunter2@db/");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn key_rotation_and_clock_leeway_are_bounded() {
        let mut s = Settings::default();
        s.auth.clock_leeway = Duration::from_secs(301);
        assert!(s.validate().is_err());
        s.auth.clock_leeway = Duration::from_secs(30);
        s.auth.signing_key_rotation = Duration::from_secs(60);
        assert!(s.validate().is_err());
    }

    #[test]
    fn cors_origins_are_origins_or_a_star() {
        let mut s = Settings::default();
        s.http.cors_allowed_origins = vec![
            "*".into(),
            "https://shop.example".into(),
            "http://localhost:3000".into(),
        ];
        s.validate().unwrap();
        for bad in ["https://shop.example/", "shop.example", "ftp://x", "https://"] {
            s.http.cors_allowed_origins = vec![bad.into()];
            assert!(s.validate().is_err(), "{bad}");
        }
    }
}
