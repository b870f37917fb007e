//! Stock: `_stock` of every product and variation (of an existing product) that manages stock,
//! keyed by SKU (its synthesised one when it has none). Rows sort by SKU, which no index gives, so the first page of a scan reads
//! every level once (a few bytes per SKU) and later pages are served from that.

use super::catalog::ms;
use super::values::{text, whole};
use super::{WooCommerce, since_s, synthetic_sku};
use crate::source::{BadRow, Row, ScanFrom, SourceRecord};
use mercato_proto::imports::{Entity, ImportedStock};
use sqlx::Row as _;

/// The levels of the scan under way.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// `None` until loaded; then the `modified_since` it was loaded for.
    loaded_for: Option<Option<i64>>,
    rows: Vec<Row>,
}

impl WooCommerce {
    /// A product without a SKU is keyed by the one it is given (`synthetic_sku`).
    pub(super) async fn scan_stock(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let since = since_s(from);
        let mut cache = self.stock.lock().await;
        if from.after_key.is_none() || cache.loaded_for != Some(since) {
            cache.rows = self.load_stock(since).await?;
            cache.loaded_for = Some(since);
        }
        let after = from.after_key.as_deref().unwrap_or("");
        let start = if from.after_key.is_none() {
            0
        } else {
            cache.rows.partition_point(|r| r.legacy_key() <= after)
        };
        Ok(cache.rows[start..].iter().take(limit).cloned().collect())
    }

    async fn load_stock(&self, since: Option<i64>) -> anyhow::Result<Vec<Row>> {
        let t = &self.tables;
        let sql = format!(
            "SELECT p.ID, CAST(sku.meta_value AS BINARY), CAST(st.meta_value AS BINARY), \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', p.post_modified_gmt), \
               CAST(EXISTS (SELECT 1 FROM {posts} v WHERE v.post_parent = p.ID \
                 AND v.post_type = 'product_variation') AS SIGNED) \
             FROM {postmeta} ms \
             JOIN {posts} p ON p.ID = ms.post_id \
             LEFT JOIN {postmeta} sku ON sku.post_id = p.ID AND sku.meta_key = '_sku' \
             LEFT JOIN {postmeta} st ON st.post_id = p.ID AND st.meta_key = '_stock' \
             LEFT JOIN {posts} parent ON parent.ID = p.post_parent \
             WHERE ms.meta_key = '_manage_stock' AND ms.meta_value = 'yes' \
               AND (p.post_type = 'product' \
                 OR (p.post_type = 'product_variation' AND parent.post_type = 'product')) \
             ORDER BY p.ID",
            postmeta = t.postmeta,
            posts = t.posts
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        let location = |id: u64| format!("{}.post_id={id}", t.postmeta.trim_matches('`'));
        // SKU, whether it was made up (a real one of the same goes first), post id, row, and
        // whether it changed since `since`. Which post a SKU's level is taken from is decided
        // over every level, changed or not, so that a round in which only the second post of a
        // SKU changed does not import its level as the SKU's.
        let mut levels: Vec<(String, bool, u64, Row, bool)> = Vec::with_capacity(rows.len());
        for row in rows {
            let id: u64 = row.try_get(0)?;
            let sku: Option<Vec<u8>> = row.try_get(1)?;
            let stock: Option<Vec<u8>> = row.try_get(2)?;
            let modified: Option<i64> = row.try_get(3)?;
            // A variable product's own level, without a SKU, keys no variant of its record.
            let has_variations: bool = row.try_get::<i64, _>(4)? != 0;
            let changed = since.is_none_or(|s| modified.unwrap_or(0) >= s);
            let sku_bytes = sku.unwrap_or_default();
            let (sku, made_up) = match text("_sku", &sku_bytes) {
                Ok(sku) if sku.trim().is_empty() && has_variations => continue,
                Ok(sku) if sku.trim().is_empty() => (synthetic_sku(id), true),
                Ok(sku) => (sku.trim().to_owned(), false),
                Err(reason) => {
                    // Reported under the SKU as it reads, never dropped unseen.
                    let key = String::from_utf8_lossy(&sku_bytes).trim().to_owned();
                    levels.push((key.clone(), false, id, bad(&key, location(id), reason), changed));
                    continue;
                }
            };
            let stock = String::from_utf8_lossy(&stock.unwrap_or_default())
                .trim()
                .to_owned();
            let on_hand = if stock.is_empty() {
                Ok(0)
            } else {
                whole("_stock", &stock)
            };
            let row = match on_hand {
                Ok(on_hand) => Row::Good(SourceRecord::Stock(ImportedStock {
                    sku: sku.clone(),
                    on_hand,
                    modified_at_ms: ms(modified),
                })),
                Err(reason) => bad(&sku, location(id), reason),
            };
            levels.push((sku, made_up, id, row, changed));
        }
        levels.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        let mut out: Vec<Row> = Vec::with_capacity(levels.len());
        let mut previous: Option<(String, u64)> = None;
        for (sku, _, id, row, changed) in levels {
            match &previous {
                Some((p, first)) if *p == sku => {
                    let reason = format!("SKU {sku:?} is also post {first}'s; only the first is imported");
                    // Same key as the record before it: reported, never a second record.
                    if changed {
                        out.push(bad(&sku, location(id), reason));
                    }
                }
                _ => {
                    previous = Some((sku, id));
                    if changed {
                        out.push(row);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn bad(sku: &str, location: String, reason: String) -> Row {
    Row::Bad(BadRow {
        entity: Entity::Stock,
        legacy_key: sku.to_owned(),
        location,
        reason,
    })
}
