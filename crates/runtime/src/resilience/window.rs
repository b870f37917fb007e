//! A sliding window of event counts (ten buckets), shared by the circuit breaker's error ratio
//! and the retry budget. Time is passed in, so tests drive it with made-up instants.

use std::time::{Duration, Instant};

const BUCKETS: usize = 10;

/// Counts of two kinds of event (`[total, marked]`: calls and failures, or requests and
/// retries) over the last `span`, in ten buckets of `span / 10`; a bucket older than the span
/// no longer counts.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    origin: Instant,
    bucket: Duration,
    /// Per slot: the bucket number it holds, and its counts.
    slots: [(u64, [u64; 2]); BUCKETS],
}

impl SlidingWindow {
    pub(crate) fn new(span: Duration, origin: Instant) -> Self {
        let bucket = (span / BUCKETS as u32).max(Duration::from_millis(1));
        SlidingWindow {
            origin,
            bucket,
            slots: [(0, [0; 2]); BUCKETS],
        }
    }

    fn bucket_number(&self, now: Instant) -> u64 {
        // Buckets are numbered from 1, so that the zeroed slots of a new window hold none.
        (now.saturating_duration_since(self.origin).as_nanos() / self.bucket.as_nanos()) as u64 + 1
    }

    /// Counts one event; `marked` when it is the second kind (a failure, a retry).
    pub(crate) fn add(&mut self, now: Instant, marked: bool) {
        let number = self.bucket_number(now);
        let slot = &mut self.slots[(number % BUCKETS as u64) as usize];
        if slot.0 != number {
            *slot = (number, [0; 2]);
        }
        slot.1[0] += 1;
        if marked {
            slot.1[1] += 1;
        }
    }

    /// `(total, marked)` over the window ending at `now`.
    pub(crate) fn totals(&self, now: Instant) -> (u64, u64) {
        let current = self.bucket_number(now);
        let oldest = current.saturating_sub(BUCKETS as u64 - 1);
        self.slots
            .iter()
            .filter(|(number, _)| (oldest..=current).contains(number))
            .fold((0, 0), |(total, marked), (_, counts)| {
                (total + counts[0], marked + counts[1])
            })
    }

    /// Forgets every count (a breaker closing starts a fresh window).
    pub(crate) fn clear(&mut self) {
        self.slots = [(0, [0; 2]); BUCKETS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fall_out_of_the_window_bucket_by_bucket() {
        let t0 = Instant::now();
        let mut window = SlidingWindow::new(Duration::from_secs(10), t0);
        window.add(t0, false);
        window.add(t0 + Duration::from_millis(500), true);
        window.add(t0 + Duration::from_secs(5), true);
        assert_eq!(window.totals(t0 + Duration::from_secs(5)), (3, 2));
        // At 10.5 s the first second's bucket has left the window, the fifth's has not.
        assert_eq!(window.totals(t0 + Duration::from_millis(10_500)), (1, 1));
        assert_eq!(window.totals(t0 + Duration::from_secs(16)), (0, 0));
    }

    #[test]
    fn a_slot_reused_by_a_later_bucket_starts_from_zero() {
        let t0 = Instant::now();
        let mut window = SlidingWindow::new(Duration::from_secs(10), t0);
        window.add(t0, true);
        window.add(t0 + Duration::from_secs(10), false);
        assert_eq!(window.totals(t0 + Duration::from_secs(10)), (1, 0));
        window.clear();
        assert_eq!(window.totals(t0 + Duration::from_secs(10)), (0, 0));
    }
}
