//! The Shopify source: a shop's product CSV export (Shopify admin → Products → Export, or the
//! published template), read whole — a file of 100,000 products fits in memory — and turned
//! into categories, products and stock in legacy-key order.
//!
//! - columns are matched by name (`columns`): exports differ in order and in which columns they
//!   have (older ones lack `Option1 Linked To` and the unit-price columns; newer ones may lack
//!   `Variant Inventory Qty` when stock is kept per location);
//! - a product is its handle's lines (`products`): the first (with the Title) carries the
//!   product's fields and option names, any line may carry a variant and/or an image; a product
//!   is keyed by its handle, a variant by its option values;
//! - categories come from `Product Category`'s taxonomy path, else `Type`, and stock from
//!   `Variant Inventory Qty` of tracked variants (`catalog`); cells become money, grams and
//!   quantities exactly (`values`).
//!
//! A variant without a SKU is given one (`synthetic_sku`: `SH-` and a hash of its key). A
//! product that cannot be imported whole — a bad price, a line whose handle has no product
//! line, a SKU another product has, text that is not UTF-8, option values without option names
//! — is a `BadRow` located to its physical line (`products.csv line 17`), its stock with it.
//!
//! A CSV has no currency (the caller says: `--currency`, else the store's) and no modification
//! times: every record has `modified_at_ms` 0, a scan's `modified_since_ms` is ignored, and
//! `--follow` is not offered; a re-run (all `unchanged` but what the new export changed) is how a
//! later export is taken in.

mod catalog;
mod columns;
mod products;
mod values;
mod variants;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bad;

use crate::source::{Row, ScanFrom, Source, SourceRecord};
use anyhow::Context as _;
use columns::{Cells, Columns, Fault, Line};
use mercato_proto::imports::Entity;
use mercato_runtime::money::Currency;
use products::{Built, Group};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// A Shopify product export, read.
#[derive(Debug)]
pub struct ShopifyCsv {
    currency: Currency,
    categories: Vec<Row>,
    products: Vec<Row>,
    stock: Vec<Row>,
}

impl ShopifyCsv {
    /// Reads the export at `path`, whose prices are in `currency` (ISO 4217).
    pub fn open(path: &Path, currency: &str) -> anyhow::Result<Self> {
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self::read(&name, std::io::BufReader::new(file), currency)
            .with_context(|| format!("reading {}", path.display()))
    }

    /// Reads an export from `reader`; `file` names it in bad rows' locations.
    pub fn read(file: &str, reader: impl std::io::Read, currency: &str) -> anyhow::Result<Self> {
        let currency = Currency::parse(currency)
            .map_err(|_| anyhow::anyhow!("currency {currency:?} is not one Mercato supports"))?;
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut records = csv.byte_records();
        let header = records.next().context("the file is empty")??;
        let columns = Columns::new(&header)?;
        let mut lines = Vec::new();
        for record in records {
            let cells = record?;
            let number = cells.position().map_or(0, |p| p.line());
            lines.push(Line { number, cells });
        }
        Ok(Self::from_lines(file, currency, &columns, &lines))
    }

    /// The rows of `entity`, in legacy-key order.
    pub fn rows(&self, entity: Entity) -> &[Row] {
        match entity {
            Entity::Category => &self.categories,
            Entity::Product => &self.products,
            Entity::Stock => &self.stock,
            _ => &[],
        }
    }

    fn from_lines(file: &str, currency: Currency, columns: &Columns, lines: &[Line]) -> Self {
        let (groups, unnamed) = groups(columns, lines);
        let results: Vec<Result<Built, Fault>> = groups
            .iter()
            .map(|group| products::build(group, currency.minor_digits()))
            .collect();
        let real_skus: HashSet<String> = results
            .iter()
            .flatten()
            .flat_map(|b| &b.skus)
            .filter(|(_, _, made_up)| !made_up)
            .map(|(sku, _, _)| sku.clone())
            .collect();
        let mut products: Vec<Row> = Vec::with_capacity(groups.len());
        let mut built: Vec<Built> = Vec::with_capacity(groups.len());
        let mut owners: HashMap<String, (String, u64)> = HashMap::new();
        for (group, result) in groups.iter().zip(results) {
            match result.and_then(|b| claim_skus(&b, &real_skus, &mut owners).map(|()| b)) {
                Ok(b) => built.push(b),
                Err(fault) => products.push(catalog::bad(Entity::Product, group.handle.clone(), file, fault)),
            }
        }
        if let Some(bad) = unnamed_lines(&unnamed, file) {
            products.push(bad);
        }
        let categories = catalog::categories(built.iter().map(|b| b.category.as_slice()));
        let stock = catalog::stock(built.iter().flat_map(|b| b.stock.clone()).collect(), file);
        products.extend(
            built
                .into_iter()
                .map(|b| Row::Good(SourceRecord::Product(b.product))),
        );
        products.sort_by(|a, b| a.legacy_key().cmp(b.legacy_key()));
        Self {
            currency,
            categories,
            products,
            stock,
        }
    }
}

