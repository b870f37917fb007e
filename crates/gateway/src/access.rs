//! Who is calling and what they may do: the one place where tenancy and roles are checked.
//!
//! A handler names what its route admits in its signature — `StoreScope<Staff>` — and gets the
//! store of the `{store}` path segment and its caller only when both checks passed, so a
//! handler cannot forget either. The checks run in this order, whatever the route:
//!
//! 1. the bearer token, when the route reads one: absent where required, or invalid, is 401;
//! 2. the `{store}` slug (through the gateway's cache): no such store is 404;
//! 3. the token's store: a token is valid for exactly one store, and presented at another
//!    store it gets 404, as if the store did not exist, so tokens cannot probe other tenants;
//! 4. the token's role: a role the route does not admit is 403.

use crate::state::GatewayState;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use mercato_proto::common::Role as ProtoRole;
use mercato_proto::identity::Store;
use mercato_runtime::auth::{Claims, Role};
use mercato_runtime::error::ServiceError;

/// The store a request is addressed to and its caller, admitted as `A` says.
pub struct StoreScope<A: Admits> {
    pub store: Store,
    pub caller: A::Caller,
}

/// How a route treats the bearer token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Token {
    /// Not read at all: public routes answer everyone alike.
    Ignored,
    /// Read when present: no `Authorization` header means an anonymous caller, but a header
    /// with a bad token is still 401, so a client never silently loses its identity.
    Optional,
    /// Needed: no token is 401.
    Required,
}

/// What a route admits; the marker types below are the routes' vocabulary.
pub trait Admits: Send + Sync + 'static {
    /// What the handler learns about its caller.
    type Caller: Send;
    /// Whether the route reads the bearer token.
    const TOKEN: Token;
    /// Admits the caller or refuses it (403). `claims` are verified and of this store, and
    /// present whenever [`Admits::TOKEN`] is [`Token::Required`].
    fn admit(claims: Option<Claims>) -> Result<Self::Caller, ServiceError>;
    /// The caller's claims, `None` when anonymous.
    fn claims(caller: &Self::Caller) -> Option<&Claims>;
}

/// Everyone, and the token is not even read: public catalog reads, the store record,
/// registration.
pub struct Public;
/// Anyone, anonymous or signed in to this store: carts and checkout.
pub struct Anyone;
/// Any signed-in user of this store, whatever the role: their orders and conversations; the
/// service decides what each role sees.
pub struct Member;
/// Signed-in customers of this store.
pub struct Customer;
/// The roles that run a store: its owner and staff.
pub struct Staff;
/// The store's owner only.
pub struct Owner;

impl Admits for Public {
    type Caller = ();
    const TOKEN: Token = Token::Ignored;
    fn admit(_: Option<Claims>) -> Result<(), ServiceError> {
        Ok(())
    }
    fn claims(_: &()) -> Option<&Claims> {
        None
    }
}

impl Admits for Anyone {
    type Caller = Option<Claims>;
    const TOKEN: Token = Token::Optional;
    fn admit(claims: Option<Claims>) -> Result<Option<Claims>, ServiceError> {
        Ok(claims)
    }
    fn claims(caller: &Option<Claims>) -> Option<&Claims> {
        caller.as_ref()
    }
}

/// Defines a marker admitting signed-in callers holding one of `roles`.
macro_rules! signed_in {
    ($marker:ty, $roles:expr) => {
        impl Admits for $marker {
            type Caller = Claims;
            const TOKEN: Token = Token::Required;
            fn admit(claims: Option<Claims>) -> Result<Claims, ServiceError> {
                holding(claims, $roles)
            }
            fn claims(caller: &Claims) -> Option<&Claims> {
                Some(caller)
            }
        }
    };
}

signed_in!(Member, &[Role::Owner, Role::Staff, Role::Customer]);
signed_in!(Customer, &[Role::Customer]);
signed_in!(Staff, &[Role::Owner, Role::Staff]);
signed_in!(Owner, &[Role::Owner]);

/// The signed-in caller if it holds one of `roles`; 403 otherwise.
fn holding(claims: Option<Claims>, roles: &[Role]) -> Result<Claims, ServiceError> {
    let claims = claims.ok_or_else(|| ServiceError::unauthenticated("missing bearer token"))?;
    if !roles.contains(&claims.role) {
        return Err(ServiceError::forbidden(format!(
            "the {} role may not do this",
            claims.role.as_str()
        )));
    }
    Ok(claims)
}

impl<A: Admits> FromRequestParts<GatewayState> for StoreScope<A> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, Self::Rejection> {
        let claims = match A::TOKEN {
            Token::Ignored => None,
            Token::Optional if !parts.headers.contains_key(AUTHORIZATION) => None,
            Token::Optional | Token::Required => Some(bearer(parts, state).await?),
        };
        let store = state.store_by_slug(&store_slug(parts, state).await?).await?;
        if claims.as_ref().is_some_and(|c| c.store != store.id) {
            return Err(ServiceError::not_found("store"));
        }
        let caller = A::admit(claims)?;
        Ok(StoreScope { store, caller })
    }
}

