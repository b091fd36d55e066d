//! The retraining policy: which models exist, what triggers them, and the
//! limits on starting their pipelines. Parsed and validated once at cold start.

mod tables;

use crate::error::PolicyError;
use crate::monitor::{MonitorSection, MonitorSettings};
use crate::time::Span;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// Parameter names the triggers set themselves. A policy may not set them,
/// because a static value would hide what actually caused the start.
pub const TRIGGER_PARAMETERS: [&str; 4] = ["TriggerType", "TriggerReason", "TriggerId", "ModelApprovalStatus"];

/// The longest value SageMaker accepts for one pipeline parameter.
pub const MAX_PARAMETER_VALUE_CHARS: usize = 1024;

/// What a scheduled event may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleMode {
    /// Every scheduled event may start (still subject to in-flight and cooldown).
    Always,
    /// Only if evidence arrived since the pipeline last started.
    IfEvidence,
}

/// Who approves the retrained model before it can be deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Manual,
    Auto,
}

impl Approval {
    /// The stricter of the two: manual approval wins over auto.
    pub fn stricter(self, other: Approval) -> Approval {
        if self == Approval::Manual || other == Approval::Manual {
            Approval::Manual
        } else {
            Approval::Auto
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Manual => "manual",
            Approval::Auto => "auto",
        }
    }

    /// The `ModelApprovalStatus` value the pipeline registers the model with.
    pub fn model_approval_status(self) -> &'static str {
        match self {
            Approval::Manual => "PendingManualApproval",
            Approval::Auto => "Approved",
        }
    }
}

/// One model's effective policy, with the defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPolicy {
    pub name: String,
    pub pipeline: String,
    /// Alarm names (or ARNs) whose move into ALARM is evidence for this model.
    pub alarms: Vec<String>,
    /// Rule or schedule names (or ARNs) bound to this model.
    pub schedules: Vec<String>,
    pub cooldown: Span,
    /// An event whose own time (state change, scheduled time) is further than
    /// this from now, either way, is ignored as stale.
    pub max_event_age: Span,
    pub schedule: ScheduleMode,
    pub approval: Approval,
    /// Static pipeline parameters, passed on every start.
    pub parameters: BTreeMap<String, String>,
    /// How drift reports are judged for this model; `None`: drift reports are not for it.
    pub drift: Option<DriftPolicy>,
    /// At most this many starts of the pipeline per rolling window; `None`: no budget.
    pub max_starts: Option<Budget>,
    /// Parameters a manual request may override.
    pub allow_overrides: Vec<String>,
    /// How this model's Data Capture and ground truth are monitored; `None`: they are not.
    pub monitor: Option<MonitorSettings>,
}

/// `max_starts = "3/7d"`: at most `starts` executions of the pipeline, whoever
/// started them, in any window of length `window` ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub starts: usize,
    pub window: Span,
}

impl std::fmt::Display for Budget {
    /// As policies write it: `3/7d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.starts, self.window)
    }
}

/// The distance a drift policy compares distributions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftMethod {
    /// L-infinity between CDFs (numerical) or frequencies (categorical).
    Linf,
    /// Population stability index.
    Psi,
    /// Jensen-Shannon distance (base 2).
    Js,
    /// Wasserstein-1 over the baseline standard deviation (numerical); categorical features use Jensen-Shannon.
    Wasserstein,
    /// Chi-square homogeneity test with Benjamini-Hochberg correction; the threshold is a significance level.
    ChiSquare,
}

impl DriftMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftMethod::Linf => "linf",
            DriftMethod::Psi => "psi",
            DriftMethod::Js => "js",
            DriftMethod::Wasserstein => "wasserstein",
            DriftMethod::ChiSquare => "chi-square",
        }
    }
}

/// `[model.drift]`: when a drift report justifies retraining, and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPolicy {
    /// `None`: take Model Monitor's `constraints.json` choice when there is one, else L-infinity.
    pub method: Option<DriftMethod>,
    /// Robust (sample-size corrected) L-infinity; `None`: from `constraints.json`, else robust.
    pub robust: Option<bool>,
    /// ε: a feature drifts when its distance exceeds this (for chi-square: when its adjusted
    /// p-value is below it). `None`: from `constraints.json`, else 0.1 (0.05 for chi-square).
    pub threshold: Option<f64>,
    /// At or above this largest distance (for chi-square: Cramér's V), a full retrain.
    pub severe: f64,
    /// Features to compare; `["*"]` is all.
    pub features: Vec<String>,
    /// Drift in any of these counts as severe.
    pub critical: Vec<String>,
    /// How many features must drift before anything starts.
    pub min_drifted: usize,
    /// Share of older data mixed into a fine-tune, against catastrophic forgetting.
    pub rehearsal_fraction: f64,
    /// The baseline `statistics.json`, when reports do not name it.
    pub baseline: Option<String>,
    /// The S3 prefix under which this model's monitoring reports land.
    pub reports: Option<String>,
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub models: Vec<ModelPolicy>,
    /// SHA-256 of the policy text, so a decision record names the exact policy it was made under.
    pub sha256: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    cooldown: Option<String>,
    max_event_age: Option<String>,
    schedule: Option<String>,
    approval: Option<String>,
    max_starts: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    pipeline: String,
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    schedules: Vec<String>,
    cooldown: Option<String>,
    max_event_age: Option<String>,
    schedule: Option<String>,
    approval: Option<String>,
    max_starts: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    #[serde(default)]
    allow_overrides: Vec<String>,
    drift: Option<RawDrift>,
    monitor: Option<MonitorSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrift {
    method: Option<String>,
    comparison: Option<String>,
    threshold: Option<f64>,
    severe: Option<f64>,
    features: Option<Vec<String>>,
    #[serde(default)]
    critical: Vec<String>,
    min_drifted: Option<i64>,
    rehearsal_fraction: Option<f64>,
    baseline: Option<String>,
    reports: Option<String>,
}

