//! Product page views, counted where they are answered, off the read path's cost: in memory,
//! per store, product and minute, and published on the bus as one
//! `mercato.gateway.product_views_counted` event per store and minute (the analytics funnel's
//! first step).
//!
//! A view is counted when the public product read (`GET /v1/stores/{store}/products/{id or
//! slug}`) answers a product to a shopper — from the edge's read cache ([`crate::read_cache`])
//! or from the route — and the shop's product page counts through that same route (the web calls
//! it in process, past the edge, so once). Owners and staff reading their own catalog are not
//! shoppers and are not counted. Counting is a shard lock (16 shards by store and product), a
//! counter increment and one SHA-256 of the visitor; nothing crosses a service boundary.
//!
//! Each store-minute also keeps its distinct visitors as opaque keys: a signed-in customer's is
//! a hash of the store and customer id; an anonymous visitor's a SHA-256 of the client address
//! and user agent salted with the day and a secret (the internal token when the gateway has one,
//! so that every replica gives a visitor the same key; a per-process random one otherwise). A
//! raw address is never kept or published. A store-minute keeps at most [`MAX_VISITORS`] keys.
//!
//! The counts are published every `http.product_views_flush` (one minute by default) and on
//! shutdown (best effort), straight on the bus: the gateway has no database and so no outbox.
//! A gateway that crashes loses what it counted since its last flush — at most a minute of
//! views — and a publish that fails loses its events (logged). Several events may carry the
//! same store and minute (replicas, flushes within a minute): consumers add the views and unite
//! the visitor keys.

use crate::state::GatewayState;
use axum::extract::FromRequestParts;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue};
use mercato_proto::events::{ProductViews as ProductViewCount, ProductViewsCounted};
use mercato_proto::subjects::gateway::PRODUCT_VIEWS_COUNTED;
use mercato_runtime::auth::{Claims, Role};
use mercato_runtime::bus::SharedBus;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

const SHARDS: usize = 16;
/// Distinct visitor keys kept per store and minute; past it the count is a floor.
pub const MAX_VISITORS: usize = 10_000;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Who viewed a product.
#[derive(Clone, Copy, Debug)]
pub enum Visitor<'a> {
    /// A signed-in customer of the store, by user id.
    Customer(&'a str),
    /// Anyone else, by the client address (as `client_addr` finds it) and user agent.
    Anonymous {
        addr: Option<IpAddr>,
        user_agent: &'a [u8],
    },
}

impl Visitor<'_> {
    /// The caller a public read admitted: a customer by id; owners and staff (reading their
    /// own catalog, not shopping) are no visitor.
    pub fn of<'a>(caller: Option<&'a Claims>, client: &'a Client) -> Option<Visitor<'a>> {
        match caller {
            _ if client.internal => None,
            Some(c) if c.role == Role::Customer => Some(Visitor::Customer(&c.sub)),
            Some(_) => None,
            None => client.visitor(),
        }
    }
}

/// What identifies an anonymous visitor in a request: its address (through trusted proxies
/// only, as `client_addr` finds it) and user agent; a handler argument, or taken from a
/// request the edge answers.
pub struct Client {
    addr: Option<IpAddr>,
    user_agent: Option<HeaderValue>,
    /// The gateway asking on a client's behalf (`http_edge::InternalAsk`: a shadow comparison
    /// asking again what the client asked once): nobody's view.
    internal: bool,
}

impl Client {
    pub fn of(headers: &HeaderMap, extensions: &Extensions, state: &GatewayState) -> Client {
        Client {
            addr: crate::client_addr::of(headers, extensions, state.trusted_proxies()),
            user_agent: headers.get(USER_AGENT).cloned(),
            internal: extensions
                .get::<mercato_runtime::http_edge::InternalAsk>()
                .is_some(),
        }
    }

    /// The anonymous visitor this client is; none for the gateway's own asks.
    pub fn visitor(&self) -> Option<Visitor<'_>> {
        (!self.internal).then(|| Visitor::Anonymous {
            addr: self.addr,
            user_agent: self.user_agent.as_ref().map_or(&[], HeaderValue::as_bytes),
        })
    }
}

impl FromRequestParts<GatewayState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, Infallible> {
        Ok(Client::of(&parts.headers, &parts.extensions, state))
    }
}

type VisitorKey = [u8; 16];

/// One store's views in one minute.
#[derive(Default, Debug)]
struct StoreMinute {
    products: HashMap<String, i64>,
    visitors: HashSet<VisitorKey>,
}

impl StoreMinute {
    fn absorb(&mut self, other: StoreMinute) {
        for (product, views) in other.products {
            *self.products.entry(product).or_default() += views;
        }
        for key in other.visitors {
            if self.visitors.len() >= MAX_VISITORS {
                break;
            }
            self.visitors.insert(key);
        }
    }
}

