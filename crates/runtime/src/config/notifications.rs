//! The notifications service's settings: e-mail (SMTP, links) and webhooks (delivery, retries,
//! where they may go).

use super::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// E-mail and webhooks (the notifications service).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsSettings {
    /// The SMTP server mail goes through: `smtp://host:port` (plain, upgraded with STARTTLS
    /// when the server offers it), `smtps://host:465` (TLS), with `user:password@` if it needs
    /// them. Unset: mail is written as `.eml` files under `<data_dir>/mail` (a laptop's demo).
    pub smtp_url: Option<Secret>,
    /// The `From` of every mail, e.g. `Demo Shop <shop@example.com>`; the store's name replaces
    /// the display name.
    pub mail_from: String,
    /// The address pages are reached at, for links in mail (order pages, unsubscribe), e.g.
    /// `https://shop.example.com`. Unset: `http://localhost:<http.listen port>`.
    pub public_url: Option<String>,
    /// The HMAC key of unsubscribe links, at least 32 characters; every notifications replica
    /// must share it. Unset: a random key kept in `data_dir` (`unsubscribe-link.key`, 0600).
    pub link_key: Option<Secret>,
    /// How long one SMTP conversation may take before the attempt is retried.
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
    pub webhooks: WebhookSettings,
}

impl Default for NotificationsSettings {
    fn default() -> Self {
        NotificationsSettings {
            smtp_url: None,
            mail_from: "Mercato <no-reply@localhost>".to_owned(),
            public_url: None,
            link_key: None,
            smtp_timeout: Duration::from_secs(30),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// How webhooks are delivered, and where they may go.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Accept `http://` endpoint URLs. For development only: in production every endpoint must
    /// be `https://`.
    pub allow_http: bool,
    /// Address ranges deliveries may reach although they are loopback, private, link-local or
    /// otherwise not public (e.g. `["10.20.0.0/16"]` for a receiver inside the network).
    pub allowed_ranges: Vec<ipnet::IpNet>,
    /// Redirects followed per delivery, each target checked like the first; 0 (the default):
    /// a 3xx is a failed attempt.
    pub max_redirects: u32,
    /// Connecting (DNS, TCP and TLS) may take this long.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// One attempt, from connecting to the last byte of the response, may take this long.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Response bytes read at most (the rest is not read; the connection is dropped).
    pub max_response_bytes: usize,
    /// Deliveries in flight in one process.
    pub concurrency: usize,
    /// Deliveries of one store in flight in one process, so a slow receiver holds only its
    /// store's share.
    pub per_store_concurrency: usize,
    /// The first retry's delay (then ×4 per attempt up to `retry_max`, with ±20 % jitter).
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long a delivery is retried before it is dead; an endpoint none of whose deliveries
    /// succeeded in that time is disabled and its owners told.
    #[serde(with = "humantime_serde")]
    pub retry_for: Duration,
    /// How long a rotated-out secret keeps signing (unless the rotation says otherwise).
    #[serde(with = "humantime_serde")]
    pub secret_overlap: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_http: false,
            allowed_ranges: Vec::new(),
            max_redirects: 0,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            concurrency: 512,
            per_store_concurrency: 32,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(12 * 3600),
            retry_for: Duration::from_secs(3 * 24 * 3600 + 3600),
            secret_overlap: Duration::from_secs(24 * 3600),
        }
    }
}
