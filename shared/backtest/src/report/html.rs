//! The report as one self-contained HTML page, viewable offline: the
//! summaries and decisions as HTML tables, and per model one chart, drawn by
//! plotters' SVG backend and inlined.
//!
//! Each chart shares one time axis, the replay's, across its panels: per
//! bound alarm the metric (each pixel column's minimum and maximum, so peaks
//! survive) with its threshold; then five lanes: the alarm states as a band,
//! schedule firings, evidence kept, executions as bars with a triangle where
//! each start began, and deferrals marked with their reason.
//!
//! Start marks are the only shapes filled with `START_MARK_COLOR`, so a
//! reader (or a test) can count them; the legend is HTML, not SVG, for the
//! same reason.

use super::{AlarmTimeline, Report};
use crate::error::BacktestError;
use crate::evaluate::State;
use crate::replay::Decided;
use crate::report::table::{self, minute, Section};
use crate::series::MetricSeries;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::fmt::Write;
use trigger_decision::{Outcome, Timestamp};

/// The fill of start marks, used by nothing else in a chart.
pub const START_MARK_COLOR: RGBColor = RGBColor(0x1F, 0x4E, 0x9D);
const METRIC_COLOR: RGBColor = RGBColor(0x33, 0x66, 0x99);
const THRESHOLD_COLOR: RGBColor = RGBColor(0xC0, 0x39, 0x2B);
const ALARM_COLOR: RGBColor = RGBColor(0xE7, 0x4C, 0x3C);
const OK_COLOR: RGBColor = RGBColor(0x2E, 0xCC, 0x71);
const INSUFFICIENT_COLOR: RGBColor = RGBColor(0xBD, 0xC3, 0xC7);
const SCHEDULE_COLOR: RGBColor = RGBColor(0x8E, 0x44, 0xAD);
const EVIDENCE_COLOR: RGBColor = RGBColor(0xF3, 0x9C, 0x12);
const RUN_COLOR: RGBColor = RGBColor(0xAE, 0xD6, 0xF1);
const DEFERRAL_COLOR: RGBColor = RGBColor(0xD3, 0x54, 0x00);

const WIDTH: u32 = 1100;
const METRIC_HEIGHT: u32 = 220;
const LANES_HEIGHT: u32 = 200;
const Y_LABEL_WIDTH: u32 = 110;
/// The lanes under the metric, top to bottom.
const LANES: [&str; 5] = ["alarm state", "schedule", "evidence kept", "executions", "deferred"];

/// The page: `series` holds each alarm's values by alarm name.
pub fn render(report: &Report, series: &BTreeMap<String, MetricSeries>) -> Result<String, BacktestError> {
    let mut page = String::new();
    let title = format!("Backtest {} to {}", minute(report.start), minute(report.end));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>{}</title>\
         <style>{STYLE}</style></head><body><h1>{}</h1>",
        escape(&title),
        escape(&title)
    );
    for warning in &report.warnings {
        let _ = write!(
            page,
            "<p class=\"warning\">warning: {}</p>",
            escape(&warning.to_string())
        );
    }
    page.push_str(&html_table(&table::summaries(report)));
    for section in table::comparison(report).into_iter().chain(table::sweep(report)) {
        page.push_str(&html_table(&section));
    }
    page.push_str(LEGEND);
    for binding in &report.models {
        let chart = model_chart(report, &binding.model, series)?;
        let _ = write!(
            page,
            "<section id=\"model-{}\"><h2>{}</h2>{chart}</section>",
            escape(&binding.model),
            escape(&binding.model)
        );
    }
    page.push_str(&html_table(&table::decisions(report)));
    page.push_str("</body></html>\n");
    Ok(page)
}

const STYLE: &str =
    "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}.warning{color:#b35900}\
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}\
.frontier{font-weight:bold}";

