//! Categories (`product_cat` terms) and products (`product` posts, their `product_variation`
//! children, meta, categories and images), one page at a time.

use super::meta::{self, AT_SECONDS, Meta, fetch_in};
use super::values::text;
use super::{WooCommerce, after_id, since_s};
use crate::source::{BadRow, Row, ScanFrom, SourceRecord};
use mercato_proto::imports::{Entity, ImportedCategory};
use mercato_runtime::imports::numeric_key;
use mercato_runtime::legacy_slugs::catalog_slug;
use sqlx::Row as _;
use sqlx::mysql::MySqlRow;
use std::collections::HashMap;

/// A `wp_posts` row of a product or variation.
pub(super) struct PostRow {
    pub id: u64,
    pub post_type: String,
    pub status: String,
    pub title: Vec<u8>,
    pub name: Vec<u8>,
    pub content: Vec<u8>,
    pub modified_s: Option<i64>,
    pub parent: u64,
}

pub(super) const POST_SELECT: &str = "p.ID, p.post_type, p.post_status, CAST(p.post_title AS BINARY), \
    CAST(p.post_name AS BINARY), CAST(p.post_content AS BINARY), \
    TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', p.post_modified_gmt), p.post_parent";

impl PostRow {
    pub(super) fn from_row(row: &MySqlRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            post_type: row.try_get(1)?,
            status: row.try_get(2)?,
            title: row.try_get(3)?,
            name: row.try_get(4)?,
            content: row.try_get(5)?,
            modified_s: row.try_get(6)?,
            parent: row.try_get(7)?,
        })
    }
}

/// WordPress stores `&` in term names as `&amp;` (and a few more entities).
fn unescape_term(name: String) -> String {
    if !name.contains('&') {
        return name;
    }
    name.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&amp;", "&")
}

