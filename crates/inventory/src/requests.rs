//! Request validation at the edge: every bad field of an `inventory.proto` request is reported
//! at once, and what passes comes out as the domain's typed inputs ([`StockWrite`],
//! [`NewReservation`]) under the domain's limits.

use crate::domain::reservation::{
    DEFAULT_TTL_SECONDS, MAX_LINES, MAX_QUANTITY, MAX_TTL_SECONDS, NewReservation,
};
use crate::domain::stock::{MAX_ON_HAND, StockChange, StockWrite};
use crate::domain::{Location, ReservationId, Sku};
use mercato_proto::inventory as pb;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;
use std::collections::BTreeMap;

/// The longest reason an adjustment may give; it is logged, not kept.
const MAX_REASON: usize = 200;
/// The longest idempotency key an adjustment may carry.
const MAX_KEY: usize = 200;

fn missing() -> ServiceError {
    ServiceError::internal("validator passed with a missing field")
}

pub fn set_stock(req: &pb::SetStockRequest) -> Result<StockWrite, ServiceError> {
    stock_write(&req.store_id, &req.sku, &req.location, |v| {
        if !(0..=MAX_ON_HAND).contains(&req.on_hand) {
            v.add("on_hand", "must be 0-1000000000");
        }
        if let Some(t) = req.low_stock_threshold
            && !(0..=MAX_ON_HAND).contains(&t)
        {
            v.add("low_stock_threshold", "must be 0-1000000000");
        }
        StockChange::Set {
            on_hand: req.on_hand,
            threshold: req.low_stock_threshold,
        }
    })
}

pub fn adjust_stock(req: &pb::AdjustStockRequest) -> Result<StockWrite, ServiceError> {
    let key = req.idempotency_key.trim();
    let mut write = stock_write(&req.store_id, &req.sku, &req.location, |v| {
        if req.delta == 0 || req.delta.abs() > MAX_ON_HAND {
            v.add("delta", "must be non-zero and at most 1000000000 either way");
        }
        if req.reason.chars().count() > MAX_REASON {
            v.add("reason", "must be at most 200 characters");
        }
        if key.len() > MAX_KEY || key.chars().any(char::is_control) {
            v.add(
                "idempotency_key",
                "must be at most 200 characters, none of them control characters",
            );
        }
        StockChange::Adjust { delta: req.delta }
    })?;
    write.idempotency_key = Some(key.to_owned()).filter(|k| !k.is_empty());
    Ok(write)
}

/// A write to the stock of one SKU at one location: the store, SKU and location it names are
/// checked, then `change` checks its own fields and says what the write does.
fn stock_write(
    store_id: &str,
    sku: &str,
    location: &str,
    change: impl FnOnce(&mut Validator) -> StockChange,
) -> Result<StockWrite, ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", store_id));
    let sku = v.check(Sku::parse("sku", sku));
    let location = v.check(Location::parse("location", location));
    let change = change(&mut v);
    v.finish()?;
    let (Some(store), Some(sku), Some(location)) = (store, sku, location) else {
        return Err(missing());
    };
    Ok(StockWrite {
        store,
        sku,
        location,
        change,
        idempotency_key: None,
    })
}

pub fn get_stock(req: &pb::GetStockRequest) -> Result<(StoreId, Sku), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let sku = v.check(Sku::parse("sku", &req.sku));
    v.finish()?;
    store.zip(sku).ok_or_else(missing)
}

pub fn reserve(req: &pb::ReserveRequest) -> Result<NewReservation, ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let id = v.check(ReservationId::parse("reservation_id", &req.reservation_id));
    if req.lines.is_empty() || req.lines.len() > MAX_LINES {
        v.add("lines", "must hold 1-100 lines");
    }
    let mut by_sku: BTreeMap<Sku, i64> = BTreeMap::new();
    for (i, line) in req.lines.iter().enumerate() {
        let sku = v.check(Sku::parse(&format!("lines[{i}].sku"), &line.sku));
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            v.add(&format!("lines[{i}].quantity"), "must be 1-10000");
        }
        if let Some(sku) = sku {
            *by_sku.entry(sku).or_insert(0) += line.quantity;
        }
    }
    let ttl_seconds = match req.ttl_seconds {
        0 => DEFAULT_TTL_SECONDS,
        t => t,
    };
    if !(1..=MAX_TTL_SECONDS).contains(&ttl_seconds) {
        v.add(
            "ttl_seconds",
            "must be 1-86400 seconds, or 0 for the default of 900",
        );
    }
    v.finish()?;
    let (Some(store), Some(id)) = (store, id) else {
        return Err(missing());
    };
    Ok(NewReservation {
        store,
        id,
        lines: by_sku.into_iter().collect(),
        ttl_ms: ttl_seconds * 1000,
    })
}

