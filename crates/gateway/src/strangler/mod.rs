//! The strangler fig (ADR 0016): during a migration the gateway sends each request of a store
//! either to the legacy shop or to Mercato, as the operator's routing file says.
//!
//! # Layout
//!
//! - `table`: the routing file compiled (store by host or path, route by longest prefix) and
//!   its watch (re-read on change; a bad file keeps the last good routing).
//! - `decide`: the side for a request: `x-mercato-route` header, the route's target, or a
//!   sticky split (the `mercato_route` cookie, else the client address).
//! - `redirect`: WooCommerce's page URLs answer 301 to the storefront once on Mercato's side.
//! - `proxy`: passing a request to the legacy shop, bodies streamed.
//! - `shadow` and `compare`: GET/HEAD of shadowed routes asked of the other side too, off the
//!   request path, and compared with Diffy's noise cancelling; counts and samples per route.
//!   `tee` copies the client's answer for it as it streams.
//! - `routes`: the owner's view (`/v1/stores/{store}/migration/routes` and `…/shadow`).
//! - `metrics`: requests and latency per side, comparisons by result.
//!
//! The strangler wraps the whole edge (`wrap`), so a request for the legacy shop never meets
//! Mercato's read cache; Mercato's side is the edge as it was, unchanged. Without
//! `strangler.routes_file` nothing is wrapped.

mod compare;
mod decide;
mod metrics;
mod proxy;
mod redirect;
mod routes;
mod shadow;
mod table;
mod tee;

pub(crate) use routes::routes;

use crate::state::GatewayState;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use decide::Side;
use ipnet::IpNet;
use mercato_runtime::config::{StranglerSettings, Target};
use mercato_runtime::error::ServiceError;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use table::StoreTable;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The strangler of one gateway process: the routing in force, the legacy client, and the
/// shadow comparisons' slots and results.
pub struct Strangler {
    current: Arc<table::Current>,
    settings: StranglerSettings,
    client: proxy::LegacyClient,
    shadow_permits: Arc<Semaphore>,
    book: shadow::Book,
    trusted: Vec<IpNet>,
}

/// Routes `edge` (the gateway's whole edge) through the strangler when `settings` name a
/// routing file; otherwise returns it as it is.
pub fn wrap(state: &GatewayState, settings: &StranglerSettings, edge: Router) -> Router {
    let Some(file) = settings.routes_file.clone() else {
        return edge;
    };
    metrics::describe();
    let strangler = Arc::new(Strangler {
        current: table::watch(file, settings.reload_interval),
        settings: settings.clone(),
        client: proxy::client(settings.upstream_timeout),
        shadow_permits: Arc::new(Semaphore::new(settings.shadow_concurrency)),
        book: shadow::Book::new(settings.shadow_samples),
        trusted: state.trusted_proxies().to_vec(),
    });
    let service = tower::service_fn(move |request: Request| {
        let (strangler, edge) = (strangler.clone(), edge.clone());
        async move { Ok::<_, Infallible>(strangler.handle(edge, request).await) }
    });
    Router::new().fallback_service(service)
}

/// A request's head, to ask a side again (shadowing only GET and HEAD, which have no body).
pub(crate) struct Head {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<ConnectInfo<SocketAddr>>,
}

impl Head {
    fn of(request: &Request) -> Head {
        Head {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            peer: request.extensions().get::<ConnectInfo<SocketAddr>>().cloned(),
        }
    }

    fn request(&self) -> Request {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(peer);
        }
        // The client asked once: the comparison's asks are neither its requests in the edge's
        // metrics and log nor against its rate limit.
        request
            .extensions_mut()
            .insert(mercato_runtime::http_edge::InternalAsk);
        request
    }
}

