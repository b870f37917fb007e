//! Promotions: codes and automatic ones, what they take off (a percentage or an amount, off the
//! order, some lines or shipping), and whether one applies to a cart now.

use serde::{Deserialize, Serialize};

/// How much a promotion takes off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountValue {
    /// A share of what it applies to, in basis points (10 % = 1000), rounded by the store.
    Percent { bps: i64 },
    /// An amount, at most what it applies to.
    Fixed { amount_minor: i64 },
}

/// What a promotion applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountTarget {
    /// Every line (allocated over them).
    Order,
    /// The lines of these SKUs or products (allocated over them).
    Lines {
        skus: Vec<String>,
        product_ids: Vec<String>,
    },
    /// The shipping price.
    Shipping,
}

impl DiscountTarget {
    /// Whether a line of this SKU and product is what the promotion applies to.
    pub fn covers_line(&self, sku: &str, product_id: &str) -> bool {
        match self {
            DiscountTarget::Order => true,
            DiscountTarget::Lines { skus, product_ids } => {
                skus.iter().any(|s| s == sku) || product_ids.iter().any(|p| p == product_id)
            }
            DiscountTarget::Shipping => false,
        }
    }
}

/// A promotion: with a code the shopper enters, or automatic (no code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promotion {
    pub id: String,
    /// Upper case; empty for an automatic promotion.
    pub code: String,
    pub name: String,
    pub value: DiscountValue,
    pub target: DiscountTarget,
    /// The goods' subtotal (before discounts) must reach this; 0 for no minimum.
    pub min_subtotal_minor: i64,
    /// Applies from (inclusive) … until (exclusive); 0 for open-ended.
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// Orders that may carry it in all, and per customer; 0 for unlimited.
    pub usage_limit: i64,
    pub per_customer_limit: i64,
    /// Orders carrying it now (a failed checkout gives its use back).
    pub used: i64,
    /// A deleted promotion is kept for the orders that carry it, inactive.
    pub active: bool,
}

/// Why a promotion does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromotionRefusal {
    #[error("no such promotion code")]
    Unknown,
    #[error("the promotion code is not valid yet")]
    NotStarted,
    #[error("the promotion code has expired")]
    Expired,
    #[error("the promotion code has been used up")]
    Exhausted,
    #[error("the promotion code needs a subtotal of at least {minimum_minor}")]
    BelowMinimum { minimum_minor: i64 },
}

impl Promotion {
    /// Whether it applies to goods of this subtotal at `now_ms`. Its usage limits are checked
    /// here as far as a read can tell; checkout enforces them with a guarded update.
    pub fn check(&self, now_ms: i64, subtotal_minor: i64) -> Result<(), PromotionRefusal> {
        if !self.active {
            return Err(PromotionRefusal::Unknown);
        }
        if self.starts_at_ms > 0 && now_ms < self.starts_at_ms {
            return Err(PromotionRefusal::NotStarted);
        }
        if self.ends_at_ms > 0 && now_ms >= self.ends_at_ms {
            return Err(PromotionRefusal::Expired);
        }
        if self.usage_limit > 0 && self.used >= self.usage_limit {
            return Err(PromotionRefusal::Exhausted);
        }
        if subtotal_minor < self.min_subtotal_minor {
            return Err(PromotionRefusal::BelowMinimum {
                minimum_minor: self.min_subtotal_minor,
            });
        }
        Ok(())
    }

    /// The discount on `base_minor` (what the promotion applies to), at most `base_minor`.
    pub fn discount_on(&self, base_minor: i64, rounding: super::Rounding) -> i64 {
        let off = match self.value {
            DiscountValue::Percent { bps } => {
                rounding.divide(i128::from(base_minor) * i128::from(bps), 10_000) as i64
            }
            DiscountValue::Fixed { amount_minor } => amount_minor,
        };
        off.clamp(0, base_minor.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn promotion(value: DiscountValue, target: DiscountTarget) -> Promotion {
        Promotion {
            id: "p".into(),
            code: "SAVE".into(),
            name: "Save".into(),
            value,
            target,
            min_subtotal_minor: 0,
            starts_at_ms: 0,
            ends_at_ms: 0,
            usage_limit: 0,
            per_customer_limit: 0,
            used: 0,
            active: true,
        }
    }

    #[test]
    fn a_code_applies_only_within_its_window_uses_and_minimum() {
        let mut p = promotion(DiscountValue::Percent { bps: 1000 }, DiscountTarget::Order);
        p.starts_at_ms = 100;
        p.ends_at_ms = 200;
        p.min_subtotal_minor = 5000;
        assert_eq!(p.check(99, 5000), Err(PromotionRefusal::NotStarted));
        assert_eq!(p.check(200, 5000), Err(PromotionRefusal::Expired));
        assert_eq!(
            p.check(150, 4999),
            Err(PromotionRefusal::BelowMinimum { minimum_minor: 5000 })
        );
        assert_eq!(p.check(150, 5000), Ok(()));
        p.usage_limit = 3;
        p.used = 3;
        assert_eq!(p.check(150, 5000), Err(PromotionRefusal::Exhausted));
    }

    #[test]
    fn a_discount_never_exceeds_what_it_applies_to() {
        let fixed = promotion(
            DiscountValue::Fixed { amount_minor: 2500 },
            DiscountTarget::Shipping,
        );
        assert_eq!(fixed.discount_on(1000, crate::pricing::Rounding::HalfUp), 1000);
        let pct = promotion(DiscountValue::Percent { bps: 1250 }, DiscountTarget::Order);
        // 12.5 % of 1004 = 125.5.
        assert_eq!(pct.discount_on(1004, crate::pricing::Rounding::HalfUp), 126);
        assert_eq!(pct.discount_on(1004, crate::pricing::Rounding::HalfEven), 126);
        assert_eq!(pct.discount_on(1012, crate::pricing::Rounding::HalfEven), 126);
    }
}
