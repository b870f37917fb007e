//! The reconciliation report: per entity the counts on each side and every difference located
//! to its record (missing in the store, missing in the source, or differing, with the fields
//! named), the totals per store on each side (money per currency, stock units), the source rows
//! skipped and what the import did — written as JSON (`report-<time>.json`) and for people.
//!
//! Exit codes: 0 clean, 2 differences, 3 clean but source rows were skipped (or records
//! rejected), 1 when the check could not run (the caller's).

mod render;

pub use render::render;

use crate::runner::ImportSummary;
use crate::source::BadRow;
use mercato_gateway::dto_imports::entity_path_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A source row that could not become a record, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    pub entity: String,
    pub legacy_key: String,
    /// Where in the source, e.g. `wp_posts.ID=123`.
    pub location: String,
    pub reason: String,
}

impl From<BadRow> for SkippedRow {
    fn from(b: BadRow) -> Self {
        Self {
            entity: entity_path_name(b.entity).to_owned(),
            legacy_key: b.legacy_key,
            location: b.location,
            reason: b.reason,
        }
    }
}

/// How a record differs between the source and the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// In the source, not in the store.
    MissingInStore,
    /// In the store, not in the source (any more).
    MissingInSource,
    /// In both, with different canonical forms.
    Differs,
}

/// One record that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub legacy_key: String,
    pub kind: DifferenceKind,
    /// The canonical fields that differ (`variants[0].price_minor`); empty unless `differs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// One entity on both sides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCheck {
    pub entity: String,
    /// Good source rows (skipped ones not counted).
    pub source_count: u64,
    pub store_count: u64,
    /// Every difference located.
    pub differences_found: u64,
    /// The differences, the first [`MAX_LISTED`] of them.
    pub differences: Vec<Difference>,
}

/// Differences listed per entity, at most (all are counted).
pub const MAX_LISTED: usize = 1000;

/// Order money of one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub orders: u64,
    pub total_minor: i64,
    pub refunded_minor: i64,
}

/// A side's totals for the whole store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Per currency (ISO 4217).
    pub orders: BTreeMap<String, Money>,
    /// SKUs with stock, and their units on hand summed.
    pub stock_skus: u64,
    pub stock_units: i64,
}

/// Source and store, side by side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsCheck {
    pub source: Totals,
    pub store: Totals,
}

/// A reconciliation, with the import it ended if any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub store: String,
    pub source: String,
    /// RFC 3339, when the reconciliation began.
    pub checked_at: String,
    pub seconds: f64,
    pub entities: Vec<EntityCheck>,
    pub totals: TotalsCheck,
    pub skipped: Vec<SkippedRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportSummary>,
}

impl Report {
    /// Differences located, all entities.
    pub fn differences(&self) -> u64 {
        self.entities.iter().map(|e| e.differences_found).sum()
    }

    /// Source and store agree on everything compared.
    pub fn is_clean(&self) -> bool {
        self.differences() == 0
            && self.totals.source == self.totals.store
            && self.entities.iter().all(|e| e.source_count == e.store_count)
    }

    /// Records the platform refused during the import this report ends.
    pub fn rejected(&self) -> usize {
        self.import
            .as_ref()
            .map_or(0, |i| i.entities.iter().map(|e| e.rejected.len()).sum())
    }

    /// 0 clean, 2 differences, 3 clean but rows were skipped or refused.
    pub fn exit_code(&self) -> i32 {
        if !self.is_clean() {
            2
        } else if !self.skipped.is_empty() || self.rejected() > 0 {
            3
        } else {
            0
        }
    }

    /// Writes `report-<time>.json` into `dir` (made if missing); its path.
    pub fn write_json(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let stamp: String = self
            .checked_at
            .chars()
            .map(|c| if c == ':' { '-' } else { c })
            .collect();
        let path = dir.join(format!("report-{stamp}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)?;
        Ok(path)
    }
}
