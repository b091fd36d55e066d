//! Where the monitor function's objects live, and which window is which:
//! pure arithmetic on times and keys, so the function only moves bytes.
//!
//! Windows are aligned to the Unix epoch in steps of `window` (hourly
//! windows start on the hour). A Data Capture object belongs to the window
//! holding the hour in its key (`.../<yyyy>/<mm>/<dd>/<hh>/<name>.jsonl`, the
//! hour SageMaker captured it), and a ground-truth object to the *slot* (a
//! window-sized span) holding the hour in its key, the hour it was written.
//! The close at `T` closes the window that ended `label_delay` before `T`;
//! its join reads the label slots from the window's start to `T`.
//!
//! Every key below is relative to the ledger's prefix:
//!
//! ```text
//! monitor/<model>/windows/<window>/partials/<object>.profile
//! monitor/<model>/windows/<window>/predictions/<shard>/<object>-<n>.batch
//! monitor/<model>/labels/<slot>/<shard>/<object>-<n>.batch
//! monitor/<model>/labels/<slot>/objects/<object>.json       (written last: the object is indexed)
//! monitor/<model>/windows/<window>/quality.json             (only without drift.reports)
//! ```
//!
//! `<window>` and `<slot>` are `<yyyy>/<mm>/<dd>/<hh>` of their start (with
//! `/<MM>` minutes for windows that do not start on the hour), and
//! `<object>` is 20 hex digits of the SHA-256 of the object's URI, so a
//! redelivered event names the same keys and its writes are no-ops.

use trigger_decision::{ModelPolicy, Policy, Span, Timestamp};

const MILLIS_PER_HOUR: i64 = 3_600_000;
const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;

/// A span `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// The window of length `length` (aligned to the epoch) that holds `at`.
    pub fn holding(at: Timestamp, length: Span) -> Window {
        let length = length.millis().max(1);
        let start = at.millis().div_euclid(length) * length;
        Window {
            start: Timestamp(start),
            end: Timestamp(start.saturating_add(length)),
        }
    }

    /// The window closed by a close at `close_at`: the latest that ended at
    /// least `label_delay` before it.
    pub fn closed_at(close_at: Timestamp, length: Span, label_delay: Span) -> Window {
        // The window holding that instant has not ended by it; the one before has.
        Window::holding(close_at.minus(label_delay), length).previous()
    }

    pub fn length(&self) -> Span {
        Span::from_millis(self.end.millis() - self.start.millis())
    }

    pub fn previous(&self) -> Window {
        Window {
            start: self.start.minus(self.length()),
            end: self.start,
        }
    }

    pub fn next(&self) -> Window {
        Window {
            start: self.end,
            end: self.end.plus(self.length()),
        }
    }

    /// `<yyyy>/<mm>/<dd>/<hh>` of the start, with `/<MM>` when it is not on the hour.
    pub fn path(&self) -> String {
        let (year, month, day, hour, minute) = civil(self.start);
        if minute == 0 {
            format!("{year:04}/{month:02}/{day:02}/{hour:02}")
        } else {
            format!("{year:04}/{month:02}/{day:02}/{hour:02}/{minute:02}")
        }
    }
}

/// The label slots a window's join reads: from its start up to the close, exclusive.
pub fn label_slots(window: Window, close_at: Timestamp) -> Vec<Window> {
    let mut slots = Vec::new();
    let mut slot = window;
    while slot.start < close_at {
        slots.push(slot);
        slot = slot.next();
    }
    slots
}

/// The windows whose labels may still arrive, on time, in the slot that starts
/// where `window` starts: `window` and those before it whose close comes after
/// that slot begins. The close of `window` reads that slot for the last time,
/// so it judges the slot's labels against all of them.
pub fn on_time_windows(window: Window, label_delay: Span) -> Vec<Window> {
    let mut windows = vec![window];
    let mut earlier = window.previous();
    while earlier.end.plus(label_delay) > window.start {
        windows.push(earlier);
        earlier = earlier.previous();
    }
    windows
}

