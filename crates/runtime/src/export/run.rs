//! Running an export job: the dataset is written on a blocking thread (its one read snapshot
//! may take a minute, and SQLite reads run on the calling thread) into a private temporary file,
//! while this task reports progress about once a second and stops the writer when the job is
//! cancelled; the file is then uploaded under a key derived from the job id, so a retry rewrites
//! the same object.

use super::{Format, export_key};
use crate::files::FileStore;
use crate::jobs::{JobContext, JobError, JobFile, JobOutput};
use std::fs::File;
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often progress is reported while rows are written.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The write buffer of the temporary file.
const BUFFER_BYTES: usize = 256 * 1024;

/// What one export makes.
#[derive(Clone, Debug)]
pub struct ExportSpec {
    /// "orders", "products" or "customers": the file's name starts with it.
    pub dataset: &'static str,
    pub format: Format,
    /// How long the file is kept (`files.export_retention`).
    pub retention: Duration,
    /// Rows expected, for the progress bar; 0 when unknown.
    pub total: i64,
}

/// The writer's side of progress: counts rows and says when to stop.
#[derive(Clone)]
pub struct Progress {
    done: Arc<AtomicI64>,
    halt: CancellationToken,
}

impl Progress {
    /// Counts `rows` more written; `Err(Stopped)` once the job was cancelled or lost its lease.
    pub fn advance(&self, rows: i64) -> Result<(), JobError> {
        self.done.fetch_add(rows, Ordering::Relaxed);
        if self.halt.is_cancelled() {
            return Err(JobError::Stopped("cancelled"));
        }
        Ok(())
    }
}

/// Runs `write` on a blocking thread with a buffered private temporary file; `write` returns the
/// writer (flushed here) and how many items it wrote. The file is uploaded and described in the
/// job's output, with its expiry.
pub async fn run_export<F>(
    ctx: &JobContext,
    files: &FileStore,
    spec: ExportSpec,
    write: F,
) -> Result<JobOutput, JobError>
where
    F: FnOnce(BufWriter<File>, Progress) -> Result<(BufWriter<File>, i64), JobError> + Send + 'static,
{
    let temp = TempFile::new(&ctx.id, ctx.attempt, spec.format);
    let out = BufWriter::with_capacity(BUFFER_BYTES, temp.open()?);
    let progress = Progress {
        done: Arc::new(AtomicI64::new(0)),
        halt: ctx.stop.child_token(),
    };
    let items = write_reporting(ctx, &spec, out, progress, write).await?;
    ctx.progress(items, spec.total.max(items)).await?;
    let key = export_key(&ctx.store_id, &ctx.id, spec.format);
    let bytes = files.put_file(&key, &temp.path).await?;
    let now = crate::time::now_ms();
    let retention_ms = i64::try_from(spec.retention.as_millis()).unwrap_or(i64::MAX / 2);
    Ok(JobOutput {
        summary: format!("{items} {} exported", spec.dataset),
        items,
        file: Some(JobFile {
            key,
            name: file_name(spec.dataset, &ctx.id, spec.format),
            content_type: spec.format.content_type().to_owned(),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            expires_at_ms: now.saturating_add(retention_ms),
        }),
    })
}

/// Runs the writer to its end, reporting progress meanwhile; the items written.
async fn write_reporting<F>(
    ctx: &JobContext,
    spec: &ExportSpec,
    out: BufWriter<File>,
    progress: Progress,
    write: F,
) -> Result<i64, JobError>
where
    F: FnOnce(BufWriter<File>, Progress) -> Result<(BufWriter<File>, i64), JobError> + Send + 'static,
{
    let (done, halt) = (progress.done.clone(), progress.halt.clone());
    let mut task = tokio::task::spawn_blocking(move || {
        let (out, items) = write(out, progress)?;
        let file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        Ok::<_, JobError>(items)
    });
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut stopped = None;
    loop {
        tokio::select! {
            joined = &mut task => {
                let written = joined.map_err(|e| JobError::Retryable(format!("the export's writer failed: {e}")))?;
                return match stopped {
                    Some(reason) => Err(reason),
                    None => written,
                };
            }
            _ = ticker.tick(), if stopped.is_none() => {
                if let Err(reason) = ctx.progress(done.load(Ordering::Relaxed), spec.total).await {
                    halt.cancel();
                    stopped = Some(reason);
                }
            }
        }
    }
}

/// `orders-2026-12-07-01jf3k2m.csv`: the dataset, the day (UTC) and the job id's last characters.
fn file_name(dataset: &str, job_id: &str, format: Format) -> String {
    let day = time::OffsetDateTime::now_utc().date();
    let tail: String = job_id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{dataset}-{day}-{tail}.{}", format.extension())
}

/// A temporary file only this user can read (exports hold customers' data), removed when dropped.
///
/// Its name is random and it is created exclusively (`O_EXCL`, which also refuses a symlink
/// planted at the path), so another local user can neither predict it nor have it opened for
/// them. Files a killed process left behind are deleted by the next export after a day.
struct TempFile {
    path: PathBuf,
}

/// The prefix of every export's temporary file in the temporary directory.
const TEMP_PREFIX: &str = "mercato-export-";
/// Left-behind temporary files older than this are deleted.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl TempFile {
    fn new(job_id: &str, attempt: u32, format: Format) -> TempFile {
        delete_stale(&std::env::temp_dir());
        let name = format!(
            "{TEMP_PREFIX}{job_id}-{attempt}-{}.{}",
            uuid::Uuid::new_v4().simple(),
            format.extension()
        );
        TempFile {
            path: std::env::temp_dir().join(name),
        }
    }

    fn open(&self) -> Result<File, JobError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(io_error)?;
        Ok(file)
    }
}

/// Deletes this process's kind of temporary files left in `dir` for more than a day (a process
/// killed mid-export cannot remove its own). Best effort: what cannot be read or removed stays.
fn delete_stale(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX))
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > STALE_AFTER));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An I/O failure of the temporary file: worth another attempt (a full disk may clear).
pub fn io_error(e: std::io::Error) -> JobError {
    JobError::Retryable(format!("writing the export: {e}"))
}