const LEGEND: &str = "<p class=\"legend\">\
<span style=\"background:#336699\"></span>metric\
<span style=\"background:#C0392B\"></span>threshold\
<span style=\"background:#E74C3C\"></span>ALARM\
<span style=\"background:#2ECC71\"></span>OK\
<span style=\"background:#BDC3C7\"></span>INSUFFICIENT_DATA\
<span style=\"background:#8E44AD\"></span>schedule firing\
<span style=\"background:#F39C12\"></span>evidence kept\
<span style=\"background:#1F4E9D\"></span>start\
<span style=\"background:#AED6F1\"></span>execution\
<span style=\"background:#D35400\"></span>deferred (reason)</p>";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One section of the text table as an HTML heading and table.
fn html_table(section: &Section) -> String {
    let mut table = format!("<h2>{}</h2><table><tr>", escape(&section.title));
    for title in &section.header {
        let _ = write!(table, "<th>{}</th>", escape(title));
    }
    table.push_str("</tr>");
    for (cells, highlighted) in section.rows.iter().zip(&section.highlighted) {
        table.push_str(if *highlighted {
            "<tr class=\"frontier\">"
        } else {
            "<tr>"
        });
        for cell in cells {
            let _ = write!(table, "<td>{}</td>", escape(cell));
        }
        table.push_str("</tr>");
    }
    table.push_str("</table>");
    table
}

/// One model's chart as an SVG document.
fn model_chart(report: &Report, model: &str, series: &BTreeMap<String, MetricSeries>) -> Result<String, BacktestError> {
    let failed = |problem: String| BacktestError::Chart {
        model: model.to_string(),
        problem,
    };
    let alarms: Vec<&AlarmTimeline> = report
        .models
        .iter()
        .filter(|binding| binding.model == model)
        .flat_map(|binding| binding.alarms.iter())
        .filter_map(|entry| report.alarms.iter().find(|timeline| timeline.is_named_by(entry)))
        .collect();
    let height = METRIC_HEIGHT * u32::try_from(alarms.len()).unwrap_or(0) + LANES_HEIGHT;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| failed(error.to_string()))?;
        let (metric_area, lanes_area) = root.split_vertically(height - LANES_HEIGHT);
        let panels = metric_area.split_evenly((alarms.len().max(1), 1));
        for (panel, timeline) in panels.iter().zip(&alarms) {
            let values = series.get(&timeline.alarm.name);
            metric_panel(panel, report, timeline, values).map_err(|error| failed(error.to_string()))?;
        }
        lanes_panel(&root, &lanes_area, report, model, &alarms).map_err(|error| failed(error.to_string()))?;
        root.present().map_err(|error| failed(error.to_string()))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error + 'static>>;

/// Formats axis instants as dates, or dates and times for replays of a few days.
fn time_label(report: &Report) -> impl Fn(&i64) -> String {
    let short = report.end.millis() - report.start.millis() <= 3 * 86_400_000;
    move |millis: &i64| {
        let text = Timestamp::from_millis(*millis).to_string();
        if short {
            format!("{} {}", &text[5..10], &text[11..16])
        } else {
            text[5..10].to_string()
        }
    }
}

