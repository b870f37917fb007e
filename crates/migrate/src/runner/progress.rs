//! How an import shows it is moving: a progress bar per entity on a terminal (indicatif), plain
//! lines every few seconds otherwise (logs, CI), nothing in tests.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where an import reports how far it got.
pub trait Progress: Send + Sync {
    /// An entity's pass begins with about `estimate` rows to go.
    fn begin(&self, entity: &str, estimate: u64) -> Box<dyn EntityProgressBar>;
}

/// One entity's pass.
pub trait EntityProgressBar: Send + Sync {
    /// `rows` more source rows were handled.
    fn advance(&self, rows: u64);
    /// The pass ended; `summary` says what it did.
    fn finish(&self, summary: &str);
}

/// Bars on a terminal, plain lines elsewhere.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars(
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        ))
    } else {
        Box::new(Lines)
    }
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: u64) -> Box<dyn EntityProgressBar> {
        Box::new(Silent)
    }
}

impl EntityProgressBar for Silent {
    fn advance(&self, _: u64) {}
    fn finish(&self, _: &str) {}
}

struct Bars(MultiProgress);

impl Progress for Bars {
    fn begin(&self, entity: &str, estimate: u64) -> Box<dyn EntityProgressBar> {
        let bar = self.0.add(ProgressBar::new(estimate));
        let style =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(entity.to_owned());
        Box::new(bar)
    }
}

impl EntityProgressBar for ProgressBar {
    fn advance(&self, rows: u64) {
        if self.position() + rows > self.length().unwrap_or(0) {
            self.set_length(self.position() + rows);
        }
        self.inc(rows);
    }

    fn finish(&self, summary: &str) {
        self.finish_with_message(summary.to_owned());
    }
}

struct Lines;

impl Progress for Lines {
    fn begin(&self, entity: &str, estimate: u64) -> Box<dyn EntityProgressBar> {
        eprintln!("{entity}: about {estimate} rows");
        Box::new(Line {
            entity: entity.to_owned(),
            started: Instant::now(),
            state: Mutex::new((0, Instant::now())),
        })
    }
}

/// Plain lines: rows so far and the rate, at most every 5 s.
struct Line {
    entity: String,
    started: Instant,
    /// Rows so far, and when the last line was printed.
    state: Mutex<(u64, Instant)>,
}

impl EntityProgressBar for Line {
    fn advance(&self, rows: u64) {
        let Ok(mut state) = self.state.lock() else { return };
        state.0 += rows;
        if state.1.elapsed() >= Duration::from_secs(5) {
            state.1 = Instant::now();
            let rate = state.0 as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!("{}: {} rows, {rate:.0} rows/s", self.entity, state.0);
        }
    }

    fn finish(&self, summary: &str) {
        eprintln!("{}: {summary}", self.entity);
    }
}
