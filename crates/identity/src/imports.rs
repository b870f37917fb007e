//! Legacy imports into the identity service (ADR 0016): customers upserted by legacy key, and
//! the checksums and records of a key range, built from what is stored, for reconciliation.
//!
//! An imported customer is a customer account whose id is `target_id(store, source, Customer,
//! key)` (the id orders' imported customer ids name). Its e-mail must be free in the store: an
//! account made here, or imported under another key, with that e-mail makes the record
//! `rejected` ("e-mail already has an account") rather than linked, so an import never takes
//! over an account it did not make. Its password hash is stored as the source had it (never
//! hashed again here: 50,000 argon2 hashes would take the import minutes) and replaced by
//! argon2id at the customer's first sign-in (`grants`); a re-import leaves a replaced hash alone.
//! Its billing and shipping addresses become its address book's defaults. Imports publish
//! `account_changed`, never `account_created`: no welcome mail for an account made elsewhere.

use crate::domain::profile::MAX_NAME_CHARS;
use crate::domain::validate::Email;
use crate::service::IdentityService;
use crate::store::imports::{self as store, CustomerImport, Written};
use mercato_proto::common::Address;
use mercato_proto::imports::*;
use mercato_runtime::error::{FieldError, ServiceError};
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::imports::{
    Canonical, MAX_BATCH, MAX_RECORDS, SegmentBuilder, check_key, check_range, check_source, target_id,
};
use mercato_runtime::legacy_passwords;
use mercato_runtime::text::{Lines, refuse_controls};
use std::collections::HashSet;

/// The longest phone number or address field, in characters.
const MAX_FIELD_CHARS: usize = 200;

/// The reason an import gives a record whose e-mail belongs to another account.
pub const EMAIL_TAKEN: &str = "e-mail already has an account";

