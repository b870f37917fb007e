//! Stock levels and the rules every change to them obeys: on hand never below what is reserved,
//! nothing negative, nothing above [`MAX_ON_HAND`]; and when a change makes a level "low".

use super::values::{Location, Sku};
use mercato_runtime::ids::StoreId;

/// The largest on-hand quantity a location may hold.
pub const MAX_ON_HAND: i64 = 1_000_000_000;

/// The stock of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub sku: String,
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// A `low_stock` event is published when available falls to or below this.
    pub low_stock_threshold: i64,
    /// Bumped by every change of the row.
    pub version: i64,
}

impl StockLevel {
    /// A location that holds nothing yet.
    pub fn empty(sku: &str, location: &str) -> StockLevel {
        StockLevel {
            sku: sku.to_owned(),
            location: location.to_owned(),
            on_hand: 0,
            reserved: 0,
            low_stock_threshold: 0,
            version: 0,
        }
    }

    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    pub fn is_low(&self) -> bool {
        self.available() <= self.low_stock_threshold
    }

    /// Whether the level respects every invariant.
    pub fn is_valid(&self) -> bool {
        self.reserved >= 0 && self.on_hand >= self.reserved && self.on_hand <= MAX_ON_HAND
    }
}

/// A change staff make to a location's on-hand quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockChange {
    /// Sets on hand, and the threshold when given (otherwise it stays as it is).
    Set { on_hand: i64, threshold: Option<i64> },
    /// Adds `delta` (possibly negative) to on hand.
    Adjust { delta: i64 },
}

/// A change of one location's stock, every field of it checked.
#[derive(Clone, Debug)]
pub struct StockWrite {
    pub store: StoreId,
    pub sku: Sku,
    pub location: Location,
    pub change: StockChange,
    /// An adjustment's idempotency key: with one, the change is made at most once.
    pub idempotency_key: Option<String>,
}

/// Why a stock change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StockRefusal {
    #[error("on hand {wanted} would be below the {reserved} units reserved")]
    BelowReserved { wanted: i64, reserved: i64 },
    #[error("on hand {wanted} would exceed {MAX_ON_HAND}")]
    AboveMaximum { wanted: i64 },
}

/// The level after `change`; `before` is `None` when the location holds no row yet.
pub fn apply(
    before: Option<&StockLevel>,
    sku: &str,
    location: &str,
    change: StockChange,
) -> Result<StockLevel, StockRefusal> {
    let mut next = before
        .cloned()
        .unwrap_or_else(|| StockLevel::empty(sku, location));
    match change {
        StockChange::Set { on_hand, threshold } => {
            next.on_hand = on_hand;
            if let Some(t) = threshold {
                next.low_stock_threshold = t;
            }
        }
        StockChange::Adjust { delta } => next.on_hand = next.on_hand.saturating_add(delta),
    }
    if next.on_hand < next.reserved {
        return Err(StockRefusal::BelowReserved {
            wanted: next.on_hand,
            reserved: next.reserved,
        });
    }
    if next.on_hand > MAX_ON_HAND {
        return Err(StockRefusal::AboveMaximum { wanted: next.on_hand });
    }
    next.version += 1;
    Ok(next)
}

/// Whether a change made the level low: available is at or below the threshold now and was
/// above it before. A location that had no row before never "crosses".
pub fn crossed_low(before: Option<&StockLevel>, after: &StockLevel) -> bool {
    after.is_low() && before.is_some_and(|b| !b.is_low())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(on_hand: i64, reserved: i64, threshold: i64) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            low_stock_threshold: threshold,
            ..StockLevel::empty("S", "default")
        }
    }

    #[test]
    fn on_hand_can_never_be_set_or_adjusted_below_what_is_reserved() {
        let b = level(10, 4, 0);
        let set = StockChange::Set {
            on_hand: 3,
            threshold: None,
        };
        assert_eq!(
            apply(Some(&b), "S", "default", set),
            Err(StockRefusal::BelowReserved {
                wanted: 3,
                reserved: 4
            })
        );
        let down = StockChange::Adjust { delta: -7 };
        assert!(apply(Some(&b), "S", "default", down).is_err());
        let ok = apply(Some(&b), "S", "default", StockChange::Adjust { delta: -6 }).unwrap();
        assert_eq!((ok.on_hand, ok.reserved, ok.version), (4, 4, 1));
        let fresh = apply(None, "S", "x", StockChange::Adjust { delta: -1 });
        assert!(fresh.is_err(), "a new location starts at zero");
        let huge = StockChange::Adjust { delta: MAX_ON_HAND };
        assert!(matches!(
            apply(Some(&b), "S", "default", huge),
            Err(StockRefusal::AboveMaximum { .. })
        ));
    }

    #[test]
    fn setting_stock_keeps_the_threshold_unless_one_is_given() {
        let b = level(10, 0, 3);
        let kept = apply(
            Some(&b),
            "S",
            "default",
            StockChange::Set {
                on_hand: 5,
                threshold: None,
            },
        )
        .unwrap();
        assert_eq!(kept.low_stock_threshold, 3);
        let changed = apply(
            Some(&b),
            "S",
            "default",
            StockChange::Set {
                on_hand: 5,
                threshold: Some(7),
            },
        )
        .unwrap();
        assert_eq!(changed.low_stock_threshold, 7);
    }

    #[test]
    fn low_stock_is_crossed_only_when_available_goes_from_above_to_at_or_below_the_threshold() {
        assert!(!crossed_low(Some(&level(10, 6, 5)), &level(10, 7, 5)));
        assert!(crossed_low(Some(&level(10, 4, 5)), &level(10, 5, 5)));
        assert!(
            !crossed_low(Some(&level(10, 5, 5)), &level(10, 6, 5)),
            "already low"
        );
        assert!(!crossed_low(None, &level(1, 0, 5)), "a new row does not cross");
        assert!(
            crossed_low(Some(&level(10, 0, 5)), &level(10, 0, 10)),
            "a raised threshold can cross"
        );
    }
}
