//! A running inventory for tests: a fresh database of the backend under test and the service
//! behind its client.

use mercato_inventory::InventoryService;
use mercato_proto::events::EventEnvelope;
use mercato_proto::inventory::*;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::db::Db;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// One inventory replica; its relay is not running, so every event stays in the outbox to be
/// inspected.
pub struct Inventory {
    pub client: InventoryClient,
    pub service: Arc<InventoryService>,
    pub db: Db,
}

impl Inventory {
    /// A fresh inventory on a new database of `backend`.
    pub async fn on(backend: Backend) -> Inventory {
        Inventory::start(backend.database().await).await
    }

    pub async fn start(db: Db) -> Inventory {
        mercato_runtime::testing::init_logs();
        let service = InventoryService::new(db.clone(), Arc::new(Notify::new()))
            .await
            .expect("inventory starts");
        Inventory {
            client: InventoryClient::local(service.clone(), Duration::from_secs(30)),
            service,
            db,
        }
    }

    /// Another replica on the same database.
    pub async fn replica(&self) -> Inventory {
        Inventory::start(self.db.clone()).await
    }

    /// Counts rows with a fixed, test-controlled query.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// Every event in the outbox, oldest first.
    pub async fn outbox(&self) -> Vec<EventEnvelope> {
        mercato_runtime::testing::outbox_events(&self.db).await
    }

    /// The outbox events with `subject`.
    pub async fn events(&self, subject: &str) -> Vec<EventEnvelope> {
        let mut all = self.outbox().await;
        all.retain(|e| e.subject == subject);
        all
    }

    /// Sets `on_hand` of a SKU at a location.
    pub async fn set(&self, store: &StoreId, sku: &str, location: &str, on_hand: i64) -> StockLevel {
        self.client
            .set_stock(SetStockRequest {
                store_id: store.to_string(),
                sku: sku.into(),
                location: location.into(),
                on_hand,
                low_stock_threshold: None,
            })
            .await
            .expect("stock set")
    }

    pub async fn get(&self, store: &StoreId, sku: &str) -> Result<StockLevels, ServiceError> {
        self.client
            .get_stock(GetStockRequest {
                store_id: store.to_string(),
                sku: sku.into(),
            })
            .await
    }

    /// The level of a SKU at one location.
    pub async fn level(&self, store: &StoreId, sku: &str, location: &str) -> StockLevel {
        let levels = self.get(store, sku).await.expect("stock exists");
        levels
            .locations
            .into_iter()
            .find(|l| l.location == location)
            .unwrap_or_else(|| panic!("no stock of {sku} at {location}"))
    }

    pub async fn reserve(
        &self,
        store: &StoreId,
        id: &str,
        lines: &[(&str, i64)],
        ttl_seconds: i64,
    ) -> Result<Reservation, ServiceError> {
        match self.reserve_outcome(store, id, lines, ttl_seconds).await?.outcome {
            Some(reserve_response::Outcome::Reserved(r)) => Ok(r),
            // Tests of holds and races count a shortage as the 409 a client would see.
            Some(reserve_response::Outcome::Insufficient(s)) => Err(ServiceError::new(
                ErrorCode::OutOfStock,
                format!("insufficient stock for SKU {}", s.sku),
            )),
            None => panic!("a reserve answer without an outcome"),
        }
    }

    /// The typed answer: a reservation or the SKU that fell short.
    pub async fn reserve_outcome(
        &self,
        store: &StoreId,
        id: &str,
        lines: &[(&str, i64)],
        ttl_seconds: i64,
    ) -> Result<ReserveResponse, ServiceError> {
        self.client.reserve(reserve(store, id, lines, ttl_seconds)).await
    }

    pub async fn commit(&self, store: &StoreId, id: &str) -> Result<Reservation, ServiceError> {
        self.client
            .commit(CommitRequest {
                store_id: store.to_string(),
                reservation_id: id.into(),
            })
            .await
    }

    pub async fn release(&self, store: &StoreId, id: &str) -> Result<Reservation, ServiceError> {
        self.client
            .release(ReleaseRequest {
                store_id: store.to_string(),
                reservation_id: id.into(),
            })
            .await
    }

    pub async fn restock(&self, store: &StoreId, id: &str) -> Result<Reservation, ServiceError> {
        self.client
            .restock(RestockRequest {
                store_id: store.to_string(),
                reservation_id: id.into(),
            })
            .await
    }

    /// Rows that break `0 <= reserved <= on_hand`; always zero.
    pub async fn broken_rows(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM stock WHERE reserved < 0 OR on_hand < 0 OR reserved > on_hand")
            .await
    }
}

pub fn reserve(store: &StoreId, id: &str, lines: &[(&str, i64)], ttl_seconds: i64) -> ReserveRequest {
    ReserveRequest {
        store_id: store.to_string(),
        reservation_id: id.into(),
        lines: lines
            .iter()
            .map(|(sku, quantity)| ReserveLine {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
        ttl_seconds,
    }
}

/// A fresh reservation id.
pub fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn code(r: Result<impl std::fmt::Debug, ServiceError>) -> ErrorCode {
    r.expect_err("the call should fail").code
}

/// Units per (sku, location) of a reservation, sorted.
pub fn lines(r: &Reservation) -> Vec<(String, String, i64)> {
    let mut l: Vec<_> = r
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.location.clone(), l.quantity))
        .collect();
    l.sort();
    l
}

/// A reservation's status by the name the public API gives it, for readable asserts.
pub trait StatusName {
    fn status_name(&self) -> &'static str;
}

impl StatusName for Reservation {
    fn status_name(&self) -> &'static str {
        mercato_proto::names::reservation_status(self.status())
    }
}