const DEFAULT_COOLDOWN: &str = "6h";
/// A day: longer than Lambda keeps an asynchronous event (6 h) and than
/// EventBridge retries (24 h), so only a delayed redrive or a hand-made event is stale.
const DEFAULT_MAX_EVENT_AGE: &str = "24h";
const DEFAULT_SCHEDULE: &str = "if-evidence";
const DEFAULT_APPROVAL: &str = "manual";

/// The most problems one reading of a policy reports; past this, the rest
/// are likely one mistake repeated.
pub const MAX_POLICY_ERRORS: usize = 50;

impl Policy {
    /// Parses and validates a TOML policy. The first problem found is
    /// returned, so a function's init error stays one sentence; `check` finds them all.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        Policy::check(text).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Parses and validates a TOML policy, reporting every problem found (at
    /// most `MAX_POLICY_ERRORS`, and never none): first each unknown field
    /// and each table that cannot be read (a missing field, a value of the
    /// wrong type), then each bad value, each in the order of the text.
    pub fn check(text: &str) -> Result<Policy, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let models = tables::read(text, &mut errors).and_then(|tables| check_tables(tables, &mut errors));
        match models {
            Some(models) if errors.is_empty() => Ok(Policy {
                models,
                sha256: crate::key::content_sha256(text),
            }),
            _ => {
                if errors.is_empty() {
                    // Unreachable as written: every `None` above comes with an error. Kept so
                    // that the promise "never none" does not rest on that.
                    errors.push(PolicyError::NoModels);
                }
                errors.truncate(MAX_POLICY_ERRORS);
                Err(errors)
            }
        }
    }

    /// The models that list this alarm, by name or ARN, in policy order.
    pub fn models_for_alarm(&self, alarm_name: &str, alarm_arn: Option<&str>) -> Vec<&ModelPolicy> {
        self.models
            .iter()
            .filter(|model| {
                model
                    .alarms
                    .iter()
                    .any(|entry| names_match(entry, alarm_name, alarm_arn))
            })
            .collect()
    }

    /// The models bound to this schedule, by name or ARN, in policy order.
    pub fn models_for_schedule(&self, schedule_name: &str, schedule_arn: Option<&str>) -> Vec<&ModelPolicy> {
        self.models
            .iter()
            .filter(|model| {
                model
                    .schedules
                    .iter()
                    .any(|entry| names_match(entry, schedule_name, schedule_arn))
            })
            .collect()
    }

    /// The models a drift report is for: the one it names, or those whose
    /// `drift.reports` prefix holds the report. Only models with `[model.drift]`.
    pub fn models_for_report(&self, model: Option<&str>, report_uri: &str) -> Vec<&ModelPolicy> {
        self.models
            .iter()
            .filter(|candidate| {
                candidate.drift.as_ref().is_some_and(|drift| match model {
                    Some(name) => candidate.name == name,
                    None => drift
                        .reports
                        .as_deref()
                        .is_some_and(|prefix| report_uri.starts_with(prefix)),
                })
            })
            .collect()
    }

    pub fn model(&self, name: &str) -> Option<&ModelPolicy> {
        self.models.iter().find(|model| model.name == name)
    }
}

fn names_match(entry: &str, name: &str, arn: Option<&str>) -> bool {
    entry == name || arn == Some(entry)
}

/// The defaults, then each model with them applied; `None` if anything is wrong.
fn check_tables(tables: tables::Tables, errors: &mut Vec<PolicyError>) -> Option<Vec<ModelPolicy>> {
    let defaults = tables.defaults;
    // Check the defaults on their own first, so a bad default is blamed on
    // [defaults] once, rather than on every model that inherits it.
    let default_results = [
        parse_cooldown(None, defaults.cooldown.as_deref().unwrap_or(DEFAULT_COOLDOWN)).err(),
        parse_max_event_age(None, defaults.max_event_age.as_deref().unwrap_or(DEFAULT_MAX_EVENT_AGE)).err(),
        parse_schedule(None, defaults.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE)).err(),
        parse_approval(None, defaults.approval.as_deref().unwrap_or(DEFAULT_APPROVAL)).err(),
        defaults
            .max_starts
            .as_deref()
            .and_then(|text| parse_max_starts(None, text).err()),
    ];
    errors.extend(default_results.into_iter().flatten());
    if tables.model_entries == 0 {
        errors.push(PolicyError::NoModels);
        return None;
    }
    let mut seen_names = HashSet::new();
    let mut models = Vec::with_capacity(tables.models.len());
    for raw in tables.models {
        if !seen_names.insert(raw.name.clone()) {
            errors.push(PolicyError::field(
                Some(&raw.name),
                "name",
                "appears twice; model names must be unique",
            ));
            continue;
        }
        if let Some(model) = parse_model(raw, &defaults, errors) {
            models.push(model);
        }
    }
    (models.len() == tables.model_entries).then_some(models)
}

