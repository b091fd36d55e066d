//! Writes the sample report of the README: the demo's 90 days of synthetic
//! MAE, replayed with the policy, its baselines and a small sweep, as
//! `report.html`, `report.json` and `report.txt` in the given folder
//! (default `target/backtest-sample`).
//!
//! `decide` stands in for the engine here, as in the tests; the `retrain
//! backtest` command runs the engine itself.

#[path = "../tests/support/mod.rs"]
mod support;

use std::error::Error;
use std::fs;
use std::path::PathBuf;
use trigger_backtest::report::{html, table};

fn main() -> Result<(), Box<dyn Error>> {
    let folder = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/backtest-sample".to_string()),
    );
    fs::create_dir_all(&folder)?;
    let scenario = support::scenario();
    let report = support::backtest(&scenario, &["cooldown=6h,12h,1d", "max_starts=3/7d,none"]);
    let text = table::render(&report);
    fs::write(folder.join("report.txt"), &text)?;
    fs::write(folder.join("report.json"), report.to_json()?)?;
    fs::write(folder.join("report.html"), html::render(&report, &scenario.series)?)?;
    println!("{text}");
    println!("wrote report.html, report.json and report.txt in {}", folder.display());
    Ok(())
}
