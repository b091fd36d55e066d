//! `retrain synthetic DIR` (hidden): writes the demo's backtest inputs, so
//! that `make demo` replays values made by the tool itself rather than
//! committed data. The values are `trigger_backtest::synthetic::housing_price_mae`:
//! 90 days of 5-minute MAE from 2024-01-01 with a slow rise, one flapping
//! week and one sudden jump, against the demo alarm's threshold of 15,000.

use crate::backtest_error::CommandError;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use trigger_backtest::series::parse_timestamp;
use trigger_backtest::synthetic::housing_price_mae;
use trigger_decision::{Span, Timestamp};

/// The demo alarm, as `describe-alarms` prints it.
pub const ALARM: &str = "housing-price-mae-high";
/// The file names written.
pub const VALUES_FILE: &str = "housing-price-mae.csv";
pub const ALARMS_FILE: &str = "alarms.json";
const DAYS: u32 = 90;
const PERIOD: Span = Span::from_secs(300);

/// Writes `alarms.json` and `housing-price-mae.csv` into `folder`, creating it.
pub fn write(folder: &Path) -> Result<(), CommandError> {
    let written = |file: &Path| {
        let file = file.display().to_string();
        move |cause| CommandError::Write { file, cause }
    };
    std::fs::create_dir_all(folder).map_err(written(folder))?;
    let start = parse_timestamp("2024-01-01T00:00:00Z").unwrap_or(Timestamp::from_millis(1_704_067_200_000));
    let mut csv = String::from("timestamp,value\n");
    for (at, value) in housing_price_mae(start, PERIOD, DAYS).points() {
        if let Some(value) = value {
            let _ = writeln!(csv, "{at},{value}");
        }
    }
    let values = folder.join(VALUES_FILE);
    std::fs::write(&values, csv).map_err(written(&values))?;
    let alarms = folder.join(ALARMS_FILE);
    std::fs::write(&alarms, alarms_json()).map_err(written(&alarms))?;
    Ok(())
}

/// The demo's alarm: MAE above 15,000 in 2 of 3 five-minute periods.
fn alarms_json() -> String {
    let document = json!({
        "MetricAlarms": [{
            "AlarmName": ALARM,
            "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{ALARM}"),
            "MetricName": "mae",
            "Namespace": "aws/sagemaker/Endpoints/model-metrics",
            "Statistic": "Average",
            "Dimensions": [
                {"Name": "Endpoint", "Value": "housing-price"},
                {"Name": "MonitoringSchedule", "Value": "housing-price-quality"}
            ],
            "Period": 300,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 15000.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "missing"
        }],
        "CompositeAlarms": []
    });
    format!("{document:#}\n")
}
