//! Who is calling and what they may do: bearer-token authentication and per-store roles.
//!
//! A token is valid for exactly one store. Presented at another store's private resource it
//! gets 404, as if the resource did not exist, so tokens cannot probe other tenants; presented
//! at its own store by a role that may not act, it gets 403.

use crate::state::GatewayState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use mercato_proto::identity::Store;
use mercato_runtime::auth::{Claims, Role};
use mercato_runtime::error::ServiceError;

/// An authenticated caller.
pub struct Caller(pub Claims);

impl FromRequestParts<GatewayState> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, Self::Rejection> {
        // Already verified by the rate limiter for this request.
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Caller(claims.clone()));
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
        state.verifier().verify(token).await.map(Caller)
    }
}

impl Caller {
    /// Checks that the caller belongs to `store` and holds one of `roles`.
    pub fn require(&self, store: &Store, roles: &[Role]) -> Result<(), ServiceError> {
        if self.0.store != store.id {
            return Err(ServiceError::not_found("store"));
        }
        if !roles.contains(&self.0.role) {
            return Err(ServiceError::forbidden(format!(
                "the {} role may not do this",
                self.0.role.as_str()
            )));
        }
        Ok(())
    }
}

/// Roles that run a store.
pub const STORE_STAFF: &[Role] = &[Role::Owner, Role::Staff];
/// Only the owner.
pub const OWNER: &[Role] = &[Role::Owner];

/// A caller who may be anonymous: no `Authorization` header means `None`; a header with a bad
/// token is still 401, so a client never silently loses its identity.
pub struct MaybeCaller(pub Option<Claims>);

impl FromRequestParts<GatewayState> for MaybeCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(MaybeCaller(None));
        }
        Ok(MaybeCaller(Some(
            Caller::from_request_parts(parts, state).await?.0,
        )))
    }
}

impl MaybeCaller {
    /// The caller as the orders contract sees it; a token of another store is refused (404).
    pub fn for_store(
        &self,
        store: &Store,
        cart_token: Option<String>,
    ) -> Result<mercato_proto::orders::Caller, ServiceError> {
        let (user_id, role) = match &self.0 {
            Some(claims) if claims.store != store.id => return Err(ServiceError::not_found("store")),
            Some(claims) => (claims.sub.clone(), claims.role.to_proto()),
            None => (String::new(), mercato_proto::common::Role::Anonymous.into()),
        };
        Ok(mercato_proto::orders::Caller {
            user_id,
            role,
            cart_token: cart_token.unwrap_or_default(),
        })
    }
}
