//! Live delivery over WebSocket: the endpoint, each connection's session, the hub of this
//! replica's subscriptions, and what feeds it (events and signals from the bus).
//!
//! - `endpoint`: `GET /v1/realtime` (limits, optional bearer token, upgrade).
//! - `session`: one connection's loop; `requests`: what each client frame does; `delivery`:
//!   writing pushes (conversation messages in seq order, gaps filled, duplicates dropped) and
//!   staff presence; `budget`: the per-connection frame rate.
//! - `hub`: channel → subscribed connections on this replica; bounded queues, slow consumers
//!   kicked. `node`: what a replica's connections share, and the bus listeners feeding the hub.
//! - `channel`, `protocol`, `notify`: pure — channel names and who may see them, the frames,
//!   and which events become which pushes.

mod budget;
pub mod channel;
mod delivery;
pub mod endpoint;
pub mod hub;
mod job_push;
pub mod node;
pub mod notify;
pub mod protocol;
mod requests;
mod session;

pub use endpoint::{INTERNAL_TOKEN_HEADER, routes};
pub use node::Node;

/// Describes the metrics of live delivery, each next to where it is recorded; the binary calls
/// this once the metrics recorder is installed.
pub fn describe_metrics() {
    endpoint::describe_metrics();
    hub::describe_metrics();
    session::describe_metrics();
    delivery::describe_metrics();
}
