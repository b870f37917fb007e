//! `mercato bench jobs`: the job runner's own cost — jobs started per second and the latency
//! from enqueue to start while producers keep enqueueing, on SQLite (as embedded) or PostgreSQL
//! (`--postgres-url`, as distributed). The jobs do nothing but record when they started, so the
//! figures are the queue's: the enqueue transaction, leasing (with its fairness pick), the
//! attempt's bookkeeping and the `job_changed` events, relayed to an in-process bus.

use mercato_runtime::bus::{MemoryBus, SharedBus};
use mercato_runtime::db::Db;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, Jobs, KindPolicy, NewJob};
use mercato_runtime::outbox::OutboxRelay;
use mercato_runtime::shutdown::Shutdown;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct JobsArgs {
    /// Jobs enqueued in all.
    #[arg(long, default_value_t = 20_000)]
    pub jobs: usize,
    /// Stores the jobs are spread over (round robin).
    #[arg(long, default_value_t = 20)]
    pub stores: usize,
    /// Producers enqueueing at once, each job in its own transaction.
    #[arg(long, default_value_t = 8)]
    pub producers: usize,
    /// Jobs running at once in this process (the kind's concurrency).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Jobs of one store running at once.
    #[arg(long, default_value_t = 4)]
    pub per_store: usize,
    /// Jobs enqueued per second in all (spread over the producers); 0 enqueues as fast as the
    /// producers can, which measures the runner saturated (waits then grow with the backlog).
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// A PostgreSQL server URL; a fresh database `mercato_bench_jobs_<n>` is made there.
    /// Without it, a temporary SQLite file.
    #[arg(long)]
    pub postgres_url: Option<String>,
}

const KIND: &str = "bench.noop";

/// Records when each job started, against when it was enqueued (in its input).
struct Noop {
    waits_ms: Arc<Mutex<Vec<i64>>>,
    concurrency: usize,
    per_store: usize,
}

#[async_trait::async_trait]
impl JobHandler for Noop {
    fn policy(&self) -> KindPolicy {
        policy(self.concurrency, self.per_store)
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let enqueued = job.input["enqueued_ms"].as_i64().unwrap_or_default();
        let wait = mercato_runtime::time::now_ms() - enqueued;
        self.waits_ms.lock().unwrap_or_else(|p| p.into_inner()).push(wait);
        Ok(JobOutput::default())
    }
}

fn policy(concurrency: usize, per_store: usize) -> KindPolicy {
    KindPolicy {
        kind: KIND,
        max_attempts: 3,
        concurrency,
        per_store,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(5),
        lease: Duration::from_secs(30),
    }
}

pub async fn jobs(args: &JobsArgs) -> anyhow::Result<()> {
    let (db, engine) = database(args).await?;
    db.migrate("bench_jobs", &[]).await?;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let relay = OutboxRelay::new("bench_jobs", db.clone(), bus);
    let jobs = Jobs::new("bench_jobs", db.clone(), relay.waker());
    let waits_ms = Arc::new(Mutex::new(Vec::with_capacity(args.jobs)));
    let mut runner = jobs.runner();
    runner.register(Arc::new(Noop {
        waits_ms: waits_ms.clone(),
        concurrency: args.concurrency,
        per_store: args.per_store,
    }));
    let stop = Shutdown::new();
    let relay_task = tokio::spawn(relay.run(stop.clone()));
    let runner_task = tokio::spawn(runner.run(stop.clone()));

    let started = Instant::now();
    let producers: Vec<_> = (0..args.producers.max(1))
        .map(|p| tokio::spawn(produce(jobs.clone(), args.clone(), p)))
        .collect();
    for producer in producers {
        producer.await??;
    }
    let enqueued_in = started.elapsed();
    while waits_ms.lock().unwrap_or_else(|p| p.into_inner()).len() < args.jobs {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "jobs did not all start within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_started_in = started.elapsed();
    stop.cancel();
    let _ = tokio::join!(relay_task, runner_task);
    report(args, engine, enqueued_in, all_started_in, &waits_ms);
    Ok(())
}

/// Enqueues this producer's share, each job in its own transaction, waking the runner after
/// each commit as services do.
async fn produce(jobs: Jobs, args: JobsArgs, producer: usize) -> anyhow::Result<()> {
    let producers = args.producers.max(1);
    // Each producer's share of the rate, as a fixed interval between its enqueues.
    let mut pace = (args.rate > 0).then(|| {
        let every = Duration::from_secs_f64(producers as f64 / f64::from(args.rate));
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    for n in (producer..args.jobs).step_by(producers) {
        if let Some(interval) = pace.as_mut() {
            interval.tick().await;
        }
        let job = NewJob {
            kind: KIND,
            store_id: format!("store-{}", n % args.stores.max(1)),
            input: serde_json::json!({"n": n, "enqueued_ms": mercato_runtime::time::now_ms()}),
            requested_by: "system".to_owned(),
            dedupe_key: None,
            max_attempts: 3,
        };
        let queue = jobs.queue();
        jobs.db()
            .write("bench_enqueue", move |tx| queue.enqueue(tx, &job))
            .await?;
        jobs.wake();
    }
    Ok(())
}

async fn database(args: &JobsArgs) -> anyhow::Result<(Db, &'static str)> {
    match &args.postgres_url {
        Some(url) => {
            let name = format!("mercato_bench_jobs_{}", std::process::id());
            Ok((Db::postgres(url, &name, 16).await?, "PostgreSQL"))
        }
        None => Ok((Db::sqlite_temp().await?, "SQLite")),
    }
}

fn report(
    args: &JobsArgs,
    engine: &str,
    enqueued_in: Duration,
    all_started_in: Duration,
    waits_ms: &Mutex<Vec<i64>>,
) {
    let mut waits = waits_ms.lock().unwrap_or_else(|p| p.into_inner()).clone();
    waits.sort_unstable();
    let at = |q: f64| waits[((waits.len() as f64 * q) as usize).min(waits.len() - 1)];
    println!(
        "jobs ({engine}): {} jobs over {} stores from {} producers at {}; concurrency {}, per store {}",
        args.jobs,
        args.stores,
        args.producers,
        match args.rate {
            0 => "full speed".to_owned(),
            rate => format!("{rate}/s"),
        },
        args.concurrency,
        args.per_store
    );
    println!(
        "jobs ({engine}): enqueued {:.0}/s; started {:.0}/s (all started {:.2} s after the first enqueue)",
        args.jobs as f64 / enqueued_in.as_secs_f64(),
        args.jobs as f64 / all_started_in.as_secs_f64(),
        all_started_in.as_secs_f64()
    );
    println!(
        "jobs ({engine}): enqueue → start p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}
