//! The in-process work one invocation does, set up for the criterion
//! benchmarks: `benches/decide.rs` parses the event JSON, decodes it into
//! signals, routes each signal to its models and decides, against a parsed
//! policy and a synthetic history; `benches/drift.rs` compares a drift
//! report's statistics with its baseline. Pure: no I/O, no clock, no AWS.
//!
//! `benches/backtest.rs` evaluates a year of alarms and replays the
//! timeline (`backtest`).
//! `monitor` holds the capture-monitor scenarios (`benches/monitor.rs`, and
//! the `profile-capture` and `generate-capture` binaries).
//!
//! The cold-start harness (`bench/coldstart.py`) and its Python/boto3
//! reference (`bench/reference/`) measure the rest: process start, SDK
//! set-up and the calls to SageMaker and S3.

pub mod backtest;
pub mod monitor;

use serde_json::Value;
use trigger_decision::drift::distance::{self, Bucket, Categorical, Distance, Numeric};
use trigger_decision::drift::{assess, Assessment, DriftReport, FeatureDistribution, FeatureStatistics, Statistics};
use trigger_decision::policy::DriftPolicy;
use trigger_decision::{
    decide, key, route, Decision, DedupeKey, Evidence, Execution, ExecutionStatus, History, Path, Policy, PolicyError,
    Route, Signal, Span, Timestamp,
};

/// The policy every benchmark decides against: the guide's housing-price
/// model, the file the tests share, bound to the alarm and the schedule the
/// fixtures name, plus two models bound to other alarms so routing has
/// something to skip.
pub const POLICY: &str = concat!(
    include_str!("../../tests/fixtures/policies/housing-price.toml"),
    r#"
[[model]]
name = "churn"
pipeline = "churn-retrain"
alarms = ["churn-auc-low"]
schedules = ["churn-weekly"]

[[model]]
name = "fraud"
pipeline = "fraud-retrain"
alarms = ["fraud-recall-low", "fraud-precision-low"]
"#
);

/// How long after the event "now" is in every decision: a prompt delivery,
/// well inside any maximum event age.
pub const DELIVERY_DELAY: Span = Span::from_secs(300);

const HOUR_MILLIS: i64 = 3_600_000;

/// One delivery shape of an event, with the fixture that represents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The CloudWatch alarm's own Lambda action.
    AlarmDirect,
    /// A CloudWatch alarm notification through an SNS topic.
    Sns,
    /// EventBridge's "CloudWatch Alarm State Change".
    EventBridgeAlarm,
    /// An EventBridge scheduled rule.
    Schedule,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::AlarmDirect, Shape::Sns, Shape::EventBridgeAlarm, Shape::Schedule];

    /// The benchmark's name, as `make bench` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::AlarmDirect => "alarm-direct",
            Shape::Sns => "sns",
            Shape::EventBridgeAlarm => "eventbridge-alarm",
            Shape::Schedule => "schedule",
        }
    }

    /// The fixture's JSON text, compiled in so the benchmark reads no file.
    pub fn fixture(self) -> &'static str {
        match self {
            Shape::AlarmDirect => include_str!("../../tests/fixtures/events/example-cloudwatch-alarm-metric.json"),
            Shape::Sns => include_str!("../../tests/fixtures/events/example-sns-cloudwatch-alarm.json"),
            Shape::EventBridgeAlarm => {
                include_str!("../../tests/fixtures/events/example-eventbridge-alarm-state-change.json")
            }
            Shape::Schedule => include_str!("../../tests/fixtures/events/example-eventbridge-scheduled-event.json"),
        }
    }
}

/// What `decide` is given besides the signal: the policy, parsed once as at
/// cold start, and a history like the shell gathers it from SageMaker and
/// the ledger.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub policy: Policy,
    pub executions: Vec<Execution>,
    pub evidence: Vec<Evidence>,
    pub now: Timestamp,
}

impl Scenario {
    /// The scenario for one shape's fixture, "now" being `DELIVERY_DELAY`
    /// after the event. Decoding the fixture to find its time happens here,
    /// outside any timing.
    pub fn for_shape(shape: Shape) -> Result<Scenario, String> {
        let decisions_time = signals(shape, shape.fixture())?
            .first()
            .map(|signal| signal.occurred_at().plus(DELIVERY_DELAY))
            .ok_or_else(|| format!("the {} fixture holds no signal", shape.name()))?;
        Scenario::new(decisions_time).map_err(|error| error.to_string())
    }

