//! Sessions in cookies, for the storefront and the admin alike.
//!
//! A signed-in browser holds its access token and its rotating refresh token in two cookies,
//! `HttpOnly`, `SameSite=Lax`, `Secure` over TLS, and scoped to the area's path — `/s/{store}`
//! for a shopper, `/admin/{store}` for staff — so a shopper session and an admin session never
//! mix, and a store's cookies never reach another store's pages. The access token is refreshed
//! with the refresh token when it is about to expire (the refresh token rotates); signing out
//! revokes the refresh token and deletes both. The anonymous cart (its id and cart token) is a
//! cookie of the storefront's path too. Every state-changing request is checked by
//! [`protect`]: same origin, and the `csrf` form field equal to the `mercato_csrf` cookie.

pub mod cookies;
mod protect;
mod refresh;

pub use protect::protect;
pub(crate) use protect::same_origin;

use crate::WebState;
use crate::api::{Api, Call};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Request, header};
use base64::Engine;
use cookies::Jar;
use std::net::SocketAddr;

/// Which pages a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// `/s/{store}/…`: a shopper.
    Shop,
    /// `/admin/{store}/…`: staff.
    Admin,
}

impl Area {
    /// The path the area's cookies are scoped to.
    pub fn cookie_path(self, store: &str) -> String {
        match self {
            Area::Shop => format!("/s/{store}"),
            Area::Admin => format!("/admin/{store}"),
        }
    }
}

/// The browser behind a request: its address as the server loop saw it, what forwarding
/// proxies said and its user agent, passed on to the API so its per-client limits see the real
/// client and the product-view counter tells anonymous visitors apart as it does for any client.
#[derive(Clone, Debug, Default)]
pub struct Client {
    peer: Option<ConnectInfo<SocketAddr>>,
    forwarded: Vec<(HeaderName, HeaderValue)>,
    /// The request came over TLS (directly, or says a trusted proxy): cookies are `Secure`.
    pub secure: bool,
}

const FORWARDING: [&str; 4] = ["forwarded", "x-forwarded-for", "x-forwarded-proto", "user-agent"];

impl Client {
    fn of(parts: &Parts, state: &WebState) -> Client {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
        let forwarded = FORWARDING
            .iter()
            .flat_map(|name| {
                parts
                    .headers
                    .get_all(*name)
                    .iter()
                    .map(|v| (HeaderName::from_static(name), v.clone()))
            })
            .collect();
        let proxied_tls = peer
            .as_ref()
            .is_some_and(|p| state.trusted_proxies().iter().any(|net| net.contains(&p.0.ip())))
            && parts
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        let direct_tls = parts.uri.scheme_str() == Some("https");
        Client {
            peer,
            forwarded,
            secure: proxied_tls || direct_tls,
        }
    }

    /// Gives `request` this client's address and forwarding headers.
    pub(crate) fn forward<B>(&self, request: &mut Request<B>) {
        if let Some(peer) = &self.peer {
            request.extensions_mut().insert(*peer);
        }
        for (name, value) in &self.forwarded {
            request.headers_mut().append(name.clone(), value.clone());
        }
    }
}

impl FromRequestParts<WebState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        Ok(Client::of(parts, state))
    }
}

/// The anonymous cart a browser holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartRef {
    pub id: String,
    pub token: String,
}

/// The tokens of a signed-in session, as the token endpoint answers them.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// One request's session: its area and store (from the path), tokens, cart and CSRF token.
/// Extracting it refreshes an access token about to expire; changing it queues the cookies
/// that `protect` sends with the answer.
pub struct Session {
    state: WebState,
    pub area: Area,
    /// The store slug of the path (`/s/{store}/…`, `/admin/{store}/…`); empty on `/admin`.
    pub store: String,
    access: Option<String>,
    refresh: Option<String>,
    cart: Option<CartRef>,
    csrf: String,
    pub client: Client,
    jar: Jar,
}

impl FromRequestParts<WebState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let mut segments = parts.uri.path().split('/').skip(1);
        let area = match segments.next() {
            Some("admin") => Area::Admin,
            _ => Area::Shop,
        };
        let store = segments.next().unwrap_or_default().to_owned();
        let jar = parts.extensions.get::<Jar>().cloned().unwrap_or_default();
        let client = Client::of(parts, state);
        let headers = &parts.headers;
        let owned = |name| cookies::get(headers, name).map(str::to_owned);
        let cart = (area == Area::Shop)
            .then(|| cookies::get(headers, cookies::CART))
            .flatten()
            .and_then(|v| v.split_once('~'))
            .map(|(id, token)| CartRef {
                id: id.to_owned(),
                token: token.to_owned(),
            });
        let csrf = match owned(cookies::CSRF) {
            Some(token) => token,
            None => {
                let token = random_token();
                jar.push(cookies::set(
                    cookies::CSRF,
                    &token,
                    "/",
                    Some(cookies::SESSION_MAX_AGE),
                    client.secure,
                ));
                token
            }
        };
        let mut session = Session {
            state: state.clone(),
            area,
            store,
            access: owned(cookies::ACCESS),
            refresh: owned(cookies::REFRESH),
            cart,
            csrf,
            client,
            jar,
        };
        session.keep_fresh().await;
        Ok(session)
    }
}

