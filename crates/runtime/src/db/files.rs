//! Owner-only files: the data directory is 0700 and every SQLite file (the database, its `-wal`
//! and `-shm`) and secret file in it 0600, whatever the process umask, because the files hold
//! tenants' data and sealed keys that nobody but the service account should read.
//!
//! SQLite creates `-wal` and `-shm` with the permissions of the database file, so creating the
//! database file 0600 before SQLite opens it covers them; files left by an older build are
//! tightened when they are opened again.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of the data directory and any directory created under it.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of database and secret files.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, or tightens an existing one that others can
/// enter. A directory this process does not own is left as it is, with a warning.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)?;
    tighten(dir, PRIVATE_DIR_MODE)
}

/// Makes a SQLite database path ready to open: its directory private, the file (created empty
/// when missing, which SQLite takes as a new database) and its `-wal` and `-shm` 0600.
pub fn prepare_database_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = path.with_file_name(format!(
            "{}{suffix}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        if file.exists() {
            tighten(&file, PRIVATE_FILE_MODE)?;
        }
    }
    Ok(())
}

/// Writes a new file readable by the owner only; fails if it exists (`AlreadyExists`), so that
/// two processes creating the same secret cannot overwrite each other's.
pub fn create_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Removes group and other access from `path` if it has any.
fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode == 0 {
        return Ok(());
    }
    match std::fs::set_permissions(path, Permissions::from_mode(mode)) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(path = %path.display(), mode = format!("{current:o}"), "cannot restrict a path this process does not own");
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn scratch() -> std::path::PathBuf {
        std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("files-{}", uuid::Uuid::now_v7()))
    }

    #[tokio::test]
    async fn a_new_database_its_wal_shm_and_directory_are_owner_only() {
        let dir = scratch().join("data");
        let path = dir.join("identity.db");
        let db = super::super::Db::sqlite(&path).await.unwrap();
        db.execute("t", "CREATE TABLE t (x BIGINT)", &[]).await.unwrap();
        db.execute("t", "INSERT INTO t (x) VALUES (1)", &[])
            .await
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("identity.db-wal")), 0o600);
        assert_eq!(mode(&dir.join("identity.db-shm")), 0o600);
    }

    #[test]
    fn existing_files_and_directories_are_tightened() {
        let dir = scratch();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("old.db");
        std::fs::write(&path, b"").unwrap();
        std::fs::write(dir.join("old.db-wal"), b"").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.join("old.db-wal"), Permissions::from_mode(0o644)).unwrap();
        prepare_database_file(&path).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("old.db-wal")), 0o600);
    }

    #[test]
    fn a_private_file_is_0600_and_never_overwritten() {
        let dir = scratch();
        create_private_dir(&dir).unwrap();
        let path = dir.join("secret");
        create_private_file(&path, b"one").unwrap();
        assert_eq!(mode(&path), 0o600);
        let again = create_private_file(&path, b"two").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
    }
}