    /// Five finished executions (the newest a day before `now`, so outside
    /// the cooldown and none in flight) and three pieces of evidence, two of
    /// them newer than the last start. Every shape therefore reaches a start,
    /// the most expensive path: the token, the display name and the
    /// parameters are all derived.
    pub fn new(now: Timestamp) -> Result<Scenario, PolicyError> {
        let policy = Policy::from_toml(POLICY)?;
        let statuses = ["Succeeded", "Failed", "Succeeded", "Stopped", "Succeeded"];
        let executions = statuses
            .iter()
            .enumerate()
            .map(|(index, status)| {
                let days_ago = i64::try_from(index).unwrap_or(0) + 1;
                Execution {
                    arn: format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/housing-price-retrain/execution/{days_ago:012}"),
                    status: ExecutionStatus::parse(status),
                    started_at: Timestamp(now.millis() - days_ago * 24 * HOUR_MILLIS),
                    display_name: Some(format!("housing-price-metric-{days_ago:012x}")),
                }
            })
            .collect();
        let evidence = [30, 12, 2]
            .iter()
            .map(|hours_ago| Evidence {
                trigger_id: key::trigger_id(&DedupeKey::new(format!("evidence/{hours_ago}"))),
                summary: format!("alarm housing-price-mae-high moved to ALARM {hours_ago} h ago: mae 16250 > 15000"),
                at: Timestamp(now.millis() - hours_ago * HOUR_MILLIS),
            })
            .collect();
        Ok(Scenario {
            policy,
            executions,
            evidence,
            now,
        })
    }

    fn history(&self) -> History<'_> {
        History {
            executions: &self.executions,
            evidence: &self.evidence,
            recorded_execution: None,
        }
    }
}

/// Everything an invocation does in-process for one event, as the handlers
/// do it: JSON text to `Value` (the runtime's part), decode, route, decide
/// for every bound model. Errors are strings: a benchmark only reports them.
pub fn decode_and_decide(shape: Shape, event_text: &str, scenario: &Scenario) -> Result<Vec<Decision>, String> {
    let signals = signals(shape, event_text)?;
    let mut decisions = Vec::new();
    for signal in &signals {
        match route(signal, &scenario.policy) {
            Route::Models(models) => decisions.extend(
                models
                    .into_iter()
                    .map(|model| decide(signal, model, scenario.history(), scenario.now)),
            ),
            Route::Unmatched(decision) => decisions.push(decision),
        }
    }
    Ok(decisions)
}

/// JSON text to `Value`, then the decoder for the shape.
fn signals(shape: Shape, event_text: &str) -> Result<Vec<Signal>, String> {
    let event: Value = serde_json::from_str(event_text).map_err(|error| error.to_string())?;
    Ok(match shape {
        Shape::AlarmDirect | Shape::EventBridgeAlarm => {
            vec![trigger_events::alarm::decode(&event).map_err(|error| error.to_string())?]
        }
        Shape::Sns => trigger_events::sns::decode(&event)
            .map_err(|error| error.to_string())?
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|error| error.to_string())?,
        Shape::Schedule => vec![trigger_events::schedule::decode(&event).map_err(|error| error.to_string())?],
    })
}

/// Where every benchmarked drift report says its current statistics came from.
const DRIFT_SOURCE: &str = "s3://monitoring-reports/housing-price/2024/01/01/statistics.json";

/// The drift methods a policy can name; `benches/drift.rs` times each.
pub const DRIFT_METHODS: [&str; 5] = ["linf", "psi", "js", "wasserstein", "chi-square"];

/// A drift report (the fixtures' baseline against their severe drift: three
/// numerical and two categorical features, parsed once as the function
/// parses them) and a policy judging it with one method over every feature.
#[derive(Debug, Clone)]
pub struct DriftScenario {
    pub report: DriftReport,
    pub policy: Policy,
}

