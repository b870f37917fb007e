//! How this process's port is shared and how remote services are reached.

use crate::infra::Infra;
use axum::Router;
use axum::extract::Request;
use futures::future::BoxFuture;
use mercato_gateway::GatewayState;
use mercato_runtime::clients::balanced_channel;
use mercato_runtime::config::Settings;
use mercato_runtime::http::ReadinessCheck;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;
use tower::ServiceExt;

/// Builds clients of services that run elsewhere.
pub(super) struct Remotes<'a> {
    pub settings: &'a Settings,
    pub token: Option<&'a str>,
}

impl Remotes<'_> {
    /// The local client when the service runs here, else a gRPC client to its endpoints.
    pub fn or_local<C: Clone>(
        &self,
        service: &str,
        local: &Option<C>,
        endpoints: &[String],
        remote: fn(Channel, Duration, Option<&str>) -> anyhow::Result<C>,
    ) -> anyhow::Result<C> {
        if let Some(client) = local {
            return Ok(client.clone());
        }
        let deadline = match service {
            "orders" => self.settings.services.orders_call_timeout,
            _ => self.settings.services.call_timeout,
        };
        let channel = balanced_channel(endpoints, deadline).map_err(|e| {
            anyhow::anyhow!(
                "the {service} role is not local, so services.{service} needs its gRPC endpoints: {e}"
            )
        })?;
        remote(channel, deadline, self.token)
    }
}

/// One readiness check from a closure.
pub(super) fn check<F>(name: &'static str, f: F) -> ReadinessCheck
where
    F: Fn() -> BoxFuture<'static, bool> + Send + Sync + 'static,
{
    Arc::new(move || {
        let fut = f();
        Box::pin(async move { (name.to_owned(), fut.await) })
    })
}

/// Whether a service's database answers.
pub(super) fn db_check(name: &'static str, db: &mercato_runtime::db::Db) -> ReadinessCheck {
    let db = db.clone();
    check(name, move || {
        let db = db.clone();
        Box::pin(async move { db.ping().await })
    })
}

pub(super) fn bus_check(infra: &Infra) -> ReadinessCheck {
    let bus = infra.bus.clone();
    check("bus", move || {
        let bus = bus.clone();
        Box::pin(async move { bus.ready().await })
    })
}

/// A gateway is ready when it can reach identity (and so knows the signing keys).
pub(super) fn identity_check(state: GatewayState) -> ReadinessCheck {
    check("identity", move || {
        let state = state.clone();
        Box::pin(async move { state.refresh_keys(false).await.is_ok() })
    })
}

/// Serves gRPC (content-type `application/grpc…`) beside the HTTP routes on the one port.
pub(super) fn with_grpc(http: Router, grpc: tonic::service::RoutesBuilder) -> Router {
    let grpc = grpc.routes().into_axum_router().layer(axum::middleware::from_fn(
        mercato_runtime::http::observe_grpc_server,
    ));
    let service = tower::service_fn(move |request: Request| {
        let is_grpc = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let target = if is_grpc { grpc.clone() } else { http.clone() };
        async move {
            Ok::<_, Infallible>(
                target
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {}),
            )
        }
    });
    Router::new().fallback_service(service)
}
