//! The storage suite, on every database backend: transactions commit or roll back whole, group
//! commits isolate their members, and values cross the boundary unchanged.

use mercato_runtime::db::{Db, DbError, Migration, Statement};
use mercato_runtime::testing::Backend;

mercato_runtime::backend_tests! {
    setup: migrated,
    cases: [
        a_transaction_that_returns_an_error_leaves_nothing_behind,
        a_panicking_transaction_is_rolled_back_and_the_database_keeps_working,
        concurrent_transactions_each_commit_or_roll_back_alone,
        an_acknowledged_write_is_visible_to_the_next_read,
        a_duplicate_key_is_reported_as_a_unique_violation,
        a_statement_run_alone_or_in_a_transaction_changes_the_same_rows,
        placeholders_bind_by_their_number_not_their_position,
        nulls_text_integers_and_bytes_come_back_as_they_went_in,
        a_read_closure_sees_committed_rows,
        migrations_apply_once,
        a_transaction_that_swallows_a_failed_statement_is_never_reported_committed_when_it_was_not,
        a_filter_only_column_still_filters,
    ],
}

const ITEMS: Migration = Migration {
    name: "0001_items",
    sql: "CREATE TABLE items (
            id BIGINT PRIMARY KEY,
            label TEXT,
            amount BIGINT,
            payload {{BYTES}}
          );",
};

/// id, label, amount, payload.
type ItemRow = (i64, Option<String>, Option<i64>, Option<Vec<u8>>);

/// A fresh database of `backend` with the `items` table.
async fn migrated(backend: Backend) -> Db {
    let db = backend.database().await;
    db.migrate("test", &[ITEMS]).await.unwrap();
    db
}

async fn count(db: &Db) -> i64 {
    db.query_one::<(i64,)>("SELECT COUNT(*) FROM items", &[])
        .await
        .unwrap()
        .0
}

async fn insert(db: &Db, id: i64) -> Result<(), DbError> {
    db.write("insert", move |tx| {
        tx.execute("INSERT INTO items (id, label) VALUES ($1, $2)", &[&id, &"x"])?;
        Ok(())
    })
    .await
}

