//! Reservation use cases: reserve, commit, release, restock, and the expiry sweep.

use crate::domain::{Action, ReservationId};
use crate::requests;
use crate::service::InventoryService;
use crate::store::{Refusal, Reserved, StoreError, Transitioned};
use mercato_proto::inventory as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

/// Attempts before giving up on a reservation or stock row that keeps changing.
const ATTEMPTS: usize = 3;
/// Reservations the sweeper reads per round trip; each is expired in its own transaction.
const EXPIRY_BATCH: i64 = 100;

/// Describes what reservations and the expiry sweeper count.
pub(crate) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[
        INVENTORY_RESERVATIONS,
        INVENTORY_EXPIRED_RESERVATIONS,
    ]);
}

mercato_runtime::metric_families! {
    /// Reservation requests answered, by result: held, insufficient or replayed (a retry of one
    /// already made).
    pub(crate) const INVENTORY_RESERVATIONS: Counter(Count) = "inventory_reservations_total";
    /// Reservations released by the sweeper because they expired before being committed.
    pub(crate) const INVENTORY_EXPIRED_RESERVATIONS: Counter(Count) = "inventory_expired_reservations_total";
}

fn count_reservation(result: &'static str) {
    metrics::counter!(INVENTORY_RESERVATIONS.name, "result" => result).increment(1);
}

impl InventoryService {
    /// Reserves, or answers which SKU fell short ([`pb::Insufficient`]).
    pub(crate) async fn reserve(&self, req: pb::ReserveRequest) -> Result<pb::ReserveResponse, ServiceError> {
        let request = requests::reserve(&req)?;
        let reserved = |r: pb::Reservation| pb::ReserveResponse {
            outcome: Some(pb::reserve_response::Outcome::Reserved(r)),
        };
        for _ in 0..ATTEMPTS {
            match self.store.reserve(&request, now_ms()).await {
                Ok(Reserved::Held(r)) => {
                    self.committed();
                    count_reservation("held");
                    return Ok(reserved(r.to_proto()));
                }
                Ok(Reserved::Existing(r)) => {
                    if !r.matches(&request.lines) {
                        return Err(ServiceError::new(
                            ErrorCode::ReservationIdReused,
                            format!("reservation {} already exists with other lines", request.id),
                        ));
                    }
                    count_reservation("replayed");
                    return Ok(reserved(r.to_proto()));
                }
                Err(StoreError::Refused(Refusal::Insufficient(shortage))) => {
                    count_reservation("insufficient");
                    return Ok(pb::ReserveResponse {
                        outcome: Some(pb::reserve_response::Outcome::Insufficient(pb::Insufficient {
                            sku: shortage.sku.as_str().to_owned(),
                            requested: shortage.requested,
                            available: shortage.available,
                            held_by_others: shortage.held_by_others,
                        })),
                    });
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }

    pub(crate) async fn commit(&self, req: pb::CommitRequest) -> Result<pb::Reservation, ServiceError> {
        let (store, id) = requests::reservation_ref(&req.store_id, &req.reservation_id)?;
        self.transition(&store, &id, Action::Commit, now_ms()).await
    }

    pub(crate) async fn release(&self, req: pb::ReleaseRequest) -> Result<pb::Reservation, ServiceError> {
        let (store, id) = requests::reservation_ref(&req.store_id, &req.reservation_id)?;
        self.transition(&store, &id, Action::Release, now_ms()).await
    }

    pub(crate) async fn restock(&self, req: pb::RestockRequest) -> Result<pb::Reservation, ServiceError> {
        let (store, id) = requests::reservation_ref(&req.store_id, &req.reservation_id)?;
        self.transition(&store, &id, Action::Restock, now_ms()).await
    }

    async fn transition(
        &self,
        store: &StoreId,
        id: &ReservationId,
        action: Action,
        now: i64,
    ) -> Result<pb::Reservation, ServiceError> {
        match self.move_reservation(store, id, action, now).await? {
            Transitioned::Applied(r) | Transitioned::Unchanged(r) => Ok(r.to_proto()),
        }
    }

    /// Applies `action`, re-reading and retrying when a concurrent mover got there first.
    async fn move_reservation(
        &self,
        store: &StoreId,
        id: &ReservationId,
        action: Action,
        now: i64,
    ) -> Result<Transitioned, StoreError> {
        for _ in 0..ATTEMPTS {
            match self.store.transition(store, id, action, now).await {
                Ok(applied @ Transitioned::Applied(_)) => {
                    self.committed();
                    if action == Action::Expire {
                        metrics::counter!(INVENTORY_EXPIRED_RESERVATIONS.name).increment(1);
                    }
                    return Ok(applied);
                }
                Ok(unchanged) => return Ok(unchanged),
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Stale)
    }

    /// Expires every held reservation whose expiry is at or before `now_ms` (epoch milliseconds),
    /// giving its stock back; returns how many this call expired. Safe to run in several
    /// replicas at once: a reservation another run expires first is skipped, not expired twice.
    pub async fn expire_due(&self, now_ms: i64) -> Result<usize, ServiceError> {
        let mut expired = 0;
        loop {
            let due = self.store.due_reservations(now_ms, EXPIRY_BATCH).await?;
            let mut failure = None;
            for (store, id) in &due {
                match self.move_reservation(store, id, Action::Expire, now_ms).await {
                    Ok(Transitioned::Applied(_)) => expired += 1,
                    Ok(Transitioned::Unchanged(_)) => {}
                    Err(e) => {
                        tracing::warn!(store = %store, reservation = %id, error = %e, "reservation not expired");
                        failure.get_or_insert(e);
                    }
                }
            }
            // A failing reservation would come back in every batch: stop and report instead.
            if let Some(e) = failure {
                return Err(e.into());
            }
            if (due.len() as i64) < EXPIRY_BATCH {
                return Ok(expired);
            }
        }
    }
}