/// The store and reservation a commit, release or restock names.
pub fn reservation_ref(
    store_id: &str,
    reservation_id: &str,
) -> Result<(StoreId, ReservationId), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", store_id));
    let id = v.check(ReservationId::parse("reservation_id", reservation_id));
    v.finish()?;
    store.zip(id).ok_or_else(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i64) -> pb::ReserveLine {
        pb::ReserveLine {
            sku: sku.into(),
            quantity,
        }
    }

    fn fields(e: &ServiceError) -> Vec<&str> {
        e.fields.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn every_bad_field_of_a_reservation_is_reported_at_once() {
        let req = pb::ReserveRequest {
            store_id: "nope".into(),
            reservation_id: "also-nope".into(),
            lines: vec![line("OK-1", 1), line("bad sku", 0), line("OK-2", 10_001)],
            ttl_seconds: 86_401,
        };
        let e = reserve(&req).unwrap_err();
        assert_eq!(e.code.http_status(), 422);
        assert_eq!(
            fields(&e),
            [
                "store_id",
                "reservation_id",
                "lines[1].sku",
                "lines[1].quantity",
                "lines[2].quantity",
                "ttl_seconds"
            ]
        );
    }

    #[test]
    fn a_reservation_needs_one_to_a_hundred_lines() {
        let mut req = pb::ReserveRequest {
            store_id: StoreId::new().to_string(),
            reservation_id: ReservationId::new().to_string(),
            ..Default::default()
        };
        assert_eq!(fields(&reserve(&req).unwrap_err()), ["lines"]);
        req.lines = (0..101).map(|i| line(&format!("S{i}"), 1)).collect();
        assert_eq!(fields(&reserve(&req).unwrap_err()), ["lines"]);
        req.lines.truncate(100);
        assert!(reserve(&req).is_ok());
    }

    #[test]
    fn lines_of_one_sku_are_summed_and_the_ttl_defaults_to_fifteen_minutes() {
        let req = pb::ReserveRequest {
            store_id: StoreId::new().to_string(),
            reservation_id: ReservationId::new().to_string(),
            lines: vec![line("B", 2), line("A", 1), line("B", 3)],
            ttl_seconds: 0,
        };
        let r = reserve(&req).unwrap();
        let lines: Vec<_> = r.lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
        assert_eq!(lines, [("A", 1), ("B", 5)]);
        assert_eq!(r.ttl_ms, 900_000);
        let negative = pb::ReserveRequest {
            ttl_seconds: -1,
            ..req
        };
        assert_eq!(fields(&reserve(&negative).unwrap_err()), ["ttl_seconds"]);
    }

    #[test]
    fn stock_writes_check_quantity_location_and_threshold_together() {
        let req = pb::SetStockRequest {
            store_id: StoreId::new().to_string(),
            sku: String::new(),
            location: "Main Hall".into(),
            on_hand: -1,
            low_stock_threshold: Some(-2),
        };
        assert_eq!(
            fields(&set_stock(&req).unwrap_err()),
            ["sku", "location", "on_hand", "low_stock_threshold"]
        );
        let adjust = pb::AdjustStockRequest {
            store_id: StoreId::new().to_string(),
            sku: "A".into(),
            location: String::new(),
            delta: 0,
            reason: "x".repeat(201),
            idempotency_key: String::new(),
        };
        assert_eq!(fields(&adjust_stock(&adjust).unwrap_err()), ["delta", "reason"]);
    }
}