impl DriftScenario {
    /// The fixtures' baseline against their severe drift.
    pub fn new(method: &str) -> Result<DriftScenario, String> {
        let baseline = parse_statistics(
            include_str!("../../tests/fixtures/statistics/baseline-statistics.json"),
            "s3://monitoring-reports/housing-price/baseline/statistics.json",
        )?;
        let current = parse_statistics(
            include_str!("../../tests/fixtures/statistics/current-severe.json"),
            DRIFT_SOURCE,
        )?;
        DriftScenario::with_statistics(method, baseline, current)
    }

    /// Any two statistics (the wide benchmark's generated ones, say) as a
    /// report, with a policy judging every feature by `method`.
    pub fn with_statistics(method: &str, baseline: Statistics, current: Statistics) -> Result<DriftScenario, String> {
        let policy = Policy::from_toml(&format!(
            "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\n\
             [model.drift]\nmethod = \"{method}\"\nfeatures = [\"*\"]\n"
        ))
        .map_err(|error| error.to_string())?;
        let report = DriftReport {
            report_id: "housing-price-monitoring-2024-01-01".to_string(),
            model: Some("housing-price".to_string()),
            source: DRIFT_SOURCE.to_string(),
            observed_at: Timestamp(1_704_067_200_000),
            baseline,
            current,
            constraints: None,
            path: Path::Direct,
        };
        Ok(DriftScenario { report, policy })
    }

    /// The `[model.drift]` the scenario's policy holds.
    pub fn drift_policy(&self) -> Option<&DriftPolicy> {
        self.policy.models.first().and_then(|model| model.drift.as_ref())
    }
}

/// Every feature's distance under the scenario's method, and the verdict.
pub fn assess_drift(scenario: &DriftScenario) -> Option<Assessment> {
    scenario.drift_policy().map(|policy| assess(&scenario.report, policy))
}

/// How many features, and buckets (or categories) per feature, the wide
/// drift benchmarks compare: the size the 5 ms target is set for.
pub const WIDE_FEATURES: usize = 1_000;
pub const WIDE_BUCKETS: usize = 10;

/// A baseline and a current `Statistics` of `features` features with
/// `buckets` buckets each, numerical (`categorical == false`) or categorical.
/// Deterministic: feature `i`'s current distribution is its baseline shifted
/// by `i % 7` tenths of a bucket (numerical) or with mass moved between its
/// first categories (categorical), so every distance has work to do and some
/// features drift, some not.
pub fn wide_statistics(features: usize, buckets: usize, categorical: bool) -> (Statistics, Statistics) {
    let side = |shifted: bool| Statistics {
        features: (0..features)
            .map(|index| FeatureStatistics {
                name: format!("feature_{index:04}"),
                distribution: if categorical {
                    wide_categorical(index, buckets, shifted)
                } else {
                    wide_numeric(index, buckets, shifted)
                },
            })
            .collect(),
    };
    (side(false), side(true))
}

fn wide_numeric(index: usize, buckets: usize, shifted: bool) -> FeatureDistribution {
    let offset = index as f64 + if shifted { (index % 7) as f64 * 0.1 } else { 0.0 };
    // A hump: counts rise to the middle bucket and fall again.
    let middle = buckets as f64 / 2.0;
    let buckets: Vec<Bucket> = (0..buckets)
        .map(|bucket| Bucket {
            lower: offset + bucket as f64,
            upper: offset + bucket as f64 + 1.0,
            count: 100.0 * (1.0 + middle - (bucket as f64 + 0.5 - middle).abs()),
        })
        .collect();
    let count = buckets.iter().map(|bucket| bucket.count).sum();
    FeatureDistribution::Numeric(Numeric {
        buckets,
        count,
        // Roughly the hump's spread; Wasserstein only needs a positive scale to divide by.
        std_dev: Some(middle / 2.0),
    })
}

fn wide_categorical(index: usize, categories: usize, shifted: bool) -> FeatureDistribution {
    let moved = if shifted { (index % 7) as f64 * 20.0 } else { 0.0 };
    let counts = (0..categories)
        .map(|category| {
            let base = 100.0 * (category + 1) as f64;
            let count = match category {
                0 => base + moved,
                1 => (base - moved).max(0.0),
                _ => base,
            };
            (format!("value_{category}"), count)
        })
        .collect();
    FeatureDistribution::Categorical(Categorical { counts })
}

