//! Reading a captured payload: the `data` of `endpointInput` or
//! `endpointOutput`, with its `encoding` (CSV, JSON, or BASE64 holding the
//! bytes of either, as `observedContentType` says), into feature values per
//! row and one prediction per row.
//!
//! Input shapes: CSV, one row per line (a batch is several lines); JSON, an
//! object of named features, `{"instances": [...]}` of rows, an array of
//! rows, or one array of values (a row of the features in order); a row
//! object may also hold its values positionally as `{"features": [...]}`.

use crate::join::Outcome;
use crate::malformed::MalformedReason;
use crate::settings::{FeatureKind, MonitorSettings, PredictionField};
use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;

/// A payload that could not be read: why, and in a few words what.
pub(crate) type Refusal = (MalformedReason, String);

/// How a payload's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
}

/// One feature's value in one row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Missing,
    Number(f64),
    Text(String),
}

/// The payload's text and format, decoding BASE64.
pub(crate) fn text<'a>(
    data: &'a str,
    encoding: Option<&str>,
    content_type: Option<&str>,
) -> Result<(Cow<'a, str>, Format), Refusal> {
    let encoding = encoding.unwrap_or("CSV");
    if encoding.eq_ignore_ascii_case("CSV") {
        return Ok((Cow::Borrowed(data), Format::Csv));
    }
    if encoding.eq_ignore_ascii_case("JSON") {
        return Ok((Cow::Borrowed(data), Format::Json));
    }
    if !encoding.eq_ignore_ascii_case("BASE64") {
        return Err((MalformedReason::UnknownEncoding, format!("encoding {encoding:?}")));
    }
    let content_type = content_type.unwrap_or("").to_ascii_lowercase();
    let format = if content_type.contains("json") {
        Format::Json
    } else if content_type.contains("csv") {
        Format::Csv
    } else {
        return Err((
            MalformedReason::UnknownContentType,
            format!("BASE64 data of content type {content_type:?}, neither CSV nor JSON"),
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|error| (MalformedReason::BadBase64, error.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| (MalformedReason::BadBase64, "not UTF-8 text".to_string()))?;
    Ok((Cow::Owned(text), format))
}

/// CSV rows: lines that are not blank, with their trailing `\r` removed.
fn csv_rows(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
}

/// Splits a CSV row into cells; quotes (RFC 4180) only when the row has any.
fn csv_cells<'t>(row: &'t str, cells: &mut Vec<Cow<'t, str>>) {
    cells.clear();
    if !row.contains('"') {
        cells.extend(row.split(',').map(Cow::Borrowed));
        return;
    }
    let (mut cell, mut quoted, mut characters) = (String::new(), false, row.chars().peekable());
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                cell.push('"');
                characters.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(Cow::Owned(std::mem::take(&mut cell))),
            (other, _) => cell.push(other),
        }
    }
    cells.push(Cow::Owned(cell));
}

/// Appends each input row's cells (one per feature, in order) and returns the number of rows.
pub(crate) fn input_rows(
    text: &str,
    format: Format,
    settings: &MonitorSettings,
    cells: &mut Vec<Cell>,
) -> Result<usize, Refusal> {
    cells.clear();
    match format {
        Format::Csv => csv_input(text, settings, cells),
        Format::Json => json_input(text, settings, cells),
    }
}

fn csv_input(text: &str, settings: &MonitorSettings, cells: &mut Vec<Cell>) -> Result<usize, Refusal> {
    let mut quoted_cells = Vec::new();
    let mut rows = 0;
    for row in csv_rows(text) {
        // Most rows have no quotes: their cells are read as they are split, with no list in between.
        let found = if row.contains('"') {
            csv_cells(row, &mut quoted_cells);
            add_row(quoted_cells.iter().map(|cell| cell.as_ref()), settings, cells)?
        } else {
            add_row(crate::search::split(row, b','), settings, cells)?
        };
        if found != settings.features.len() {
            return Err(column_count(found, settings));
        }
        rows += 1;
    }
    Ok(rows)
}

