//! Which drift method suits a wide report of small samples, measured: the
//! README's advice rests on this test. 1,997 features, none of which
//! drifted, each sampled twice (500 rows, baseline and current) from one
//! normal distribution and bucketed as Model Monitor buckets them: 10
//! equal-width buckets between the sample's minimum and maximum. Sampling
//! noise alone moves a 500-row CDF by more than 0.1 now and then, so a
//! comparison that does not allow for the sample size sees drift that is
//! not there; one that does, or a test corrected across features, sees none.

// Helpers here are test code too: a bad sample should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use trigger_decision::drift::distance::{Bucket, Numeric};
use trigger_decision::drift::{assess, DriftReport, FeatureDistribution, FeatureStatistics, Statistics};
use trigger_decision::{Path, Policy, Timestamp};

const FEATURES: usize = 1_997;
const ROWS: usize = 500;
const BUCKETS: usize = 10;

/// xorshift64*: a fixed stream without a dependency, so every run samples the same report.
struct Random(u64);

impl Random {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        // In (0, 1]: never 0, so the logarithm below is finite.
        (bits as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `ROWS` draws from N(mean, sd), as the statistics of one report describe them.
fn sample(random: &mut Random, mean: f64, sd: f64) -> FeatureDistribution {
    let rows: Vec<f64> = (0..ROWS).map(|_| mean + sd * random.normal()).collect();
    let (low, high) = rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), x| {
        (low.min(*x), high.max(*x))
    });
    let width = (high - low) / BUCKETS as f64;
    let mut counts = [0.0; BUCKETS];
    for x in &rows {
        let index = (((x - low) / width) as usize).min(BUCKETS - 1);
        counts[index] += 1.0;
    }
    let average = rows.iter().sum::<f64>() / ROWS as f64;
    let variance = rows.iter().map(|x| (x - average).powi(2)).sum::<f64>() / (ROWS - 1) as f64;
    FeatureDistribution::Numeric(Numeric {
        buckets: (0..BUCKETS)
            .map(|i| Bucket {
                lower: low + width * i as f64,
                upper: low + width * (i + 1) as f64,
                count: counts[i],
            })
            .collect(),
        count: ROWS as f64,
        std_dev: Some(variance.sqrt()),
    })
}

/// The wide report: every feature sampled twice from its own distribution.
fn undrifted_report() -> DriftReport {
    let mut random = Random(0x5eed_2024_0d1f_7a11);
    let (mut baseline, mut current) = (Vec::new(), Vec::new());
    for feature in 0..FEATURES {
        let (mean, sd) = (feature as f64, 1.0 + (feature % 7) as f64);
        let name = format!("feature_{feature}");
        baseline.push(FeatureStatistics {
            name: name.clone(),
            distribution: sample(&mut random, mean, sd),
        });
        current.push(FeatureStatistics {
            name,
            distribution: sample(&mut random, mean, sd),
        });
    }
    DriftReport {
        report_id: "wide".into(),
        model: Some("wide".into()),
        source: "s3://reports/wide/statistics.json".into(),
        observed_at: Timestamp(0),
        baseline: Statistics { features: baseline },
        current: Statistics { features: current },
        constraints: None,
        path: Path::Direct,
    }
}

/// How many features `drift` (the body of a `[model.drift]` section) calls drifted.
fn flagged(report: &DriftReport, drift: &str) -> usize {
    let policy = Policy::from_toml(&format!(
        "[[model]]\nname = \"wide\"\npipeline = \"wide-retrain\"\n[model.drift]\n{drift}\n"
    ))
    .unwrap();
    assess(report, policy.models[0].drift.as_ref().unwrap()).drifted_count()
}

#[test]
fn on_a_wide_report_of_small_samples_only_simple_linf_flags_sampling_noise() {
    let report = undrifted_report();
    let simple = flagged(&report, "method = \"linf\"\ncomparison = \"simple\"\nthreshold = 0.1");
    let robust = flagged(&report, "method = \"linf\"\ncomparison = \"robust\"\nthreshold = 0.1");
    let chi_square = flagged(&report, "method = \"chi-square\"");
    assert!(
        simple > 0,
        "simple L-infinity should flag some undrifted features, flagged {simple}"
    );
    assert_eq!((robust, chi_square), (0, 0), "simple flagged {simple}");
}
