//! Carts: lines with a price snapshot, validation, totals in minor units, merging.

use super::{Caller, CartId, sha256_hex};
use mercato_runtime::ids::StoreId;

/// Why a cart refused a change. The service answers each as its contract says (a closed cart is
/// a conflict, the others name the field at fault).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CartRefusal {
    #[error("the cart is {}", .0.as_str())]
    NotOpen(CartStatus),
    #[error("quantity must be between {min} and {MAX_QUANTITY}")]
    Quantity { min: i64 },
    #[error("sku is priced in {sku_currency}, the cart in {cart_currency}")]
    OtherCurrency {
        sku_currency: String,
        cart_currency: String,
    },
    #[error("sku would be line {}; a cart holds at most {MAX_LINES}", MAX_LINES + 1)]
    TooManyLines,
}

/// Most units of one SKU in a cart.
pub const MAX_QUANTITY: i64 = 100;
/// Most lines in a cart.
pub const MAX_LINES: usize = 50;

/// What the catalog projection knows about a SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuInfo {
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub price_minor: i64,
    pub currency: String,
}

/// One line; its price is the one the SKU had when the line was added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl CartLine {
    pub fn total_minor(&self) -> i64 {
        self.quantity.saturating_mul(self.unit_price_minor)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CartStatus {
    Open,
    CheckedOut,
    Merged,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut => "checked_out",
            CartStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<CartStatus> {
        match s {
            "open" => Some(CartStatus::Open),
            "checked_out" => Some(CartStatus::CheckedOut),
            "merged" => Some(CartStatus::Merged),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    pub id: CartId,
    pub store_id: StoreId,
    /// Empty for an anonymous cart.
    pub customer_id: String,
    /// SHA-256 of the anonymous cart's token; empty for a customer's cart.
    pub token_hash: String,
    /// Set by the first line; every line is in it.
    pub currency: String,
    pub lines: Vec<CartLine>,
    pub status: CartStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Bumped by every write; writes are guarded on it.
    pub version: i64,
    /// Whether the cart has ever held a line: its `cart_started` event is recorded with the
    /// write that gives it one, once (emptied and refilled, it does not start again).
    pub started: bool,
}

impl Cart {
    /// A new open cart: the customer's, or anonymous with the hash of its token.
    pub fn new(store_id: StoreId, customer_id: &str, token: Option<&str>, now_ms: i64) -> Cart {
        Cart {
            id: CartId::new(),
            store_id,
            customer_id: customer_id.to_owned(),
            token_hash: token.map(|t| sha256_hex(t.as_bytes())).unwrap_or_default(),
            currency: String::new(),
            lines: Vec::new(),
            status: CartStatus::Open,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            version: 1,
            started: false,
        }
    }

    /// Marks the cart started if this change gave it its first line ever; true when it did,
    /// and the write must then record `cart_started`.
    pub fn starts_now(&mut self) -> bool {
        let starts = !self.started && !self.lines.is_empty();
        self.started |= starts;
        starts
    }

    pub fn is_anonymous(&self) -> bool {
        self.customer_id.is_empty()
    }

    /// Whether the caller may see and change the cart: its customer, or whoever holds the
    /// anonymous cart's token.
    pub fn owned_by(&self, caller: &Caller) -> bool {
        if self.is_anonymous() {
            !caller.cart_token.is_empty() && sha256_hex(caller.cart_token.as_bytes()) == self.token_hash
        } else {
            !caller.user_id.is_empty() && caller.user_id == self.customer_id
        }
    }

    pub fn total_minor(&self) -> i64 {
        self.lines.iter().map(CartLine::total_minor).sum()
    }

    fn ensure_open(&self) -> Result<(), CartRefusal> {
        if self.status == CartStatus::Open {
            Ok(())
        } else {
            Err(CartRefusal::NotOpen(self.status))
        }
    }

    /// Adds `quantity` units of a SKU, at its current price for a new line; an existing line
    /// keeps its price snapshot.
    pub fn add(&mut self, info: &SkuInfo, quantity: i64) -> Result<(), CartRefusal> {
        self.ensure_open()?;
        check_quantity(quantity, 1)?;
        let current = self
            .lines
            .iter()
            .find(|l| l.sku == info.sku)
            .map_or(0, |l| l.quantity);
        self.set(info, current + quantity)
    }

    /// Sets a line's quantity; 0 removes it.
    pub fn set(&mut self, info: &SkuInfo, quantity: i64) -> Result<(), CartRefusal> {
        self.ensure_open()?;
        check_quantity(quantity, 0)?;
        if let Some(i) = self.lines.iter().position(|l| l.sku == info.sku) {
            if quantity == 0 {
                self.lines.remove(i);
                if self.lines.is_empty() {
                    self.currency.clear();
                }
            } else {
                self.lines[i].quantity = quantity;
            }
            return Ok(());
        }
        if quantity == 0 {
            return Ok(());
        }
        if !self.currency.is_empty() && self.currency != info.currency {
            return Err(CartRefusal::OtherCurrency {
                sku_currency: info.currency.clone(),
                cart_currency: self.currency.clone(),
            });
        }
        if self.lines.len() >= MAX_LINES {
            return Err(CartRefusal::TooManyLines);
        }
        self.currency = info.currency.clone();
        self.lines.push(CartLine {
            sku: info.sku.clone(),
            product_id: info.product_id.clone(),
            title: info.title.clone(),
            quantity,
            unit_price_minor: info.price_minor,
        });
        Ok(())
    }

    /// Moves the lines of `other` into this cart, summing quantities of the same SKU (each line
    /// keeping this cart's price snapshot when both have it); all or nothing.
    pub fn absorb(&mut self, other: &Cart) -> Result<(), CartRefusal> {
        self.ensure_open()?;
        let mut merged = self.clone();
        for line in &other.lines {
            let info = SkuInfo {
                sku: line.sku.clone(),
                product_id: line.product_id.clone(),
                title: line.title.clone(),
                price_minor: line.unit_price_minor,
                currency: other.currency.clone(),
            };
            merged.add(&info, line.quantity)?;
        }
        // The shopper's cart started once, under the anonymous cart's id: the merged cart
        // does not start again.
        merged.started |= other.started;
        *self = merged;
        Ok(())
    }
}

fn check_quantity(quantity: i64, min: i64) -> Result<(), CartRefusal> {
    if (min..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(CartRefusal::Quantity { min })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(s: &str, price: i64, currency: &str) -> SkuInfo {
        SkuInfo {
            sku: s.to_owned(),
            product_id: "p".to_owned(),
            title: s.to_owned(),
            price_minor: price,
            currency: currency.to_owned(),
        }
    }

    #[test]
    fn adding_the_same_sku_twice_sums_the_quantity_and_keeps_the_first_price() {
        let mut cart = Cart::new(StoreId::new(), "u", None, 0);
        cart.add(&sku("A", 250, "EUR"), 2).unwrap();
        cart.add(&sku("A", 999, "EUR"), 3).unwrap();
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.total_minor(), 1250);
    }

    #[test]
    fn a_line_never_exceeds_one_hundred_units_and_a_cart_fifty_lines() {
        let mut cart = Cart::new(StoreId::new(), "u", None, 0);
        cart.add(&sku("A", 1, "EUR"), 100).unwrap();
        assert_eq!(
            cart.add(&sku("A", 1, "EUR"), 1).unwrap_err(),
            CartRefusal::Quantity { min: 0 }
        );
        for i in 1..50 {
            cart.add(&sku(&format!("S{i}"), 1, "EUR"), 1).unwrap();
        }
        assert_eq!(
            cart.add(&sku("LAST", 1, "EUR"), 1).unwrap_err(),
            CartRefusal::TooManyLines
        );
    }

    #[test]
    fn a_cart_holds_one_currency() {
        let mut cart = Cart::new(StoreId::new(), "u", None, 0);
        cart.add(&sku("A", 1, "EUR"), 1).unwrap();
        assert!(cart.add(&sku("B", 1, "USD"), 1).is_err());
    }

    #[test]
    fn only_the_token_holder_owns_an_anonymous_cart() {
        let cart = Cart::new(StoreId::new(), "", Some("secret"), 0);
        let mut caller = Caller {
            cart_token: "secret".to_owned(),
            ..Caller::default()
        };
        assert!(cart.owned_by(&caller));
        caller.cart_token = "other".to_owned();
        assert!(!cart.owned_by(&caller));
    }
}
