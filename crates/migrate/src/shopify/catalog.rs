//! The categories the products are filed under — every prefix of every product's path, keyed by
//! the path (`Apparel & Accessories > Clothing`), its parent the path one shorter — and the
//! stock of the products' tracked variants, keyed by SKU.

use super::columns::Fault;
use super::variants::StockCell;
use crate::source::{BadRow, Row, SourceRecord};
use mercato_proto::imports::{Entity, ImportedCategory, ImportedStock};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// Between a path's segments in a category's legacy key, as Shopify writes them.
pub(super) const SEPARATOR: &str = " > ";

/// The platform's longest slug.
const MAX_SLUG: usize = 80;

/// The categories of `paths` (each product's), every prefix once, in key order.
pub(super) fn categories<'a>(paths: impl Iterator<Item = &'a [String]>) -> Vec<Row> {
    let mut by_key: BTreeMap<String, (String, String)> = BTreeMap::new();
    for path in paths {
        for depth in 1..=path.len() {
            let key = path[..depth].join(SEPARATOR);
            let parent = path[..depth - 1].join(SEPARATOR);
            by_key
                .entry(key)
                .or_insert_with(|| (path[depth - 1].clone(), parent));
        }
    }
    let mut slugs = HashSet::new();
    by_key
        .into_iter()
        .map(|(key, (name, parent))| {
            let mut slug = slugify(&key);
            if !slugs.insert(slug.clone()) {
                // Two paths that differ only in punctuation ("A & B", "A B"): the second (by
                // key) is told apart by its key's hash.
                slug = with_hash(&slug, &key);
                slugs.insert(slug.clone());
            }
            Row::Good(SourceRecord::Category(ImportedCategory {
                legacy_key: key,
                name,
                slug,
                parent_legacy_key: parent,
                modified_at_ms: 0,
            }))
        })
        .collect()
}

/// A category's slug: its whole path's (so `Clothing > Shirts` and `Gifts > Shirts` differ),
/// letters folded to a-z, everything else a single `-`; a path too long for a slug is cut and
/// told apart by its hash.
pub(super) fn slugify(path: &str) -> String {
    let mut spelled = String::with_capacity(path.len());
    for c in path.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(folded) => spelled.push_str(folded),
            None if c.is_ascii_alphanumeric() => spelled.push(c),
            None => spelled.push('-'),
        }
    }
    let slug = spelled
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() || slug.len() > MAX_SLUG {
        return with_hash(&slug, path);
    }
    slug
}

/// `slug` cut to leave room for `-` and 8 hex digits of `key`'s hash, and those appended.
fn with_hash(slug: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut cut: String = slug.chars().take(MAX_SLUG - 9).collect();
    while cut.ends_with('-') {
        cut.pop();
    }
    if cut.is_empty() {
        format!("category-{hash}")
    } else {
        format!("{cut}-{hash}")
    }
}

/// Latin letters with marks, as the ASCII a shopper would type.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'æ' => "ae",
        'ç' | 'č' | 'ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' | 'ń' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' => "o",
        'œ' => "oe",
        'ß' => "ss",
        'š' | 'ś' => "s",
        'ù' | 'ú' | 'û' | 'ü' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ž' | 'ź' | 'ż' => "z",
        'ł' => "l",
        '&' => "-and-",
        _ => return None,
    })
}

/// The stock rows of the imported products' tracked variants, in SKU order (a SKU is on one
/// variant of the file only: `ShopifyCsv` skipped the products that repeat one).
pub(super) fn stock(cells: Vec<StockCell>, file: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = cells
        .into_iter()
        .map(|cell| match cell.on_hand {
            Ok(on_hand) => Row::Good(SourceRecord::Stock(ImportedStock {
                sku: cell.sku,
                on_hand,
                modified_at_ms: 0,
            })),
            Err(reason) => bad(Entity::Stock, cell.sku, file, Fault::at(cell.line, reason)),
        })
        .collect();
    rows.sort_by(|a, b| a.legacy_key().cmp(b.legacy_key()));
    rows
}

/// A skipped row of `file`.
pub(super) fn bad(entity: Entity, legacy_key: String, file: &str, fault: Fault) -> Row {
    Row::Bad(BadRow {
        entity,
        legacy_key,
        location: format!("{file} line {}", fault.line),
        reason: fault.reason,
    })
}