async fn a_transaction_that_returns_an_error_leaves_nothing_behind(db: Db) {
    let result: Result<(), DbError> = db
        .write("test", |tx| {
            tx.execute("INSERT INTO items (id) VALUES (1)", &[])?;
            tx.execute("INSERT INTO items (id) VALUES (2)", &[])?;
            Err(DbError::Other("changed its mind".into()))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(count(&db).await, 0);
}

async fn a_panicking_transaction_is_rolled_back_and_the_database_keeps_working(db: Db) {
    let result: Result<(), DbError> = db
        .write("test", |tx| {
            tx.execute("INSERT INTO items (id) VALUES (1)", &[])?;
            panic!("a bug in the transaction's code");
        })
        .await;
    assert!(matches!(result, Err(DbError::Panicked)), "{result:?}");
    insert(&db, 2).await.unwrap();
    let ids: Vec<(i64,)> = db.query_all("SELECT id FROM items", &[]).await.unwrap();
    assert_eq!(ids, vec![(2,)]);
}

async fn concurrent_transactions_each_commit_or_roll_back_alone(db: Db) {
    insert(&db, 7).await.unwrap();
    // Many writers at once: on SQLite they share commits. Every fifth inserts a row and then
    // fails; id 7 collides with the row above. Neither may take the others down with it.
    let writers = (0..200i64).map(|id| {
        let db = db.clone();
        tokio::spawn(async move {
            db.write("test", move |tx| {
                tx.execute("INSERT INTO items (id, amount) VALUES ($1, $1)", &[&(id + 1000)])?;
                tx.execute("INSERT INTO items (id) VALUES ($1)", &[&id])?;
                if id % 5 == 0 {
                    return Err(DbError::Other("refused".into()));
                }
                Ok(())
            })
            .await
        })
    });
    let results = futures::future::join_all(writers).await;
    let failed: Vec<i64> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().unwrap().is_err())
        .map(|(id, _)| id as i64)
        .collect();
    let expected_failures: Vec<i64> = (0..200).filter(|id| id % 5 == 0 || *id == 7).collect();
    assert_eq!(failed, expected_failures);
    let stored: Vec<(i64,)> = db
        .query_all("SELECT id FROM items ORDER BY id", &[])
        .await
        .unwrap();
    let mut expected: Vec<i64> = (0..200).filter(|id| !expected_failures.contains(id)).collect();
    expected.extend(expected.clone().iter().map(|id| id + 1000));
    expected.push(7);
    expected.sort();
    assert_eq!(stored.into_iter().map(|(id,)| id).collect::<Vec<_>>(), expected);
}

async fn an_acknowledged_write_is_visible_to_the_next_read(db: Db) {
    for id in 0..50 {
        insert(&db, id).await.unwrap();
        let found: Option<(i64,)> = db
            .query_opt("SELECT id FROM items WHERE id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(found, Some((id,)));
    }
}

async fn a_duplicate_key_is_reported_as_a_unique_violation(db: Db) {
    insert(&db, 1).await.unwrap();
    let e = insert(&db, 1).await.unwrap_err();
    assert!(e.is_unique_violation(), "{e}");
}

async fn a_statement_run_alone_or_in_a_transaction_changes_the_same_rows(db: Db) {
    let insert = Statement::new("INSERT INTO items (id, label) VALUES ($1, $2)", &[&1i64, &"x"]);
    assert_eq!(db.run("insert", &insert).await.unwrap(), 1);
    let e = db.run("insert", &insert).await.unwrap_err();
    assert!(
        e.is_unique_violation(),
        "a failed statement alone is reported: {e}"
    );
    let rename = Statement::new("UPDATE items SET label = $1 WHERE id >= $2", &[&"y", &1i64]);
    let again = rename.clone();
    let changed = db.write("rename", move |tx| tx.run(&again)).await.unwrap();
    assert_eq!(changed, 1);
    assert_eq!(db.run("rename", &rename).await.unwrap(), 1);
    let (label,): (String,) = db.query_one("SELECT label FROM items", &[]).await.unwrap();
    assert_eq!(label, "y");
    assert_eq!(count(&db).await, 1);
}

async fn placeholders_bind_by_their_number_not_their_position(db: Db) {
    let row: (String, i64) = db.query_one("SELECT $2, $1", &[&5i64, &"five"]).await.unwrap();
    assert_eq!(row, ("five".to_owned(), 5));
}

async fn nulls_text_integers_and_bytes_come_back_as_they_went_in(db: Db) {
    let bytes = vec![0u8, 159, 255];
    let stored = bytes.clone();
    db.write("test", move |tx| {
        tx.execute(
            "INSERT INTO items (id, label, amount, payload) VALUES ($1, $2, $3, $4)",
            &[&1i64, &None::<String>, &None::<i64>, &stored],
        )?;
        tx.execute(
            "INSERT INTO items (id, label, amount, payload) VALUES ($1, $2, $3, $4)",
            &[&2i64, &Some("żółw €"), &i64::MIN, &None::<Vec<u8>>],
        )
    })
    .await
    .unwrap();
    let rows: Vec<ItemRow> = db
        .query_all("SELECT id, label, amount, payload FROM items ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, None, None, Some(bytes)),
            (2, Some("żółw €".into()), Some(i64::MIN), None)
        ]
    );
}

async fn a_read_closure_sees_committed_rows(db: Db) {
    insert(&db, 1).await.unwrap();
    let n = db
        .read("test", |tx| {
            Ok::<_, DbError>(tx.query_one::<(i64,)>("SELECT COUNT(*) FROM items", &[])?.0)
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn migrations_apply_once(db: Db) {
    db.migrate("test", &[ITEMS]).await.unwrap();
    let applied: Vec<(String,)> = db
        .query_all("SELECT name FROM schema_migrations ORDER BY name", &[])
        .await
        .unwrap();
    let names: Vec<&str> = applied.iter().map(|(name,)| name.as_str()).collect();
    // The runtime's own tables come first, then the service's, each once.
    let expected = [
        "0000_inbox",
        "0000_jobs",
        "0000_outbox",
        "0000_outbox_pending_index",
        "0001_items",
    ];
    assert_eq!(names, expected);
}

async fn a_transaction_that_swallows_a_failed_statement_is_never_reported_committed_when_it_was_not(db: Db) {
    let result: Result<(), DbError> = db
        .write("test", |tx| {
            tx.execute("INSERT INTO items (id) VALUES (1)", &[])?;
            let _ignored = tx.execute("INSERT INTO items (id) VALUES (1)", &[]);
            Ok(())
        })
        .await;
    let stored = count(&db).await;
    match db.backend() {
        // SQLite undoes only the failed statement; the transaction commits.
        mercato_runtime::db::Backend::Sqlite => assert!(result.is_ok() && stored == 1),
        // PostgreSQL aborts the whole transaction; its caller must hear so.
        mercato_runtime::db::Backend::Postgres => assert!(result.is_err() && stored == 0),
    }
}

async fn a_filter_only_column_still_filters(db: Db) {
    for id in 1..=3 {
        insert(&db, id).await.unwrap();
    }
    db.write("label", |tx| {
        tx.execute("UPDATE items SET label = 'y' WHERE id = 2", &[])?;
        let sql = format!(
            "SELECT id FROM items WHERE {}label = $1 AND id IN ($2, $3) ORDER BY id",
            tx.filter_only()
        );
        let found: Vec<(i64,)> = tx.query_all(&sql, &[&"x", &1i64, &2i64])?;
        assert_eq!(found, vec![(1,)]);
        Ok::<_, DbError>(())
    })
    .await
    .unwrap();
}
