//! Drift decisions as tables: a report, a `[model.drift]` policy and a
//! history in; the tier, the training mode and the parameters out.

// Helpers here are test code too: a bad table entry should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use trigger_decision::drift::distance::{Bucket, Categorical, Numeric};
use trigger_decision::drift::{DriftReport, FeatureDistribution, FeatureStatistics, MonitorConstraints, Statistics};
use trigger_decision::{decide, Action, Execution, ExecutionStatus, History, Outcome, Path, Policy, Signal, Timestamp};

const NOW: Timestamp = Timestamp(1_700_000_000_000);

/// Ten equal buckets over [0, 10) holding `counts`.
fn numeric(counts: [f64; 10]) -> FeatureDistribution {
    let buckets = (0..10)
        .map(|i| Bucket {
            lower: i as f64,
            upper: i as f64 + 1.0,
            count: counts[i],
        })
        .collect::<Vec<_>>();
    FeatureDistribution::Numeric(Numeric {
        count: counts.iter().sum(),
        buckets,
        std_dev: Some(2.87),
    })
}

fn categorical(counts: &[(&str, f64)]) -> FeatureDistribution {
    FeatureDistribution::Categorical(Categorical {
        counts: counts
            .iter()
            .map(|(value, count)| (value.to_string(), *count))
            .collect(),
    })
}

const FLAT: [f64; 10] = [1000.0; 10];
/// Moves 15% of the mass from the top half to the bottom half: L-infinity 0.15.
const MILD: [f64; 10] = [
    1300.0, 1300.0, 1300.0, 1300.0, 1300.0, 700.0, 700.0, 700.0, 700.0, 700.0,
];
/// Moves 40% of the mass: L-infinity 0.4.
const SEVERE: [f64; 10] = [
    1800.0, 1800.0, 1800.0, 1800.0, 1800.0, 200.0, 200.0, 200.0, 200.0, 200.0,
];

fn statistics(features: &[(&str, FeatureDistribution)]) -> Statistics {
    Statistics {
        features: features
            .iter()
            .map(|(name, distribution)| FeatureStatistics {
                name: name.to_string(),
                distribution: distribution.clone(),
            })
            .collect(),
    }
}

fn baseline() -> Statistics {
    statistics(&[
        ("sqft", numeric(FLAT)),
        ("bedrooms", numeric(FLAT)),
        ("zipcode", categorical(&[("98101", 5000.0), ("98102", 5000.0)])),
    ])
}

fn report(current: Statistics) -> Signal {
    Signal::Drift(Box::new(DriftReport {
        report_id: "report-1".into(),
        model: Some("housing-price".into()),
        source: "s3://reports/housing-price/statistics.json".into(),
        observed_at: NOW,
        baseline: baseline(),
        current,
        constraints: None,
        path: Path::Direct,
    }))
}

fn policy(drift: &str) -> Policy {
    Policy::from_toml(&format!(
        "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\n[model.drift]\n{drift}\n"
    ))
    .unwrap()
}

const POLICY: &str =
    "comparison = \"simple\"\nthreshold = 0.1\nsevere = 0.3\ncritical = [\"zipcode\"]\nmin_drifted = 2";

/// Decides and checks the outcome, the reason and the TrainingMode passed.
fn check(current: Statistics, drift: &str, executions: &[Execution], expected: (Outcome, &str, Option<&str>)) {
    let policy = policy(drift);
    let history = History {
        executions,
        ..History::default()
    };
    let decision = decide(&report(current), &policy.models[0], history, NOW);
    let mode = match &decision.action {
        Action::Start(request) => request
            .parameters
            .iter()
            .find(|(name, _)| name == "TrainingMode")
            .map(|(_, value)| value.as_str()),
        _ => None,
    };
    assert_eq!(
        (decision.outcome(), decision.reason.as_str(), mode),
        expected,
        "{}",
        decision.detail
    );
}

