//! Synthesised SKUs that a real one already is: a product or variation without a SKU is given
//! `WC-<post id>` (`synthetic_sku`), and when another product of the shop has that very SKU the
//! product is a bad row (two variants with one SKU would be refused by the catalog, and which
//! one the shop meant is not ours to guess).

use super::WooCommerce;
use super::meta::{self, Meta};
use crate::source::{BadRow, Row, SourceRecord};
use mercato_proto::imports::Entity;
use sqlx::Row as _;
use std::collections::HashMap;

impl WooCommerce {
    /// `rows` with each product whose synthesised SKU is another post's real one made a bad
    /// row; a query per 100 made-up SKUs, only when the page synthesised any.
    pub(super) async fn refuse_taken_synthetic_skus(
        &self,
        rows: Vec<Row>,
        meta: &Meta,
    ) -> anyhow::Result<Vec<Row>> {
        let synthesised: Vec<(String, u64)> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Good(SourceRecord::Product(p)) => Some(p),
                _ => None,
            })
            .flat_map(|p| &p.variants)
            .filter_map(|v| {
                let post = v.legacy_key.parse::<u64>().ok()?;
                let own = meta.str(post, "_sku");
                (own.trim().is_empty() && v.sku == super::synthetic_sku(post)).then(|| (v.sku.clone(), post))
            })
            .collect();
        if synthesised.is_empty() {
            return Ok(rows);
        }
        let owners = self.real_sku_owners(&synthesised).await?;
        if owners.is_empty() {
            return Ok(rows);
        }
        let posts = self.tables.posts.trim_matches('`').to_owned();
        Ok(rows
            .into_iter()
            .map(|row| {
                let Row::Good(SourceRecord::Product(p)) = &row else {
                    return row;
                };
                let taken = p.variants.iter().find_map(|v| {
                    let owner = owners.get(&v.sku)?;
                    let post: u64 = v.legacy_key.parse().ok()?;
                    (meta.str(post, "_sku").trim().is_empty() && *owner != post).then_some((v, *owner))
                });
                match taken {
                    Some((v, owner)) => Row::Bad(BadRow {
                        entity: Entity::Product,
                        legacy_key: p.legacy_key.clone(),
                        location: format!("{posts}.ID={}", v.legacy_key.trim_start_matches('0')),
                        reason: format!(
                            "post {} has no SKU and the one it would be given, {:?}, is post {owner}'s",
                            v.legacy_key.trim_start_matches('0'),
                            v.sku
                        ),
                    }),
                    None => row,
                }
            })
            .collect())
    }

    /// Which product or variation posts have one of `synthesised`'s SKUs as their real `_sku`
    /// (compared exactly: the column's collation ignores case). Looked up by the posts' ids
    /// (`meta::fetch_in`: short lists, sent as text): each made-up SKU is `WC-` and the digits
    /// of an id, so it can be written into the query as a literal.
    async fn real_sku_owners(&self, synthesised: &[(String, u64)]) -> anyhow::Result<HashMap<String, u64>> {
        let t = &self.tables;
        let mut posts: Vec<u64> = synthesised.iter().map(|(_, post)| *post).collect();
        posts.sort_unstable();
        posts.dedup();
        let rows = meta::fetch_in(&self.pool, &posts, |ids| {
            let skus = ids
                .split(',')
                .filter_map(|id| id.parse::<u64>().ok())
                .map(|id| format!("'{}'", super::synthetic_sku(id)))
                .collect::<Vec<_>>()
                .join(",");
            format!(
                "SELECT pm.post_id, CAST(pm.meta_value AS BINARY) FROM {} pm JOIN {} p ON p.ID = pm.post_id \
                 AND p.post_type IN ('product','product_variation') \
                 WHERE pm.meta_key = '_sku' AND pm.meta_value IN ({skus}) ORDER BY pm.post_id",
                t.postmeta, t.posts
            )
        })
        .await?;
        let mut owners = HashMap::new();
        for row in rows {
            let value: Vec<u8> = row.try_get(1)?;
            let value = String::from_utf8_lossy(&value).trim().to_owned();
            if synthesised.iter().any(|(sku, _)| *sku == value) {
                owners.entry(value).or_insert(row.try_get::<u64, _>(0)?);
            }
        }
        Ok(owners)
    }
}
