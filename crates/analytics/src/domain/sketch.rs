//! A HyperLogLog sketch of distinct visitor keys (4,096 one-byte registers, about 1.6 % error,
//! exact in practice for small counts): kept per store and local day, merged over a range, so
//! distinct visitors over many days is a read of their sketches, not of every key.

/// Registers: 2^12.
const P: u32 = 12;
const M: usize = 1 << P;

/// The registers of one sketch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch(Vec<u8>);

impl Default for Sketch {
    fn default() -> Self {
        Sketch(vec![0; M])
    }
}

/// A stable 64-bit hash of a key (FNV-1a, then the SplitMix64 finaliser to spread its bits):
/// stored sketches must hash alike in every build.
fn hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Sketch {
    /// The sketch stored as `bytes`; an empty one when they are not a sketch.
    pub fn from_bytes(bytes: Vec<u8>) -> Sketch {
        if bytes.len() == M {
            Sketch(bytes)
        } else {
            Sketch::default()
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn add(&mut self, key: &str) {
        let h = hash(key);
        let index = (h >> (64 - P)) as usize;
        let rest = h << P;
        let rank = (rest.leading_zeros().min(64 - P) + 1) as u8;
        if self.0[index] < rank {
            self.0[index] = rank;
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }

    /// The estimated number of distinct keys added.
    pub fn estimate(&self) -> i64 {
        let m = M as f64;
        let zeros = self.0.iter().filter(|r| **r == 0).count();
        let sum: f64 = self.0.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_exact_and_large_ones_close() {
        let mut s = Sketch::default();
        assert_eq!(s.estimate(), 0);
        for k in ["v1", "v2", "v3", "v2"] {
            s.add(k);
        }
        assert_eq!(s.estimate(), 3);
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        for i in 0..60_000 {
            a.add(&format!("visitor-{i}"));
            b.add(&format!("visitor-{}", i + 30_000));
        }
        a.merge(&b);
        let n = a.estimate();
        assert!((88_000..92_000).contains(&n), "{n} for 90,000");
        assert_eq!(Sketch::from_bytes(a.clone().into_bytes()), a);
    }
}