/// Appends a row's cells for the features, and returns how many cells the row had.
fn add_row<'t>(
    row: impl Iterator<Item = &'t str>,
    settings: &MonitorSettings,
    cells: &mut Vec<Cell>,
) -> Result<usize, Refusal> {
    let mut found = 0;
    for cell in row {
        found += 1;
        let Some(feature) = settings.features.get(found - 1) else {
            continue;
        };
        let value = trim(cell);
        cells.push(match feature.kind {
            _ if value.is_empty() => Cell::Missing,
            FeatureKind::Numerical => Cell::Number(number(value, &feature.name)?),
            FeatureKind::Categorical => Cell::Text(value.to_string()),
        });
    }
    Ok(found)
}

/// `str::trim` for the usual cell, which has no space at either end, without decoding characters.
fn trim(cell: &str) -> &str {
    let bytes = cell.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if !first.is_ascii_whitespace() && !last.is_ascii_whitespace() && last.is_ascii() => {
            cell
        }
        _ => cell.trim(),
    }
}

fn column_count(found: usize, settings: &MonitorSettings) -> Refusal {
    (
        MalformedReason::WrongColumnCount,
        format!("{found} columns for {} features", settings.features.len()),
    )
}

fn number(text: &str, feature: &str) -> Result<f64, Refusal> {
    text.parse::<f64>().map_err(|_| {
        (
            MalformedReason::UnparsableNumber,
            format!("{feature}: {text:?} is not a number"),
        )
    })
}

fn json_input(text: &str, settings: &MonitorSettings, cells: &mut Vec<Cell>) -> Result<usize, Refusal> {
    let document: Value =
        serde_json::from_str(text).map_err(|error| (MalformedReason::BadJsonPayload, error.to_string()))?;
    let rows: Vec<&Value> = match &document {
        Value::Object(object) if object.get("instances").is_some_and(Value::is_array) => object["instances"]
            .as_array()
            .map(|rows| rows.iter().collect())
            .unwrap_or_default(),
        Value::Array(items) if !items.is_empty() && items.iter().all(|item| item.is_array() || item.is_object()) => {
            items.iter().collect()
        }
        single => vec![single],
    };
    for row in &rows {
        json_row(row, settings, cells)?;
    }
    Ok(rows.len())
}

fn json_row(row: &Value, settings: &MonitorSettings, cells: &mut Vec<Cell>) -> Result<(), Refusal> {
    let positional = match row {
        Value::Array(values) => Some(values),
        Value::Object(object) if settings.features.iter().all(|feature| feature.name != "features") => {
            object.get("features").and_then(Value::as_array)
        }
        _ => None,
    };
    if let Some(values) = positional {
        if values.len() != settings.features.len() {
            return Err(column_count(values.len(), settings));
        }
        for (value, feature) in values.iter().zip(&settings.features) {
            cells.push(json_cell(value, feature.kind, &feature.name)?);
        }
        return Ok(());
    }
    match row {
        Value::Object(object) => {
            for feature in &settings.features {
                let value = object.get(&feature.name).unwrap_or(&Value::Null);
                cells.push(json_cell(value, feature.kind, &feature.name)?);
            }
            Ok(())
        }
        scalar if settings.features.len() == 1 => {
            cells.push(json_cell(
                scalar,
                settings.features[0].kind,
                &settings.features[0].name,
            )?);
            Ok(())
        }
        _ => Err(column_count(1, settings)),
    }
}

