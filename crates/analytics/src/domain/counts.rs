//! What one bucket (an hour or a day of a store) holds: additive counts, so that a range's
//! figures are the sum of its buckets, and the figures derived from them as `analytics.proto`
//! defines them.

use mercato_proto::analytics::Figures;

/// One additive figure of a bucket; its position in [`Counts`] and its column name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Gross,
    Discounts,
    Refunds,
    Shipping,
    Taxes,
    Orders,
    Units,
    NewCustomers,
    ReturningCustomers,
    Declines,
    Views,
    Visitors,
    Carts,
    Checkouts,
}

/// How many fields a bucket has.
pub const FIELDS: usize = 14;

impl Field {
    pub const ALL: [Field; FIELDS] = [
        Field::Gross,
        Field::Discounts,
        Field::Refunds,
        Field::Shipping,
        Field::Taxes,
        Field::Orders,
        Field::Units,
        Field::NewCustomers,
        Field::ReturningCustomers,
        Field::Declines,
        Field::Views,
        Field::Visitors,
        Field::Carts,
        Field::Checkouts,
    ];

    /// The contract's name of a figure (`Figures`): its column's, but for two.
    pub fn figure_name(self) -> &'static str {
        match self {
            Field::Gross => "gross_sales_minor",
            Field::Checkouts => "checkouts_started",
            other => other.column(),
        }
    }

    /// Its column in the `hourly` and `daily` tables.
    pub fn column(self) -> &'static str {
        match self {
            Field::Gross => "gross_minor",
            Field::Discounts => "discounts_minor",
            Field::Refunds => "refunds_minor",
            Field::Shipping => "shipping_minor",
            Field::Taxes => "taxes_minor",
            Field::Orders => "orders",
            Field::Units => "units",
            Field::NewCustomers => "new_customers",
            Field::ReturningCustomers => "returning_customers",
            Field::Declines => "payment_declines",
            Field::Views => "product_views",
            Field::Visitors => "visitors",
            Field::Carts => "carts",
            Field::Checkouts => "checkouts",
        }
    }

    /// Whether it comes from orders (what `verify` recomputes from their history).
    pub fn from_orders(self) -> bool {
        !matches!(
            self,
            Field::Views | Field::Visitors | Field::Carts | Field::Checkouts
        )
    }
}

/// The additive figures of one bucket (or of a sum of buckets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub [i64; FIELDS]);

impl Counts {
    pub fn get(&self, f: Field) -> i64 {
        self.0[f as usize]
    }

    pub fn add_to(&mut self, f: Field, n: i64) {
        self.0[f as usize] += n;
    }

    pub fn with(mut self, f: Field, n: i64) -> Counts {
        self.add_to(f, n);
        self
    }

    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }

    /// Gross sales − discounts − refunds.
    pub fn net_sales(&self) -> i64 {
        self.get(Field::Gross) - self.get(Field::Discounts) - self.get(Field::Refunds)
    }

    /// Net sales + shipping + taxes.
    pub fn total_sales(&self) -> i64 {
        self.net_sales() + self.get(Field::Shipping) + self.get(Field::Taxes)
    }

    /// (Gross sales − discounts) ÷ orders, before returns, rounded half up; 0 without orders.
    pub fn average_order_value(&self) -> i64 {
        ratio_half_up(
            self.get(Field::Gross) - self.get(Field::Discounts),
            self.get(Field::Orders),
        )
    }

    /// The contract's figures; `distinct_viewers` is the range's distinct visitors (days
    /// overlap, so it is not the sum of the days' visitors).
    pub fn figures(&self, distinct_viewers: i64) -> Figures {
        let (new, returning) = (self.get(Field::NewCustomers), self.get(Field::ReturningCustomers));
        Figures {
            gross_sales_minor: self.get(Field::Gross),
            discounts_minor: self.get(Field::Discounts),
            refunds_minor: self.get(Field::Refunds),
            net_sales_minor: self.net_sales(),
            shipping_minor: self.get(Field::Shipping),
            taxes_minor: self.get(Field::Taxes),
            total_sales_minor: self.total_sales(),
            orders: self.get(Field::Orders),
            units: self.get(Field::Units),
            average_order_value_minor: self.average_order_value(),
            new_customers: new,
            returning_customers: returning,
            returning_customer_rate_bp: basis_points(returning, new + returning),
            payment_declines: self.get(Field::Declines),
            product_views: self.get(Field::Views),
            conversion_rate_bp: basis_points(self.get(Field::Orders), distinct_viewers),
            orders_by_status: Default::default(),
        }
    }
}

/// `n ÷ d` rounded half up (for non-negative `d`); 0 when `d` is 0.
pub fn ratio_half_up(n: i64, d: i64) -> i64 {
    if d <= 0 {
        return 0;
    }
    let (n, d) = (i128::from(n), i128::from(d));
    let q = if n >= 0 {
        (2 * n + d) / (2 * d)
    } else {
        -((-2 * n + d) / (2 * d))
    };
    q as i64
}

/// `part ÷ whole` in basis points (10000 = 100 %), rounded half up; 0 when `whole` is 0.
pub fn basis_points(part: i64, whole: i64) -> i64 {
    ratio_half_up(part.saturating_mul(10_000), whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_follow_the_contract() {
        let c = Counts::default()
            .with(Field::Gross, 10_000)
            .with(Field::Discounts, 1_000)
            .with(Field::Refunds, 500)
            .with(Field::Shipping, 700)
            .with(Field::Taxes, 300)
            .with(Field::Orders, 3);
        assert_eq!(c.net_sales(), 8_500);
        assert_eq!(c.total_sales(), 9_500);
        assert_eq!(c.average_order_value(), 3_000);
        assert_eq!(ratio_half_up(5, 2), 3);
        assert_eq!(ratio_half_up(4, 3), 1);
        assert_eq!(basis_points(1, 3), 3_333);
        assert_eq!(basis_points(2, 3), 6_667);
        assert_eq!(basis_points(1, 0), 0);
    }
}
