//! Synthetic orders for `mercato bench export`: each a `placed` event (two lines) written
//! straight into the tables, a batch per transaction, so a million orders seed in seconds
//! rather than through a million checkouts. Never used by the service itself.

use super::StoreError;
use super::history::to_json;
use crate::domain::EventData;
use crate::domain::order::OrderLine;
use mercato_runtime::db::{Db, DbError};

const BATCH: u64 = 5_000;

/// Writes `count` placed orders of `store`, created one second apart from `first_ms`.
pub async fn seed_orders(db: &Db, store: &str, count: u64, first_ms: i64) -> Result<(), StoreError> {
    let mut done = 0;
    while done < count {
        let batch: Vec<(String, i64, String)> = (done..(done + BATCH).min(count))
            .map(|n| {
                let id = uuid::Uuid::now_v7().to_string();
                let data = placed(n);
                to_json(&data).map(|json| (id, first_ms + n as i64 * 1000, json))
            })
            .collect::<Result<_, _>>()?;
        done += batch.len() as u64;
        let (store, first) = (store.to_owned(), done as i64 - batch.len() as i64);
        db.write("bench_seed_orders", move |tx| {
            for (i, (id, at, json)) in batch.iter().enumerate() {
                let number = first + i as i64 + 1001;
                let email = format!("buyer{number}@example.com");
                tx.execute(
                    "INSERT INTO orders (store_id, id, customer_id, cart_id, status, saga_state, payment_json, \
                     locked_until, created_at, updated_at, number, email) \
                     VALUES ($1, $2, '', 'cart', 'pending', 'done', '{}', 0, $3, $3, $4, $5)",
                    &[&store, id, at, &number, &email],
                )?;
                tx.execute(
                    "INSERT INTO order_events (order_id, store_id, sequence, kind, at_ms, data_json) \
                     VALUES ($1, $2, 1, 'placed', $3, $4)",
                    &[id, &store, at, json],
                )?;
            }
            Ok::<_, DbError>(())
        })
        .await?;
    }
    Ok(())
}

fn placed(n: u64) -> EventData {
    let line = |sku: &str, title: &str, quantity: i64, price: i64| OrderLine {
        sku: sku.to_owned(),
        product_id: "p".to_owned(),
        title: title.to_owned(),
        quantity,
        unit_price_minor: price,
        refunded_quantity: 0,
    };
    EventData::Placed {
        customer_id: String::new(),
        cart_id: "cart".to_owned(),
        currency: "EUR".to_owned(),
        lines: vec![
            line("TEE-1", "Tee, blue", 2, 1500),
            line("CAP-1", "Cap \"classic\"", 1, 1250),
        ],
        total_minor: 4250,
        number: n as i64 + 1001,
        email: format!("buyer{}@example.com", n + 1001),
        charges: Box::default(),
    }
}
