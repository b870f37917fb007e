//! Pricing: shipping rates, tax and promotions, and the one pure function that turns a cart's
//! lines into its totals (per line and for the order). No IO: the rules come in as values read
//! by `store::pricing`, so the cart view and checkout compute the same amounts from the same
//! function.
//!
//! # Decisions
//!
//! - Money is integer minor units (`i64`, `i128` inside products); tax rates and percentage
//!   discounts are basis points (1 % = 100 bps), never floats.
//! - **Tax is computed per line**: each line's tax is rounded once, by the store's rounding mode
//!   (half-up or banker's), from the line's net amount (subtotal less its share of discounts);
//!   shipping is taxed as one more line. The order's tax is the sum of those rounded taxes, so
//!   line taxes always add up to the order tax (a refund of some lines returns exactly their
//!   tax); the price is at most half a minor unit per line away from taxing the order's net
//!   amount once.
//! - **Discounts are allocated to lines**: a discount on the order (or on several lines) is
//!   split over the eligible lines in proportion to what is left of each, by largest
//!   remainder, so the shares add up exactly; a refund of a line returns what was paid for it.
//! - A store with no shipping zones ships for free with no method to pick; a store with zones
//!   refuses an address none of them covers. A store with no tax rates charges no tax.

pub mod allocate;
pub mod promotions;
pub mod rounding;
pub mod shipping;
pub mod tax;
pub mod totals;

pub use promotions::{DiscountTarget, DiscountValue, Promotion, PromotionRefusal};
pub use rounding::Rounding;
pub use shipping::{RateKind, ShippingMethod, ShippingOption, ShippingZone, WeightBand};
pub use tax::{TaxRate, TaxSettings};
pub use totals::{LineInput, LineTotals, Totals, TotalsInput};
