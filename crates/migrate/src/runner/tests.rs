//! The runner against an in-memory source and store.

use super::*;
use crate::source::{BadRow, SourceRecord};
use crate::target::memory::{MemorySource, MemoryTarget};
use mercato_proto::imports::{ImportedCustomer, ImportedOrder, ImportedProduct, ImportedVariant};
use mercato_runtime::imports::numeric_key;

pub(crate) fn product(id: u64, price: i64, modified: i64) -> Row {
    Row::Good(SourceRecord::Product(ImportedProduct {
        legacy_key: numeric_key(id),
        slug: format!("p-{id}"),
        title: format!("Product {id}"),
        status: "active".into(),
        variants: vec![ImportedVariant {
            legacy_key: numeric_key(id),
            sku: format!("SKU-{id}"),
            price_minor: price,
            ..ImportedVariant::default()
        }],
        modified_at_ms: modified,
        ..ImportedProduct::default()
    }))
}

pub(crate) fn order(id: u64, total: i64, modified: i64) -> Row {
    Row::Good(SourceRecord::Order(ImportedOrder {
        legacy_key: numeric_key(id),
        number: id as i64,
        status: "confirmed".into(),
        currency: "EUR".into(),
        total_minor: total,
        modified_at_ms: modified,
        ..ImportedOrder::default()
    }))
}

pub(crate) fn customer(id: u64) -> Row {
    Row::Good(SourceRecord::Customer(ImportedCustomer {
        legacy_key: numeric_key(id),
        email: format!("c{id}@example.com"),
        modified_at_ms: 1,
        ..ImportedCustomer::default()
    }))
}

pub(crate) fn bad(entity: Entity, id: u64) -> Row {
    Row::Bad(BadRow {
        entity,
        legacy_key: numeric_key(id),
        location: format!("wp_posts.ID={id}"),
        reason: "negative price".into(),
    })
}

/// A shop of `products` products (one bad), 20 customers and 300 orders.
pub(crate) fn shop(products: u64) -> MemorySource {
    let source = MemorySource::new(vec![Entity::Product, Entity::Customer, Entity::Order]);
    for id in 1..=products {
        source.put(if id == 7 {
            bad(Entity::Product, id)
        } else {
            product(id, 100 + id as i64, 10)
        });
    }
    for id in 1..=20 {
        source.put(customer(id));
    }
    for id in 1..=300 {
        source.put(order(id, 1000 + id as i64, 10));
    }
    source
}

fn runner(source: &Arc<MemorySource>, target: &Arc<MemoryTarget>, from_start: bool) -> Runner {
    let options = RunOptions {
        batch: 50,
        from_start,
        ..RunOptions::default()
    };
    Runner::new(source.clone(), target.clone(), Arc::new(Silent), options)
}

fn entity<'a>(summary: &'a ImportSummary, name: &str) -> &'a EntitySummary {
    summary.entities.iter().find(|e| e.entity == name).unwrap()
}

#[tokio::test]
async fn an_import_creates_every_good_record_and_reports_bad_and_refused_ones() {
    let (source, target) = (Arc::new(shop(120)), Arc::new(MemoryTarget::default()));
    target.refuse.lock().unwrap().insert(numeric_key(9));
    let summary = runner(&source, &target, false).run().await.unwrap();
    let products = entity(&summary, "products");
    assert_eq!((products.rows, products.created), (120, 118));
    assert_eq!(products.skipped.len(), 1);
    assert_eq!(products.skipped[0].location, "wp_posts.ID=7");
    assert_eq!(products.rejected[0].legacy_key, numeric_key(9));
    // The store refuses key 9 of every entity.
    assert_eq!(entity(&summary, "orders").created, 299);
    let names: Vec<&str> = summary.entities.iter().map(|e| e.entity.as_str()).collect();
    assert_eq!(names, ["products", "customers", "orders"]);
    assert_eq!(target.count(Entity::Product), 118);
}

