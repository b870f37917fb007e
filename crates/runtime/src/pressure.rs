//! CPU pressure, read as the async runtime's scheduling delay, and the share of requests to
//! shed while it lasts. A process whose CPU is saturated hides its queue where no limit on
//! requests in flight sees it: in socket buffers and the runtime's run queue, ready tasks
//! waiting for a CPU. How late a short timer fires is that queue's length in time. A sampler
//! measures it every [`SAMPLE_EVERY`] and moves a shed share up fast while two samples in a
//! row find it over its target and down gently while it is under half of it (integral
//! control: the share settles where the admitted work just fits the CPU);
//! [`Pressure::admit`] draws against the share, and refusals are summed up in the log once a
//! second. Why: `docs/adr/0010-shedding-on-cpu-pressure.md`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How often the scheduling delay is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// The shed share, in thousandths, rises by this much per sample while the scheduling delay is
/// over target (0 → the cap in 95 ms)...
const STEP_UP: u32 = 50;
/// ...and falls by this much while it is under half of it (the cap → 0 in 0.5 s): shedding
/// sets in fast and lets go gently, or a queue that refusals just drained would build again.
const STEP_DOWN: u32 = 10;
/// At most this share (in thousandths) is shed: a few requests always get through, so that
/// the admitted work never drops to nothing while the delay comes down.
const MAX_SHED: u32 = 950;

/// Whether to admit a request under the current pressure; clones share one sampler.
#[derive(Clone, Default)]
pub struct Pressure {
    state: Option<Arc<State>>,
}

#[derive(Default)]
struct State {
    /// The share of requests to shed, in thousandths.
    shed: AtomicU32,
    /// The last sampled scheduling delay, µs.
    delay_us: AtomicU64,
    /// Requests shed since the last summary line.
    refused: AtomicU64,
}

impl Pressure {
    /// Never sheds (`http.max_scheduling_delay` is zero).
    pub fn off() -> Self {
        Pressure { state: None }
    }

    /// Samples this runtime's scheduling delay, shedding while it is over `target`, for as
    /// long as a clone of the result lives; a zero `target`, or no runtime to sample, is
    /// [`Pressure::off`].
    pub fn start(target: Duration) -> Self {
        if target.is_zero() || tokio::runtime::Handle::try_current().is_err() {
            return Self::off();
        }
        let state = Arc::new(State::default());
        tokio::spawn(sample(Arc::downgrade(&state), target));
        Pressure { state: Some(state) }
    }

    /// False when this request is to be shed.
    pub fn admit(&self) -> bool {
        let Some(state) = &self.state else {
            return true;
        };
        let shed = state.shed.load(Ordering::Relaxed);
        let admitted = shed == 0 || rand::random::<u32>() % 1000 >= shed;
        if !admitted {
            state.refused.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// The share of requests currently shed, 0 to 1.
    pub fn shed_share(&self) -> f64 {
        self.state
            .as_ref()
            .map_or(0.0, |s| f64::from(s.shed.load(Ordering::Relaxed)) / 1000.0)
    }

    /// The last sampled scheduling delay.
    pub fn delay(&self) -> Duration {
        self.state.as_ref().map_or(Duration::ZERO, |s| {
            Duration::from_micros(s.delay_us.load(Ordering::Relaxed))
        })
    }
}

/// Samples the scheduling delay and sets the shed share until the last [`Pressure`] is gone.
async fn sample(state: Weak<State>, target: Duration) {
    let mut previous = Duration::ZERO;
    let mut summed_up = Instant::now();
    loop {
        let asked = Instant::now();
        tokio::time::sleep(SAMPLE_EVERY).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        let took = asked.elapsed();
        let delay = took.saturating_sub(SAMPLE_EVERY);
        state.delay_us.store(delay.as_micros() as u64, Ordering::Relaxed);
        let sustained = sustained(previous, delay);
        previous = delay;
        let shed = next_shed(state.shed.load(Ordering::Relaxed), sustained, target, took);
        state.shed.store(shed, Ordering::Relaxed);
        metrics::gauge!(SCHEDULING_DELAY.name).set(delay.as_secs_f64());
        metrics::gauge!(SHED_SHARE.name).set(f64::from(shed) / 1000.0);
        if summed_up.elapsed() >= SUMMARY_EVERY {
            summed_up = Instant::now();
            sum_up(&state, delay, shed);
        }
    }
}

/// How often shedding is summed up in the log (one line, where a line per refusal flooded it).
const SUMMARY_EVERY: Duration = Duration::from_secs(1);

/// A `warn` line when requests were shed since the last one.
fn sum_up(state: &State, delay: Duration, shed: u32) {
    let refused = state.refused.swap(0, Ordering::Relaxed);
    if refused > 0 {
        let delay_ms = delay.as_secs_f64() * 1000.0;
        let share = f64::from(shed) / 1000.0;
        tracing::warn!(
            refused,
            delay_ms,
            share,
            "shedding requests: the CPU is saturated"
        );
    }
}

/// The delay two samples in a row saw, the smaller of the two: one stall (a process starting,
/// a long synchronous step) is not overload and sheds nothing; a saturated CPU delays every
/// sample.
fn sustained(previous: Duration, delay: Duration) -> Duration {
    previous.min(delay)
}

/// The shed share after a sample that took `took`: up while the scheduling delay is over
/// `target`, down while it is under half of it, kept in between (the band keeps it from
/// flapping). Each moves by its step per [`SAMPLE_EVERY`] that passed, so a sample made late by
/// the very delay it measures moves the share as far as the samples it missed would have.
fn next_shed(shed: u32, delay: Duration, target: Duration, took: Duration) -> u32 {
    let samples = (took.as_micros() / SAMPLE_EVERY.as_micros()).clamp(1, 1000) as u32;
    if delay > target {
        (shed + STEP_UP * samples).min(MAX_SHED)
    } else if delay < target / 2 {
        shed.saturating_sub(STEP_DOWN * samples)
    } else {
        shed
    }
}

/// Describes the gauges the sampler sets; called once the metrics recorder is installed.
pub fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[SCHEDULING_DELAY, SHED_SHARE]);
}

