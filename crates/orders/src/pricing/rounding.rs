//! Rounding a quotient of minor units to a whole minor unit: half-up or banker's (half-even).

/// How a store rounds an amount that falls between two minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Halves away from zero (2.5 → 3).
    #[default]
    HalfUp,
    /// Halves to the even neighbour (2.5 → 2, 3.5 → 4): banker's rounding.
    HalfEven,
}

impl Rounding {
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        }
    }

    pub fn parse(s: &str) -> Option<Rounding> {
        match s {
            "half_up" => Some(Rounding::HalfUp),
            "half_even" => Some(Rounding::HalfEven),
            _ => None,
        }
    }

    /// `numerator / denominator` rounded to a whole number; `denominator` must be positive.
    pub fn divide(self, numerator: i128, denominator: i128) -> i128 {
        debug_assert!(denominator > 0);
        let quotient = numerator.div_euclid(denominator);
        let remainder = numerator.rem_euclid(denominator);
        // remainder / denominator is the fraction above `quotient`, in [0, 1).
        let twice = remainder * 2;
        let up = match twice.cmp(&denominator) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => match self {
                // Away from zero: up for positive values, towards the quotient for negative.
                Rounding::HalfUp => numerator >= 0,
                Rounding::HalfEven => quotient % 2 != 0,
            },
        };
        quotient + i128::from(up)
    }
}

#[cfg(test)]
mod tests {
    use super::Rounding::{HalfEven, HalfUp};

    #[test]
    fn half_up_rounds_halves_away_from_zero_and_half_even_to_the_even_neighbour() {
        assert_eq!(HalfUp.divide(25, 10), 3);
        assert_eq!(HalfEven.divide(25, 10), 2);
        assert_eq!(HalfUp.divide(35, 10), 4);
        assert_eq!(HalfEven.divide(35, 10), 4);
        assert_eq!(HalfUp.divide(-25, 10), -3);
        assert_eq!(HalfEven.divide(-25, 10), -2);
        assert_eq!(HalfUp.divide(24, 10), 2);
        assert_eq!(HalfEven.divide(26, 10), 3);
        assert_eq!(HalfUp.divide(0, 7), 0);
    }
}
