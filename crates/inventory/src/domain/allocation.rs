//! Which locations a reservation takes its units from: for each SKU, the location with the most
//! available first, then the next, so that a line may be split over several locations.

use super::reservation::LineRecord;
use super::stock::StockLevel;
use super::values::Sku;
use std::collections::HashMap;

/// Why a request could not be allocated: one SKU whose locations together hold too little.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub sku: Sku,
    pub requested: i64,
    /// Units of the SKU free for this line, over every location.
    pub available: i64,
    /// Units of the SKU held by other reservations.
    pub held_by_others: i64,
}

impl Shortage {
    /// Whether the stock on hand would cover the line: only other reservations stand in the way,
    /// and they may yet be released.
    pub fn only_held(&self) -> bool {
        self.available + self.held_by_others >= self.requested
    }
}

/// Splits `lines` (units per SKU) over the locations in `stock`. Returns the parts sorted by SKU
/// and location, or the shortage of the first SKU (in request order) whose locations together
/// hold too little.
pub fn allocate(lines: &[(Sku, i64)], stock: &[StockLevel]) -> Result<Vec<LineRecord>, Shortage> {
    // What is still available per (sku, location) as this request takes its share.
    let mut left: HashMap<(&str, &str), i64> = stock
        .iter()
        .map(|s| ((s.sku.as_str(), s.location.as_str()), s.available().max(0)))
        .collect();
    let mut parts: HashMap<(String, String), i64> = HashMap::new();
    for (sku, quantity) in lines {
        let mut candidates: Vec<(&str, i64)> = stock
            .iter()
            .filter(|s| s.sku == sku.as_str())
            .map(|s| (s.location.as_str(), left[&(s.sku.as_str(), s.location.as_str())]))
            .filter(|(_, available)| *available > 0)
            .collect();
        // Most available first; ties by location name, so the choice is deterministic.
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let available: i64 = candidates.iter().map(|(_, available)| available).sum();
        if available < *quantity {
            return Err(Shortage {
                sku: sku.clone(),
                requested: *quantity,
                available,
                held_by_others: stock
                    .iter()
                    .filter(|s| s.sku == sku.as_str())
                    .map(|s| s.reserved.max(0))
                    .sum(),
            });
        }
        let mut wanted = *quantity;
        for (location, available) in candidates {
            if wanted == 0 {
                break;
            }
            let take = wanted.min(available);
            wanted -= take;
            if let Some(l) = left.get_mut(&(sku.as_str(), location)) {
                *l -= take;
            }
            *parts
                .entry((sku.as_str().to_owned(), location.to_owned()))
                .or_insert(0) += take;
        }
    }
    let mut parts: Vec<LineRecord> = parts
        .into_iter()
        .map(|((sku, location), quantity)| LineRecord {
            sku,
            location,
            quantity,
        })
        .collect();
    parts.sort();
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(sku: &str, location: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            ..StockLevel::empty(sku, location)
        }
    }

    fn sku(s: &str) -> Sku {
        Sku::parse("sku", s).unwrap()
    }

    fn part(sku: &str, location: &str, quantity: i64) -> LineRecord {
        LineRecord {
            sku: sku.into(),
            location: location.into(),
            quantity,
        }
    }

    #[test]
    fn a_line_is_taken_from_the_location_with_the_most_available_first() {
        let stock = [
            level("A", "east", 5, 0),
            level("A", "west", 9, 2),
            level("A", "north", 3, 0),
        ];
        let parts = allocate(&[(sku("A"), 4)], &stock).unwrap();
        assert_eq!(parts, [part("A", "west", 4)]);
    }

    #[test]
    fn a_line_larger_than_any_location_is_split_over_several() {
        let stock = [
            level("A", "east", 5, 0),
            level("A", "west", 9, 2),
            level("A", "north", 3, 0),
        ];
        let parts = allocate(&[(sku("A"), 14)], &stock).unwrap();
        assert_eq!(
            parts,
            [part("A", "east", 5), part("A", "north", 2), part("A", "west", 7)]
        );
    }

    #[test]
    fn a_sku_short_of_stock_anywhere_fails_the_whole_request_naming_it() {
        let stock = [level("A", "default", 5, 0), level("B", "default", 2, 1)];
        let short = |s: &str, requested, available, held_by_others| {
            Err(Shortage {
                sku: sku(s),
                requested,
                available,
                held_by_others,
            })
        };
        assert_eq!(
            allocate(&[(sku("A"), 5), (sku("B"), 2)], &stock),
            short("B", 2, 1, 1)
        );
        assert_eq!(
            allocate(&[(sku("C"), 1)], &stock),
            short("C", 1, 0, 0),
            "unknown SKU"
        );
        assert_eq!(allocate(&[(sku("A"), 6)], &stock), short("A", 6, 5, 0));
    }

    #[test]
    fn a_shortage_says_whether_only_other_holds_stand_in_the_way() {
        let stock = [level("A", "east", 3, 2), level("A", "west", 2, 2)];
        let Err(shortage) = allocate(&[(sku("A"), 4)], &stock) else {
            panic!("4 of 1 available must be refused");
        };
        assert_eq!((shortage.available, shortage.held_by_others), (1, 4));
        assert!(shortage.only_held(), "5 on hand cover 4");
        let Err(shortage) = allocate(&[(sku("A"), 6)], &stock) else {
            panic!("6 of 5 on hand must be refused");
        };
        assert!(!shortage.only_held());
    }
}
