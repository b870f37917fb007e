//! Legacy imports into the inventory service (ADR 0016): stock levels set by SKU, and the
//! checksums and records of a key range, built from what is stored, for reconciliation.
//!
//! A level is the SKU's on hand at the default location (`Location::DEFAULT`, where staff
//! writes without a location and reservations land), set like a staff `SetStock` (the threshold
//! kept, `stock_changed` and `low_stock` as usual). The rules: on hand never negative (that
//! record is rejected), never above the maximum, and never below what open reservations hold
//! there — such a level is rejected with the reason, the rest of the batch written, since
//! units promised to orders placed here must not vanish. An equal on hand is `unchanged`. The
//! record read back is the level as it is now, so units sold here since show as a difference.

use crate::domain::Sku;
use crate::service::InventoryService;
use crate::store::StoreError;
use crate::store::imports::StockWritten;
use mercato_proto::imports::*;
use mercato_runtime::error::{FieldError, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{
    Canonical, MAX_BATCH, MAX_RECORDS, SegmentBuilder, check_range, check_source,
};
use mercato_runtime::time::now_ms;
use std::collections::HashSet;

/// Attempts at a batch that raced another writer creating one of its rows.
const ATTEMPTS: usize = 3;

/// Why a level cannot be imported at all.
fn checked(s: &ImportedStock) -> Result<(), String> {
    Sku::parse("sku", &s.sku).map_err(|e| e.message)?;
    if s.on_hand < 0 {
        return Err(FieldError::new("on_hand", "may not be negative").to_string());
    }
    if s.on_hand > crate::domain::stock::MAX_ON_HAND {
        return Err(FieldError::new("on_hand", "is above the maximum of 1000000000").to_string());
    }
    Ok(())
}

fn outcome(sku: &str, outcome: Outcome, reason: String) -> RecordOutcome {
    let target_id = match outcome {
        Outcome::Rejected => String::new(),
        _ => sku.to_owned(),
    };
    RecordOutcome {
        legacy_key: sku.to_owned(),
        outcome: outcome as i32,
        reason,
        target_id,
    }
}

fn from_written(sku: &str, written: StockWritten) -> RecordOutcome {
    match written {
        StockWritten::Created => outcome(sku, Outcome::Created, String::new()),
        StockWritten::Updated => outcome(sku, Outcome::Updated, String::new()),
        StockWritten::Unchanged => outcome(sku, Outcome::Unchanged, String::new()),
        StockWritten::Rejected(reason) => outcome(sku, Outcome::Rejected, reason),
    }
}

/// The store of a range request, refusing any entity but stock.
fn stock_range(range: Option<&KeyRange>) -> Result<(&KeyRange, StoreId), ServiceError> {
    let range = range.ok_or_else(|| ServiceError::invalid_field("range", "must be given"))?;
    check_range(range)?;
    if range.entity() != Entity::Stock {
        return Err(ServiceError::invalid_field(
            "entity",
            "inventory holds stock only",
        ));
    }
    Ok((range, StoreId::parse("store_id", &range.store_id)?))
}

impl InventoryService {
    /// See `proto/mercato/imports.proto`. A level's target id is its SKU.
    pub(crate) async fn import_stock(
        &self,
        request: ImportStockRequest,
    ) -> Result<ImportReply, ServiceError> {
        check_source(&request.source)?;
        let store = StoreId::parse("store_id", &request.store_id)?;
        if request.levels.len() > MAX_BATCH {
            return Err(ServiceError::invalid_field(
                "levels",
                "at most 1000 records at once",
            ));
        }
        let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; request.levels.len()];
        let mut accepted = Vec::new();
        let mut seen = HashSet::new();
        for (i, s) in request.levels.iter().enumerate() {
            match checked(s) {
                Err(why) => outcomes[i] = Some(outcome(&s.sku, Outcome::Rejected, why)),
                Ok(()) if !seen.insert(s.sku.as_str()) => {
                    let why = "sku appears twice in the batch".to_owned();
                    outcomes[i] = Some(outcome(&s.sku, Outcome::Rejected, why));
                }
                Ok(()) => accepted.push((i, s.clone())),
            }
        }
        let (indexes, levels): (Vec<usize>, Vec<ImportedStock>) = accepted.into_iter().unzip();
        let written = self.write_imported(store, &request.source, levels).await?;
        for (i, w) in indexes.into_iter().zip(written) {
            outcomes[i] = Some(from_written(&request.levels[i].sku, w));
        }
        self.committed();
        Ok(ImportReply {
            outcomes: outcomes.into_iter().flatten().collect(),
        })
    }

    /// The batch, again when another writer created one of its rows first.
    async fn write_imported(
        &self,
        store: StoreId,
        source: &str,
        levels: Vec<ImportedStock>,
    ) -> Result<Vec<StockWritten>, ServiceError> {
        for _ in 0..ATTEMPTS {
            match self
                .imports
                .import_stock(store, source, levels.clone(), now_ms())
                .await
            {
                Err(StoreError::Stale) => continue,
                other => return Ok(other?),
            }
        }
        Err(StoreError::Stale.into())
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(
        &self,
        request: ChecksumsRequest,
    ) -> Result<ChecksumsReply, ServiceError> {
        let (range, store) = stock_range(request.range.as_ref())?;
        let levels = self
            .imports
            .imported_stock(store, &range.source, &range.from_key, &range.to_key, None)
            .await?;
        let mut segments = SegmentBuilder::new(range, levels.len() as u64, request.segments);
        for s in &levels {
            segments.push(&s.sku, s.checksum());
        }
        Ok(ChecksumsReply {
            segments: segments.finish(),
        })
    }

    /// See `proto/mercato/imports.proto`. A limit of 0 or above 1,000 means 1,000.
    pub(crate) async fn imported_records(
        &self,
        request: RecordsRequest,
    ) -> Result<StockRecords, ServiceError> {
        let (range, store) = stock_range(request.range.as_ref())?;
        let limit = match request.limit {
            0 => MAX_RECORDS,
            n => n.min(MAX_RECORDS),
        };
        let levels = self
            .imports
            .imported_stock(store, &range.source, &range.from_key, &range.to_key, Some(limit))
            .await?;
        Ok(StockRecords { levels })
    }

    /// See `proto/mercato/imports.proto`: inventory's one entity, stock.
    pub(crate) async fn get_import_progress(
        &self,
        request: ImportProgressRequest,
    ) -> Result<ImportProgress, ServiceError> {
        check_source(&request.source)?;
        let store = StoreId::parse("store_id", &request.store_id)?;
        let p = self.imports.stock_import_progress(store, &request.source).await?;
        Ok(ImportProgress {
            entities: vec![EntityProgress {
                entity: Entity::Stock as i32,
                count: p.count,
                last_key: p.last_key,
                last_modified_ms: p.last_modified_ms,
            }],
            ..ImportProgress::default()
        })
    }
}
