//! A batch of categories imported in one transaction. A parent is named by its legacy key and
//! must be stored already or come in the same batch (in any order); a record whose parent is
//! unknown or rejected, or that would make a category its own ancestor, is rejected.

use super::canonical;
use super::check::{CategoryCandidate, Target};
use super::products::rejected;
use crate::domain::{CategoryId, CategoryRecord};
use crate::events;
use crate::store::StoreError;
use crate::store::imports::{self, ImportRow};
use mercato_proto::imports::{Outcome, RecordOutcome};
use mercato_runtime::db::Tx;
use mercato_runtime::outbox;
use std::collections::HashMap;

/// How one checked record is going.
enum Decision {
    Rejected(String),
    Unchanged,
    /// To be written; `true` when it is new.
    Write(bool),
}

/// Imports the checked batch inside `tx`; returns the outcomes in the batch's order.
pub(crate) fn apply(
    tx: &mut Tx<'_>,
    target: &Target,
    now_ms: i64,
    batch: Vec<Result<CategoryCandidate, (String, String)>>,
) -> Result<Vec<RecordOutcome>, StoreError> {
    let store = &target.store;
    let all: HashMap<CategoryId, CategoryRecord> = imports::all_categories(tx, store)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let ids: Vec<CategoryId> = all.keys().copied().collect();
    let keys = canonical::legacy_keys(tx, store, &target.source, &ids)?;
    let mut decisions: Vec<Decision> = batch
        .iter()
        .map(|r| match r {
            Err((_, why)) => Decision::Rejected(why.clone()),
            Ok(c) => first_look(c, &all, &keys),
        })
        .collect();
    reject_slug_clashes(&batch, &all, &mut decisions);
    settle_parents(&batch, &all, &mut decisions);
    write(tx, target, now_ms, &batch, &all, decisions)
}

/// Unchanged when what is stored rebuilds to what was sent; otherwise to be written.
fn first_look(
    c: &CategoryCandidate,
    all: &HashMap<CategoryId, CategoryRecord>,
    keys: &HashMap<String, String>,
) -> Decision {
    let Some(stored) = all.get(&c.id) else {
        return Decision::Write(true);
    };
    let own_key = keys.get(&c.id.to_string()).map_or("", String::as_str);
    let parent_key = stored
        .parent_id
        .and_then(|p| keys.get(&p.to_string()))
        .map_or("", String::as_str);
    if canonical::category(stored, own_key, parent_key) == c.sent {
        Decision::Unchanged
    } else {
        Decision::Write(false)
    }
}

/// A slug held by another stored category, or by an earlier record of the batch, is refused.
fn reject_slug_clashes(
    batch: &[Result<CategoryCandidate, (String, String)>],
    all: &HashMap<CategoryId, CategoryRecord>,
    decisions: &mut [Decision],
) {
    let owners: HashMap<&str, CategoryId> = all.values().map(|c| (c.slug.as_str(), c.id)).collect();
    let mut claimed: HashMap<&str, CategoryId> = HashMap::new();
    for (record, decision) in batch.iter().zip(decisions.iter_mut()) {
        let (Ok(c), Decision::Write(_)) = (record, &*decision) else {
            continue;
        };
        let slug = c.sent.slug.as_str();
        let taken =
            owners.get(slug).is_some_and(|o| *o != c.id) || claimed.get(slug).is_some_and(|o| *o != c.id);
        if taken {
            *decision = Decision::Rejected(format!("slug {slug} is used by another category"));
        } else {
            claimed.insert(slug, c.id);
        }
    }
}

/// Rejects, until nothing changes, the records whose parent is neither stored nor written by
/// the batch, and those that would close a cycle.
fn settle_parents(
    batch: &[Result<CategoryCandidate, (String, String)>],
    all: &HashMap<CategoryId, CategoryRecord>,
    decisions: &mut [Decision],
) {
    loop {
        let mut parents: HashMap<CategoryId, Option<CategoryId>> =
            all.iter().map(|(id, c)| (*id, c.parent_id)).collect();
        for (record, decision) in batch.iter().zip(decisions.iter()) {
            if let (Ok(c), Decision::Write(_)) = (record, decision) {
                parents.insert(c.id, c.parent_id);
            }
        }
        let mut changed = false;
        for (record, decision) in batch.iter().zip(decisions.iter_mut()) {
            let (Ok(c), Decision::Write(_)) = (record, &*decision) else {
                continue;
            };
            let why = match c.parent_id {
                Some(p) if !parents.contains_key(&p) => {
                    format!("parent category {} is not imported", c.sent.parent_legacy_key)
                }
                Some(_) if is_own_ancestor(c.id, &parents) => "it would be its own ancestor".to_owned(),
                _ => continue,
            };
            *decision = Decision::Rejected(why);
            changed = true;
        }
        if !changed {
            return;
        }
    }
}

/// Whether walking up from `id` comes back to it.
fn is_own_ancestor(id: CategoryId, parents: &HashMap<CategoryId, Option<CategoryId>>) -> bool {
    let mut at = parents.get(&id).copied().flatten();
    for _ in 0..=parents.len() {
        match at {
            None => return false,
            Some(p) if p == id => return true,
            Some(p) => at = parents.get(&p).copied().flatten(),
        }
    }
    true
}

fn write(
    tx: &mut Tx<'_>,
    target: &Target,
    now_ms: i64,
    batch: &[Result<CategoryCandidate, (String, String)>],
    all: &HashMap<CategoryId, CategoryRecord>,
    decisions: Vec<Decision>,
) -> Result<Vec<RecordOutcome>, StoreError> {
    let (mut records, mut rows, mut created) = (Vec::new(), Vec::new(), Vec::new());
    let mut outcomes = Vec::with_capacity(batch.len());
    for (record, decision) in batch.iter().zip(decisions) {
        let (c, new) = match (record, decision) {
            (Ok(c), Decision::Write(new)) => (c, new),
            (Ok(c), Decision::Unchanged) => {
                outcomes.push(outcome(c, Outcome::Unchanged));
                continue;
            }
            (Ok(c), Decision::Rejected(why)) => {
                outcomes.push(rejected(&c.sent.legacy_key, why));
                continue;
            }
            (Err((key, why)), _) => {
                outcomes.push(rejected(key, why.clone()));
                continue;
            }
        };
        let category = CategoryRecord {
            id: c.id,
            slug: c.sent.slug.clone(),
            name: c.sent.name.clone(),
            parent_id: c.parent_id,
            created_at_ms: all.get(&c.id).map_or(now_ms, |s| s.created_at_ms),
        };
        rows.push(ImportRow {
            legacy_key: c.sent.legacy_key.clone(),
            target_id: c.id.to_string(),
            modified_at_ms: c.modified_at_ms,
            details: String::new(),
        });
        if new {
            created.push(events::category_created(&target.store, &category));
        }
        records.push(category);
        outcomes.push(outcome(c, if new { Outcome::Created } else { Outcome::Updated }));
    }
    imports::upsert_categories(tx, &target.store, &records)?;
    imports::upsert_rows(tx, &target.store, &target.source, "category", &rows)?;
    // The catalog has no category_updated event: a renamed or moved category reaches products'
    // search documents when the products themselves change.
    outbox::append_all(tx, &created)?;
    Ok(outcomes)
}

fn outcome(c: &CategoryCandidate, kind: Outcome) -> RecordOutcome {
    RecordOutcome {
        legacy_key: c.sent.legacy_key.clone(),
        outcome: kind as i32,
        reason: String::new(),
        target_id: c.id.to_string(),
    }
}