/// The windows already closed when the slot starting at `window.start` began,
/// as far back as one more label delay: a label of that slot that matches one
/// of their predictions arrived after its window closed (`LateLabels`).
pub fn late_windows(window: Window, label_delay: Span) -> Vec<Window> {
    let oldest_on_time = on_time_windows(window, label_delay).last().copied().unwrap_or(window);
    let mut windows = Vec::new();
    let mut earlier = oldest_on_time.previous();
    while earlier.end.plus(label_delay).plus(label_delay) > window.start {
        windows.push(earlier);
        earlier = earlier.previous();
    }
    windows
}

/// The hour in a Data Capture or ground-truth key: its last four folders,
/// `<yyyy>/<mm>/<dd>/<hh>/<name>`. `None` when the key is not laid out so.
pub fn hour_in_key(key: &str) -> Option<Timestamp> {
    let segments: Vec<&str> = key.split('/').collect();
    let [.., year, month, day, hour, name] = segments.as_slice() else {
        return None;
    };
    let number = |text: &str, digits: usize| -> Option<i64> {
        (text.len() == digits && text.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let (year, month, day, hour) = (number(year, 4)?, number(month, 2)?, number(day, 2)?, number(hour, 2)?);
    let valid = !name.is_empty()
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour);
    valid.then(|| Timestamp(days_from_civil(year, month, day) * MILLIS_PER_DAY + hour * MILLIS_PER_HOUR))
}

/// What an object under a model's `[model.monitor]` prefixes holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Captures,
    Labels,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Captures => "captures",
            ObjectKind::Labels => "labels",
        }
    }
}

/// The models whose `captures` or `labels` prefix holds the object, in policy order.
pub fn route<'p>(policy: &'p Policy, uri: &str) -> Vec<(&'p ModelPolicy, ObjectKind)> {
    let under = |prefix: &str| uri.starts_with(&format!("{}/", prefix.trim_end_matches('/')));
    policy
        .models
        .iter()
        .filter_map(|model| {
            let monitor = model.monitor.as_ref()?;
            if under(&monitor.captures) {
                Some((model, ObjectKind::Captures))
            } else if monitor.labels.as_deref().is_some_and(under) {
                Some((model, ObjectKind::Labels))
            } else {
                None
            }
        })
        .collect()
}

/// The id an object's derived keys carry: 20 hex digits of the SHA-256 of its URI.
pub fn object_id(uri: &str) -> String {
    let mut digest = trigger_decision::key::content_sha256(uri);
    digest.truncate(20);
    digest
}

fn window_root(model: &str, window: Window) -> String {
    format!("monitor/{model}/windows/{}", window.path())
}

pub fn partials_prefix(model: &str, window: Window) -> String {
    format!("{}/partials/", window_root(model, window))
}

pub fn partial_key(model: &str, window: Window, object: &str) -> String {
    format!("{}{object}.profile", partials_prefix(model, window))
}

pub fn predictions_prefix(model: &str, window: Window, shard: u16) -> String {
    format!("{}/predictions/{shard:02}/", window_root(model, window))
}

pub fn prediction_key(model: &str, window: Window, shard: u16, object: &str, sequence: usize) -> String {
    format!(
        "{}{object}-{sequence:04}.batch",
        predictions_prefix(model, window, shard)
    )
}

pub fn labels_prefix(model: &str, slot: Window, shard: u16) -> String {
    format!("monitor/{model}/labels/{}/{shard:02}/", slot.path())
}

pub fn label_key(model: &str, slot: Window, shard: u16, object: &str, sequence: usize) -> String {
    format!("{}{object}-{sequence:04}.batch", labels_prefix(model, slot, shard))
}

