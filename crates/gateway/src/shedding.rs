//! Shedding on CPU pressure: while the process's scheduling delay is over
//! `http.max_scheduling_delay`, the share of requests `runtime::pressure` sets is refused with
//! 503 and `Retry-After` before routing, rate limiting, token checks and body reads — the
//! cheapest answer a request can get, so the CPU goes to the requests it can serve in time.

use crate::{GatewayState, HTTP_SHED_REQUESTS};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_runtime::error::ServiceError;
use mercato_runtime::http_edge::Shed;

pub async fn shed_under_pressure(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    if state.pressure().admit() {
        return next.run(request).await;
    }
    metrics::counter!(HTTP_SHED_REQUESTS.name, "reason" => "pressure").increment(1);
    let mut response = ServiceError::unavailable("server overloaded; retry shortly").into_response();
    response.extensions_mut().insert(Shed);
    response
}
