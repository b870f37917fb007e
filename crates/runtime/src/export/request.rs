//! A `StartExport` request checked (every bad field named, 422) and enqueued as an
//! `export.<dataset>` job, its idempotency key the job's dedupe key.

use super::Format;
use crate::error::{ServiceError, Validator};
use crate::ids::StoreId;
use crate::jobs::{Jobs, NewJob};
use mercato_proto::jobs::{Job, StartExportRequest};

/// A request that passed the checks every dataset shares.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub store_id: StoreId,
    pub format: Format,
}

/// Checks the store, that `dataset` is the one this service exports, the format, and — for
/// datasets without a range (`takes_range` false) — that no `from`/`to` came. `extra` adds the
/// service's own checks (the orders' range) to the same error.
pub fn check_request(
    req: &StartExportRequest,
    dataset: &str,
    takes_range: bool,
    extra: impl FnOnce(&mut Validator),
) -> Result<ExportRequest, ServiceError> {
    let mut v = Validator::new();
    let store_id = req.store_id.parse::<StoreId>().ok();
    if store_id.is_none() {
        v.add("store_id", "is not a store id");
    }
    if req.dataset != dataset {
        v.add(
            "dataset",
            &format!("must be \"{dataset}\" here (orders, products or customers, each from its service)"),
        );
    }
    let format = Format::parse(&req.format);
    if format.is_none() {
        v.add("format", "must be \"csv\" or \"jsonl\"");
    }
    if !takes_range {
        for (field, value) in [("from", &req.from), ("to", &req.to)] {
            if !value.is_empty() {
                v.add(
                    field,
                    &format!("applies to the orders export only, not {dataset}"),
                );
            }
        }
    }
    if req.idempotency_key.len() > 200 {
        v.add("idempotency_key", "must be at most 200 characters");
    }
    extra(&mut v);
    v.finish()?;
    match (store_id, format) {
        (Some(store_id), Some(format)) => Ok(ExportRequest { store_id, format }),
        _ => Err(ServiceError::validation("invalid export request")),
    }
}

/// Enqueues the export job (or answers the one an earlier request with the same idempotency key
/// made) and wakes the runner.
pub async fn enqueue_export(
    jobs: &Jobs,
    req: &StartExportRequest,
    kind: &'static str,
    max_attempts: u32,
    input: serde_json::Value,
) -> Result<Job, ServiceError> {
    let requested_by = req
        .caller
        .as_ref()
        .map(|c| c.user_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "system".to_owned());
    let new = NewJob {
        kind,
        store_id: req.store_id.clone(),
        input,
        requested_by,
        dedupe_key: Some(req.idempotency_key.clone()).filter(|k| !k.is_empty()),
        max_attempts,
    };
    let queue = jobs.queue();
    let job = jobs
        .db()
        .write("start_export", move |tx| queue.enqueue(tx, &new))
        .await?;
    jobs.wake();
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dataset: &str, format: &str) -> StartExportRequest {
        StartExportRequest {
            store_id: uuid::Uuid::new_v4().to_string(),
            dataset: dataset.into(),
            format: format.into(),
            ..Default::default()
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        e.fields.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_good_request_passes() {
        let ok = check_request(&request("products", "jsonl"), "products", false, |_| {}).unwrap();
        assert_eq!(ok.format, Format::Jsonl);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut req = request("orders", "xlsx");
        req.from = "2026-01-01".into();
        let err = check_request(&req, "products", false, |_| {}).unwrap_err();
        assert_eq!(fields(err), ["dataset", "format", "from"]);
        let err =
            check_request(&request("orders", "csv"), "orders", true, |v| v.add("to", "bad")).unwrap_err();
        assert_eq!(fields(err), ["to"]);
    }
}