#[test]
fn drift_tiers() {
    use Outcome::*;
    let same = baseline();
    let zipcode = categorical(&[("98101", 5000.0), ("98102", 5000.0)]);
    let mild_two = statistics(&[
        ("sqft", numeric(MILD)),
        ("bedrooms", numeric(MILD)),
        ("zipcode", zipcode.clone()),
    ]);
    let mild_one = statistics(&[
        ("sqft", numeric(MILD)),
        ("bedrooms", numeric(FLAT)),
        ("zipcode", zipcode.clone()),
    ]);
    let severe = statistics(&[
        ("sqft", numeric(SEVERE)),
        ("bedrooms", numeric(MILD)),
        ("zipcode", zipcode),
    ]);
    let moved_zip = categorical(&[("98101", 3000.0), ("98102", 7000.0)]);
    let critical = statistics(&[
        ("sqft", numeric(MILD)),
        ("bedrooms", numeric(FLAT)),
        ("zipcode", moved_zip),
    ]);

    check(same, POLICY, &[], (Skipped, "no-drift", None));
    check(mild_one.clone(), POLICY, &[], (Skipped, "below-threshold", None));
    check(
        mild_two.clone(),
        POLICY,
        &[],
        (Started, "drift-mild", Some("incremental")),
    );
    check(severe, POLICY, &[], (Started, "drift-severe", Some("full")));
    check(critical, POLICY, &[], (Started, "drift-critical", Some("full")));
    // min_drifted defaults to 1; a single drifted feature then starts.
    check(
        mild_one,
        "comparison = \"simple\"",
        &[],
        (Started, "drift-mild", Some("incremental")),
    );
    // The shared guards hold for drift too.
    let running = Execution {
        arn: "arn:exec/1".into(),
        status: ExecutionStatus::Executing,
        started_at: Timestamp(NOW.0 - 86_400_000),
        display_name: None,
    };
    check(mild_two, POLICY, &[running], (Deferred, "in-flight", None));
}

#[test]
fn a_mild_start_carries_rehearsal_score_and_features() {
    let policy = policy(POLICY);
    let current = statistics(&[
        ("sqft", numeric(MILD)),
        ("bedrooms", numeric(MILD)),
        ("zipcode", categorical(&[("98101", 5000.0), ("98102", 5000.0)])),
    ]);
    let decision = decide(&report(current), &policy.models[0], History::default(), NOW);
    let Action::Start(request) = decision.action else {
        panic!("expected a start: {}", decision.detail)
    };
    let parameter = |name: &str| {
        request
            .parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(parameter("TriggerType").as_deref(), Some("drift"));
    assert_eq!(parameter("RehearsalFraction").as_deref(), Some("0.2"));
    assert_eq!(parameter("DriftedFeatures").as_deref(), Some("bedrooms,sqft"));
    let score: f64 = parameter("DriftScore").unwrap().parse().unwrap();
    assert!((score - 0.15).abs() < 1e-6, "{score}");
    let reason = parameter("TriggerReason").unwrap();
    assert!(
        reason.contains("report-1") && reason.contains("sqft linf 0.150") && reason.contains("incremental"),
        "{reason}"
    );
}

#[test]
fn policy_settings_win_over_constraints_and_constraints_over_defaults() {
    let current = statistics(&[("sqft", numeric(MILD)), ("bedrooms", numeric(MILD))]);
    let with_constraints = |constraints: MonitorConstraints| {
        let Signal::Drift(mut report) = report(current.clone()) else {
            unreachable!()
        };
        report.constraints = Some(constraints);
        Signal::Drift(report)
    };
    // constraints.json raises ε to 0.2: the 0.15 shift no longer counts.
    let strict = with_constraints(MonitorConstraints {
        threshold: Some(0.2),
        robust: Some(false),
        ..Default::default()
    });
    let inherited = policy("min_drifted = 1");
    assert_eq!(
        decide(&strict, &inherited.models[0], History::default(), NOW)
            .reason
            .as_str(),
        "no-drift"
    );
    // The policy's own threshold wins.
    let own = policy("threshold = 0.1\ncomparison = \"simple\"");
    assert_eq!(
        decide(&strict, &own.models[0], History::default(), NOW).reason.as_str(),
        "drift-mild"
    );
}

#[test]
fn a_feature_missing_on_one_side_is_noted_not_drifted() {
    let current = statistics(&[("sqft", numeric(FLAT))]);
    let Signal::Drift(drift_report) = report(current) else {
        unreachable!()
    };
    let policy = policy(POLICY);
    let assessment = trigger_decision::drift::assess(&drift_report, policy.models[0].drift.as_ref().unwrap());
    let bedrooms = assessment
        .features
        .iter()
        .find(|feature| feature.feature == "bedrooms")
        .unwrap();
    assert!(!bedrooms.drifted);
    assert_eq!(bedrooms.note.as_deref(), Some("missing from the current statistics"));
    assert_eq!(assessment.drifted_count(), 0);
}

#[test]
fn chi_square_uses_adjusted_p_values_and_cramers_v() {
    let policy = policy("method = \"chi-square\"\nthreshold = 0.01\nsevere = 0.3");
    let current = statistics(&[
        ("sqft", numeric(FLAT)),
        ("bedrooms", numeric(FLAT)),
        ("zipcode", categorical(&[("98101", 4000.0), ("98102", 6000.0)])),
    ]);
    let decision = decide(&report(current), &policy.models[0], History::default(), NOW);
    assert_eq!(
        (decision.outcome(), decision.reason.as_str()),
        (Outcome::Started, "drift-mild"),
        "{}",
        decision.detail
    );
    assert!(decision.detail.contains("zipcode chi-square"), "{}", decision.detail);
}