crate::metric_families! {
    /// How late the last 5 ms timer of the async runtime fired: the time a ready task waits
    /// for a CPU, i.e. the queue a saturated process hides in its sockets and run queue.
    pub const SCHEDULING_DELAY: Gauge(Seconds) = "runtime_scheduling_delay_seconds";
    /// The share of requests (0 to 1) the gateway sheds because the scheduling delay is over
    /// `http.max_scheduling_delay`.
    pub const SHED_SHARE: Gauge(Count) = "http_pressure_shed_share";
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Duration = Duration::from_millis(20);

    #[test]
    fn the_share_climbs_while_the_delay_is_over_target_and_stops_at_the_cap() {
        let (over, on_time) = (Duration::from_millis(30), SAMPLE_EVERY);
        let mut shed = 0;
        for _ in 0..3 {
            shed = next_shed(shed, over, TARGET, on_time);
        }
        assert_eq!(shed, 3 * STEP_UP);
        for _ in 0..100 {
            shed = next_shed(shed, over, TARGET, on_time);
        }
        assert_eq!(shed, MAX_SHED);
    }

    #[test]
    fn a_late_sample_moves_the_share_as_far_as_the_samples_it_missed() {
        let late = SAMPLE_EVERY * 4;
        assert_eq!(next_shed(0, Duration::from_millis(30), TARGET, late), 4 * STEP_UP);
        assert_eq!(
            next_shed(0, Duration::from_millis(400), TARGET, Duration::from_millis(405)),
            MAX_SHED
        );
        assert_eq!(next_shed(500, Duration::ZERO, TARGET, late), 500 - 4 * STEP_DOWN);
    }

    #[test]
    fn one_stall_is_not_overload_but_two_late_samples_in_a_row_are() {
        let (stall, on_time) = (Duration::from_millis(100), Duration::from_micros(300));
        let after_one = next_shed(0, sustained(Duration::ZERO, stall), TARGET, stall);
        assert_eq!(after_one, 0, "a single stall sheds nothing");
        let after_two = next_shed(0, sustained(stall, stall), TARGET, stall);
        assert_eq!(after_two, MAX_SHED);
        assert_eq!(next_shed(0, sustained(stall, on_time), TARGET, on_time), 0);
    }

    #[test]
    fn the_share_holds_in_the_band_and_falls_to_zero_below_it() {
        let on_time = SAMPLE_EVERY;
        assert_eq!(next_shed(500, Duration::from_millis(15), TARGET, on_time), 500);
        assert_eq!(
            next_shed(500, Duration::from_millis(5), TARGET, on_time),
            500 - STEP_DOWN
        );
        assert_eq!(next_shed(5, Duration::ZERO, TARGET, on_time), 0);
    }

    #[test]
    fn refusals_are_summed_up_in_one_line_and_counted_afresh() {
        let logs = crate::testing::CapturedLogs::start(tracing::Level::INFO);
        let state = State::default();
        sum_up(&state, Duration::ZERO, 0);
        state.refused.store(5, Ordering::Relaxed);
        sum_up(&state, Duration::from_millis(30), 500);
        sum_up(&state, Duration::from_millis(30), 500);
        let text = logs.text();
        assert_eq!(text.matches("shedding requests").count(), 1, "{text}");
        assert!(text.contains("refused=5") && text.contains("share=0.5"), "{text}");
    }

    #[test]
    fn off_admits_everything() {
        let pressure = Pressure::off();
        assert!((0..1000).all(|_| pressure.admit()));
        assert_eq!(pressure.shed_share(), 0.0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_blocked_runtime_is_seen_and_shed_then_admitted_again_once_it_is_free() {
        let pressure = Pressure::start(TARGET);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            pressure.admit() && pressure.shed_share() == 0.0,
            "an idle runtime sheds nothing"
        );
        // Hog the one thread in 40 ms slices, as a saturated CPU does to every ready task.
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(40));
            tokio::task::yield_now().await;
        }
        assert!(
            pressure.delay() > TARGET,
            "the delay was seen: {:?}",
            pressure.delay()
        );
        assert!(pressure.shed_share() > 0.0, "requests are shed");
        let shed = (0..10_000).filter(|_| !pressure.admit()).count();
        let expected = pressure.shed_share() * 10_000.0;
        assert!(
            (shed as f64 - expected).abs() < 500.0,
            "shed {shed} of 10,000 at share {expected}"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(pressure.shed_share(), 0.0, "free again, nothing is shed");
    }
}