/// The one bad row of the lines without a handle, if any.
fn unnamed_lines(unnamed: &[u64], file: &str) -> Option<Row> {
    let (first, more) = unnamed.split_first()?;
    let reason = match more {
        [] => "the line has no Handle".to_owned(),
        more => {
            let more: Vec<String> = more.iter().map(u64::to_string).collect();
            format!("the line has no Handle (nor have lines {})", more.join(", "))
        }
    };
    Some(catalog::bad(
        Entity::Product,
        String::new(),
        file,
        Fault::at(*first, reason),
    ))
}

/// A SKU for a variant that has none: `SH-` and 16 hex digits of the SHA-256 of its legacy key,
/// so the same variant gets the same SKU at every import.
pub fn synthetic_sku(variant_key: &str) -> String {
    let digest = Sha256::digest(variant_key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("SH-{hex}")
}

/// The lines grouped by handle (in the order each handle first appears; a handle's lines need
/// not be consecutive), and the lines without one.
fn groups<'a>(columns: &'a Columns, lines: &'a [Line]) -> (Vec<Group<'a>>, Vec<u64>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    let mut unnamed = Vec::new();
    for line in lines {
        let cells = Cells { columns, line };
        if line.cells.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        // Grouped by its bytes; a handle that is not UTF-8 is reported under its lossy spelling.
        let handle = cells.bytes("Handle");
        if handle.is_empty() {
            unnamed.push(line.number);
            continue;
        }
        let at = *index.entry(handle).or_insert_with(|| {
            groups.push(Group {
                handle: String::from_utf8_lossy(handle).into_owned(),
                lines: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].lines.push(cells);
    }
    (groups, unnamed)
}

/// Records the product's SKUs as its own, or the fault when one is already another variant's
/// (the first in the file keeps it), or a made-up one is a real SKU of the file (which variant
/// the shop meant is not ours to guess).
fn claim_skus(
    built: &Built,
    real: &HashSet<String>,
    owners: &mut HashMap<String, (String, u64)>,
) -> Result<(), Fault> {
    let handle = &built.product.legacy_key;
    let mut mine: HashMap<&str, u64> = HashMap::new();
    for (sku, line, made_up) in &built.skus {
        if *made_up && real.contains(sku) {
            return Err(Fault::at(
                *line,
                format!("the variant has no SKU and the one made up for it, {sku:?}, is another variant's"),
            ));
        }
        let taken = match (owners.get(sku), mine.insert(sku, *line)) {
            (Some((owner, first)), _) => Some(format!("line {first} ({owner})")),
            (None, Some(first)) => Some(format!("line {first} (this product)")),
            (None, None) => None,
        };
        if let Some(there) = taken {
            return Err(Fault::at(
                *line,
                format!("Variant SKU {sku:?} is already on {there}; a SKU is one variant's"),
            ));
        }
    }
    for (sku, line, _) in &built.skus {
        owners.insert(sku.clone(), (handle.clone(), *line));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Source for ShopifyCsv {
    fn name(&self) -> &'static str {
        "shopify"
    }

    fn entities(&self) -> Vec<Entity> {
        vec![Entity::Category, Entity::Product, Entity::Stock]
    }

    async fn currency(&self) -> anyhow::Result<String> {
        Ok(self.currency.as_str().to_owned())
    }

    /// `from.modified_since_ms` is ignored: the file has no modification times.
    async fn scan(&self, entity: Entity, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let rows = self.rows(entity);
        let start = match from.after_key.as_deref() {
            None => 0,
            Some(after) => rows.partition_point(|r| r.legacy_key() <= after),
        };
        Ok(rows[start..].iter().take(limit.max(1)).cloned().collect())
    }

    async fn estimate(&self, entity: Entity) -> anyhow::Result<u64> {
        Ok(self.rows(entity).len() as u64)
    }
}