/// An optional section as it came out: absent (`Some(None)`), checked
/// (`Some(Some(_))`), or wrong (`None`, its errors already reported).
fn section<T>(parsed: Option<Option<T>>) -> Option<Option<T>> {
    match parsed {
        None => Some(None),
        Some(checked) => checked.map(Some),
    }
}

/// `Some` of an `Ok`; an `Err` joins `errors`.
fn kept<T>(result: Result<T, PolicyError>, errors: &mut Vec<PolicyError>) -> Option<T> {
    result.map_err(|error| errors.push(error)).ok()
}

/// One `[[model]]` with the defaults applied: its identity, its bindings and
/// parameters, its settings, then one function per optional section
/// (`[model.drift]`, `[model.monitor]`). A new section is one more line here
/// and one more function. Each part is checked whatever became of the others,
/// so every mistake is found; `None` if any part was wrong.
fn parse_model(mut raw: RawModel, defaults: &RawSettings, errors: &mut Vec<PolicyError>) -> Option<ModelPolicy> {
    let model = Some(raw.name.as_str());
    let before = errors.len();
    kept(check_identity(model, &raw.name, &raw.pipeline), errors);
    kept(check_bindings(model, &raw.alarms, &raw.schedules), errors);
    kept(check_parameters(model, &raw.parameters), errors);
    kept(check_overrides(model, &raw.allow_overrides), errors);
    let settings = parse_settings(model, &raw, defaults, errors);
    // Each section: absent (`None`), wrong (`Some(None)`) or checked.
    let drift = raw.drift.take().map(|drift| parse_drift(model, drift, errors));
    let drift_checked = drift.as_ref().and_then(Option::as_ref);
    let monitor = raw.monitor.take().map(|section| {
        parse_monitor(&raw.name, &section, drift_checked)
            .map_err(|found| errors.extend(found))
            .ok()
    });
    let (Some(settings), Some(drift), Some(monitor)) = (settings, section(drift), section(monitor)) else {
        return None;
    };
    (errors.len() == before).then_some(ModelPolicy {
        drift,
        monitor,
        max_starts: settings.max_starts,
        cooldown: settings.cooldown,
        max_event_age: settings.max_event_age,
        schedule: settings.schedule,
        approval: settings.approval,
        name: raw.name,
        pipeline: raw.pipeline,
        alarms: raw.alarms,
        schedules: raw.schedules,
        parameters: raw.parameters,
        allow_overrides: raw.allow_overrides,
    })
}

/// `[model.monitor]`, checked. Its statistics land under `[model.drift] reports`,
/// so the prefixes it reads must not overlap that one: a report written among
/// the captures would be read back as a capture object, and a capture under
/// the reports prefix would be judged as a drift report.
fn parse_monitor(
    model: &str,
    section: &MonitorSection,
    drift: Option<&DriftPolicy>,
) -> Result<MonitorSettings, Vec<PolicyError>> {
    let settings = MonitorSettings::check(section).map_err(|errors| {
        errors
            .into_iter()
            .map(|problem| PolicyError::Monitor {
                model: model.to_string(),
                problem,
            })
            .collect::<Vec<_>>()
    })?;
    let Some(reports) = drift.and_then(|drift| drift.reports.as_deref()) else {
        return Ok(settings);
    };
    let read = [
        ("captures", Some(settings.captures.as_str())),
        ("labels", settings.labels.as_deref()),
    ];
    for (field, prefix) in read {
        if prefix.is_some_and(|prefix| prefix.starts_with(reports) || reports.starts_with(prefix)) {
            return Err(vec![PolicyError::field(
                Some(model),
                &format!("monitor.{field}"),
                format!("overlaps drift.reports ({reports}); give the statistics a prefix of their own"),
            )]);
        }
    }
    Ok(settings)
}

/// The model's name names its ledger object; the pipeline must be a SageMaker pipeline name.
fn check_identity(model: Option<&str>, name: &str, pipeline: &str) -> Result<(), PolicyError> {
    if !is_model_name(name) {
        return Err(PolicyError::field(
            model,
            "name",
            "must be 1 to 128 characters of letters, digits, `.`, `_` or `-` (it names the model's ledger object)",
        ));
    }
    if !is_pipeline_name(pipeline) {
        return Err(PolicyError::field(
            model,
            "pipeline",
            format!(
                "\"{pipeline}\" is not a SageMaker pipeline name: use 1 to 256 letters, digits and hyphens, starting and ending with a letter or digit"
            ),
        ));
    }
    Ok(())
}