/// The `{store}` segment of the matched route.
async fn store_slug(parts: &mut Parts, state: &GatewayState) -> Result<String, ServiceError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ServiceError::invalid_request(rejection.body_text()))?;
    let slug = params
        .iter()
        .find(|(name, _)| *name == "store")
        .map(|(_, v)| v.to_owned());
    // Only routes with a `{store}` segment take a scope; without one there is no store to find.
    slug.ok_or_else(|| ServiceError::not_found("store"))
}

/// The verified claims of the request's bearer token; 401 when there is none or it is invalid.
async fn bearer(parts: &Parts, state: &GatewayState) -> Result<Claims, ServiceError> {
    // Already verified by the rate limiter for this request.
    if let Some(claims) = parts.extensions.get::<Claims>() {
        return Ok(claims.clone());
    }
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ServiceError::unauthenticated("missing bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ServiceError::unauthenticated("authorization must be a bearer token"))?;
    state.verifier().verify(token).await
}

impl<A: Admits> StoreScope<A> {
    /// The caller as the orders contract names it, with the anonymous cart's token if any.
    pub fn orders_caller(&self, cart_token: Option<String>) -> mercato_proto::orders::Caller {
        let (user_id, role) = self.who();
        mercato_proto::orders::Caller {
            user_id,
            role,
            cart_token: cart_token.unwrap_or_default(),
        }
    }

    /// The caller as the realtime contract names it.
    pub fn realtime_caller(&self) -> mercato_proto::realtime::Caller {
        let (user_id, role) = self.who();
        mercato_proto::realtime::Caller { user_id, role }
    }

    fn who(&self) -> (String, i32) {
        match A::claims(&self.caller) {
            Some(claims) => (claims.sub.clone(), claims.role.to_proto()),
            None => (String::new(), ProtoRole::Anonymous.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    fn store(id: &str) -> Store {
        Store {
            id: id.to_owned(),
            slug: format!("{id}-shop"),
            ..Store::default()
        }
    }

    /// Claims as the rate limiter leaves them once it has verified a token.
    fn claims(store: &str, role: Role) -> Claims {
        Claims {
            iss: "test".into(),
            aud: "test".into(),
            sub: format!("{}-user", role.as_str()),
            exp: i64::MAX,
            iat: 0,
            jti: "jti".into(),
            store: store.into(),
            role,
        }
    }

    /// A route whose handler takes the staff scope and answers with the store and role it got.
    async fn staff_route() -> Router {
        let state = GatewayState::for_tests(&[store("a"), store("b")]).await;
        Router::new()
            .route(
                "/v1/stores/{store}/things/{thing}",
                get(|scope: StoreScope<Staff>| async move {
                    format!("{} {}", scope.store.id, scope.caller.role.as_str())
                }),
            )
            .route(
                "/v1/stores/{store}/public",
                get(|scope: StoreScope<Public>| async move { scope.store.id }),
            )
            .with_state(state)
    }

    async fn call(router: &Router, path: &str, caller: Option<Claims>) -> (StatusCode, String) {
        let mut request = Request::get(path);
        if let Some(claims) = caller {
            request = request
                .header(AUTHORIZATION, "Bearer verified-by-the-rate-limiter")
                .extension(claims);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_staff_handler_admits_the_stores_owner_and_staff() {
        let router = staff_route().await;
        let path = "/v1/stores/a-shop/things/1";
        let staff = call(&router, path, Some(claims("a", Role::Staff))).await;
        assert_eq!(staff, (StatusCode::OK, "a staff".to_owned()));
        let owner = call(&router, path, Some(claims("a", Role::Owner))).await;
        assert_eq!(owner, (StatusCode::OK, "a owner".to_owned()));
    }

    #[tokio::test]
    async fn a_staff_handler_refuses_a_customer_with_403() {
        let router = staff_route().await;
        let (status, body) = call(
            &router,
            "/v1/stores/a-shop/things/1",
            Some(claims("a", Role::Customer)),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("the customer role may not do this"), "{body}");
    }

    #[tokio::test]
    async fn a_staff_handler_answers_another_stores_token_with_404_as_if_the_store_did_not_exist() {
        let router = staff_route().await;
        let (status, body) = call(
            &router,
            "/v1/stores/a-shop/things/1",
            Some(claims("b", Role::Owner)),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("store"), "{body}");
    }

    #[tokio::test]
    async fn a_staff_handler_refuses_a_caller_without_a_token_with_401() {
        let router = staff_route().await;
        let (status, body) = call(&router, "/v1/stores/a-shop/things/1", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("missing bearer token"), "{body}");
        // Refused before the slug is looked up: this gateway's identity service is unreachable.
        let (status, _) = call(&router, "/v1/stores/unknown/things/1", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_public_handler_ignores_the_token_entirely() {
        let router = staff_route().await;
        let path = "/v1/stores/a-shop/public";
        assert_eq!(call(&router, path, None).await, (StatusCode::OK, "a".to_owned()));
        assert_eq!(
            call(&router, path, Some(claims("b", Role::Customer))).await,
            (StatusCode::OK, "a".to_owned()),
            "another store's token does not matter where no token is read"
        );
    }
}
