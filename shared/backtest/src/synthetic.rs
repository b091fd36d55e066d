//! Synthetic metric history for demos and benchmarks: deterministic, so a
//! demo prints the same table on every machine.
//!
//! `housing_price_mae` is the demo's story of a model going stale, in MAE
//! (dollars) against a 15,000 threshold: a slow rise from 11,500 to 15,600
//! over the whole range; one flapping week (days 20 to 27) in which the error
//! swings about 2,500 either side of 14,500 every six hours, crossing the
//! threshold again and again; and a sudden jump of 5,000 on day 50 that lasts
//! three days. Noise of up to ±300 comes from a fixed-seed xorshift; values
//! are whole dollars.

use crate::series::MetricSeries;
use trigger_decision::{Span, Timestamp};

const DAY: f64 = 86_400_000.0;

/// MAE per period for `days` days from `start`.
pub fn housing_price_mae(start: Timestamp, period: Span, days: u32) -> MetricSeries {
    let count = (f64::from(days) * DAY / period.millis() as f64) as usize;
    let mut noise = Xorshift(0x9E37_79B9_7F4A_7C15);
    let values = (0..count)
        .map(|index| {
            let day = index as f64 * period.millis() as f64 / DAY;
            let rise = 11_500.0 + 4_100.0 * day / f64::from(days);
            let level = if (20.0..27.0).contains(&day) {
                14_500.0 + 2_500.0 * (day * std::f64::consts::TAU * 4.0).sin()
            } else if (50.0..53.0).contains(&day) {
                rise + 5_000.0
            } else {
                rise
            };
            // Whole dollars, as a monitoring job would report MAE.
            (level + 300.0 * noise.next_signed()).round()
        })
        .collect();
    MetricSeries::new(start, period, values)
}

/// A value per period that stays under `threshold` except for `breaches`
/// short spells above it, spread evenly: the shape of a healthy metric with
/// a few incidents, for benchmarks.
pub fn mostly_quiet(
    start: Timestamp,
    period: Span,
    count: usize,
    threshold: f64,
    breaches: usize,
    seed: u64,
) -> MetricSeries {
    let mut noise = Xorshift(seed | 1);
    let spacing = count / (breaches + 1).max(1);
    let values = (0..count)
        .map(|index| {
            let in_breach = spacing > 0 && (1..=breaches).contains(&(index / spacing)) && index % spacing < 30;
            let base = if in_breach { threshold * 1.2 } else { threshold * 0.7 };
            base + threshold * 0.05 * noise.next_signed()
        })
        .collect();
    MetricSeries::new(start, period, values)
}

/// George Marsaglia's xorshift64: tiny, fast, and the same everywhere.
struct Xorshift(u64);

impl Xorshift {
    /// A value in [-1, 1).
    fn next_signed(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_series_tells_its_story() {
        let series = housing_price_mae(Timestamp::from_millis(0), Span::from_secs(300), 90);
        assert_eq!(series.values.len(), 90 * 288);
        let day = |day: f64| &series.values[(day * 288.0) as usize..((day + 1.0) * 288.0) as usize];
        let max = |values: &[f64]| values.iter().copied().fold(f64::MIN, f64::max);
        let min = |values: &[f64]| values.iter().copied().fold(f64::MAX, f64::min);
        // Quiet at first, under the threshold.
        assert!(max(day(2.0)) < 15_000.0);
        // The flapping week crosses the threshold both ways within a day.
        assert!(max(day(22.0)) > 15_000.0 && min(day(22.0)) < 15_000.0);
        // The jump is far above it, and over after three days.
        assert!(min(day(51.0)) > 16_000.0);
        assert!(max(day(55.0)) < 15_000.0);
        // The slow rise ends above it.
        assert!(min(day(89.0)) > 15_000.0);
        assert_eq!(
            series,
            housing_price_mae(Timestamp::from_millis(0), Span::from_secs(300), 90)
        );
    }

    #[test]
    fn quiet_series_breach_only_in_their_spells() {
        let series = mostly_quiet(Timestamp::from_millis(0), Span::from_secs(60), 10_000, 100.0, 4, 7);
        let above = series.values.iter().filter(|value| **value > 100.0).count();
        assert_eq!(above, 4 * 30);
    }
}
