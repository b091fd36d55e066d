//! The report as text for a terminal: the decisions that started or
//! deferred, the summary per model, the policy against its baselines, and
//! the sweep, each as aligned columns.

use super::Report;
use crate::summary::Totals;
use std::collections::BTreeMap;
use std::fmt::Write;
use trigger_decision::{Outcome, Timestamp};

/// One table of the report: a title, a header and rows of plain-text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows to stand out (the sweep's frontier), by index.
    pub highlighted: Vec<bool>,
}

impl Section {
    fn new(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Section {
        Section {
            title: title.to_string(),
            header: header.iter().map(|title| title.to_string()).collect(),
            highlighted: vec![false; rows.len()],
            rows,
        }
    }

    /// The title, then aligned columns.
    pub fn to_text(&self) -> String {
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        format!("{}\n{}", self.title, columns(&header, &self.rows))
    }
}

/// The whole table, sections separated by a blank line.
pub fn render(report: &Report) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "Backtest {} to {}", minute(report.start), minute(report.end));
    for warning in &report.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    let mut sections = vec![decisions(report), summaries(report)];
    sections.extend(comparison(report));
    sections.extend(sweep(report));
    for section in sections {
        text.push('\n');
        text.push_str(&section.to_text());
    }
    text
}

/// `2024-03-04 10:05`, UTC.
pub fn minute(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {}", &text[..10], &text[11..16])
}

/// One row per decision that started or deferred.
pub fn decisions(report: &Report) -> Section {
    let rows = report
        .decisions
        .iter()
        .filter(|decided| matches!(decided.outcome(), Outcome::Started | Outcome::Deferred))
        .map(|decided| {
            vec![
                minute(decided.at),
                decided.model().unwrap_or("-").to_string(),
                format!("{} {}", decided.trigger.as_str(), decided.source),
                decided.outcome().as_str().to_string(),
                decided.decision.reason.clone(),
                decided.decision.detail.clone(),
            ]
        })
        .collect();
    Section::new(
        "Decisions that started or deferred",
        &["time", "model", "trigger", "outcome", "reason", "detail"],
        rows,
    )
}

/// One row per model.
pub fn summaries(report: &Report) -> Section {
    let rows = report
        .summaries
        .iter()
        .map(|summary| {
            vec![
                summary.model.clone(),
                summary.starts.to_string(),
                by_reason(&summary.starts_by_reason),
                summary.deferred.to_string(),
                by_reason(&summary.deferred_by_reason),
                summary.skipped.to_string(),
                hours(summary.breach_hours),
                hours(summary.breach_hours_before_start),
                hours(summary.longest_wait_hours),
                cost(summary.cost),
            ]
        })
        .collect();
    let header = [
        "model",
        "starts",
        "by reason",
        "deferred",
        "by reason",
        "skipped",
        "breach h",
        "breach h before start",
        "longest wait h",
        "cost",
    ];
    Section::new("Summary per model", &header, rows)
}

const TOTALS_HEADER: [&str; 5] = ["starts", "deferred", "breach h before start", "longest wait h", "cost"];

/// The policy and its baselines, if they were replayed.
pub fn comparison(report: &Report) -> Option<Section> {
    let rows: Vec<Vec<String>> = report
        .comparison
        .iter()
        .map(|line| {
            let mut row = vec![line.variant.as_str().to_string()];
            row.extend(totals_cells(&line.totals));
            row
        })
        .collect();
    let header: Vec<&str> = ["variant"].into_iter().chain(TOTALS_HEADER).collect();
    (rows.len() > 1).then(|| Section::new("Policy vs baselines", &header, rows))
}

/// One row per sweep combination, if there was a sweep.
pub fn sweep(report: &Report) -> Option<Section> {
    let keys: Vec<String> = report.sweep.first()?.settings.keys().cloned().collect();
    let rows = report
        .sweep
        .iter()
        .map(|line| {
            let mut row: Vec<String> = keys
                .iter()
                .map(|key| line.settings.get(key).cloned().unwrap_or_default())
                .collect();
            row.extend(totals_cells(&line.totals));
            row.push(if line.frontier { "*".to_string() } else { String::new() });
            row
        })
        .collect();
    let header: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .chain(TOTALS_HEADER)
        .chain(["frontier"])
        .collect();
    let mut section = Section::new(
        "Sweep (* = not dominated on starts vs breach hours before a start)",
        &header,
        rows,
    );
    section.highlighted = report.sweep.iter().map(|line| line.frontier).collect();
    Some(section)
}

fn totals_cells(totals: &Totals) -> Vec<String> {
    vec![
        totals.starts.to_string(),
        totals.deferred.to_string(),
        hours(totals.breach_hours_before_start),
        hours(totals.longest_wait_hours),
        cost(totals.cost),
    ]
}

/// `alarm 3, scheduled-with-evidence 1`, or `-`.
fn by_reason(counts: &BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "-".to_string();
    }
    counts
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hours(hours: f64) -> String {
    format!("{hours:.1}")
}

fn cost(cost: Option<f64>) -> String {
    cost.map_or_else(|| "-".to_string(), |cost| format!("{cost:.2}"))
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index == last {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_and_leave_the_last_unpadded() {
        let rows = vec![
            vec![
                "housing-price".to_string(),
                "4".to_string(),
                "a long detail".to_string(),
            ],
            vec!["churn".to_string(), "12".to_string(), "x".to_string()],
        ];
        assert_eq!(
            columns(&["model", "starts", "detail"], &rows),
            "model          starts  detail\nhousing-price  4       a long detail\nchurn          12      x\n"
        );
        assert_eq!(minute(Timestamp::from_millis(1_709_546_700_000)), "2024-03-04 10:05");
        assert_eq!(by_reason(&BTreeMap::new()), "-");
        assert_eq!(cost(Some(1234.5)), "1234.50");
    }
}
