//! The service calls behind the import routes: each entity goes to the service that owns it
//! (catalog: categories and products; inventory: stock; identity: customers; orders: orders).

use crate::dto_imports::{
    EntityProgressView, ImportBatch, ImportCustomer, ImportPassEvent, ImportProgressView,
    ImportWatermarkView, ImportedRecordsView, PassEventName, entity_path_name,
};
use crate::state::GatewayState;
use mercato_proto::imports::{
    ChecksumsReply, ChecksumsRequest, Entity, EntityProgress, ImportCategoriesRequest,
    ImportCustomersRequest, ImportOrdersRequest, ImportPass, ImportProductsRequest, ImportProgress,
    ImportProgressRequest, ImportReply, ImportStockRequest, KeyRange, Outcome, PassEvent, RecordsRequest,
};
use mercato_runtime::error::ServiceError;
use mercato_runtime::imports::MAX_BATCH;

/// The entities in the order an import goes through them (and progress lists them).
const IMPORT_ORDER: [Entity; 5] = [
    Entity::Category,
    Entity::Product,
    Entity::Stock,
    Entity::Customer,
    Entity::Order,
];

/// Imports the path entity's list of `batch` into the store through its owning service.
pub(super) async fn import(
    state: &GatewayState,
    store_id: &str,
    source: String,
    entity: Entity,
    batch: ImportBatch,
) -> Result<ImportReply, ServiceError> {
    check_batch(&batch, entity)?;
    let store_id = store_id.to_owned();
    match entity {
        _ if batch_len(&batch, entity) == 0 => Ok(ImportReply::default()),
        Entity::Category => {
            let categories = batch.categories.into_iter().map(Into::into).collect();
            let request = ImportCategoriesRequest {
                store_id: store_id.clone(),
                source,
                categories,
            };
            let reply = state.catalog().import_categories(request).await?;
            evict_reads_if_written(state, &store_id, &reply);
            Ok(reply)
        }
        Entity::Product => {
            let products = batch.products.into_iter().map(Into::into).collect();
            let request = ImportProductsRequest {
                store_id: store_id.clone(),
                source,
                products,
            };
            let reply = state.catalog().import_products(request).await?;
            evict_reads_if_written(state, &store_id, &reply);
            Ok(reply)
        }
        Entity::Stock => {
            let levels = batch.stock.into_iter().map(Into::into).collect();
            let request = ImportStockRequest {
                store_id,
                source,
                levels,
            };
            state.inventory().import_stock(request).await
        }
        Entity::Customer => {
            let customers = batch.customers.into_iter().map(Into::into).collect();
            let request = ImportCustomersRequest {
                store_id,
                source,
                customers,
            };
            state.identity().import_customers(request).await
        }
        Entity::Order => {
            let orders = batch.orders.into_iter().map(Into::into).collect();
            let request = ImportOrdersRequest {
                store_id,
                source,
                orders,
            };
            state.orders().import_orders(request).await
        }
        Entity::Unspecified => Err(ServiceError::not_found("import entity")),
    }
}

/// How many records `batch` holds of `entity`.
fn batch_len(batch: &ImportBatch, entity: Entity) -> usize {
    match entity {
        Entity::Category => batch.categories.len(),
        Entity::Product => batch.products.len(),
        Entity::Stock => batch.stock.len(),
        Entity::Customer => batch.customers.len(),
        Entity::Order | Entity::Unspecified => batch.orders.len(),
    }
}

/// Refuses a batch whose records are not all of the path's entity, or that holds more than
/// [`MAX_BATCH`]: a record in the wrong list would otherwise be dropped without a word.
fn check_batch(batch: &ImportBatch, entity: Entity) -> Result<(), ServiceError> {
    let wanted = entity_path_name(entity);
    for other in IMPORT_ORDER {
        let name = entity_path_name(other);
        if name != wanted && batch_len(batch, other) > 0 {
            return Err(ServiceError::invalid_field(
                name,
                &format!("must be empty: this path imports {wanted}"),
            ));
        }
    }
    if batch_len(batch, entity) > MAX_BATCH {
        return Err(ServiceError::invalid_field(
            wanted,
            &format!("must hold at most {MAX_BATCH} records"),
        ));
    }
    Ok(())
}

/// The catalog's public reads this gateway caches are stale once a category or product was
/// written (other gateways hear of it through the catalog's events).
fn evict_reads_if_written(state: &GatewayState, store_id: &str, reply: &ImportReply) {
    let written = reply
        .outcomes
        .iter()
        .any(|o| matches!(o.outcome(), Outcome::Created | Outcome::Updated));
    if written {
        state.reads().invalidate(store_id);
    }
}

/// The checksums of `range` in `segments` parts, from the entity's service.
pub(super) async fn checksums(
    state: &GatewayState,
    range: KeyRange,
    segments: u32,
) -> Result<ChecksumsReply, ServiceError> {
    let entity = range.entity();
    let request = ChecksumsRequest {
        range: Some(range),
        segments,
    };
    match entity {
        Entity::Category | Entity::Product => state.catalog().import_checksums(request).await,
        Entity::Stock => state.inventory().import_checksums(request).await,
        Entity::Customer => state.identity().import_checksums(request).await,
        Entity::Order => state.orders().import_checksums(request).await,
        Entity::Unspecified => Err(ServiceError::not_found("import entity")),
    }
}

