//! An endpoint as stored, its wire form, and which event types it receives.

use mercato_proto::notifications::{Endpoint, EndpointStatus};
use mercato_runtime::db::{DbError, FromRow, FromValue, RowAccess, Tx};

/// Stored statuses.
pub(crate) mod status {
    pub const ENABLED: &str = "enabled";
    pub const DISABLED: &str = "disabled";
    pub const FAILING: &str = "failing";
}

/// The columns [`EndpointRow`] reads, in order.
pub(crate) const COLUMNS: &str = "id, store_id, url, event_types, description, status, disabled_reason, \
     secret_generation, secret_sealed, secret_hint, previous_secret_sealed, previous_secret_expires_at, \
     failing_since, last_success_at, created_at, updated_at";

/// One `webhook_endpoints` row.
#[derive(Clone, Debug)]
pub(crate) struct EndpointRow {
    pub id: String,
    pub store_id: String,
    pub url: String,
    /// Space-separated type names, or `*`.
    pub event_types: String,
    pub description: String,
    pub status: String,
    pub disabled_reason: String,
    pub secret_generation: i64,
    pub secret_sealed: String,
    pub secret_hint: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: i64,
    pub failing_since: i64,
    pub last_success_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

fn col<T: FromValue>(row: &dyn RowAccess, index: usize) -> Result<T, DbError> {
    T::from_value(row.column(index)?).map_err(|e| match e {
        DbError::Decode(m) => DbError::Decode(format!("webhook_endpoints column {index}: {m}")),
        e => e,
    })
}

impl FromRow for EndpointRow {
    fn from_row(row: &dyn RowAccess) -> Result<Self, DbError> {
        Ok(EndpointRow {
            id: col(row, 0)?,
            store_id: col(row, 1)?,
            url: col(row, 2)?,
            event_types: col(row, 3)?,
            description: col(row, 4)?,
            status: col(row, 5)?,
            disabled_reason: col(row, 6)?,
            secret_generation: col(row, 7)?,
            secret_sealed: col(row, 8)?,
            secret_hint: col(row, 9)?,
            previous_secret_sealed: col(row, 10)?,
            previous_secret_expires_at: col(row, 11)?,
            failing_since: col(row, 12)?,
            last_success_at: col(row, 13)?,
            created_at: col(row, 14)?,
            updated_at: col(row, 15)?,
        })
    }
}

impl EndpointRow {
    /// The wire form (never the secret).
    pub(crate) fn to_proto(&self, now: i64) -> Endpoint {
        let status = match self.status.as_str() {
            status::ENABLED => EndpointStatus::Enabled,
            status::DISABLED => EndpointStatus::Disabled,
            status::FAILING => EndpointStatus::Failing,
            _ => EndpointStatus::Unspecified,
        };
        let overlap_left = self.previous_secret_sealed.is_some() && self.previous_secret_expires_at > now;
        Endpoint {
            id: self.id.clone(),
            store_id: self.store_id.clone(),
            url: self.url.clone(),
            event_types: self
                .event_types
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            description: self.description.clone(),
            status: status as i32,
            disabled_reason: self.disabled_reason.clone(),
            created_at_ms: self.created_at,
            updated_at_ms: self.updated_at,
            failing_since_ms: self.failing_since,
            last_success_at_ms: self.last_success_at,
            previous_secret_expires_at_ms: if overlap_left {
                self.previous_secret_expires_at
            } else {
                0
            },
            secret_hint: self.secret_hint.clone(),
        }
    }
}

/// Whether the stored type list `types` includes `name`.
pub(crate) fn subscribes(types: &str, name: &str) -> bool {
    types.split(' ').any(|t| t == "*" || t == name)
}

/// The endpoint `id` of `store`, if any (locked on PostgreSQL when `lock`).
pub(crate) fn load(
    tx: &mut Tx<'_>,
    store: &str,
    id: &str,
    lock: bool,
) -> Result<Option<EndpointRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE store_id = $1 AND id = $2{}",
        if lock { tx.lock_rows() } else { "" }
    );
    tx.query_opt(&sql, &[&store, &id])
}

/// Cancels the pending deliveries of an endpoint (disabled, failing or deleted).
pub(crate) fn cancel_pending(
    tx: &mut Tx<'_>,
    store: &str,
    endpoint_id: &str,
    now: i64,
) -> Result<u64, DbError> {
    let cancelled = tx.execute(
        "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = $3, lease_owner = NULL, \
         lease_until = 0 WHERE endpoint_id = $2 AND status = 'pending' AND store_id = $1",
        &[&store, &endpoint_id, &now],
    )?;
    super::metrics::finished("cancelled", cancelled);
    Ok(cancelled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_star_subscribes_to_everything() {
        assert!(super::subscribes("*", "order.placed"));
        assert!(super::subscribes("order.placed stock.low", "stock.low"));
        assert!(!super::subscribes("order.placed", "order.placed2"));
    }
}
