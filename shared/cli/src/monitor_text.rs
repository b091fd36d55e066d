//! The monitoring commands' summaries for a person: tables on stdout, and
//! the malformed lines (counted by reason, the first few shown) for stderr.
//! `--json` prints the same summaries as JSON instead.

use crate::monitor::{MalformedSummary, ProfileSummary, QualitySummary};
use crate::table;
use capture_monitor::statistics::FeatureStatistics;
use capture_monitor::MalformedReason;

/// What `baseline` or `profile` wrote, and a row per feature.
pub fn profile_text(summary: &ProfileSummary) -> String {
    let header = format!(
        "wrote {}: {} rows from {} records in {} objects, {} malformed lines\n\n",
        summary.out, summary.rows, summary.records, summary.objects, summary.malformed.count
    );
    let rows: Vec<Vec<String>> = summary.statistics.features.iter().map(feature_row).collect();
    header
        + &table(
            &[
                "feature",
                "type",
                "present",
                "missing",
                "min",
                "max",
                "mean",
                "std_dev",
                "distribution",
            ],
            &rows,
        )
}

fn feature_row(feature: &FeatureStatistics) -> Vec<String> {
    let optional = |value: Option<f64>| value.map_or_else(|| "-".to_string(), number);
    let mut row = vec![feature.name.clone(), feature.inferred_type.to_string()];
    if let Some(numerical) = &feature.numerical_statistics {
        row.extend([
            numerical.common.num_present.to_string(),
            numerical.common.num_missing.to_string(),
            optional(numerical.min),
            optional(numerical.max),
            optional(numerical.mean),
            optional(numerical.std_dev),
            format!("{} buckets", numerical.distribution.kll.buckets.len()),
        ]);
    } else if let Some(string) = &feature.string_statistics {
        let buckets = &string.distribution.categorical.buckets;
        let top: Vec<String> = buckets
            .iter()
            .take(3)
            .map(|bucket| format!("{} ({})", bucket.value, bucket.count))
            .collect();
        let more = if buckets.len() > 3 { ", …" } else { "" };
        row.extend([
            string.common.num_present.to_string(),
            string.common.num_missing.to_string(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            format!("{} categories: {}{more}", string.distinct_count, top.join(", ")),
        ]);
    }
    row
}

/// The metrics table, then the counts. No joined pair gives no metrics, not zeros.
pub fn quality_text(summary: &QualitySummary) -> String {
    let metrics = &summary.metrics;
    let named = [
        ("mae", metrics.mae),
        ("mse", metrics.mse),
        ("rmse", metrics.rmse),
        ("r2", metrics.r2),
        ("accuracy", metrics.accuracy),
        ("precision", metrics.precision),
        ("recall", metrics.recall),
        ("f1", metrics.f1),
        ("auc", metrics.auc),
        ("weighted_f1", metrics.weighted_f1),
    ];
    let mut rows: Vec<Vec<String>> = named
        .iter()
        .filter_map(|(name, value)| value.map(|value| vec![name.to_string(), number(value)]))
        .collect();
    rows.push(vec!["count".into(), metrics.count.to_string()]);
    let mut out = format!(
        "model {} ({}): {} capture objects, {} label objects\n\n",
        summary.model, summary.problem, summary.capture_objects, summary.label_objects
    );
    if metrics.count == 0 {
        out.push_str(
            "no prediction was joined with a label: no metrics (a window without pairs is not a perfect model)\n\n",
        );
    }
    out.push_str(&table(&["metric", "value"], &rows));
    let counts = &summary.counts;
    let count_rows: Vec<Vec<String>> = [
        ("records", counts.records),
        ("predictions", counts.predictions),
        ("labels", counts.labels),
        ("joined", counts.joined),
        ("unmatched predictions", counts.unmatched_predictions),
        ("unmatched labels", counts.unmatched_labels),
        ("duplicate predictions", counts.duplicate_predictions),
        ("duplicate labels", counts.duplicate_labels),
        ("unusable pairs", counts.unusable_pairs),
        ("malformed capture lines", summary.malformed.captures.count),
        ("malformed label lines", summary.malformed.labels.count),
    ]
    .iter()
    .map(|(name, count)| vec![name.to_string(), count.to_string()])
    .collect();
    out.push('\n');
    out + &table(&["count", "value"], &count_rows)
}

/// Malformed lines for stderr: nothing when there are none.
pub fn malformed_text(what: &str, malformed: &MalformedSummary) -> String {
    if malformed.count == 0 {
        return String::new();
    }
    let reasons: Vec<String> = malformed
        .by_reason
        .iter()
        .map(|(reason, count)| format!("{count} {}", reason_name(*reason)))
        .collect();
    let mut out = format!(
        "{} malformed {what} lines skipped ({})\n",
        malformed.count,
        reasons.join(", ")
    );
    for example in &malformed.examples {
        out.push_str(&format!(
            "  {}:{}: {}: {}\n",
            example.object, example.line.line, example.line.detail, example.line.excerpt
        ));
    }
    out
}

/// A reason as the JSON output spells it (kebab-case).
fn reason_name(reason: MalformedReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{reason:?}"))
}

/// A value for a table: whole numbers as they are, others to four decimals
/// (two from a hundred on), which is as far as a person reads.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() >= 100.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}
