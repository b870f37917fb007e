//! The per-connection frame rate: a fixed one-second window.

use std::time::{Duration, Instant};

/// What to do with a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the rate: answer `rate_limited` and skip the frame.
    Refuse,
    /// Far over the rate (ten times): close the connection.
    Flooding,
}

/// Counts one connection's frames per second.
pub struct FrameBudget {
    per_second: u32,
    window_start: Instant,
    count: u32,
}

impl FrameBudget {
    pub fn new(per_second: u32) -> Self {
        FrameBudget {
            per_second: per_second.max(1),
            window_start: Instant::now(),
            count: 0,
        }
    }

    /// Counts a frame arriving now.
    pub fn take(&mut self) -> Verdict {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Verdict {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count > self.per_second.saturating_mul(10) {
            Verdict::Flooding
        } else if self.count > self.per_second {
            Verdict::Refuse
        } else {
            Verdict::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_beyond_the_rate_are_refused_then_flooding_closes_and_a_new_window_resets() {
        let mut b = FrameBudget::new(2);
        let t = Instant::now();
        assert_eq!(b.take_at(t), Verdict::Allow);
        assert_eq!(b.take_at(t), Verdict::Allow);
        assert_eq!(b.take_at(t), Verdict::Refuse);
        for _ in 0..17 {
            b.take_at(t);
        }
        assert_eq!(b.take_at(t), Verdict::Flooding);
        assert_eq!(b.take_at(t + Duration::from_secs(1)), Verdict::Allow);
    }
}