fn metric_panel(
    area: &Area<'_>,
    report: &Report,
    timeline: &AlarmTimeline,
    series: Option<&MetricSeries>,
) -> DrawResult {
    let (start, end) = (report.start.millis(), report.end.millis());
    let segments = series.map(|series| envelope(series, start, end)).unwrap_or_default();
    let threshold = timeline.alarm.threshold;
    let (low, high) = segments
        .iter()
        .flatten()
        .fold((threshold, threshold), |(low, high), (_, value)| {
            (low.min(*value), high.max(*value))
        });
    let pad = ((high - low) * 0.08).max(threshold.abs() * 0.01).max(1e-9);
    let caption = format!(
        "{} ({} {} {})",
        timeline.alarm.name,
        timeline.alarm.metric.as_deref().unwrap_or("value"),
        timeline.alarm.comparison.words(),
        threshold
    );
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .caption(caption, ("sans-serif", 15))
        .x_label_area_size(22)
        .y_label_area_size(Y_LABEL_WIDTH)
        .build_cartesian_2d(start..end, (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_labels(10)
        .x_label_formatter(&time_label(report))
        .y_labels(5)
        .light_line_style(WHITE)
        .draw()?;
    for segment in segments {
        chart.draw_series(LineSeries::new(segment, METRIC_COLOR.stroke_width(1)))?;
    }
    chart.draw_series(DashedLineSeries::new(
        [(start, threshold), (end, threshold)],
        6,
        4,
        THRESHOLD_COLOR.stroke_width(2),
    ))?;
    Ok(())
}

/// Each pixel column's minimum and maximum, as a line that visits both, in
/// runs broken where a column has no data.
fn envelope(series: &MetricSeries, start: i64, end: i64) -> Vec<Vec<(i64, f64)>> {
    let columns = i64::from(WIDTH - Y_LABEL_WIDTH);
    let width = ((end - start) / columns).max(1);
    let mut buckets: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (at, value) in series.points() {
        let (Some(value), true) = (value, (start..end).contains(&at.millis())) else {
            continue;
        };
        let bucket = (at.millis() - start) / width;
        let entry = buckets.entry(bucket).or_insert((value, value));
        *entry = (entry.0.min(value), entry.1.max(value));
    }
    let mut segments: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut previous: Option<i64> = None;
    for (bucket, (low, high)) in buckets {
        if previous != Some(bucket - 1) {
            segments.push(Vec::new());
        }
        previous = Some(bucket);
        let at = start + bucket * width;
        if let Some(segment) = segments.last_mut() {
            segment.push((at, low));
            segment.push((at + width / 2, high));
        }
    }
    segments
}

/// The five lanes; lane names are drawn on `root` beside the lanes' plot area.
fn lanes_panel(
    root: &Area<'_>,
    area: &Area<'_>,
    report: &Report,
    model: &str,
    alarms: &[&AlarmTimeline],
) -> DrawResult {
    let (start, end) = (report.start.millis(), report.end.millis());
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .x_label_area_size(24)
        .y_label_area_size(Y_LABEL_WIDTH)
        .build_cartesian_2d(start..end, 0.0..LANES.len() as f64)?;
    chart
        .configure_mesh()
        .x_labels(10)
        .x_label_formatter(&time_label(report))
        .y_labels(0)
        .disable_y_mesh()
        .light_line_style(WHITE)
        .draw()?;
    for (index, name) in LANES.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(start, lane(index) + 0.5));
        let style = ("sans-serif", 13)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(*name, (x - 8, y), style))?;
    }
    for (from, to, state) in state_bands(alarms, report.start, report.end) {
        let color = match state {
            State::Alarm => ALARM_COLOR,
            State::Ok => OK_COLOR,
            State::InsufficientData => INSUFFICIENT_COLOR,
        };
        let to = to.max(from + narrowest(report));
        let corners = [(from, lane(0) + 0.15), (to, lane(0) + 0.85)];
        chart.draw_series([Rectangle::new(corners, color.filled())])?;
    }
    let firings = report
        .models
        .iter()
        .filter(|binding| binding.model == model)
        .flat_map(|binding| binding.schedules.iter())
        .filter_map(|name| report.schedules.iter().find(|firings| &firings.schedule == name))
        .flat_map(|firings| firings.firings.iter().map(|at| at.millis()));
    chart.draw_series(firings.map(|at| {
        PathElement::new(
            [(at, lane(1) + 0.2), (at, lane(1) + 0.8)],
            SCHEDULE_COLOR.stroke_width(2),
        )
    }))?;
    let decisions: Vec<&Decided> = report.decisions_for(model).collect();
    chart.draw_series(
        decisions
            .iter()
            .filter(|decided| decided.decision.evidence_kept)
            .map(|decided| Circle::new((decided.at.millis(), lane(2) + 0.5), 4, EVIDENCE_COLOR.filled())),
    )?;
    runs(&mut chart, &decisions, end, narrowest(report))?;
    deferrals(&mut chart, &decisions, lane(4) + 0.5)?;
    Ok(())
}

