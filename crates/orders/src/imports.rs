//! Legacy imports into the orders service (ADR 0016): orders upserted by legacy key as history
//! (one `imported` event each time the source's order changes; no saga, no payment, no
//! reservation; published as `order_imported`, which analytics and customers' order counts take
//! and nobody is e-mailed about), and the checksums and records of a key range, built from the
//! stored histories, for reconciliation.

use crate::import_records::{legacy_order, record_of, refusal};
use crate::service::{OrdersService, store_id};
use crate::store::imports::{ImportBatch, Prepared};
use crate::store::imports_read::{ImportedRead, Start};
use mercato_proto::imports::*;
use mercato_runtime::error::ServiceError;
use mercato_runtime::imports::{
    Canonical, MAX_BATCH, MAX_RECORDS, MAX_SEGMENTS, SegmentBuilder, check_range, check_source,
};

/// Orders read per statement pair while checksums are summed.
const PAGE: i64 = 1000;

/// The range's store, checked, and that it asks for orders (the only entity kept here).
fn orders_range(
    range: Option<&KeyRange>,
) -> Result<(&KeyRange, mercato_runtime::ids::StoreId), ServiceError> {
    let range = range.ok_or_else(|| ServiceError::invalid_field("range", "must be given"))?;
    let store = store_id(&range.store_id)?;
    check_range(range)?;
    if range.entity() != Entity::Order {
        return Err(ServiceError::invalid_field(
            "entity",
            "the orders service keeps orders only",
        ));
    }
    Ok((range, store))
}

/// The record reconciliation compares for a stored order (`None`: not an imported one).
fn stored_record(read: &ImportedRead) -> Option<ImportedOrder> {
    read.order.as_legacy().map(|l| record_of(&l))
}

impl OrdersService {
    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_orders(
        &self,
        request: ImportOrdersRequest,
    ) -> Result<ImportReply, ServiceError> {
        let store = store_id(&request.store_id)?;
        check_source(&request.source)?;
        if request.orders.len() > MAX_BATCH {
            return Err(ServiceError::invalid_field(
                "orders",
                "at most 1000 records per call",
            ));
        }
        let records = request
            .orders
            .iter()
            .map(|o| match refusal(o) {
                Some(reason) => Prepared::Refused {
                    legacy_key: o.legacy_key.clone(),
                    reason,
                },
                None => Prepared::Ready(Box::new(legacy_order(&request.store_id, &request.source, o))),
            })
            .collect();
        let batch = ImportBatch {
            store,
            source: request.source,
            now_ms: mercato_runtime::time::now_ms(),
            records,
        };
        let outcomes = self.imports.import(batch).await?;
        let wrote = outcomes
            .iter()
            .any(|o| matches!(o.outcome(), Outcome::Created | Outcome::Updated));
        if wrote {
            self.committed();
        }
        Ok(ImportReply { outcomes })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(
        &self,
        request: ChecksumsRequest,
    ) -> Result<ChecksumsReply, ServiceError> {
        let (range, store) = orders_range(request.range.as_ref())?;
        if request.segments > MAX_SEGMENTS {
            return Err(ServiceError::invalid_field("segments", "at most 256"));
        }
        let total = self
            .imports
            .count(&store, &range.source, &range.from_key, &range.to_key)
            .await?;
        let mut segments = SegmentBuilder::new(range, total, request.segments);
        let mut start = Start {
            key: range.from_key.clone(),
            inclusive: true,
        };
        loop {
            let page = self
                .imports
                .page(&store, &range.source, start, &range.to_key, PAGE)
                .await?;
            for read in &page {
                if let Some(record) = stored_record(read) {
                    segments.push(&read.key, record.checksum());
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => {
                    start = Start {
                        key: last.key.clone(),
                        inclusive: false,
                    }
                }
                _ => break,
            }
        }
        Ok(ChecksumsReply {
            segments: segments.finish(),
        })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn imported_records(
        &self,
        request: RecordsRequest,
    ) -> Result<OrderRecords, ServiceError> {
        let (range, store) = orders_range(request.range.as_ref())?;
        if request.limit > MAX_RECORDS {
            return Err(ServiceError::invalid_field("limit", "at most 1000"));
        }
        let limit = if request.limit == 0 {
            MAX_RECORDS
        } else {
            request.limit
        };
        let start = Start {
            key: range.from_key.clone(),
            inclusive: true,
        };
        let page = self
            .imports
            .page(&store, &range.source, start, &range.to_key, i64::from(limit))
            .await?;
        Ok(OrderRecords {
            orders: page.iter().filter_map(stored_record).collect(),
        })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn get_import_progress(
        &self,
        request: ImportProgressRequest,
    ) -> Result<ImportProgress, ServiceError> {
        let store = store_id(&request.store_id)?;
        check_source(&request.source)?;
        let progress = self.imports.progress(&store, &request.source).await?;
        Ok(ImportProgress {
            entities: vec![EntityProgress {
                entity: Entity::Order as i32,
                count: progress.count,
                last_key: progress.last_key,
                last_modified_ms: progress.last_modified_ms,
            }],
            ..ImportProgress::default()
        })
    }
}