impl Session {
    /// The value every form's hidden `csrf` field carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether the browser holds a session for this store.
    pub fn signed_in(&self) -> bool {
        self.access.is_some()
    }

    /// The access token (for the live endpoint, which hands it on as a bearer header).
    pub fn access_token(&self) -> Option<&str> {
        self.access.as_deref()
    }

    pub fn api(&self) -> &Api {
        self.state.api()
    }

    /// An API call as this session: its bearer token and its client's address.
    pub fn get(&self, path: &str) -> Call<'_> {
        self.as_caller(self.api().get(path))
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.as_caller(self.api().post(path))
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.as_caller(self.api().put(path))
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        self.as_caller(self.api().patch(path))
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.as_caller(self.api().delete(path))
    }

    fn as_caller<'a>(&self, call: Call<'a>) -> Call<'a> {
        call.bearer(self.access.as_deref()).client(&self.client)
    }

    /// Keeps `tokens` as this browser's session for this area and store.
    pub fn sign_in(&mut self, tokens: &Tokens) {
        if !cookies::is_cookie_safe(&tokens.access_token) {
            tracing::error!("the token endpoint answered a token that cannot be a cookie");
            return;
        }
        self.set_cookie(cookies::ACCESS, Some(&tokens.access_token));
        self.access = Some(tokens.access_token.clone());
        if let Some(refresh) = tokens
            .refresh_token
            .as_deref()
            .filter(|r| cookies::is_cookie_safe(r))
        {
            self.set_cookie(cookies::REFRESH, Some(refresh));
            self.refresh = Some(refresh.to_owned());
        }
    }

    /// Revokes the refresh token (RFC 7009, where the API offers it) and forgets the session.
    pub async fn sign_out(&mut self) {
        if let Some(refresh) = self.refresh.take() {
            let revoked = self
                .api()
                .post("/v1/oauth/revoke")
                .client(&self.client)
                .form(&[("token", refresh.as_str()), ("token_type_hint", "refresh_token")])
                .send_empty()
                .await;
            if let Err(e) = revoked {
                tracing::debug!(error = %e, "the refresh token was not revoked");
            }
        }
        self.forget();
    }

    /// Deletes the session's cookies (a refused refresh, a sign-out).
    pub fn forget(&mut self) {
        self.access = None;
        self.refresh = None;
        self.set_cookie(cookies::ACCESS, None);
        self.set_cookie(cookies::REFRESH, None);
    }

    /// The anonymous cart this browser holds in this store.
    pub fn cart(&self) -> Option<&CartRef> {
        self.cart.as_ref()
    }

    pub fn set_cart(&mut self, cart: CartRef) {
        if cookies::is_cookie_safe(&cart.id) && cookies::is_cookie_safe(&cart.token) && !cart.id.contains('~')
        {
            self.set_cookie(cookies::CART, Some(&format!("{}~{}", cart.id, cart.token)));
            self.cart = Some(cart);
        }
    }

    pub fn clear_cart(&mut self) {
        self.cart = None;
        self.set_cookie(cookies::CART, None);
    }

    /// Sets (or, with `None`, deletes) one of this area's cookies.
    fn set_cookie(&self, name: &str, value: Option<&str>) {
        let path = self.area.cookie_path(&self.store);
        let max_age = value.map(|_| cookies::SESSION_MAX_AGE);
        let secure = self.client.secure;
        self.jar.push(cookies::set(
            name,
            value.unwrap_or_default(),
            &path,
            max_age,
            secure,
        ));
    }
}

/// What a page may read from an access token without verifying it (the API verifies every
/// token it is given): its subject (the user id) and role (`customer`, `staff`, `owner`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct TokenClaims {
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub role: String,
}

impl TokenClaims {
    /// The claims of a JWT; empty when it cannot be read.
    pub fn read(token: &str) -> TokenClaims {
        token
            .split('.')
            .nth(1)
            .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }
}

/// A 256-bit random token, base64url.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Sets the `Cache-Control` of a response that must not be stored at all.
pub fn no_store(response: &mut axum::response::Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
