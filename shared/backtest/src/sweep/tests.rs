//! Sweep arguments, combinations, their policies, and the frontier.

use super::*;

fn policy() -> Policy {
    Policy::from_toml(
        "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\nalarms = [\"mae-high\"]\n\
         max_starts = \"5/7d\"\n[model.drift]\nthreshold = 0.1\n\
         [[model]]\nname = \"churn\"\npipeline = \"churn-retrain\"\nalarms = [\"auc-low\"]\n",
    )
    .unwrap()
}

#[test]
fn axes_parse_with_the_policy_parsers_rules() {
    let check = |argument: &str, expected: &[SweepValue]| {
        let axis = parse_axis(argument).unwrap();
        let values: Vec<SweepValue> = axis.settings.iter().map(|setting| setting.value).collect();
        assert_eq!(values, expected, "{argument}");
    };
    let hours = |hours: i64| Span::from_secs(hours * 3600);
    check(
        "cooldown=6h,12h, 1d",
        &[
            SweepValue::Cooldown(hours(6)),
            SweepValue::Cooldown(hours(12)),
            SweepValue::Cooldown(hours(24)),
        ],
    );
    check(
        "max_starts=3/7d,none",
        &[
            SweepValue::MaxStarts(Some(Budget {
                starts: 3,
                window: hours(168),
            })),
            SweepValue::MaxStarts(None),
        ],
    );
    check(
        "schedule=always,if-evidence",
        &[
            SweepValue::Schedule(ScheduleMode::Always),
            SweepValue::Schedule(ScheduleMode::IfEvidence),
        ],
    );
    check(
        "threshold=0.05,0.2",
        &[SweepValue::Threshold(0.05), SweepValue::Threshold(0.2)],
    );
}

#[test]
fn bad_axes_name_the_argument_and_what_was_expected() {
    let check = |argument: &str, expected: &[&str]| {
        let error = parse_axis(argument).unwrap_err().to_string();
        assert!(error.contains(&format!("--sweep {argument:?}")), "{error}");
        for fragment in expected {
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        }
    };
    check("cooldown", &["key=v1,v2"]);
    check(
        "budget=3/7d",
        &["\"budget\"", "cooldown, max_starts, schedule or threshold"],
    );
    check("cooldown=6h,6x", &["`cooldown`", "\"6x\"", "s, m, h or d"]);
    check("cooldown=6h,6h", &["\"6h\" is given twice"]);
    check("cooldown=", &["\"\" is not a value"]);
    check("max_starts=0/7d", &["`max_starts`", "\"0/7d\""]);
    check("schedule=weekly", &["`schedule`", "\"always\" or \"if-evidence\""]);
    check("threshold=high", &["\"high\" is not a number"]);
    check("threshold=-0.1", &["drift.threshold", "positive"]);
    check("cooldown=6h\"", &["is not a value"]);
}

#[test]
fn combinations_cover_every_value_of_every_axis_once() {
    let axes = [
        parse_axis("cooldown=6h,12h,1d").unwrap(),
        parse_axis("max_starts=2/7d,none").unwrap(),
    ];
    let all = combinations(&axes).unwrap();
    let described: Vec<String> = all.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "cooldown=6h max_starts=2/7d",
            "cooldown=6h max_starts=none",
            "cooldown=12h max_starts=2/7d",
            "cooldown=12h max_starts=none",
            "cooldown=1d max_starts=2/7d",
            "cooldown=1d max_starts=none",
        ]
    );
    assert_eq!(combinations(&[]).unwrap(), vec![Vec::<Setting>::new()]);
    let twice = combinations(&[axes[0].clone(), axes[0].clone()])
        .unwrap_err()
        .to_string();
    assert!(twice.contains("cooldown") && twice.contains("swept twice"), "{twice}");
    let values: Vec<String> = (1..=40).map(|hours| format!("{hours}h")).collect();
    let wide = parse_axis(&format!("cooldown={}", values.join(","))).unwrap();
    let budgets: Vec<String> = (1..=30).map(|starts| format!("{starts}/7d")).collect();
    let deep = parse_axis(&format!("max_starts={}", budgets.join(","))).unwrap();
    let error = combinations(&[wide, deep]).unwrap_err().to_string();
    assert!(error.contains("more than 1000 combinations"), "{error}");
}

#[test]
fn a_combination_sets_its_values_on_every_model() {
    let policy = policy();
    let combination = combinations(&[
        parse_axis("cooldown=1d").unwrap(),
        parse_axis("max_starts=none").unwrap(),
        parse_axis("schedule=always").unwrap(),
        parse_axis("threshold=0.3").unwrap(),
    ])
    .unwrap()
    .remove(0);
    let swept = apply(&policy, &combination);
    for model in &swept.models {
        assert_eq!(model.cooldown, Span::from_secs(86_400), "{}", model.name);
        assert_eq!(model.max_starts, None, "{}", model.name);
        assert_eq!(model.schedule, ScheduleMode::Always, "{}", model.name);
    }
    assert_eq!(swept.models[0].drift.as_ref().unwrap().threshold, Some(0.3));
    assert!(swept.models[1].drift.is_none());
    assert_eq!(swept.models[0].alarms, policy.models[0].alarms);
    assert_eq!(
        swept.sha256,
        format!(
            "{}+sweep cooldown=1d max_starts=none schedule=always threshold=0.3",
            policy.sha256
        )
    );
}

/// Lines as (starts, breach hours before a start); the expected frontier flags.
fn check_frontier(points: &[(usize, f64)], expected: &[bool]) {
    let mut lines: Vec<SweepLine> = points
        .iter()
        .map(|&(starts, hours)| {
            SweepLine::new(
                &Vec::new(),
                Totals {
                    starts,
                    deferred: 0,
                    skipped: 0,
                    breach_hours_before_start: hours,
                    longest_wait_hours: hours,
                    cost: None,
                },
            )
        })
        .collect();
    mark_frontier(&mut lines);
    let flags: Vec<bool> = lines.iter().map(|line| line.frontier).collect();
    assert_eq!(flags, expected, "{points:?}");
}

#[test]
fn the_frontier_holds_the_lines_no_other_line_dominates() {
    check_frontier(
        &[(10, 5.0), (4, 20.0), (6, 20.0), (12, 5.0), (2, 50.0)],
        &[true, true, false, false, true],
    );
    // Equal lines are both on the frontier, or both off it.
    check_frontier(&[(4, 8.0), (4, 8.0), (3, 8.0)], &[false, false, true]);
    check_frontier(&[(4, 8.0), (4, 8.0), (9, 1.0)], &[true, true, true]);
    // Better on one count and equal on the other dominates.
    check_frontier(&[(4, 8.0), (4, 7.5)], &[false, true]);
    check_frontier(&[(7, 0.0)], &[true]);
}