/// Written after an object's label batches: the object is fully indexed.
pub fn labels_done_key(model: &str, slot: Window, object: &str) -> String {
    format!("monitor/{model}/labels/{}/objects/{object}.json", slot.path())
}

/// The window's reports as S3 URIs: `<drift.reports>/<window>/statistics.json`
/// and `quality.json` beside it; `None` when the model has no `drift.reports`.
pub fn report_uris(model: &ModelPolicy, window: Window) -> Option<(String, String)> {
    let reports = model.drift.as_ref()?.reports.as_deref()?;
    let folder = format!("{}/{}", reports.trim_end_matches('/'), window.path());
    Some((format!("{folder}/statistics.json"), format!("{folder}/quality.json")))
}

/// Where `quality.json` goes for a model without `drift.reports`, relative to the ledger.
pub fn ledger_quality_key(model: &str, window: Window) -> String {
    format!("{}/quality.json", window_root(model, window))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month, day, hour and minute of an instant, in UTC (Hinnant's `civil_from_days`).
fn civil(at: Timestamp) -> (i64, i64, i64, i64, i64) {
    let days = at.millis().div_euclid(MILLIS_PER_DAY);
    let of_day = at.millis().rem_euclid(MILLIS_PER_DAY);
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / MILLIS_PER_HOUR,
        of_day % MILLIS_PER_HOUR / 60_000,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        // The layout's own parser, checked against known instants below.
        let (date, hour) = text.split_once('T').unwrap();
        let parts: Vec<i64> = date.split('-').map(|part| part.parse().unwrap()).collect();
        let (hour, minute) = hour.split_once(':').unwrap();
        Timestamp(
            days_from_civil(parts[0], parts[1], parts[2]) * MILLIS_PER_DAY
                + hour.parse::<i64>().unwrap() * MILLIS_PER_HOUR
                + minute.parse::<i64>().unwrap() * 60_000,
        )
    }

    const HOUR: Span = Span::from_secs(3600);

    #[test]
    fn dates_convert_both_ways_at_known_instants() {
        // Epoch milliseconds from `date -u -d ... +%s`.
        assert_eq!(at("1970-01-01T00:00").millis(), 0);
        assert_eq!(at("2026-12-02T04:00").millis(), 1_796_184_000_000);
        assert_eq!(at("2024-02-29T23:00").millis(), 1_709_247_600_000);
        assert_eq!(civil(Timestamp(1_709_247_600_000)), (2024, 2, 29, 23, 0));
        assert_eq!(civil(Timestamp(1_796_184_000_000 + 90_000)), (2026, 12, 2, 4, 1));
        for days in [-800_000, -1, 0, 59, 365 * 400, 20_000_000] {
            let (year, month, day, ..) = civil(Timestamp(days * MILLIS_PER_DAY));
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn keys_name_their_hour_or_nothing() {
        let check = |key: &str, expected: Option<&str>| assert_eq!(hour_in_key(key), expected.map(at), "{key}");
        check(
            "datacapture/housing-price-prod/AllTraffic/2026/12/02/04/capture-04-12-55-000.jsonl",
            Some("2026-12-02T04:00"),
        );
        check(
            "ground-truth/housing-price/2024/02/29/23/labels.jsonl",
            Some("2024-02-29T23:00"),
        );
        check("ground-truth/housing-price/2023/02/29/23/labels.jsonl", None);
        check("ground-truth/housing-price/2026/13/02/04/labels.jsonl", None);
        check("ground-truth/housing-price/2026/12/02/24/labels.jsonl", None);
        check("ground-truth/housing-price/2026/12/02/4/labels.jsonl", None);
        check("ground-truth/housing-price/2026/12/02/04/", None);
        check("datacapture/housing-price-prod/capture.jsonl", None);
    }

    #[test]
    fn the_close_takes_the_window_that_ended_label_delay_ago() {
        let delay = Span::from_secs(6 * 3600);
        let window = Window::closed_at(at("2026-12-02T11:00"), HOUR, delay);
        assert_eq!(
            (window.start, window.end),
            (at("2026-12-02T04:00"), at("2026-12-02T05:00"))
        );
        assert_eq!(window.path(), "2026/12/02/04");
        // A close a little late (Scheduler's flexible window) still closes the same window.
        assert_eq!(Window::closed_at(at("2026-12-02T11:14"), HOUR, delay), window);
        let quarter = Window::closed_at(at("2026-12-02T11:00"), Span::from_secs(900), Span::ZERO);
        assert_eq!(quarter.path(), "2026/12/02/10/45");
    }

    #[test]
    fn label_windows_cover_the_delay_and_one_more_for_late_labels() {
        let delay = Span::from_secs(6 * 3600);
        let window = Window::holding(at("2026-12-02T04:00"), HOUR);
        let slots = label_slots(window, at("2026-12-02T11:00"));
        assert_eq!(slots.len(), 7);
        assert_eq!(slots[6].start, at("2026-12-02T10:00"));
        let on_time = on_time_windows(window, delay);
        // 04:00's slot still receives on-time labels for 22:00 (closes 05:00) to 04:00.
        assert_eq!(on_time.len(), 7);
        assert_eq!(on_time.last().unwrap().start, at("2026-12-01T22:00"));
        let late = late_windows(window, delay);
        assert_eq!(late.first().unwrap().start, at("2026-12-01T21:00"));
        assert_eq!(late.last().unwrap().start, at("2026-12-01T16:00"));
        assert!(late.iter().all(|late| late.end.plus(delay) <= window.start));
    }

    #[test]
    fn ledger_keys_are_stable_and_distinct() {
        let window = Window::holding(at("2026-12-02T04:00"), HOUR);
        let object = object_id("s3://captures/datacapture/a.jsonl");
        assert_eq!(object.len(), 20);
        assert_eq!(object, object_id("s3://captures/datacapture/a.jsonl"));
        assert_ne!(object, object_id("s3://captures/datacapture/b.jsonl"));
        assert_eq!(
            partial_key("housing-price", window, &object),
            format!("monitor/housing-price/windows/2026/12/02/04/partials/{object}.profile")
        );
        assert_eq!(
            prediction_key("housing-price", window, 3, &object, 1),
            format!("monitor/housing-price/windows/2026/12/02/04/predictions/03/{object}-0001.batch")
        );
        assert!(label_key("m", window, 15, &object, 0).starts_with(&labels_prefix("m", window, 15)));
    }

    #[test]
    fn objects_route_to_the_model_whose_prefix_holds_them() {
        let policy = Policy::from_toml(
            "[[model]]\nname = \"a\"\npipeline = \"p\"\n[model.monitor]\nendpoint = \"e\"\n\
             captures = \"s3://captures/datacapture/e/\"\nlabels = \"s3://captures/ground-truth/a\"\n\
             problem = \"regression\"\nfeatures = [\"x\"]\n\
             [[model]]\nname = \"b\"\npipeline = \"p\"\n",
        )
        .unwrap();
        let routed = |uri: &str| -> Vec<(String, ObjectKind)> {
            route(&policy, uri)
                .into_iter()
                .map(|(model, kind)| (model.name.clone(), kind))
                .collect()
        };
        assert_eq!(
            routed("s3://captures/datacapture/e/AllTraffic/2026/12/02/04/x.jsonl"),
            vec![("a".to_string(), ObjectKind::Captures)]
        );
        assert_eq!(
            routed("s3://captures/ground-truth/a/2026/12/02/04/x.jsonl"),
            vec![("a".to_string(), ObjectKind::Labels)]
        );
        assert!(routed("s3://captures/ground-truth/ab/2026/12/02/04/x.jsonl").is_empty());
        assert!(routed("s3://captures/datacapture/other/x.jsonl").is_empty());
    }
}