/// Alarms and schedules are bound by name or ARN; an empty entry would bind nothing.
fn check_bindings(model: Option<&str>, alarms: &[String], schedules: &[String]) -> Result<(), PolicyError> {
    for (field, entries) in [("alarms", alarms), ("schedules", schedules)] {
        if entries.iter().any(|entry| entry.trim().is_empty()) {
            return Err(PolicyError::field(model, field, "contains an empty name"));
        }
    }
    Ok(())
}

/// Whether `name` may name a pipeline parameter: SageMaker's `[A-Za-z0-9\-_]*`, not empty.
fn is_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Static parameters: valid names, none the trigger sets itself, values SageMaker accepts.
fn check_parameters(model: Option<&str>, parameters: &BTreeMap<String, String>) -> Result<(), PolicyError> {
    for (name, value) in parameters {
        let field = format!("parameters.{name}");
        if !is_parameter_name(name) {
            return Err(PolicyError::field(
                model,
                &field,
                "parameter names may hold only letters, digits, `-` and `_`",
            ));
        }
        if TRIGGER_PARAMETERS.contains(&name.as_str()) {
            return Err(PolicyError::field(
                model,
                &field,
                format!(
                    "is set by the trigger itself; remove it (reserved: {})",
                    TRIGGER_PARAMETERS.join(", ")
                ),
            ));
        }
        if value.chars().count() > MAX_PARAMETER_VALUE_CHARS {
            return Err(PolicyError::field(
                model,
                &field,
                format!("is longer than SageMaker's {MAX_PARAMETER_VALUE_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

/// What a manual request may override: parameter names, never one the trigger sets.
fn check_overrides(model: Option<&str>, allow_overrides: &[String]) -> Result<(), PolicyError> {
    for name in allow_overrides {
        if !is_parameter_name(name) {
            return Err(PolicyError::field(
                model,
                "allow_overrides",
                format!("\"{name}\" is not a parameter name; use only letters, digits, `-` and `_`"),
            ));
        }
        if TRIGGER_PARAMETERS.contains(&name.as_str()) {
            return Err(PolicyError::field(
                model,
                "allow_overrides",
                format!(
                    "\"{name}\" is set by the trigger itself and cannot be overridden (reserved: {})",
                    TRIGGER_PARAMETERS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The settings `[defaults]` may give, resolved for one model.
#[derive(Debug)]
struct Settings {
    cooldown: Span,
    max_event_age: Span,
    schedule: ScheduleMode,
    approval: Approval,
    max_starts: Option<Budget>,
}

/// Each setting from the model, else `[defaults]`, else the built-in default,
/// every one checked whatever became of the others.
fn parse_settings(
    model: Option<&str>,
    raw: &RawModel,
    defaults: &RawSettings,
    errors: &mut Vec<PolicyError>,
) -> Option<Settings> {
    let max_starts = match (&raw.max_starts, &defaults.max_starts) {
        (None, None) => Some(None),
        (own, default) => setting(model, own, default, "", parse_max_starts, errors).map(Some),
    };
    let cooldown = setting(
        model,
        &raw.cooldown,
        &defaults.cooldown,
        DEFAULT_COOLDOWN,
        parse_cooldown,
        errors,
    );
    let max_event_age = setting(
        model,
        &raw.max_event_age,
        &defaults.max_event_age,
        DEFAULT_MAX_EVENT_AGE,
        parse_max_event_age,
        errors,
    );
    let schedule = setting(
        model,
        &raw.schedule,
        &defaults.schedule,
        DEFAULT_SCHEDULE,
        parse_schedule,
        errors,
    );
    let approval = setting(
        model,
        &raw.approval,
        &defaults.approval,
        DEFAULT_APPROVAL,
        parse_approval,
        errors,
    );
    Some(Settings {
        cooldown: cooldown?,
        max_event_age: max_event_age?,
        schedule: schedule?,
        approval: approval?,
        max_starts: max_starts?,
    })
}

/// One setting: the model's own text, else `[defaults]`'s, else `built_in`,
/// parsed. An own bad value is blamed on the model; an inherited one was
/// already blamed on `[defaults]`, once, and is not repeated for each model.
fn setting<T>(
    model: Option<&str>,
    own: &Option<String>,
    default: &Option<String>,
    built_in: &str,
    parse: fn(Option<&str>, &str) -> Result<T, PolicyError>,
    errors: &mut Vec<PolicyError>,
) -> Option<T> {
    let owner = if own.is_some() { model } else { None };
    let text = own.as_deref().or(default.as_deref()).unwrap_or(built_in);
    match parse(owner, text) {
        Ok(value) => Some(value),
        Err(error) => {
            if own.is_some() {
                errors.push(error);
            }
            None
        }
    }
}

/// `[model.drift]`: when a drift report justifies retraining, and how much.
/// Every field is checked whatever became of the others; `None` if any is wrong.
fn parse_drift(model: Option<&str>, raw: RawDrift, errors: &mut Vec<PolicyError>) -> Option<DriftPolicy> {
    let before = errors.len();
    let method = kept(parse_drift_method(model, raw.method.as_deref()), errors);
    let robust = kept(
        parse_comparison(model, method.flatten(), raw.comparison.as_deref()),
        errors,
    );
    let positive = |field: &str, value: Option<f64>| match value {
        Some(number) if !(number.is_finite() && number > 0.0) => Err(PolicyError::field(
            model,
            field,
            format!("{number} is not a positive number"),
        )),
        _ => Ok(value),
    };
    let threshold = kept(positive("drift.threshold", raw.threshold), errors);
    let severe = kept(positive("drift.severe", raw.severe), errors).map(|severe| severe.unwrap_or(0.3));
    if let (Some(method), Some(Some(threshold)), Some(severe)) = (method, threshold, severe) {
        if method != Some(DriftMethod::ChiSquare) && severe < threshold {
            errors.push(PolicyError::field(
                model,
                "drift.severe",
                format!("{severe} is below the threshold; severe drift must be at least as large as drift"),
            ));
        }
    }
    let rehearsal_fraction = raw.rehearsal_fraction.unwrap_or(0.2);
    if !(0.0..=1.0).contains(&rehearsal_fraction) {
        errors.push(PolicyError::field(
            model,
            "drift.rehearsal_fraction",
            format!("{rehearsal_fraction} is not a share between 0 and 1"),
        ));
    }
    let min_drifted = kept(parse_min_drifted(model, raw.min_drifted), errors);
    kept(check_drift_uris(model, &raw.baseline, &raw.reports), errors);
    let features = raw.features.unwrap_or_else(|| vec!["*".to_string()]);
    if features.is_empty() {
        errors.push(PolicyError::field(
            model,
            "drift.features",
            "is empty; use [\"*\"] for every feature",
        ));
    }
    if errors.len() > before {
        return None;
    }
    Some(DriftPolicy {
        method: method?,
        robust: robust?,
        threshold: threshold?,
        severe: severe?,
        features,
        critical: raw.critical,
        min_drifted: min_drifted?,
        rehearsal_fraction,
        baseline: raw.baseline,
        reports: raw.reports,
    })
}

/// `drift.method`; absent leaves the choice to `constraints.json`.
fn parse_drift_method(model: Option<&str>, text: Option<&str>) -> Result<Option<DriftMethod>, PolicyError> {
    match text {
        None => Ok(None),
        Some("linf") => Ok(Some(DriftMethod::Linf)),
        Some("psi") => Ok(Some(DriftMethod::Psi)),
        Some("js") => Ok(Some(DriftMethod::Js)),
        Some("wasserstein") => Ok(Some(DriftMethod::Wasserstein)),
        Some("chi-square") => Ok(Some(DriftMethod::ChiSquare)),
        Some(other) => Err(PolicyError::field(
            model,
            "drift.method",
            format!(
                "\"{other}\" is not a drift method; use \"linf\", \"psi\", \"js\", \"wasserstein\" or \"chi-square\""
            ),
        )),
    }
}

/// `drift.comparison`, simple or robust, which only L-infinity has.
fn parse_comparison(
    model: Option<&str>,
    method: Option<DriftMethod>,
    text: Option<&str>,
) -> Result<Option<bool>, PolicyError> {
    match text {
        None => Ok(None),
        Some(_) if method.is_some_and(|method| method != DriftMethod::Linf) => Err(PolicyError::field(
            model,
            "drift.comparison",
            "applies only to method \"linf\"; remove it",
        )),
        Some("simple") => Ok(Some(false)),
        Some("robust") => Ok(Some(true)),
        Some(other) => Err(PolicyError::field(
            model,
            "drift.comparison",
            format!("\"{other}\" is not a comparison; use \"simple\" or \"robust\""),
        )),
    }
}

/// `drift.min_drifted`: a count of at least 1 (1 when absent).
fn parse_min_drifted(model: Option<&str>, count: Option<i64>) -> Result<usize, PolicyError> {
    match count {
        None => Ok(1),
        Some(count) if count >= 1 => Ok(usize::try_from(count).unwrap_or(usize::MAX)),
        Some(count) => Err(PolicyError::field(
            model,
            "drift.min_drifted",
            format!("{count} is not a count of at least 1"),
        )),
    }
}

/// `drift.baseline` and `drift.reports`, when given, are S3 URIs.
fn check_drift_uris(
    model: Option<&str>,
    baseline: &Option<String>,
    reports: &Option<String>,
) -> Result<(), PolicyError> {
    for (field, uri) in [("drift.baseline", baseline), ("drift.reports", reports)] {
        if uri
            .as_deref()
            .is_some_and(|uri| !uri.starts_with("s3://") || uri.len() <= "s3://".len())
        {
            return Err(PolicyError::field(
                model,
                field,
                "must be an S3 URI like s3://bucket/key",
            ));
        }
    }
    Ok(())
}

fn parse_cooldown(model: Option<&str>, text: &str) -> Result<Span, PolicyError> {
    Span::parse(text).ok_or_else(|| {
        PolicyError::field(
            model,
            "cooldown",
            format!("\"{text}\" is not a duration; write a whole number and a unit s, m, h or d, like \"90s\", \"15m\", \"6h\" or \"7d\""),
        )
    })
}

fn parse_max_event_age(model: Option<&str>, text: &str) -> Result<Span, PolicyError> {
    match Span::parse(text) {
        Some(span) if span > Span::ZERO => Ok(span),
        Some(_) => Err(PolicyError::field(
            model,
            "max_event_age",
            format!("\"{text}\" would ignore every event as stale; use a duration of at least \"1s\", like \"24h\""),
        )),
        None => Err(PolicyError::field(
            model,
            "max_event_age",
            format!("\"{text}\" is not a duration; write a whole number and a unit s, m, h or d, like \"90s\", \"15m\", \"6h\" or \"7d\""),
        )),
    }
}

fn parse_max_starts(model: Option<&str>, text: &str) -> Result<Budget, PolicyError> {
    let invalid = || {
        PolicyError::field(
            model,
            "max_starts",
            format!(
                "\"{text}\" is not a budget; write a count of at least 1, a slash and a window of at least \"1s\", \
                 like \"3/7d\" (at most 3 starts in any 7 days) or \"1/12h\""
            ),
        )
    };
    let (count, window) = text.trim().split_once('/').ok_or_else(invalid)?;
    let count = count.trim();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let starts: usize = count.parse().map_err(|_| invalid())?;
    let window = Span::parse(window).ok_or_else(invalid)?;
    if starts == 0 || window == Span::ZERO {
        return Err(invalid());
    }
    Ok(Budget { starts, window })
}

fn parse_schedule(model: Option<&str>, text: &str) -> Result<ScheduleMode, PolicyError> {
    match text {
        "always" => Ok(ScheduleMode::Always),
        "if-evidence" => Ok(ScheduleMode::IfEvidence),
        other => Err(PolicyError::field(
            model,
            "schedule",
            format!("\"{other}\" is not a schedule mode; use \"always\" or \"if-evidence\""),
        )),
    }
}

fn parse_approval(model: Option<&str>, text: &str) -> Result<Approval, PolicyError> {
    match text {
        "manual" => Ok(Approval::Manual),
        "auto" => Ok(Approval::Auto),
        other => Err(PolicyError::field(
            model,
            "approval",
            format!(
                "\"{other}\" is not an approval mode; use \"manual\" (PendingManualApproval) or \"auto\" (Approved)"
            ),
        )),
    }
}

fn is_model_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.starts_with('.')
}

/// SageMaker's pattern `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}`.
fn is_pipeline_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=256).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[defaults]
cooldown = "6h"
schedule = "if-evidence"
approval = "manual"

[[model]]
name = "housing-price"
pipeline = "housing-price-retrain"
alarms = ["housing-price-mae-high"]
schedules = ["housing-price-weekly"]
cooldown = "12h"
[model.parameters]
DataWindowDays = "30"

[[model]]
name = "churn"
pipeline = "churn-retrain"
alarms = ["housing-price-mae-high", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low"]
schedule = "always"
approval = "auto"
"#;

    #[test]
    fn the_readme_example_parses_with_defaults_applied() {
        let policy = Policy::from_toml(EXAMPLE).unwrap();
        let housing = policy.model("housing-price").unwrap();
        assert_eq!(housing.cooldown, Span::from_secs(12 * 3600));
        assert_eq!(housing.schedule, ScheduleMode::IfEvidence);
        assert_eq!(housing.approval, Approval::Manual);
        assert_eq!(housing.parameters.get("DataWindowDays").map(String::as_str), Some("30"));
        let churn = policy.model("churn").unwrap();
        assert_eq!(churn.cooldown, Span::from_secs(6 * 3600));
        assert_eq!(churn.schedule, ScheduleMode::Always);
        assert_eq!(churn.approval, Approval::Auto);
    }

    #[test]
    fn one_alarm_routes_to_every_model_that_lists_it_by_name_or_arn() {
        let policy = Policy::from_toml(EXAMPLE).unwrap();
        let names = |found: Vec<&ModelPolicy>| found.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(policy.models_for_alarm("housing-price-mae-high", None)),
            ["housing-price", "churn"]
        );
        let churn_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low";
        assert_eq!(
            names(policy.models_for_alarm("churn-auc-low", Some(churn_arn))),
            ["churn"]
        );
        assert!(policy.models_for_alarm("churn-auc-low", None).is_empty());
        assert_eq!(
            names(policy.models_for_schedule("housing-price-weekly", None)),
            ["housing-price"]
        );
    }

    /// Each bad policy must be refused with a message naming the model, the field and what is valid.
    #[test]
    fn bad_policies_name_the_model_the_field_and_what_is_valid() {
        let check = |toml: &str, expected: &[&str]| {
            let error = Policy::from_toml(toml).expect_err(toml).to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        let model = |extra: &str| format!("[[model]]\nname = \"m1\"\npipeline = \"p1\"\n{extra}\n");
        check(
            &model("cooldown = \"6x\""),
            &["model \"m1\"", "`cooldown`", "\"6x\"", "6h"],
        );
        check(
            &model("schedule = \"weekly\""),
            &["model \"m1\"", "`schedule`", "\"always\" or \"if-evidence\""],
        );
        check(
            &model("approval = \"yes\""),
            &["model \"m1\"", "`approval`", "\"manual\"", "\"auto\""],
        );
        check(
            &model("[model.parameters]\nTriggerType = \"x\""),
            &["model \"m1\"", "parameters.TriggerType", "reserved"],
        );
        check(
            &model("[model.parameters]\n\"bad name\" = \"x\""),
            &["parameters.bad name", "letters, digits"],
        );
        check(
            &format!("[defaults]\ncooldown = \"soon\"\n{}", model("")),
            &["[defaults]", "`cooldown`", "\"soon\""],
        );
        check(
            "[[model]]\nname = \"m1\"\npipeline = \"bad_pipeline\"\n",
            &["model \"m1\"", "`pipeline`", "bad_pipeline"],
        );
        check("[[model]]\nname = \"m1\"\n", &["pipeline"]);
        check(&model("colour = \"red\""), &["colour"]);
        check(
            &format!("{}{}", model(""), model("")),
            &["model \"m1\"", "`name`", "unique"],
        );
        check("[defaults]\n", &["no [[model]]"]);
        check("[[model]\n", &["not valid TOML"]);
    }

    /// `check` finds every mistake in one reading, each as its own error, an
    /// unknown field named as one, with the fields its table knows.
    #[test]
    fn every_mistake_is_reported_at_once() {
        let check = |toml: &str, expected: &[&[&str]]| {
            let found: Vec<String> = Policy::check(toml)
                .expect_err(toml)
                .iter()
                .map(ToString::to_string)
                .collect();
            for fragments in expected {
                let matching = found
                    .iter()
                    .filter(|message| fragments.iter().all(|fragment| message.contains(fragment)))
                    .count();
                assert_eq!(matching, 1, "{fragments:?} not reported exactly once in {found:#?}");
            }
            assert_eq!(found.len(), expected.len(), "{found:#?}");
            // A function's init error is the first of them.
            assert_eq!(Policy::from_toml(toml).unwrap_err().to_string(), found[0]);
        };
        let model_fields: Vec<String> = tables::field_names::<RawModel>()
            .iter()
            .map(|name| format!("`{name}`"))
            .collect();
        let unknown = format!(
            "policy: unknown field `cooldwn` in model \"m1\"; expected one of {}",
            model_fields.join(", ")
        );
        check(
            "[defaults]\ncooldown = \"soon\"\n\n[[model]]\nname = \"m1\"\npipeline = \"p1\"\n\
             cooldwn = \"6h\"\napproval = \"yes\"\n",
            &[
                &["[defaults]", "`cooldown`", "\"soon\""],
                &[&unknown],
                &["model \"m1\"", "`approval`", "\"yes\""],
            ],
        );
        // Two models with several mistakes each, in a section and in their own
        // settings, and a model of the wrong shape, which is reported alone.
        check(
            "[[model]]\nname = \"a\"\npipeline = \"p\"\ncooldown = \"x\"\nschedule = \"weekly\"\n\
             [model.drift]\nmethod = \"kl\"\nthreshhold = 0.2\nmin_drifted = 0\n\n\
             [[model]]\nname = \"b\"\npipeline = \"bad_name\"\nalarms = \"not-a-list\"\n\n\
             [[model]]\nname = \"c\"\npipeline = \"p\"\nmax_starts = \"lots\"\ncolour = \"red\"\n",
            &[
                &[
                    "unknown field `threshhold`",
                    "[model.drift] of model \"a\"",
                    "`threshold`",
                ],
                &["model \"a\"", "`cooldown`", "\"x\""],
                &["model \"a\"", "`schedule`", "\"weekly\""],
                &["model \"a\"", "`drift.method`", "\"kl\""],
                &["model \"a\"", "`drift.min_drifted`"],
                &["model \"b\"", "`alarms`", "not-a-list"],
                &["unknown field `colour` in model \"c\"", "`pipeline`"],
                &["model \"c\"", "`max_starts`", "\"lots\""],
            ],
        );
        check(
            "surprise = 1\n[defaults]\nschedul = \"always\"\n",
            &[
                &[
                    "unknown field `surprise` in the policy's top level",
                    "`defaults`, `model`",
                ],
                &["unknown field `schedul` in [defaults]", "`schedule`"],
                &["no [[model]]"],
            ],
        );
    }

    #[test]
    fn drift_policies_parse_with_defaults_and_name_bad_fields() {
        let base = "[[model]]\nname = \"m1\"\npipeline = \"p1\"\n[model.drift]\n";
        let policy =
            Policy::from_toml(&format!("{base}critical = [\"sqft\"]\nreports = \"s3://b/monitor/\"\n")).unwrap();
        let drift = policy.models[0].drift.clone().unwrap();
        assert_eq!((drift.method, drift.robust, drift.threshold), (None, None, None));
        assert_eq!(
            (drift.severe, drift.min_drifted, drift.rehearsal_fraction),
            (0.3, 1, 0.2)
        );
        assert_eq!(drift.features, ["*"]);
        assert_eq!(
            policy
                .models_for_report(None, "s3://b/monitor/2024/statistics.json")
                .len(),
            1
        );
        assert!(policy
            .models_for_report(None, "s3://b/other/statistics.json")
            .is_empty());
        assert_eq!(policy.models_for_report(Some("m1"), "s3://anywhere").len(), 1);

        let check = |extra: &str, expected: &[&str]| {
            let error = Policy::from_toml(&format!("{base}{extra}"))
                .expect_err(extra)
                .to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check("method = \"kl\"", &["model \"m1\"", "drift.method", "\"wasserstein\""]);
        check(
            "method = \"psi\"\ncomparison = \"robust\"",
            &["drift.comparison", "only to method \"linf\""],
        );
        check(
            "comparison = \"fuzzy\"",
            &["drift.comparison", "\"simple\" or \"robust\""],
        );
        check("threshold = -0.1", &["drift.threshold", "positive"]);
        check(
            "threshold = 0.5\nsevere = 0.2",
            &["drift.severe", "below the threshold"],
        );
        check(
            "rehearsal_fraction = 1.5",
            &["drift.rehearsal_fraction", "between 0 and 1"],
        );
        check("min_drifted = 0", &["drift.min_drifted", "at least 1"]);
        check("baseline = \"/tmp/statistics.json\"", &["drift.baseline", "S3 URI"]);
        check("features = []", &["drift.features", "[\"*\"]"]);
        check("colour = 1", &["colour"]);
    }

    #[test]
    fn max_event_age_defaults_to_a_day_and_is_checked_like_cooldown() {
        let policy = Policy::from_toml(EXAMPLE).unwrap();
        assert_eq!(policy.models[0].max_event_age, Span::from_secs(24 * 3600));
        let own = "[defaults]\nmax_event_age = \"2d\"\n[[model]]\nname = \"m1\"\npipeline = \"p1\"\n\
                   [[model]]\nname = \"m2\"\npipeline = \"p2\"\nmax_event_age = \"90m\"\n";
        let policy = Policy::from_toml(own).unwrap();
        assert_eq!(policy.models[0].max_event_age, Span::from_secs(2 * 86_400));
        assert_eq!(policy.models[1].max_event_age, Span::from_secs(90 * 60));

        let check = |toml: &str, expected: &[&str]| {
            let error = Policy::from_toml(toml).expect_err(toml).to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check(
            "[[model]]\nname = \"m1\"\npipeline = \"p1\"\nmax_event_age = \"1 day\"\n",
            &["model \"m1\"", "`max_event_age`", "\"1 day\"", "\"6h\""],
        );
        check(
            "[defaults]\nmax_event_age = \"0h\"\n[[model]]\nname = \"m1\"\npipeline = \"p1\"\n",
            &["[defaults]", "`max_event_age`", "every event as stale"],
        );
    }

    #[test]
    fn max_starts_is_a_count_per_window_inherited_from_defaults_and_checked_like_cooldown() {
        let own = "[defaults]\nmax_starts = \"3/7d\"\n[[model]]\nname = \"m1\"\npipeline = \"p1\"\n\
                   [[model]]\nname = \"m2\"\npipeline = \"p2\"\nmax_starts = \"1/12h\"\n";
        let policy = Policy::from_toml(own).unwrap();
        let budget = policy.models[0].max_starts.unwrap();
        assert_eq!((budget.starts, budget.window), (3, Span::from_secs(7 * 86_400)));
        assert_eq!(budget.to_string(), "3/7d");
        assert_eq!(policy.models[1].max_starts.unwrap().to_string(), "1/12h");
        assert_eq!(Policy::from_toml(EXAMPLE).unwrap().models[0].max_starts, None);

        let check = |toml: &str, expected: &[&str]| {
            let error = Policy::from_toml(toml).expect_err(toml).to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        let model = |value: &str| format!("[[model]]\nname = \"m1\"\npipeline = \"p1\"\nmax_starts = \"{value}\"\n");
        for bad in [
            "3", "3/", "/7d", "0/7d", "3/0d", "-1/7d", "3/7x", "three/7d", "3 per 7d",
        ] {
            check(
                &model(bad),
                &["model \"m1\"", "`max_starts`", &format!("\"{bad}\""), "\"3/7d\""],
            );
        }
        check(
            "[defaults]\nmax_starts = \"many\"\n[[model]]\nname = \"m1\"\npipeline = \"p1\"\n",
            &["[defaults]", "`max_starts`", "\"many\""],
        );
    }

    #[test]
    fn allow_overrides_lists_ordinary_parameter_names_only() {
        let model = |value: &str| format!("[[model]]\nname = \"m1\"\npipeline = \"p1\"\nallow_overrides = {value}\n");
        let policy = Policy::from_toml(&model("[\"DataWindowDays\"]")).unwrap();
        assert_eq!(policy.models[0].allow_overrides, ["DataWindowDays"]);
        assert!(Policy::from_toml(EXAMPLE).unwrap().models[0].allow_overrides.is_empty());
        for (bad, fragment) in [("[\"TriggerType\"]", "reserved"), ("[\"a b\"]", "not a parameter name")] {
            let error = Policy::from_toml(&model(bad)).expect_err(bad).to_string();
            assert!(
                error.contains("model \"m1\"") && error.contains("`allow_overrides`") && error.contains(fragment),
                "{error}"
            );
        }
    }
}