/// Two pixel columns of time: bands and bars are drawn at least this wide,
/// so an hour-long breach in a quarter's chart still shows.
fn narrowest(report: &Report) -> i64 {
    2 * (report.end.millis() - report.start.millis()) / i64::from(WIDTH - Y_LABEL_WIDTH)
}

/// The bottom of lane `index`, counted from the top: lanes are one unit tall.
fn lane(index: usize) -> f64 {
    (LANES.len() - index - 1) as f64
}

/// Executions as bars, and a start mark where each began.
fn runs(chart: &mut LaneChart<'_, '_>, decisions: &[&Decided], end: i64, narrowest: i64) -> DrawResult {
    for run in decisions.iter().filter_map(|decided| decided.decision.run.as_ref()) {
        let to = run.ends_at.millis().min(end).max(run.started_at.millis() + narrowest);
        let corners = [(run.started_at.millis(), lane(3) + 0.25), (to, lane(3) + 0.75)];
        chart.draw_series([Rectangle::new(corners, RUN_COLOR.filled())])?;
    }
    chart.draw_series(
        decisions
            .iter()
            .filter(|decided| decided.outcome() == Outcome::Started)
            .map(|decided| TriangleMarker::new((decided.at.millis(), lane(3) + 0.5), 7, START_MARK_COLOR.filled())),
    )?;
    Ok(())
}

type LaneChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordi64, plotters::coord::types::RangedCoordf64>,
>;

/// Crosses for deferrals, each labelled with its reason unless it would overlap the last label.
fn deferrals(chart: &mut LaneChart<'_, '_>, decisions: &[&Decided], y: f64) -> DrawResult {
    let deferred: Vec<&&Decided> = decisions
        .iter()
        .filter(|decided| decided.outcome() == Outcome::Deferred)
        .collect();
    chart.draw_series(
        deferred
            .iter()
            .map(|decided| Cross::new((decided.at.millis(), y), 4, DEFERRAL_COLOR.stroke_width(2))),
    )?;
    let mut last_label_x: Option<i32> = None;
    for decided in deferred {
        let (x, _) = chart.backend_coord(&(decided.at.millis(), y));
        if last_label_x.is_some_and(|last| x - last < 70) {
            continue;
        }
        last_label_x = Some(x);
        let style = ("sans-serif", 11)
            .into_font()
            .color(&DEFERRAL_COLOR)
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series([Text::new(
            decided.decision.reason.clone(),
            (decided.at.millis(), y - 0.3),
            style,
        )])?;
    }
    Ok(())
}

/// The union of the alarms' states over time, as (from, to, state): ALARM
/// where any bound alarm is in ALARM, else OK where any is OK, else
/// INSUFFICIENT_DATA. Changes before the replay set the state at its start.
fn state_bands(alarms: &[&AlarmTimeline], start: Timestamp, end: Timestamp) -> Vec<(i64, i64, State)> {
    let mut changes: Vec<(Timestamp, usize, State)> = alarms
        .iter()
        .enumerate()
        .flat_map(|(index, timeline)| {
            timeline
                .changes
                .iter()
                .map(move |change| (change.at, index, change.state))
        })
        .collect();
    changes.sort_by_key(|(at, index, _)| (*at, *index));
    let mut states = vec![State::InsufficientData; alarms.len()];
    let combined = |states: &[State]| {
        if states.contains(&State::Alarm) {
            State::Alarm
        } else if states.contains(&State::Ok) {
            State::Ok
        } else {
            State::InsufficientData
        }
    };
    let mut bands = Vec::new();
    let mut since = start;
    let mut current = combined(&states);
    for (at, index, state) in changes {
        states[index] = state;
        let next = combined(&states);
        if at <= start {
            current = next;
            continue;
        }
        if at >= end {
            break;
        }
        if next != current {
            bands.push((since.millis(), at.millis(), current));
            since = at;
            current = next;
        }
    }
    bands.push((since.millis(), end.millis(), current));
    bands
}
