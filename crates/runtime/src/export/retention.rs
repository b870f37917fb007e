//! Export files are deleted once their retention passed (`files.export_retention`, stamped on
//! each file as `expires_at_ms`): a sweep every few minutes in each exporting service finds its
//! succeeded export jobs whose file expired, deletes the file and notes it in the job's summary,
//! so the job still tells what it made and its link answers 410 Gone.
//!
//! Jobs finished more than 30 days ago are deleted with their rows (`jobs::delete_finished`), so
//! a retention longer than that would leave files behind; the default is 7 days.

use crate::db::{Db, DbError};
use crate::files::FileStore;
use crate::jobs::JobOutput;
use std::sync::Weak;
use std::time::Duration;

/// Appended to a job's summary once its file is deleted.
pub const DELETED_NOTE: &str = " (file deleted after its retention)";

/// How often each exporting service sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Whether a job's summary says its file was deleted.
pub fn file_deleted(summary: &str) -> bool {
    summary.ends_with(DELETED_NOTE)
}

/// Deletes the files of this database's export jobs that expired by `now_ms`; how many.
pub async fn sweep(db: &Db, files: &FileStore, now_ms: i64) -> anyhow::Result<u64> {
    let rows: Vec<(String, String)> = db
        .query_all(
            "SELECT id, result_json FROM jobs WHERE status = 'succeeded' AND kind LIKE 'export.%' \
             AND result_json IS NOT NULL AND result_json NOT LIKE '%file deleted after its retention%'",
            &[],
        )
        .await?;
    let mut deleted = 0;
    for (id, json) in rows {
        let Ok(mut output) = serde_json::from_str::<JobOutput>(&json) else {
            continue;
        };
        let Some(file) = output.file.as_ref().filter(|f| f.expires_at_ms <= now_ms) else {
            continue;
        };
        files.delete(&file.key).await?;
        output.summary.push_str(DELETED_NOTE);
        let json = serde_json::to_string(&output)?;
        db.execute(
            "export_retention",
            "UPDATE jobs SET result_json = $1, updated_at = $2 WHERE id = $3 AND status = 'succeeded'",
            &[&json, &now_ms, &id],
        )
        .await
        .map_err(|e: DbError| anyhow::anyhow!(e))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Sweeps every [`SWEEP_EVERY`] while `owner` (the export's handler) lives.
pub fn spawn_sweeps<T: Send + Sync + 'static>(owner: Weak<T>, db: Db, files: FileStore) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(SWEEP_EVERY);
        loop {
            ticker.tick().await;
            if owner.strong_count() == 0 {
                return;
            }
            match sweep(&db, &files, crate::time::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, "deleted expired export files"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "export retention sweep failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobFile;
    use bytes::Bytes;

    async fn job(db: &Db, id: &str, kind: &str, file: &JobFile) {
        let output = JobOutput {
            summary: "2 orders exported".into(),
            items: 2,
            file: Some(file.clone()),
        };
        let json = serde_json::to_string(&output).unwrap();
        db.execute(
            "test",
            "INSERT INTO jobs (id, store_id, kind, status, input_json, requested_by, max_attempts, \
             result_json, run_after, created_at, updated_at) \
             VALUES ($1, 's1', $2, 'succeeded', '{}', 'system', 3, $3, 0, 0, 0)",
            &[&id, &kind, &json],
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn expired_files_are_deleted_once_and_their_jobs_say_so() {
        let db = Db::sqlite_temp().await.unwrap();
        db.migrate("test", &[]).await.unwrap();
        let dir = std::env::temp_dir().join(format!("mercato-retention-{}", uuid::Uuid::new_v4()));
        let files = FileStore::in_directory(&dir).unwrap();
        let file = |key: &str, expires_at_ms| JobFile {
            key: key.into(),
            expires_at_ms,
            ..JobFile::default()
        };
        for (id, key, expires) in [
            ("old", "exports/s1/old.csv", 1_000),
            ("new", "exports/s1/new.csv", 9_000),
        ] {
            files.put(key, Bytes::from_static(b"x")).await.unwrap();
            job(&db, id, "export.orders", &file(key, expires)).await;
        }
        assert_eq!(sweep(&db, &files, 5_000).await.unwrap(), 1);
        assert!(files.get("exports/s1/old.csv").await.unwrap().is_none());
        assert!(files.get("exports/s1/new.csv").await.unwrap().is_some());
        let (json,): (String,) = db
            .query_one("SELECT result_json FROM jobs WHERE id = 'old'", &[])
            .await
            .unwrap();
        let output: JobOutput = serde_json::from_str(&json).unwrap();
        assert!(file_deleted(&output.summary), "{}", output.summary);
        assert_eq!(sweep(&db, &files, 5_000).await.unwrap(), 0, "once");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
