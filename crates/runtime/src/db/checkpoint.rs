//! WAL checkpoints off the commit path: a thread of its own per SQLite database copies the
//! write-ahead log back into the database file while the writer goes on committing.
//!
//! SQLite's default checkpoints run inside the commit that crosses the threshold, so one
//! transaction in a few thousand waited for the copy and its `fsync` (15 ms on this machine), and
//! every transaction queued behind it waited too. Here the writer's WAL hook only wakes this
//! thread, which runs a PASSIVE checkpoint on its own connection: it never blocks the writer or
//! a reader, and the writer starts the log over once a checkpoint has copied all of it.
//!
//! A PASSIVE checkpoint cannot finish while commits keep appending, and the log starts over only
//! once a checkpoint has copied all of it; under steady load that happens when the log passes
//! [`FORCE_PAGES`] and the writer checkpoints itself after its commit, as SQLite would have. By
//! then the thread has copied nearly everything, so that checkpoint is short, and the log stays
//! bounded under any load.

use super::DbError;
use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;
use std::sync::{Arc, Condvar, Mutex};

/// WAL pages after which, and every so many more, the checkpoint thread is woken.
pub(super) const WAKE_PAGES: i32 = 2_000;
/// WAL pages after which the writer checkpoints on its own commit path.
pub(super) const FORCE_PAGES: i32 = 16_000;

/// The checkpoint thread's mailbox.
pub(super) struct Checkpointer {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    due: bool,
    closed: bool,
}

impl Checkpointer {
    /// Starts the thread on `conn` (its own connection to the database) and hooks `writer`'s
    /// commits to it.
    pub(super) fn start(conn: Connection, writer: &mut Connection, name: &str) -> Result<Arc<Self>, DbError> {
        let checkpointer = Arc::new(Checkpointer {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let hooked = checkpointer.clone();
        // The hook must not fail: an error from it makes a commit that happened report failure.
        // It wakes the thread each time the log has grown by another WAKE_PAGES (not on every
        // commit past the first threshold, which kept the thread copying and fsyncing nonstop).
        let mut wake_at = WAKE_PAGES;
        let mut last_pages = 0;
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages < last_pages {
                // The log started over.
                wake_at = WAKE_PAGES;
            }
            last_pages = pages;
            if pages >= FORCE_PAGES {
                if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                    tracing::warn!(error = %e, "WAL checkpoint on the commit path failed");
                }
            } else if pages >= wake_at {
                wake_at = pages + WAKE_PAGES;
                hooked.request();
            }
            Ok(())
        }))?;
        let thread = checkpointer.clone();
        std::thread::Builder::new()
            .name(format!("sqlite-checkpoint-{name}"))
            .spawn(move || thread.run(conn))
            .map_err(|e| DbError::Other(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(checkpointer)
    }

    fn request(&self) {
        let mut state = lock(&self.state);
        if !state.due {
            state.due = true;
            self.wake.notify_one();
        }
    }

    /// Stops the thread; the last connection to close checkpoints what is left.
    pub(super) fn close(&self) {
        lock(&self.state).closed = true;
        self.wake.notify_one();
    }

    fn run(&self, conn: Connection) {
        loop {
            {
                let mut state = lock(&self.state);
                while !state.due && !state.closed {
                    state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                if state.closed {
                    return;
                }
                state.due = false;
            }
            if let Err(e) = conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next commits retry it");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_thread_copies_the_log_into_the_database_once_it_passes_the_threshold() {
        let path = std::env::temp_dir().join(format!("mercato-checkpoint-{}.db", uuid::Uuid::new_v4()));
        let open = || {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
            conn
        };
        let mut writer = open();
        let checkpointer = Checkpointer::start(open(), &mut writer, "test").unwrap();
        writer.execute_batch("CREATE TABLE t (b BLOB)").unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        // One page per row: the log passes the threshold and nothing else checkpoints it (the
        // hook replaced SQLite's own automatic checkpoints).
        for _ in 0..WAKE_PAGES + 10 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while file_len() < before + 4_000_000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let after = file_len();
        checkpointer.close();
        drop(writer);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        assert!(
            after >= before + 4_000_000,
            "database file {before} → {after} bytes"
        );
    }
}