impl Strangler {
    async fn handle(self: Arc<Self>, edge: Router, mut request: Request) -> Response {
        request.extensions_mut().insert(self.clone());
        let table = self.current.get();
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
        let path = request.uri().path();
        let Some(store) = table.store(host.or(request.uri().host()), path).cloned() else {
            return pass(edge, request).await;
        };
        let Some(route) = store.route(path).cloned() else {
            return pass(edge, request).await;
        };
        let address = crate::client_addr::of(request.headers(), request.extensions(), &self.trusted);
        let (key, new_key) = decide::client_key(request.headers(), address);
        let allow_override = self.settings.allow_route_header;
        let side = match decide::choose(&route.rule, request.headers(), &key, allow_override) {
            // Mercato's own URLs (the API, the shop, the admin, the docs) go to the legacy shop
            // only by a route written for them (a legacy facade of Mercato's API during the
            // move), never by a broad one such as `/`; the proxy drops Mercato's credentials.
            Side::Legacy if decide::is_mercato_path(path) && !decide::is_mercato_path(&route.rule.prefix) => {
                Side::Mercato
            }
            side => side,
        };
        let (slug, prefix) = (store.config.store.clone(), route.rule.prefix.clone());
        ::metrics::counter!(metrics::REQUESTS.name, "store" => slug.clone(), "route" => prefix.clone(), "side" => side.name())
            .increment(1);
        let shadowed = route.rule.shadow && matches!(*request.method(), Method::GET | Method::HEAD);
        let head = shadowed.then(|| Head::of(&request));
        let moved = (side == Side::Mercato)
            .then(|| redirect::moved(&slug, path))
            .flatten();
        // What Mercato's edge does not answer (the legacy shop, a moved page) the strangler
        // observes as the edge would: an id, the metrics per route, the access line.
        let own = (side == Side::Legacy || moved.is_some()).then(|| Observed::start(&mut request));
        let mut response = match &moved {
            Some(to) => moved_permanently(to),
            None => self
                .call(&edge, &store, &prefix, side, request)
                .await
                .unwrap_or_else(IntoResponse::into_response),
        };
        if let Some(own) = own {
            let family = if moved.is_some() { "moved" } else { "legacy" };
            own.finish(&format!("strangler {family} {prefix}"), &mut response);
        }
        // Mercato's refusal (its rate limit, its shedding) is no answer to compare, and
        // comparing it would let a refused client drive the comparison's asks; an outage's 503
        // or the legacy shop's own 429 is an answer, compared.
        if let Some(head) = head.filter(|_| !refused(&response)) {
            // The primary's answer to the client is compared as it is (a redirect is not the
            // primary's answer: the comparison then asks the primary itself).
            let client_answer = if moved.is_none() {
                let (teed, copied) = tee::tee(response, self.settings.shadow_body_limit_bytes);
                response = teed;
                Some(copied)
            } else {
                None
            };
            shadow::spawn(&self, &edge, &store, &route, side, head, client_answer);
        }
        if new_key
            && route.rule.to == Target::Split
            && let Ok(cookie) = HeaderValue::from_str(&decide::set_cookie(&key))
        {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }

    /// Asks `side` (timed, per store, route and side).
    async fn call(
        &self,
        edge: &Router,
        store: &StoreTable,
        prefix: &str,
        side: Side,
        request: Request,
    ) -> Result<Response, ServiceError> {
        let started = Instant::now();
        let answer = match side {
            Side::Mercato => Ok(edge.clone().oneshot(request).await.unwrap_or_else(|e| match e {})),
            Side::Legacy => {
                let address = crate::client_addr::of(request.headers(), request.extensions(), &self.trusted);
                let (base, timeout) = (store.config.legacy.as_str(), self.settings.upstream_timeout);
                proxy::forward(&self.client, base, request, address, timeout).await
            }
        };
        ::metrics::histogram!(
            metrics::SIDE_DURATION.name,
            "store" => store.config.store.clone(), "route" => prefix.to_owned(), "side" => side.name()
        )
        .record(started.elapsed().as_secs_f64());
        answer
    }
}

/// Whether Mercato's edge refused the request before answering it (rate limit, shedding).
pub(crate) fn refused(response: &Response) -> bool {
    let marks = response.extensions();
    marks.get::<crate::limits::RateLimited>().is_some()
        || marks.get::<mercato_runtime::http_edge::Shed>().is_some()
}

/// A request the strangler answers without Mercato's edge, from its start: what the edge's
/// `observe` would record of it.
struct Observed {
    started: Instant,
    method: Method,
    uri: Uri,
    request_id: HeaderValue,
}

impl Observed {
    /// Gives the request an id when the client sent none (the legacy shop gets it too).
    fn start(request: &mut Request) -> Observed {
        use tower_http::request_id::MakeRequestId as _;
        let request_id = match request.headers().get(crate::REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let made = crate::ProcessRequestIds.make_request_id(request);
                let id = made.map_or_else(|| HeaderValue::from_static(""), |id| id.header_value().clone());
                request.headers_mut().insert(crate::REQUEST_ID, id.clone());
                id
            }
        };
        Observed {
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            request_id,
        }
    }

    /// Records the answer under `route` and echoes the request id on it.
    fn finish(self, route: &str, response: &mut Response) {
        mercato_runtime::http_edge::Answered {
            route,
            method: &self.method,
            uri: &self.uri,
            request_id: self.request_id.to_str().unwrap_or_default(),
            status: response.status(),
            elapsed: self.started.elapsed(),
        }
        .record(false);
        if !self.request_id.is_empty() {
            response.headers_mut().insert(crate::REQUEST_ID, self.request_id);
        }
    }
}

/// Mercato answers, untouched by the strangler.
async fn pass(edge: Router, request: Request) -> Response {
    edge.oneshot(request).await.unwrap_or_else(|e| match e {})
}

fn moved_permanently(to: &str) -> Response {
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}
