//! Which metric periods CloudWatch still keeps for a range: 1-minute data
//! for 15 days, 5-minute data for 63 days, 1-hour data for 455 days. A
//! backtest fetching history picks the finest period kept back to its start,
//! and refuses a finer one, which CloudWatch would return as gaps.

use crate::error::BacktestError;
use trigger_decision::{Span, Timestamp};

const DAY: i64 = 86_400;

/// Each standard period and how long CloudWatch keeps it, finest first.
pub const RETENTION: [(Span, Span); 3] = [
    (Span::from_secs(60), Span::from_secs(15 * DAY)),
    (Span::from_secs(300), Span::from_secs(63 * DAY)),
    (Span::from_secs(3600), Span::from_secs(455 * DAY)),
];

/// The finest period whose data, as of `now`, still reaches back to `start`.
pub fn finest_period(start: Timestamp, now: Timestamp) -> Result<Span, BacktestError> {
    RETENTION
        .iter()
        .find(|(_, kept)| start >= now.minus(*kept))
        .map(|(period, _)| *period)
        .ok_or_else(|| BacktestError::Retention {
            problem: format!(
                "the replay starts at {start}, more than 455 days before {now}: no metric data is kept from then"
            ),
        })
}

/// Refuses `period` when it is finer than CloudWatch keeps back to `start`.
pub fn check_period(period: Span, start: Timestamp, now: Timestamp) -> Result<(), BacktestError> {
    let finest = finest_period(start, now)?;
    if period < finest {
        return Err(BacktestError::Retention {
            problem: format!(
                "a period of {period} is not kept back to {start} (as of {now}); use a period of at least {finest}, or start later"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finest_period_kept_depends_on_the_age_of_the_start() {
        let now = Timestamp::from_millis(2_000_000_000_000);
        let check = |days_ago: i64, expected: Option<i64>| {
            let start = now.minus(Span::from_secs(days_ago * DAY));
            let found = finest_period(start, now).ok().map(|period| period.millis() / 1000);
            assert_eq!(found, expected, "{days_ago} days ago");
        };
        check(0, Some(60));
        check(15, Some(60));
        check(16, Some(300));
        check(63, Some(300));
        check(64, Some(3600));
        check(455, Some(3600));
        check(456, None);
    }

    #[test]
    fn a_period_finer_than_kept_is_refused_with_what_to_use() {
        let now = Timestamp::from_millis(2_000_000_000_000);
        let start = now.minus(Span::from_secs(90 * DAY));
        assert!(check_period(Span::from_secs(3600), start, now).is_ok());
        assert!(check_period(Span::from_secs(86_400), start, now).is_ok());
        let error = check_period(Span::from_secs(300), start, now).unwrap_err().to_string();
        for fragment in ["a period of 5m", "at least 1h", "1-minute data for 15 days"] {
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        }
        let error = check_period(Span::from_secs(3600), now.minus(Span::from_secs(500 * DAY)), now)
            .unwrap_err()
            .to_string();
        assert!(error.contains("more than 455 days"), "{error}");
    }
}
