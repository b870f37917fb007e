//! Loading the meta rows (`wp_postmeta`, `wp_usermeta`, order item meta) of a page of owners,
//! queries over short id lists (`fetch_in`), and the SQL pieces the scans share.

use sqlx::mysql::MySqlRow;
use sqlx::{MySqlPool, Row as _};
use std::collections::HashMap;

/// Meta values by owner id, then key (the first row of a key wins, as `get_post_meta(…, true)`).
#[derive(Debug, Default)]
pub(crate) struct Meta(HashMap<u64, HashMap<String, Vec<u8>>>);

impl Meta {
    /// One owner's value of `key`, as bytes.
    pub(crate) fn get(&self, owner: u64, key: &str) -> Option<&[u8]> {
        self.0.get(&owner)?.get(key).map(Vec::as_slice)
    }

    /// One owner's value of `key` as text (lossy: for numbers and flags, never for names).
    pub(crate) fn str(&self, owner: u64, key: &str) -> String {
        self.get(owner, key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    }
}

/// The most ids one `IN (…)` list holds. From 200 values (`eq_range_index_dive_limit`, the
/// default of MariaDB and MySQL) the optimiser estimates the list's rows from index statistics
/// instead of looking each value up, and with the statistics of a freshly loaded meta table it
/// then chose to read the whole table and sort it: a page's item meta took 300–560 ms instead
/// of a few, and the import ran at a sixth of its speed on some runs. From 1,000 values MariaDB
/// also turns the list into a derived table (`in_predicate_conversion_threshold`).
const IN_LIST_MAX: usize = 100;

/// A comma-separated id list for `IN (…)` (never empty: `fetch_in` sends no empty chunk).
fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// Chunks of one list read at once, each on a connection of its own: a page's reads are a few
/// dozen short queries, and one after the other they kept the import waiting on the reader
/// (the platform's batch took ~90 ms of the ~200 between batches).
const CHUNKS_AT_ONCE: usize = 4;

/// The rows of the query `sql_for` builds around an `IN (…)` list, for `ids` in chunks of at
/// most `IN_LIST_MAX` (up to `CHUNKS_AT_ONCE` at a time), in chunk order: with `ids` sorted and
/// the query ordered by the listed column first, the rows come in the order one query would
/// give. No ids, no query.
///
/// Sent as plain text, not prepared: each list makes a new statement text, and the driver's
/// cache of prepared statements then closes an old one for every new one. A close has no
/// answer, so the command after it waited for the server's delayed acknowledgement (the driver
/// does not set `TCP_NODELAY`): 43 ms per query, most of a page's time.
pub(crate) async fn fetch_in(
    pool: &MySqlPool,
    ids: &[u64],
    sql_for: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<MySqlRow>> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let queries: Vec<_> = ids
        .chunks(IN_LIST_MAX)
        .map(|chunk| {
            let (pool, sql) = (pool.clone(), sql_for(&id_list(chunk)));
            async move { sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await }
        })
        .collect();
    let pages: Vec<Vec<MySqlRow>> = futures::stream::iter(queries)
        .buffered(CHUNKS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(pages.into_iter().flatten().collect())
}

/// A quoted list of fixed keys for `IN (…)`.
pub(crate) fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The meta of `owners` from `table` (owner column `owner`), restricted by `key_filter` (an SQL
/// condition on `meta_key`).
pub(crate) async fn load(
    pool: &MySqlPool,
    table: &str,
    owner: &str,
    owners: &[u64],
    key_filter: &str,
) -> anyhow::Result<Meta> {
    let mut meta = Meta::default();
    // A key given twice (plugins duplicate `_sku`, WooCommerce writes several `_price` rows)
    // resolves to its first row, the same on every read.
    let row_id = if owner == "user_id" { "umeta_id" } else { "meta_id" };
    let rows = fetch_in(pool, owners, |list| {
        format!(
            "SELECT {owner}, meta_key, CAST(meta_value AS BINARY) FROM {table} \
             WHERE {owner} IN ({list}) AND ({key_filter}) ORDER BY {owner}, {row_id}"
        )
    })
    .await?;
    for row in rows {
        let id: u64 = row.try_get(0)?;
        let key: Option<String> = row.try_get(1)?;
        let value: Option<Vec<u8>> = row.try_get(2)?;
        meta.0
            .entry(id)
            .or_default()
            .entry(key.unwrap_or_default())
            .or_insert_with(|| value.unwrap_or_default());
    }
    Ok(meta)
}

/// An SQL expression for the `datetime` `seconds` after the epoch (seconds bound as `?`).
pub(crate) const AT_SECONDS: &str = "TIMESTAMPADD(SECOND, ?, '1970-01-01 00:00:00')";
