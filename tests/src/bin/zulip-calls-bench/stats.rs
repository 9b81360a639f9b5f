//! Latency samples and their summary (percentiles in milliseconds).

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Summary {
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `samples` (sorted in place); `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest sample with at least q of the samples at or below it.
            let rank = (q * samples.len() as f64).ceil() as usize;
            millis(samples[rank.clamp(1, samples.len()) - 1])
        };
        Some(Summary {
            samples: samples.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: millis(samples[samples.len() - 1]),
        })
    }

    /// Each percentile divided by the floor's same percentile.
    pub fn ratio_to(&self, floor: &Summary) -> Ratios {
        let r = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        Ratios {
            p50: r(self.p50_ms, floor.p50_ms),
            p90: r(self.p90_ms, floor.p90_ms),
            p99: r(self.p99_ms, floor.p99_ms),
        }
    }
}

/// A latency's percentiles as multiples of the floor's.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Ratios {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = Summary::of(&mut samples).unwrap();
        assert_eq!(
            (s.samples, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        let mut one = vec![Duration::from_millis(7)];
        let s = Summary::of(&mut one).unwrap();
        assert_eq!((s.p50_ms, s.p99_ms), (7.0, 7.0));
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn ratios_divide_percentile_by_percentile() {
        let a = Summary {
            samples: 1,
            p50_ms: 3.0,
            p90_ms: 4.0,
            p99_ms: 10.0,
            max_ms: 0.0,
        };
        let floor = Summary {
            samples: 1,
            p50_ms: 1.5,
            p90_ms: 2.0,
            p99_ms: 2.5,
            max_ms: 0.0,
        };
        let r = a.ratio_to(&floor);
        assert_eq!((r.p50, r.p90, r.p99), (2.0, 2.0, 4.0));
    }
}