/// minute start → store id → counts.
type Shard = HashMap<i64, HashMap<String, StoreMinute>>;

/// The views this gateway counted and has not published yet.
pub struct ProductViews {
    shards: Vec<Mutex<Shard>>,
    /// Salts anonymous visitors' keys (with the day).
    secret: [u8; 32],
    interval: Duration,
}

impl ProductViews {
    /// Counts flushed every `interval`; anonymous visitors' keys salted with `secret` (shared by
    /// replicas) or, without one, a random per-process secret.
    pub fn new(interval: Duration, secret: Option<&str>) -> ProductViews {
        let secret = match secret {
            Some(s) => Sha256::digest([b"mercato product views\0".as_slice(), s.as_bytes()].concat()).into(),
            None => rand::random(),
        };
        ProductViews {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            secret,
            interval,
        }
    }

    /// Counts one view of `product_id` in `store_id` at `now_ms`.
    pub fn count(&self, store_id: &str, product_id: &str, visitor: Visitor<'_>, now_ms: i64) {
        let key = self.visitor_key(store_id, visitor, now_ms);
        let minute = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut shard = self
            .shard(store_id, product_id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let stores = shard.entry(minute).or_default();
        let counts = match stores.get_mut(store_id) {
            Some(c) => c,
            None => stores.entry(store_id.to_owned()).or_default(),
        };
        match counts.products.get_mut(product_id) {
            Some(views) => *views += 1,
            None => {
                counts.products.insert(product_id.to_owned(), 1);
            }
        }
        if counts.visitors.len() < MAX_VISITORS {
            counts.visitors.insert(key);
        }
    }

    fn shard(&self, store_id: &str, product_id: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        (store_id, product_id).hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    fn visitor_key(&self, store_id: &str, visitor: Visitor<'_>, now_ms: i64) -> VisitorKey {
        let mut h = Sha256::new();
        match visitor {
            Visitor::Customer(id) => {
                h.update(b"customer\0");
                h.update(store_id.as_bytes());
                h.update(b"\0");
                h.update(id.as_bytes());
            }
            Visitor::Anonymous { addr, user_agent } => {
                h.update(b"anonymous\0");
                h.update(self.secret);
                h.update(now_ms.div_euclid(DAY_MS).to_be_bytes());
                match addr {
                    Some(IpAddr::V4(a)) => h.update(a.octets()),
                    Some(IpAddr::V6(a)) => h.update(a.octets()),
                    None => h.update(b"unknown"),
                }
                h.update(b"\0");
                h.update(user_agent);
            }
        }
        let digest = h.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Takes every count out: one event per store and minute, as `(store id, event)`, oldest
    /// minute first, products and visitor keys sorted.
    pub fn drain(&self) -> Vec<(String, ProductViewsCounted)> {
        let mut merged: BTreeMap<(i64, String), StoreMinute> = BTreeMap::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(PoisonError::into_inner));
            for (minute, stores) in taken {
                for (store, counts) in stores {
                    merged.entry((minute, store)).or_default().absorb(counts);
                }
            }
        }
        merged
            .into_iter()
            .map(|((minute, store), counts)| (store, event(minute, counts)))
            .collect()
    }

    /// Publishes what was counted every interval until `shutdown`, and once more then.
    pub fn start(self: Arc<Self>, bus: SharedBus, shutdown: Shutdown) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => self.flush(&bus).await,
                    () = shutdown.cancelled() => {
                        self.flush(&bus).await;
                        return;
                    }
                }
            }
        });
    }

    /// Publishes every count taken out now; an event the bus refuses is logged and lost.
    pub async fn flush(&self, bus: &SharedBus) {
        for (store, counted) in self.drain() {
            let envelope = mercato_runtime::outbox::envelope(&store, PRODUCT_VIEWS_COUNTED, 1, &counted);
            let published = bus
                .publish(
                    PRODUCT_VIEWS_COUNTED,
                    &envelope.id,
                    envelope.encode_to_vec().into(),
                )
                .await;
            if let Err(e) = published {
                tracing::warn!(store_id = %store, error = format!("{e:#}"), "product views lost: the bus refused them");
            }
        }
    }
}

fn event(minute_start_ms: i64, counts: StoreMinute) -> ProductViewsCounted {
    let mut products: Vec<ProductViewCount> = counts
        .products
        .into_iter()
        .map(|(product_id, views)| ProductViewCount { product_id, views })
        .collect();
    products.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    let mut visitor_keys: Vec<String> = counts
        .visitors
        .iter()
        .map(|k| mercato_runtime::digest::hex(k))
        .collect();
    visitor_keys.sort();
    ProductViewsCounted {
        minute_start_ms,
        products,
        visitor_keys,
    }
}

#[cfg(test)]
#[path = "product_views_tests.rs"]
mod tests;
