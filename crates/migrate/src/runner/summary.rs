//! What an import did, per entity: rows read, records created, updated, unchanged, rejected
//! (with the service's reason) and source rows skipped (with the reader's reason).

use crate::report::SkippedRow;
use serde::{Deserialize, Serialize};

/// One record the platform refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRecord {
    pub legacy_key: String,
    pub reason: String,
}

/// One entity's import (over one or several passes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntitySummary {
    /// `categories`, `products`, `stock`, `customers` or `orders`.
    pub entity: String,
    /// Source rows read, good and bad.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: Vec<RejectedRecord>,
    pub skipped: Vec<SkippedRow>,
    /// SKUs the source made up for variants without one (sent, whatever the outcome).
    #[serde(default)]
    pub synthesized_skus: u64,
    /// Time spent on it.
    pub seconds: f64,
}

impl EntitySummary {
    /// Source rows per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(0.001)
    }

    /// Adds another pass over the same entity.
    pub fn absorb(&mut self, other: EntitySummary) {
        self.rows += other.rows;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected.extend(other.rejected);
        self.skipped.extend(other.skipped);
        self.synthesized_skus += other.synthesized_skus;
        self.seconds += other.seconds;
    }

    /// One line for people: `1,000 rows: 990 created, 0 updated, 5 unchanged, 3 rejected, 2
    /// skipped`, and `, 4 SKUs synthesised` when there were any.
    pub fn line(&self) -> String {
        let synthesized = match self.synthesized_skus {
            0 => String::new(),
            n => format!(", {n} SKUs synthesised"),
        };
        format!(
            "{} rows in {:.1} s ({:.0}/s): {} created, {} updated, {} unchanged, {} rejected, {} skipped",
            self.rows,
            self.seconds,
            self.rows_per_second(),
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len(),
            self.skipped.len()
        ) + &synthesized
    }
}

/// An import, entity by entity in the source's order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub entities: Vec<EntitySummary>,
    /// Wall-clock time of the whole import (entities of different services run side by side).
    pub seconds: f64,
}

impl ImportSummary {
    /// Adds another pass (e.g. one round of `--follow`).
    pub fn absorb(&mut self, other: ImportSummary) {
        for e in other.entities {
            match self.entities.iter_mut().find(|s| s.entity == e.entity) {
                Some(mine) => mine.absorb(e),
                None => self.entities.push(e),
            }
        }
        self.seconds += other.seconds;
    }

    /// Source rows read, all entities.
    pub fn rows(&self) -> u64 {
        self.entities.iter().map(|e| e.rows).sum()
    }

    /// Rejected records and skipped rows, all entities.
    pub fn refused(&self) -> usize {
        self.entities
            .iter()
            .map(|e| e.rejected.len() + e.skipped.len())
            .sum()
    }
}
