//! Shedding on queueing pressure: while the process's scheduling delay or standing queue is
//! over `http.max_queue_delay`, the share of requests `runtime::pressure` sets is refused with
//! 503 and `Retry-After` before routing, rate limiting, token checks and body reads — the
//! cheapest answer a request can get, so the capacity goes to the requests it can serve in
//! time. Served requests report how long they took, which is the standing queue's measure.

use crate::{GatewayState, HTTP_SHED_REQUESTS};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_runtime::error::ServiceError;

pub async fn shed_under_pressure(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    if state.pressure().admit() {
        let admitted = std::time::Instant::now();
        let response = next.run(request).await;
        if response.status().is_success() {
            state.pressure().served(admitted.elapsed());
        }
        return response;
    }
    metrics::counter!(HTTP_SHED_REQUESTS.name, "reason" => "pressure").increment(1);
    ServiceError::unavailable("server overloaded; retry shortly").into_response()
}