#[tokio::test]
async fn a_rerun_resumes_after_what_is_held_and_from_the_start_everything_is_unchanged() {
    let (source, target) = (Arc::new(shop(120)), Arc::new(MemoryTarget::default()));
    runner(&source, &target, false).run().await.unwrap();
    let again = runner(&source, &target, false).run().await.unwrap();
    assert_eq!(again.rows(), 0, "{again:?}");
    let from_start = runner(&source, &target, true).run().await.unwrap();
    let orders = entity(&from_start, "orders");
    assert_eq!((orders.unchanged, orders.created, orders.updated), (300, 0, 0));
}

#[tokio::test]
async fn a_failed_batch_stops_the_import_before_it_and_a_rerun_finishes_with_nothing_doubled() {
    let source = Arc::new(MemorySource::new(vec![Entity::Order]));
    for id in 1..=500 {
        source.put(order(id, 10, 1));
    }
    let target = Arc::new(MemoryTarget::default());
    *target.fail_call.lock().unwrap() = Some(4);
    let failed = runner(&source, &target, false).run().await;
    assert!(failed.is_err());
    // Batches 1–3 (150 orders) landed; nothing after the batch that failed.
    assert_eq!(target.count(Entity::Order), 150);
    let held = target.progress().await.unwrap();
    assert_eq!(held.entities[0].last_key, numeric_key(150));
    let finished = runner(&source, &target, false).run().await.unwrap();
    assert_eq!(entity(&finished, "orders").created, 350);
    assert_eq!(target.count(Entity::Order), 500);
}

#[tokio::test]
async fn catching_up_imports_what_changed_since_the_newest_time_held() {
    let (source, target) = (Arc::new(shop(30)), Arc::new(MemoryTarget::default()));
    runner(&source, &target, false).run().await.unwrap();
    source.put(product(3, 999, 50_000));
    source.put(order(301, 77, 50_000));
    let round = runner(&source, &target, false).catch_up().await.unwrap();
    let products = entity(&round, "products");
    assert_eq!((products.updated, products.created), (1, 0));
    assert_eq!(entity(&round, "orders").created, 1);
    // Rows changed within the overlap before the newest time held come again, unchanged.
    let quiet = runner(&source, &target, false).catch_up().await.unwrap();
    assert_eq!(
        quiet.entities.iter().map(|e| e.created + e.updated).sum::<u64>(),
        0
    );
}