/// Every measure the drift policy offers, for every feature the two sides share: for a
/// numerical feature simple and robust L-infinity, PSI, Jensen-Shannon,
/// Wasserstein and chi-square; for a categorical one L-infinity, PSI,
/// Jensen-Shannon and chi-square; then Benjamini-Hochberg over the
/// chi-square p-values. Returns every distance, in that order, feature by
/// feature. Each feature's pair of distributions is prepared once for all its
/// measures (`distance::every_numeric`, `distance::every_categorical`).
pub fn every_distance(baseline: &Statistics, current: &Statistics) -> Vec<Distance> {
    let mut distances = Vec::with_capacity(6 * baseline.features.len());
    for (before, after) in baseline.features.iter().zip(&current.features) {
        match (&before.distribution, &after.distribution) {
            (FeatureDistribution::Numeric(b), FeatureDistribution::Numeric(c)) => {
                let all = distance::every_numeric(b, c);
                distances.extend([
                    all.linf,
                    all.linf_robust,
                    all.psi,
                    all.js,
                    all.wasserstein,
                    all.chi_square,
                ]);
            }
            (FeatureDistribution::Categorical(b), FeatureDistribution::Categorical(c)) => {
                let all = distance::every_categorical(b, c);
                distances.extend([all.linf, all.psi, all.js, all.chi_square]);
            }
            _ => {}
        }
    }
    let p_values: Vec<f64> = distances.iter().filter_map(|distance| distance.p_value).collect();
    let adjusted = distance::benjamini_hochberg(&p_values);
    let mut adjusted = adjusted.into_iter();
    for distance in &mut distances {
        if distance.p_value.is_some() {
            distance.p_value = adjusted.next();
        }
    }
    distances
}

fn parse_statistics(text: &str, source: &str) -> Result<Statistics, String> {
    let document: Value = serde_json::from_str(text).map_err(|error| format!("{source}: {error}"))?;
    trigger_events::monitor::statistics(&document, source).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trigger_decision::Outcome;

    #[test]
    fn every_benchmarked_shape_reaches_one_start() {
        for shape in Shape::ALL {
            let scenario = Scenario::for_shape(shape).unwrap();
            let decisions = decode_and_decide(shape, shape.fixture(), &scenario).unwrap();
            let outcomes: Vec<(Option<&str>, Outcome)> = decisions
                .iter()
                .map(|decision| (decision.model.as_deref(), decision.outcome()))
                .collect();
            assert_eq!(
                outcomes,
                [(Some("housing-price"), Outcome::Started)],
                "{}",
                shape.name()
            );
        }
    }

    #[test]
    fn the_wide_statistics_give_every_distance_and_some_drift() {
        for (categorical, per_feature) in [(false, 6), (true, 4)] {
            let (baseline, current) = wide_statistics(WIDE_FEATURES, WIDE_BUCKETS, categorical);
            assert!(baseline.features.iter().all(|feature| match &feature.distribution {
                FeatureDistribution::Numeric(numeric) => numeric.buckets.len() == WIDE_BUCKETS,
                FeatureDistribution::Categorical(counts) => counts.counts.len() == WIDE_BUCKETS,
            }));
            let distances = every_distance(&baseline, &current);
            assert_eq!(
                distances.len(),
                WIDE_FEATURES * per_feature,
                "categorical: {categorical}"
            );
            // Features with `i % 7 == 0` are unchanged, the others moved.
            let moved = distances.iter().filter(|distance| distance.value > 0.0).count();
            assert!(moved > distances.len() / 2, "categorical: {categorical}: {moved} moved");
            assert!(distances.iter().any(|distance| distance.value == 0.0));
            assert!(
                distances.iter().all(|distance| distance.note.is_none()),
                "{distances:?}"
            );
        }
    }

    #[test]
    fn every_benchmarked_drift_method_finds_the_severe_drift() {
        for method in DRIFT_METHODS {
            let assessment = assess_drift(&DriftScenario::new(method).unwrap()).unwrap();
            assert_eq!(assessment.features.len(), 5, "{method}");
            assert!(assessment.drifted_count() > 0, "{method}: {assessment:?}");
        }
    }
}