fn json_cell(value: &Value, kind: FeatureKind, feature: &str) -> Result<Cell, Refusal> {
    Ok(match (value, kind) {
        (Value::Null, _) => Cell::Missing,
        (Value::String(text), _) if text.trim().is_empty() => Cell::Missing,
        (Value::Number(number), FeatureKind::Numerical) => Cell::Number(number.as_f64().unwrap_or(f64::NAN)),
        (Value::String(text), FeatureKind::Numerical) => Cell::Number(number(text.trim(), feature)?),
        (Value::Bool(flag), FeatureKind::Numerical) => Cell::Number(f64::from(u8::from(*flag))),
        (other, FeatureKind::Numerical) => {
            return Err((
                MalformedReason::UnparsableNumber,
                format!("{feature}: {other} is not a number"),
            ))
        }
        (Value::String(text), FeatureKind::Categorical) => Cell::Text(text.trim().to_string()),
        (other, FeatureKind::Categorical) => Cell::Text(other.to_string()),
    })
}

/// Appends one prediction per input row, read where the settings say.
pub(crate) fn predictions(
    text: &str,
    format: Format,
    settings: &MonitorSettings,
    rows: usize,
    out: &mut Vec<Outcome>,
) -> Result<(), Refusal> {
    out.clear();
    if let Some(outcome) = single_csv_prediction(text, format, settings, rows) {
        out.push(outcome);
        return Ok(());
    }
    let texts: Vec<Cow<'_, str>> = match format {
        Format::Csv => csv_predictions(text, &settings.prediction)?,
        Format::Json => json_predictions(text, &settings.prediction, rows)?,
    };
    if texts.len() != rows {
        return Err((
            MalformedReason::PredictionNotFound,
            format!("{} predictions for {rows} input rows", texts.len()),
        ));
    }
    for text in texts {
        let outcome = Outcome::prediction(&text, settings.problem).ok_or_else(|| {
            (
                MalformedReason::UnparsableValue,
                format!("prediction {text:?} is not a {} prediction", settings.problem.name()),
            )
        })?;
        out.push(outcome);
    }
    Ok(())
}

/// The usual output, one CSV row without quotes, read without the general
/// path's lists and copies; `None` leaves anything else, and every error, to it.
fn single_csv_prediction(text: &str, format: Format, settings: &MonitorSettings, rows: usize) -> Option<Outcome> {
    let PredictionField::Column(column) = settings.prediction else {
        return None;
    };
    let plain = !text.bytes().any(|byte| matches!(byte, b'"' | b'\n' | b'\r'));
    if format != Format::Csv || rows != 1 || !plain || text.trim().is_empty() {
        return None;
    }
    let cell = crate::search::split(text, b',').nth(column)?;
    Outcome::prediction(cell.trim(), settings.problem)
}

fn csv_predictions<'t>(text: &'t str, field: &PredictionField) -> Result<Vec<Cow<'t, str>>, Refusal> {
    let PredictionField::Column(column) = field else {
        return Err((
            MalformedReason::PredictionNotFound,
            "the prediction is set as a JSON pointer but the output is CSV".to_string(),
        ));
    };
    let mut cells = Vec::new();
    csv_rows(text)
        .map(|row| {
            csv_cells(row, &mut cells);
            cells
                .get(*column)
                .cloned()
                .map(|cell| Cow::Owned(cell.trim().to_string()))
                .ok_or_else(|| {
                    (
                        MalformedReason::PredictionNotFound,
                        format!("no column {column} in an output row of {} columns", cells.len()),
                    )
                })
        })
        .collect()
}