/// The first `limit` records of `range` as stored, in the list named after the entity.
pub(super) async fn records(
    state: &GatewayState,
    range: KeyRange,
    limit: u32,
) -> Result<ImportedRecordsView, ServiceError> {
    let entity = range.entity();
    let request = RecordsRequest {
        range: Some(range),
        limit,
    };
    let mut view = ImportedRecordsView::default();
    match entity {
        Entity::Category => {
            let records = state.catalog().imported_records(request).await?;
            view.categories = records.categories.into_iter().map(Into::into).collect();
        }
        Entity::Product => {
            let records = state.catalog().imported_records(request).await?;
            view.products = records.products.into_iter().map(Into::into).collect();
        }
        Entity::Stock => {
            let records = state.inventory().imported_records(request).await?;
            view.stock = records.levels.into_iter().map(Into::into).collect();
        }
        Entity::Customer => {
            let records = state.identity().imported_records(request).await?;
            view.customers = records
                .customers
                .into_iter()
                .map(|c| ImportCustomer::from(c).without_password())
                .collect();
        }
        Entity::Order => {
            let records = state.orders().imported_records(request).await?;
            view.orders = records.orders.into_iter().map(Into::into).collect();
        }
        Entity::Unspecified => return Err(ServiceError::not_found("import entity")),
    }
    Ok(view)
}

/// Every entity's progress, asked of the four services at once.
pub(super) async fn progress(
    state: &GatewayState,
    store_id: &str,
    source: String,
) -> Result<ImportProgressView, ServiceError> {
    let request = ImportProgressRequest {
        store_id: store_id.to_owned(),
        source,
    };
    let (catalog, inventory, identity, orders) = tokio::try_join!(
        state.catalog().get_import_progress(request.clone()),
        state.inventory().get_import_progress(request.clone()),
        state.identity().get_import_progress(request.clone()),
        state.orders().get_import_progress(request),
    )?;
    // Each entity only as its owner reports it, so a service cannot speak for another's.
    let owner = |entity: Entity| -> &ImportProgress {
        match entity {
            Entity::Category | Entity::Product => &catalog,
            Entity::Stock => &inventory,
            Entity::Customer => &identity,
            Entity::Order | Entity::Unspecified => &orders,
        }
    };
    let entities = IMPORT_ORDER
        .into_iter()
        .map(|entity| {
            let found = owner(entity).entities.iter().find(|e| e.entity() == entity);
            progress_view(entity, found)
        })
        .collect();
    Ok(ImportProgressView {
        entities,
        watermark_ms: identity.watermark_ms,
        pass_began_ms: identity.pass_began_ms,
    })
}

/// Tells identity that a pass of the store's import of `source` began or finished.
pub(super) async fn record_pass(
    state: &GatewayState,
    store_id: &str,
    source: String,
    pass: ImportPassEvent,
) -> Result<ImportWatermarkView, ServiceError> {
    if pass.source_clock_ms <= 0 {
        return Err(ServiceError::invalid_field(
            "source_clock_ms",
            "the source's clock when the pass began, epoch ms above 0",
        ));
    }
    let event = match pass.event {
        PassEventName::Began => PassEvent::Began,
        PassEventName::Finished => PassEvent::Finished,
    };
    let reply = state
        .identity()
        .record_import_pass(ImportPass {
            store_id: store_id.to_owned(),
            source,
            event: event as i32,
            source_clock_ms: pass.source_clock_ms,
        })
        .await?;
    Ok(ImportWatermarkView {
        watermark_ms: reply.watermark_ms,
        pass_began_ms: reply.pass_began_ms,
    })
}

/// One entity's progress; zero when its service has imported none.
fn progress_view(entity: Entity, found: Option<&EntityProgress>) -> EntityProgressView {
    EntityProgressView {
        entity: entity_path_name(entity).to_owned(),
        count: found.map_or(0, |e| e.count),
        last_key: found.map(|e| e.last_key.clone()).unwrap_or_default(),
        last_modified_ms: found.map_or(0, |e| e.last_modified_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto_imports::{ImportOrder, ImportStock};

    fn stock(n: usize) -> Vec<ImportStock> {
        (0..n)
            .map(|i| ImportStock {
                sku: format!("SKU-{i}"),
                on_hand: 1,
                modified_at_ms: 0,
            })
            .collect()
    }

    #[test]
    fn a_batch_holds_only_the_path_entitys_records() {
        let batch = ImportBatch {
            stock: stock(2),
            orders: vec![ImportOrder::default()],
            ..Default::default()
        };
        let error = check_batch(&batch, Entity::Stock).unwrap_err();
        assert_eq!(error.fields[0].field, "orders");
        assert!(
            check_batch(
                &ImportBatch {
                    stock: stock(2),
                    ..Default::default()
                },
                Entity::Stock
            )
            .is_ok()
        );
    }

    #[test]
    fn a_batch_holds_at_most_a_thousand_records() {
        assert!(
            check_batch(
                &ImportBatch {
                    stock: stock(MAX_BATCH),
                    ..Default::default()
                },
                Entity::Stock
            )
            .is_ok()
        );
        let over = ImportBatch {
            stock: stock(MAX_BATCH + 1),
            ..Default::default()
        };
        assert_eq!(
            check_batch(&over, Entity::Stock).unwrap_err().fields[0].field,
            "stock"
        );
    }

    #[test]
    fn progress_of_an_entity_never_imported_is_zero() {
        let view = progress_view(Entity::Customer, None);
        assert_eq!(
            (view.entity.as_str(), view.count, view.last_key.as_str()),
            ("customers", 0, "")
        );
    }
}