#[tokio::test]
async fn following_stops_when_told_after_the_round_under_way() {
    let (source, target) = (Arc::new(shop(10)), Arc::new(MemoryTarget::default()));
    let run = runner(&source, &target, false);
    run.run().await.unwrap();
    source.put(order(400, 5, 90_000));
    let summary = run
        .follow(
            Duration::from_millis(10),
            tokio::time::sleep(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    assert_eq!(entity(&summary, "orders").created, 1);
    assert!(target.count(Entity::Order) == 301);
}

/// A memory source with a clock the test sets.
struct Clocked {
    shop: Arc<MemorySource>,
    now_ms: std::sync::Mutex<Option<i64>>,
}

impl Clocked {
    fn set(&self, ms: i64) {
        *self.now_ms.lock().unwrap() = Some(ms);
    }
}

#[async_trait::async_trait]
impl Source for Clocked {
    fn name(&self) -> &'static str {
        self.shop.name()
    }

    fn entities(&self) -> Vec<Entity> {
        self.shop.entities()
    }

    async fn currency(&self) -> anyhow::Result<String> {
        self.shop.currency().await
    }

    async fn scan(&self, entity: Entity, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        self.shop.scan(entity, from, limit).await
    }

    async fn estimate(&self, entity: Entity) -> anyhow::Result<u64> {
        self.shop.estimate(entity).await
    }

    async fn now_ms(&self) -> anyhow::Result<Option<i64>> {
        Ok(*self.now_ms.lock().unwrap())
    }
}

/// The full pass, then a round that imports a row stamped ahead (the platform's newest time
/// becomes 50 s), then a row stamped 30 s — after the round began (20 s), below that mark —
/// as a change committed late, or behind a pass's key cursor, is; what the next round did to
/// products. Without `ticking` the source's clock never reads; with `restart` the last round
/// is a new importer's (the platform kept the watermark).
async fn a_row_stamped_below_the_mark_after_a_round(ticking: bool, restart: bool) -> EntitySummary {
    let source = Arc::new(Clocked {
        shop: Arc::new(shop(30)),
        now_ms: std::sync::Mutex::new(None),
    });
    let tick = |ms: i64| {
        if ticking {
            source.set(ms);
        }
    };
    let target = Arc::new(MemoryTarget::default());
    let options = RunOptions {
        batch: 50,
        ..RunOptions::default()
    };
    let run = Runner::new(source.clone(), target.clone(), Arc::new(Silent), options.clone());
    tick(1_000);
    run.run().await.unwrap();
    tick(20_000);
    source.shop.put(product(3, 999, 50_000));
    let first = run.catch_up().await.unwrap();
    assert_eq!(entity(&first, "products").updated, 1);
    source.shop.put(product(4, 555, 30_000));
    tick(60_000);
    let run = match restart {
        true => Runner::new(source.clone(), target, Arc::new(Silent), options),
        false => run,
    };
    let second = run.catch_up().await.unwrap();
    entity(&second, "products").clone()
}

#[tokio::test]
async fn following_from_the_source_clock_sees_a_row_stamped_below_the_newest_time_held() {
    let second = a_row_stamped_below_the_mark_after_a_round(true, false).await;
    assert_eq!(second.updated, 1, "{second:?}");
}

#[tokio::test]
async fn a_restarted_importer_follows_from_the_watermark_the_platform_kept() {
    let second = a_row_stamped_below_the_mark_after_a_round(true, true).await;
    assert_eq!(second.updated, 1, "{second:?}");
}

#[tokio::test]
async fn without_a_source_clock_following_falls_back_to_the_newest_time_held() {
    // The row below the mark is missed: a source without a clock (a CSV file) has no watermark.
    let second = a_row_stamped_below_the_mark_after_a_round(false, false).await;
    assert_eq!(second.updated, 0, "{second:?}");
}

/// A source with a clock at 1 s and 500 orders, the last stamped 8 s (the newest time the
/// platform will hold), for an empty target.
fn clocked_orders() -> (Arc<Clocked>, Arc<MemoryTarget>) {
    let shop = MemorySource::new(vec![Entity::Order]);
    for id in 1..=500 {
        shop.put(order(id, 10, if id == 500 { 8_000 } else { 1 }));
    }
    let source = Arc::new(Clocked {
        shop: Arc::new(shop),
        now_ms: std::sync::Mutex::new(Some(1_000)),
    });
    (source, Arc::new(MemoryTarget::default()))
}

fn clocked_runner(source: &Arc<Clocked>, target: &Arc<MemoryTarget>) -> Runner {
    let options = RunOptions {
        batch: 50,
        ..RunOptions::default()
    };
    Runner::new(source.clone(), target.clone(), Arc::new(Silent), options)
}

#[tokio::test]
async fn a_first_pass_killed_and_resumed_keeps_its_first_start_as_the_watermark() {
    let (source, target) = clocked_orders();
    *target.fail_call.lock().unwrap() = Some(4);
    assert!(clocked_runner(&source, &target).run().await.is_err());
    assert_eq!(*target.passes.lock().unwrap(), (0, 1_000), "begun, not finished");
    // Order 2, behind the cursor, changes while the importer is down: stamped below the
    // newest time the platform will hold, so that time alone would skip it.
    source.shop.put(order(2, 99, 5_000));
    source.set(10_000);
    clocked_runner(&source, &target).run().await.unwrap();
    assert_eq!(
        *target.passes.lock().unwrap(),
        (1_000, 0),
        "the resumed pass read nothing behind the cursor: the first start holds"
    );
    let round = clocked_runner(&source, &target).catch_up().await.unwrap();
    assert_eq!(entity(&round, "orders").updated, 1, "{round:?}");
}

#[tokio::test]
async fn running_again_after_a_finished_pass_leaves_the_watermark() {
    let (source, target) = clocked_orders();
    clocked_runner(&source, &target).run().await.unwrap();
    assert_eq!(*target.passes.lock().unwrap(), (1_000, 0));
    source.shop.put(order(2, 99, 5_000));
    source.set(10_000);
    // New keys only: order 2's change is not read, so the watermark must not pass it.
    clocked_runner(&source, &target).run().await.unwrap();
    assert_eq!(*target.passes.lock().unwrap(), (1_000, 0));
    let round = clocked_runner(&source, &target).catch_up().await.unwrap();
    assert_eq!(entity(&round, "orders").updated, 1, "{round:?}");
    assert_eq!(*target.passes.lock().unwrap(), (10_000, 0));
}

#[tokio::test]
async fn the_summary_counts_the_skus_a_source_made_up() {
    let source = Arc::new(MemorySource::new(vec![Entity::Product]));
    for id in 1..=6 {
        let mut row = product(id, 100, 10);
        if let Row::Good(SourceRecord::Product(p)) = &mut row {
            let v = &mut p.variants[0];
            match id % 3 {
                0 => v.sku = crate::woocommerce::synthetic_sku(id),
                1 => v.sku = crate::shopify::synthetic_sku(&v.legacy_key),
                _ => {}
            }
        }
        source.put(row);
    }
    let target = Arc::new(MemoryTarget::default());
    let summary = runner(&source, &target, false).run().await.unwrap();
    let products = entity(&summary, "products");
    assert_eq!(products.synthesized_skus, 4);
    assert!(
        products.line().ends_with(", 4 SKUs synthesised"),
        "{}",
        products.line()
    );
}

#[tokio::test]
async fn a_pass_from_the_start_killed_leaves_no_start_that_a_resumption_could_claim() {
    // A store imported before watermarks: records held, no watermark, nothing pending.
    let (source, target) = clocked_orders();
    let old_import = runner_without_clock(&source, &target);
    old_import.run().await.unwrap();
    assert_eq!(*target.passes.lock().unwrap(), (0, 0));
    // Order 450 changed behind the old import's cursor; `--from-start` begins at 5 s and is
    // killed before it reaches it.
    source.shop.put(order(450, 99, 2_000));
    source.set(5_000);
    *target.fail_call.lock().unwrap() = Some(*target.calls.lock().unwrap() + 3);
    let options = RunOptions {
        batch: 50,
        from_start: true,
        ..RunOptions::default()
    };
    let from_start = Runner::new(source.clone(), target.clone(), Arc::new(Silent), options);
    assert!(from_start.run().await.is_err());
    assert_eq!(
        *target.passes.lock().unwrap(),
        (0, 0),
        "nothing a resumption could claim"
    );
    // Run again without the flag: it reads only new keys, so it must not set a watermark.
    source.set(10_000);
    clocked_runner(&source, &target).run().await.unwrap();
    assert_eq!(*target.passes.lock().unwrap(), (0, 0));
}

/// A runner reading `source` as if it had no clock (an import made before watermarks).
fn runner_without_clock(source: &Arc<Clocked>, target: &Arc<MemoryTarget>) -> Runner {
    let shop: Arc<dyn Source> = source.shop.clone();
    let options = RunOptions {
        batch: 50,
        ..RunOptions::default()
    };
    Runner::new(shop, target.clone(), Arc::new(Silent), options)
}