fn json_predictions(text: &str, field: &PredictionField, rows: usize) -> Result<Vec<Cow<'static, str>>, Refusal> {
    let document: Value =
        serde_json::from_str(text).map_err(|error| (MalformedReason::BadJsonPayload, error.to_string()))?;
    let not_found = |what: String| (MalformedReason::PredictionNotFound, what);
    let values: Vec<&Value> = match field {
        PredictionField::Pointer(pointer) if field.is_per_row() => (0..rows)
            .map(|row| {
                let pointer = pointer
                    .split('/')
                    .map(|s| if s == "*" { row.to_string() } else { s.to_string() });
                let pointer = pointer.collect::<Vec<_>>().join("/");
                document
                    .pointer(&pointer)
                    .ok_or_else(|| not_found(format!("nothing at {pointer}")))
            })
            .collect::<Result<_, _>>()?,
        PredictionField::Pointer(pointer) => {
            vec![document
                .pointer(pointer)
                .ok_or_else(|| not_found(format!("nothing at {pointer}")))?]
        }
        PredictionField::Column(column) => match &document {
            Value::Array(items) if rows > 1 && items.len() == rows => items
                .iter()
                .map(|item| match item {
                    Value::Array(cells) => cells.get(*column),
                    scalar if *column == 0 => Some(scalar),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or_else(|| not_found(format!("no column {column} in every output row")))?,
            Value::Array(items) => {
                let row = items.first().and_then(Value::as_array).unwrap_or(items);
                vec![row
                    .get(*column)
                    .ok_or_else(|| not_found(format!("no element {column}")))?]
            }
            scalar @ (Value::Number(_) | Value::String(_) | Value::Bool(_)) if *column == 0 => vec![scalar],
            _ => {
                return Err(not_found(
                    "a JSON output needs a JSON pointer, e.g. \"/predictions/0/score\"".into(),
                ))
            }
        },
    };
    values
        .into_iter()
        .map(|value| match value {
            Value::String(text) => Ok(Cow::Owned(text.clone())),
            Value::Number(number) => Ok(Cow::Owned(number.to_string())),
            Value::Bool(flag) => Ok(Cow::Owned(flag.to_string())),
            other => Err(not_found(format!(
                "the prediction is {other}, not a number or a string"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::MonitorSection;

    fn settings(problem: &str, prediction: &str) -> MonitorSettings {
        let section = MonitorSection {
            endpoint: "e".into(),
            captures: "s3://b/p/".into(),
            problem: problem.into(),
            features: vec!["x".into()],
            prediction: Some(prediction.into()),
            ..MonitorSection::default()
        };
        MonitorSettings::from_section(&section).unwrap()
    }

    /// What the general path gives for one CSV output row.
    fn general(text: &str, settings: &MonitorSettings) -> Option<Outcome> {
        let texts = csv_predictions(text, &settings.prediction).ok()?;
        match texts.as_slice() {
            [one] => Outcome::prediction(one, settings.problem),
            _ => None,
        }
    }

    /// The shortcut for a single CSV output row gives what the general path
    /// gives, and leaves to it what it does not read.
    #[test]
    fn a_single_csv_prediction_reads_as_the_general_path_reads_it() {
        let check = |problem: &str, column: &str, text: &str, taken: bool| {
            let settings = settings(problem, column);
            let fast = single_csv_prediction(text, Format::Csv, &settings, 1);
            assert_eq!(fast.is_some(), taken, "{problem} {column} {text:?}");
            if fast.is_some() {
                assert_eq!(fast, general(text, &settings), "{problem} {column} {text:?}");
            }
        };
        check("regression", "0", "533278.5", true);
        check("regression", "0", " 533278.5 ", true);
        check("regression", "1", "0.2,0.8,1", true);
        check("multiclass", "2", "0.2,0.8,cat", true);
        check("multiclass", "0", "3.0", true);
        check("binary", "0", "0.73", true);
        check("regression", "1", "5", false);
        check("regression", "0", "", false);
        check("regression", "0", " ", false);
        check("regression", "0", "abc", false);
        check("regression", "0", "inf", false);
        check("regression", "0", "\"5\"", false);
        check("regression", "0", "5\r", false);
        check("regression", "0", "5\n6", false);
        check("regression", "/0", "5", false);
        assert_eq!(
            single_csv_prediction("5", Format::Json, &settings("regression", "0"), 1),
            None
        );
        assert_eq!(
            single_csv_prediction("5", Format::Csv, &settings("regression", "0"), 2),
            None
        );
    }
}
