//! Reservations: what a new one may ask for, their states, the transitions between them, and
//! what each transition does to the stock of every line.
//!
//! ```text
//!            commit             restock
//!   held ───────────► committed ───────► restocked
//!    │  release
//!    ├────────► released
//!    │  expire (the sweeper, past expires_at)
//!    └────────► expired
//! ```
//!
//! Repeating the transition that produced the current state is a no-op (idempotent); any
//! other move out of a final state is refused.

use super::values::{ReservationId, Sku};
use mercato_runtime::ids::StoreId;
use std::collections::BTreeMap;

/// The most lines a reservation may hold, and the most units one line may ask for.
pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i64 = 10_000;
/// How long a hold lasts when the request does not say, and the longest it may last.
pub const DEFAULT_TTL_SECONDS: i64 = 15 * 60;
pub const MAX_TTL_SECONDS: i64 = 24 * 60 * 60;

/// A reservation to make, every field of it checked.
#[derive(Clone, Debug)]
pub struct NewReservation {
    pub store: StoreId,
    pub id: ReservationId,
    /// Units per SKU, sorted by SKU; a SKU named on several lines is summed.
    pub lines: Vec<(Sku, i64)>,
    pub ttl_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Held,
    Committed,
    Released,
    Expired,
    Restocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Committed => "committed",
            Status::Released => "released",
            Status::Expired => "expired",
            Status::Restocked => "restocked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "held" => Status::Held,
            "committed" => Status::Committed,
            "released" => Status::Released,
            "expired" => Status::Expired,
            "restocked" => Status::Restocked,
            _ => return None,
        })
    }
}

/// A move of an existing reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Commit,
    Release,
    Restock,
    Expire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Commit => "commit",
            Action::Release => "release",
            Action::Restock => "restock",
            Action::Expire => "expire",
        }
    }

    /// What applying the action does to the stock row of a line of `quantity` units:
    /// `(on_hand delta, reserved delta)`.
    pub fn stock_effect(self, quantity: i64) -> (i64, i64) {
        match self {
            Action::Commit => (-quantity, -quantity),
            Action::Release | Action::Expire => (0, -quantity),
            Action::Restock => (quantity, 0),
        }
    }
}

/// What an action does to a reservation in a given state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Move to this state, changing the stock of every line.
    Apply(Status),
    /// Already done (or, for expiry, nothing to do): return the reservation as it is.
    Unchanged,
    /// Not allowed from this state.
    Refuse,
}

pub fn decide(current: Status, action: Action) -> Decision {
    use Decision::*;
    use Status::*;
    match (action, current) {
        (Action::Commit, Held) => Apply(Committed),
        // A restocked reservation was committed first; a late retry of the commit is a no-op.
        (Action::Commit, Committed | Restocked) => Unchanged,
        (Action::Commit, Released | Expired) => Refuse,
        (Action::Release, Held) => Apply(Released),
        (Action::Release, Released | Expired) => Unchanged,
        (Action::Release, Committed | Restocked) => Refuse,
        (Action::Restock, Committed) => Apply(Restocked),
        (Action::Restock, Restocked) => Unchanged,
        (Action::Restock, Held | Released | Expired) => Refuse,
        (Action::Expire, Held) => Apply(Expired),
        (Action::Expire, _) => Unchanged,
    }
}

/// The part of a reservation taken from one location.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineRecord {
    pub sku: String,
    pub location: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationRecord {
    pub id: ReservationId,
    pub store_id: StoreId,
    pub status: Status,
    /// Sorted by SKU then location: the order stock rows are locked and changed in.
    pub lines: Vec<LineRecord>,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl ReservationRecord {
    /// Units per SKU, whatever locations they came from.
    pub fn quantities(&self) -> BTreeMap<&str, i64> {
        let mut by_sku = BTreeMap::new();
        for l in &self.lines {
            *by_sku.entry(l.sku.as_str()).or_insert(0) += l.quantity;
        }
        by_sku
    }

    /// Whether this reservation is what a request for `lines` (units per SKU) would have made,
    /// so that a retried request may be answered with it.
    pub fn matches(&self, lines: &[(Sku, i64)]) -> bool {
        let asked: BTreeMap<&str, i64> = lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
        self.quantities() == asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_a_transition_is_a_no_op_and_leaving_a_final_state_is_refused() {
        use Status::*;
        assert_eq!(decide(Held, Action::Commit), Decision::Apply(Committed));
        assert_eq!(decide(Committed, Action::Commit), Decision::Unchanged);
        assert_eq!(decide(Released, Action::Commit), Decision::Refuse);
        assert_eq!(decide(Expired, Action::Commit), Decision::Refuse);
        assert_eq!(decide(Held, Action::Release), Decision::Apply(Released));
        assert_eq!(decide(Expired, Action::Release), Decision::Unchanged);
        assert_eq!(decide(Committed, Action::Release), Decision::Refuse);
        assert_eq!(decide(Committed, Action::Restock), Decision::Apply(Restocked));
        assert_eq!(decide(Restocked, Action::Restock), Decision::Unchanged);
        assert_eq!(decide(Held, Action::Restock), Decision::Refuse);
        assert_eq!(decide(Held, Action::Expire), Decision::Apply(Expired));
        assert_eq!(decide(Committed, Action::Expire), Decision::Unchanged);
    }

    #[test]
    fn every_status_round_trips_through_its_name() {
        for s in [
            Status::Held,
            Status::Committed,
            Status::Released,
            Status::Expired,
            Status::Restocked,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("lost"), None);
    }

    #[test]
    fn a_reservation_matches_a_request_by_units_per_sku_whatever_the_locations() {
        let r = ReservationRecord {
            id: ReservationId::new(),
            store_id: StoreId::new(),
            status: Status::Held,
            lines: vec![
                LineRecord {
                    sku: "A".into(),
                    location: "a".into(),
                    quantity: 2,
                },
                LineRecord {
                    sku: "A".into(),
                    location: "b".into(),
                    quantity: 3,
                },
                LineRecord {
                    sku: "B".into(),
                    location: "a".into(),
                    quantity: 1,
                },
            ],
            expires_at_ms: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let sku = |s: &str| Sku::parse("sku", s).unwrap();
        assert!(r.matches(&[(sku("A"), 5), (sku("B"), 1)]));
        assert!(!r.matches(&[(sku("A"), 4), (sku("B"), 1)]));
        assert!(!r.matches(&[(sku("A"), 5)]));
    }
}
