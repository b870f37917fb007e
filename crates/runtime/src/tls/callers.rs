//! Which service may call which: the one table of the platform's call graph. The Kubernetes
//! NetworkPolicies encode the same graph, and `deploy/check/k8s_check.py` reads it from this
//! file, so the two cannot drift apart.

use super::PeerServices;
use crate::error::ServiceError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Callee → the services allowed to call it over gRPC. The gateway reaches everything a
/// storefront needs but never payments: only orders moves money.
pub const CALLERS: &[(&str, &[&str])] = &[
    ("identity", &["gateway", "realtime", "analytics"]),
    ("catalog", &["gateway"]),
    ("inventory", &["gateway", "orders", "catalog"]),
    ("payments", &["orders"]),
    ("orders", &["gateway", "analytics"]),
    ("realtime", &["gateway"]),
    ("analytics", &["gateway"]),
    ("notifications", &["gateway"]),
];

/// Whether `caller` (any of its services) may call `callee`. A callee missing from the table
/// admits nobody.
pub fn may_call(callee: &str, caller: &PeerServices) -> bool {
    CALLERS
        .iter()
        .find(|(name, _)| *name == callee)
        .is_some_and(|(_, allowed)| caller.names().iter().any(|c| allowed.contains(c)))
}

/// gRPC middleware of a service port under mutual TLS: the connection's [`PeerServices`] (put
/// there by the TLS server loop) must be allowed to call the service the path names; otherwise
/// `UNAUTHENTICATED` (no identity) or `PERMISSION_DENIED`.
pub async fn authorize(request: Request, next: Next) -> Response {
    let (callee, _) = crate::http::rpc_names(request.uri().path());
    match admit(callee, request.extensions().get::<PeerServices>()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => tonic::Status::from(refusal).into_http::<axum::body::Body>(),
    }
}

/// [`authorize`] for HTTP routes a service serves on its port (the realtime replicas'
/// WebSocket endpoint, which only the gateways relay to): a problem document, 401 or 403.
pub async fn authorize_http(callee: &'static str, request: Request, next: Next) -> Response {
    match admit(callee, request.extensions().get::<PeerServices>()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Whether the peer may call `callee`; the refusal says why not.
fn admit(callee: &str, peer: Option<&PeerServices>) -> Result<(), ServiceError> {
    match peer {
        None => Err(ServiceError::unauthenticated(
            "internal calls need a client certificate",
        )),
        Some(peer) if may_call(callee, peer) => Ok(()),
        Some(peer) => {
            tracing::warn!(caller = %peer, callee, "refused a service the call graph does not admit");
            Err(ServiceError::forbidden(format!("{peer} may not call {callee}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_may_not_call_payments_but_orders_may() {
        assert!(!may_call("payments", &PeerServices::named(&["gateway"])));
        assert!(may_call("payments", &PeerServices::named(&["orders"])));
        assert!(may_call("inventory", &PeerServices::named(&["orders"])));
        assert!(!may_call("orders", &PeerServices::named(&["payments"])));
    }

    #[test]
    fn nobody_and_unknown_callees_are_refused() {
        assert!(!may_call("identity", &PeerServices::default()));
        assert!(!may_call("nosuch", &PeerServices::named(&["gateway"])));
    }

    #[test]
    fn every_callee_and_caller_is_a_known_service() {
        for (callee, callers) in CALLERS {
            assert!(super::super::SERVICES.contains(callee), "{callee}");
            assert!(
                callers.iter().all(|c| super::super::SERVICES.contains(c)),
                "{callee}"
            );
        }
    }
}