impl WooCommerce {
    /// Categories have no modification time: `modified_since` gives them all again.
    pub(super) async fn scan_categories(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let t = &self.tables;
        let sql = format!(
            "SELECT t.term_id, CAST(t.name AS BINARY), CAST(t.slug AS BINARY), tt.parent \
             FROM {} t JOIN {} tt ON tt.term_id = t.term_id AND tt.taxonomy = 'product_cat' \
             WHERE t.term_id > ? ORDER BY t.term_id LIMIT ?",
            t.terms, t.term_taxonomy
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_id(from)?)
            .bind(limit as u64)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: u64 = row.try_get(0)?;
            let name: Vec<u8> = row.try_get(1)?;
            let slug: Vec<u8> = row.try_get(2)?;
            let parent: u64 = row.try_get(3)?;
            let category = text("name", &name).and_then(|name| {
                Ok(ImportedCategory {
                    legacy_key: numeric_key(id),
                    name: unescape_term(name),
                    slug: catalog_slug(&text("slug", &slug)?, "category", id),
                    parent_legacy_key: if parent == 0 {
                        String::new()
                    } else {
                        numeric_key(parent)
                    },
                    modified_at_ms: 0,
                })
            });
            out.push(match category {
                Ok(c) => Row::Good(SourceRecord::Category(c)),
                Err(reason) => Row::Bad(BadRow {
                    entity: Entity::Category,
                    legacy_key: numeric_key(id),
                    location: format!("{}.term_id={id}", t.terms.trim_matches('`')),
                    reason,
                }),
            });
        }
        Ok(out)
    }

    pub(super) async fn scan_products(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let posts = self.product_posts(from, limit).await?;
        let parents: Vec<u64> = posts
            .iter()
            .filter(|p| p.post_type == "product")
            .map(|p| p.id)
            .collect();
        let variations = self.variations(&parents).await?;
        let mut owners = parents.clone();
        owners.extend(variations.values().flatten().map(|v| v.id));
        let meta = meta::load(
            &self.pool,
            &self.tables.postmeta,
            "post_id",
            &owners,
            "meta_key IN ('_sku','_regular_price','_price','_weight','_virtual','_thumbnail_id',\
             '_product_image_gallery','_product_attributes') OR meta_key LIKE 'attribute\\_%'",
        )
        .await?;
        let categories = self.first_categories(&parents).await?;
        let images = self.image_urls(&parents, &meta).await?;
        let shop = self.shop().await?;
        let page = super::products::Page {
            shop,
            meta: &meta,
            variations: &variations,
            categories: &categories,
            images: &images,
            posts_table: self.tables.posts.trim_matches('`'),
        };
        let rows = posts.iter().map(|p| page.row(p)).collect();
        self.refuse_taken_synthetic_skus(rows, &meta).await
    }

    async fn product_posts(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<PostRow>> {
        let t = &self.tables;
        let since = since_s(from);
        let changed = if since.is_some() {
            format!(
                "AND (p.post_modified_gmt >= {AT_SECONDS} OR EXISTS (SELECT 1 FROM {} v \
                 WHERE v.post_parent = p.ID AND v.post_type = 'product_variation' \
                 AND v.post_modified_gmt >= {AT_SECONDS}))",
                t.posts
            )
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {POST_SELECT} FROM {posts} p \
             LEFT JOIN {posts} parent ON parent.ID = p.post_parent AND parent.post_type = 'product' \
             WHERE p.ID > ? AND ((p.post_type = 'product' \
               AND p.post_status IN ('publish','future','draft','pending','private','trash')) \
               OR (p.post_type = 'product_variation' AND parent.ID IS NULL)) {changed} \
             ORDER BY p.ID LIMIT ?",
            posts = t.posts
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after_id(from)?);
        if let Some(s) = since {
            query = query.bind(s).bind(s);
        }
        let rows = query.bind(limit as u64).fetch_all(&self.pool).await?;
        rows.iter().map(PostRow::from_row).collect()
    }

    /// The variations of each parent, in menu order.
    async fn variations(&self, parents: &[u64]) -> anyhow::Result<HashMap<u64, Vec<PostRow>>> {
        let mut by_parent: HashMap<u64, Vec<PostRow>> = HashMap::new();
        let rows = fetch_in(&self.pool, parents, |list| {
            format!(
                "SELECT {POST_SELECT} FROM {} p WHERE p.post_parent IN ({list}) \
                 AND p.post_type = 'product_variation' ORDER BY p.post_parent, p.menu_order, p.ID",
                self.tables.posts
            )
        })
        .await?;
        for row in rows {
            let post = PostRow::from_row(&row)?;
            by_parent.entry(post.parent).or_default().push(post);
        }
        Ok(by_parent)
    }

    /// Each product's first `product_cat` term (by term order, then id).
    async fn first_categories(&self, parents: &[u64]) -> anyhow::Result<HashMap<u64, u64>> {
        let t = &self.tables;
        let rows = fetch_in(&self.pool, parents, |list| {
            format!(
                "SELECT tr.object_id, tt.term_id FROM {} tr JOIN {} tt \
                 ON tt.term_taxonomy_id = tr.term_taxonomy_id AND tt.taxonomy = 'product_cat' \
                 WHERE tr.object_id IN ({list}) ORDER BY tr.object_id, tr.term_order, tt.term_id",
                t.term_relationships, t.term_taxonomy
            )
        })
        .await?;
        let mut first = HashMap::new();
        for row in rows {
            first
                .entry(row.try_get::<u64, _>(0)?)
                .or_insert(row.try_get::<u64, _>(1)?);
        }
        Ok(first)
    }

    /// Each product's image URLs: its thumbnail, then its gallery, by the attachments' `guid`.
    async fn image_urls(&self, parents: &[u64], meta: &Meta) -> anyhow::Result<HashMap<u64, Vec<String>>> {
        let mut wanted: HashMap<u64, Vec<u64>> = HashMap::new();
        for &id in parents {
            let mut ids: Vec<u64> = Vec::new();
            let listed = format!(
                "{},{}",
                meta.str(id, "_thumbnail_id"),
                meta.str(id, "_product_image_gallery")
            );
            for n in listed.split(',').filter_map(|s| s.trim().parse::<u64>().ok()) {
                if n != 0 && !ids.contains(&n) {
                    ids.push(n);
                }
            }
            wanted.insert(id, ids);
        }
        let mut all: Vec<u64> = wanted.values().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let mut guid: HashMap<u64, String> = HashMap::new();
        let rows = fetch_in(&self.pool, &all, |list| {
            format!(
                "SELECT ID, CAST(guid AS BINARY) FROM {} WHERE ID IN ({list}) AND post_type = 'attachment'",
                self.tables.posts
            )
        })
        .await?;
        for row in rows {
            let url: Vec<u8> = row.try_get(1)?;
            guid.insert(row.try_get(0)?, String::from_utf8_lossy(&url).into_owned());
        }
        Ok(wanted
            .into_iter()
            .map(|(id, ids)| (id, ids.iter().filter_map(|a| guid.get(a).cloned()).collect()))
            .collect())
    }
}

/// Seconds as epoch milliseconds (0 when unknown).
pub(super) fn ms(seconds: Option<i64>) -> i64 {
    seconds.map_or(0, |s| s.saturating_mul(1000))
}