/// One line of text of at most `max` characters.
fn one_line(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    refuse_controls(field, s, Lines::One)?;
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// An address with every field empty is no address.
fn address(field: &str, a: Option<&Address>) -> Result<Option<Address>, FieldError> {
    let Some(a) = a.filter(|a| **a != Address::default()) else {
        return Ok(None);
    };
    for (name, value) in [
        ("name", &a.name),
        ("company", &a.company),
        ("line1", &a.line1),
        ("line2", &a.line2),
        ("city", &a.city),
        ("region", &a.region),
        ("postal_code", &a.postal_code),
        ("country", &a.country),
        ("phone", &a.phone),
    ] {
        one_line(&format!("{field}.{name}"), value, MAX_FIELD_CHARS)?;
    }
    Ok(Some(a.clone()))
}

/// The record as it will be stored (e-mail normalised, empty addresses dropped), or why not.
fn checked(c: &ImportedCustomer) -> Result<ImportedCustomer, FieldError> {
    check_key("legacy_key", &c.legacy_key)
        .map_err(|_| FieldError::new("legacy_key", "is not a valid legacy key"))?;
    let email = Email::parse("email", &c.email)?;
    one_line("first_name", &c.first_name, MAX_NAME_CHARS)?;
    one_line("last_name", &c.last_name, MAX_NAME_CHARS)?;
    one_line("phone", &c.phone, MAX_FIELD_CHARS)?;
    if !c.password_hash.is_empty()
        && let Err(why) = legacy_passwords::check_importable(&c.password_hash)
    {
        return Err(FieldError::new("password_hash", why.to_string()));
    }
    if c.created_at_ms < 0 {
        return Err(FieldError::new("created_at_ms", "may not be negative"));
    }
    Ok(ImportedCustomer {
        email: email.as_str().to_owned(),
        billing_address: address("billing_address", c.billing_address.as_ref())?,
        shipping_address: address("shipping_address", c.shipping_address.as_ref())?,
        ..c.clone()
    })
}

fn rejected(legacy_key: &str, reason: String) -> RecordOutcome {
    RecordOutcome {
        legacy_key: legacy_key.to_owned(),
        outcome: Outcome::Rejected as i32,
        reason,
        target_id: String::new(),
    }
}

fn outcome_of(written: Written) -> Outcome {
    match written {
        Written::Created => Outcome::Created,
        Written::Updated => Outcome::Updated,
        Written::Unchanged => Outcome::Unchanged,
        Written::EmailTaken => Outcome::Rejected,
    }
}

/// The store of a range request, refusing any entity but customers.
fn customer_range(range: Option<&KeyRange>) -> Result<(&KeyRange, StoreId), ServiceError> {
    let range = range.ok_or_else(|| ServiceError::invalid_field("range", "must be given"))?;
    check_range(range)?;
    if range.entity() != Entity::Customer {
        return Err(ServiceError::invalid_field(
            "entity",
            "identity holds customers only",
        ));
    }
    Ok((range, StoreId::parse("store_id", &range.store_id)?))
}

impl IdentityService {
    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_customers(
        &self,
        request: ImportCustomersRequest,
    ) -> Result<ImportReply, ServiceError> {
        check_source(&request.source)?;
        let store_id = StoreId::parse("store_id", &request.store_id)?;
        if request.customers.len() > MAX_BATCH {
            return Err(ServiceError::invalid_field(
                "customers",
                "at most 1000 records at once",
            ));
        }
        if self.store.store_by_id(store_id).await?.is_none() {
            return Err(ServiceError::not_found("store"));
        }
        let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; request.customers.len()];
        let mut batch = Vec::new();
        let mut seen = HashSet::new();
        for (i, c) in request.customers.iter().enumerate() {
            match checked(c) {
                Err(why) => outcomes[i] = Some(rejected(&c.legacy_key, why.to_string())),
                Ok(_) if !seen.insert(c.legacy_key.as_str()) => {
                    outcomes[i] = Some(rejected(
                        &c.legacy_key,
                        "legacy_key appears twice in the batch".into(),
                    ));
                }
                Ok(record) => {
                    let id = target_id(
                        &request.store_id,
                        &request.source,
                        Entity::Customer,
                        &c.legacy_key,
                    );
                    batch.push((
                        i,
                        CustomerImport {
                            id: UserId(id),
                            record,
                        },
                    ));
                }
            }
        }
        let (indexes, batch): (Vec<usize>, Vec<CustomerImport>) = batch.into_iter().unzip();
        let ids: Vec<String> = batch.iter().map(|c| c.id.to_string()).collect();
        let written = self
            .imports
            .import_customers(store_id, &request.source, batch)
            .await?;
        for ((i, id), w) in indexes.into_iter().zip(ids).zip(written) {
            let key = &request.customers[i].legacy_key;
            outcomes[i] = Some(match w {
                Written::EmailTaken => rejected(key, EMAIL_TAKEN.to_owned()),
                other => RecordOutcome {
                    legacy_key: key.clone(),
                    outcome: outcome_of(other) as i32,
                    reason: String::new(),
                    target_id: id,
                },
            });
        }
        self.outbox_waker.notify_one();
        Ok(ImportReply {
            outcomes: outcomes.into_iter().flatten().collect(),
        })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(
        &self,
        request: ChecksumsRequest,
    ) -> Result<ChecksumsReply, ServiceError> {
        let (range, store_id) = customer_range(request.range.as_ref())?;
        let records = self
            .imports
            .imported_customers(store_id, &range.source, &range.from_key, &range.to_key, None)
            .await?;
        let mut segments = SegmentBuilder::new(range, records.len() as u64, request.segments);
        for r in &records {
            segments.push(&r.legacy_key, r.checksum());
        }
        Ok(ChecksumsReply {
            segments: segments.finish(),
        })
    }

    /// See `proto/mercato/imports.proto`. A limit of 0 or above 1,000 means 1,000.
    pub(crate) async fn imported_records(
        &self,
        request: RecordsRequest,
    ) -> Result<CustomerRecords, ServiceError> {
        let (range, store_id) = customer_range(request.range.as_ref())?;
        let limit = match request.limit {
            0 => MAX_RECORDS,
            n => n.min(MAX_RECORDS),
        };
        let customers = self
            .imports
            .imported_customers(
                store_id,
                &range.source,
                &range.from_key,
                &range.to_key,
                Some(limit),
            )
            .await?;
        Ok(CustomerRecords { customers })
    }

    /// See `proto/mercato/imports.proto`: identity's one entity, customers.
    pub(crate) async fn get_import_progress(
        &self,
        request: ImportProgressRequest,
    ) -> Result<ImportProgress, ServiceError> {
        check_source(&request.source)?;
        let store_id = StoreId::parse("store_id", &request.store_id)?;
        let p = self
            .imports
            .customer_import_progress(store_id, &request.source)
            .await?;
        let watermark = self.imports.import_watermark(store_id, &request.source).await?;
        Ok(ImportProgress {
            entities: vec![EntityProgress {
                entity: Entity::Customer as i32,
                count: p.count,
                last_key: p.last_key,
                last_modified_ms: p.last_modified_ms,
            }],
            watermark_ms: watermark.watermark_ms,
            pass_began_ms: watermark.pass_began_ms,
        })
    }

    /// See `proto/mercato/imports.proto`: identity keeps each store's `--follow` watermark.
    pub(crate) async fn record_import_pass(&self, pass: ImportPass) -> Result<ImportWatermark, ServiceError> {
        check_source(&pass.source)?;
        let store_id = StoreId::parse("store_id", &pass.store_id)?;
        if pass.source_clock_ms <= 0 {
            return Err(ServiceError::invalid_field(
                "source_clock_ms",
                "must be a time after 1970",
            ));
        }
        let event = match pass.event() {
            PassEvent::Began => store::PassEvent::Began(pass.source_clock_ms),
            PassEvent::Finished => store::PassEvent::Finished(pass.source_clock_ms),
            PassEvent::Unspecified => {
                return Err(ServiceError::invalid_field("event", "must be began or finished"));
            }
        };
        let w = self
            .imports
            .record_import_pass(store_id, &pass.source, event)
            .await?;
        Ok(ImportWatermark {
            watermark_ms: w.watermark_ms,
            pass_began_ms: w.pass_began_ms,
        })
    }
}
