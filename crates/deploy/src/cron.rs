//! Cron expressions as `schedule.toml` writes them (Unix cron, UTC, 5 fields or 6 with seconds
//! first, as `stratus schedule` runs them with croner) turned into EventBridge's dialect.
//!
//! The dialects differ in ways that silently shift a schedule if copied as text: EventBridge
//! numbers days of the week 1–7 from **Sunday** (Unix: 0–6 from Sunday, 7 also Sunday, so Unix
//! `1-5` is EventBridge `2-6`); it has a sixth field for the year and no seconds; it refuses a
//! day-of-month and a day-of-week together (one must be `?`), where Unix cron runs when
//! *either* matches. Days of the week are therefore written as names (unambiguous in both), and
//! an expression restricting both days becomes two rules, one per field, which is exactly
//! Unix's "either".

use std::str::FromStr;

/// A cron expression EventBridge cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron {expression:?}: {reason}")]
pub struct CronError {
    /// The expression as written.
    pub expression: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// The EventBridge schedule expressions (`cron(…)`, one or two) that fire exactly when the Unix
/// cron `expression` does.
pub fn to_eventbridge(expression: &str) -> Result<Vec<String>, CronError> {
    let fail = |reason: String| CronError {
        expression: expression.to_string(),
        reason,
    };
    let trimmed = expression.trim();
    croner::Cron::from_str(trimmed).map_err(|e| {
        fail(format!(
            "not a cron expression ({e}); write 5 fields (minute hour day-of-month month day-of-week), e.g. \"30 22 * * MON-FRI\""
        ))
    })?;
    let expanded = match trimmed.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
        "@monthly" => "0 0 1 * *".to_string(),
        "@weekly" => "0 0 * * 0".to_string(),
        "@daily" | "@midnight" => "0 0 * * *".to_string(),
        "@hourly" => "0 * * * *".to_string(),
        _ => trimmed.to_string(),
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let fields = match fields.len() {
        5 => fields,
        6 => {
            if !matches!(fields[0], "0" | "00") {
                return Err(fail(format!(
                    "EventBridge schedules to the minute; the seconds field must be 0, not {:?}",
                    fields[0]
                )));
            }
            fields[1..].to_vec()
        }
        n => {
            return Err(fail(format!(
                "{n} fields; EventBridge takes 5 (minute hour day-of-month month day-of-week) or 6 with seconds 0 first"
            )));
        }
    };
    let minute = numeric(fields[0], 0, 59, "minute").map_err(&fail)?;
    let hour = numeric(fields[1], 0, 23, "hour").map_err(&fail)?;
    let month = month_field(fields[3]).map_err(&fail)?;
    let dom_any = matches!(fields[2], "*" | "?");
    let dow_any = matches!(fields[4], "*" | "?");
    let dom = if dom_any {
        None
    } else {
        Some(day_of_month(fields[2]).map_err(&fail)?)
    };
    let dow = if dow_any {
        None
    } else {
        Some(day_of_week(fields[4]).map_err(&fail)?)
    };
    let rule = |dom: &str, dow: &str| format!("cron({minute} {hour} {dom} {month} {dow} *)");
    Ok(match (dom, dow) {
        (None, None) => vec![rule("*", "?")],
        (Some(dom), None) => vec![rule(&dom, "?")],
        (None, Some(dow)) => vec![rule("?", &dow)],
        // Unix cron: either field matching is enough; EventBridge: one rule per field.
        (Some(dom), Some(dow)) => vec![rule(&dom, "?"), rule("?", &dow)],
    })
}

/// Minutes and hours: numbers, lists, ranges and steps as in Unix; `*/n` becomes `0/n`.
fn numeric(field: &str, low: u32, high: u32, what: &str) -> Result<String, String> {
    field
        .split(',')
        .map(|part| {
            let (range, step) = split_step(part, what)?;
            let range = match range {
                "*" if step.is_some() => low.to_string(),
                "*" => "*".to_string(),
                _ => {
                    let (a, b) = match range.split_once('-') {
                        Some((a, b)) => (a, Some(b)),
                        None => (range, None),
                    };
                    let number = |text: &str| -> Result<u32, String> {
                        text.parse::<u32>()
                            .ok()
                            .filter(|n| (low..=high).contains(n))
                            .ok_or_else(|| format!("{what} {text:?} is not in {low}–{high}"))
                    };
                    let a = number(a)?;
                    match b {
                        Some(b) => {
                            let b = number(b)?;
                            if b < a {
                                return Err(format!(
                                    "{what} range {range:?} runs backwards; write it as a list"
                                ));
                            }
                            format!("{a}-{b}")
                        }
                        None => a.to_string(),
                    }
                }
            };
            Ok(match step {
                Some(step) => format!("{range}/{step}"),
                None => range,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join(","))
}

fn split_step<'a>(part: &'a str, what: &str) -> Result<(&'a str, Option<u32>), String> {
    match part.split_once('/') {
        Some((range, step)) => match step.parse::<u32>() {
            Ok(n) if n > 0 => Ok((range, Some(n))),
            _ => Err(format!("{what} step {step:?} must be a positive number")),
        },
        None => Ok((part, None)),
    }
}

/// Day of month: as Unix, plus `L` (last day) and `nW`, which both dialects share.
fn day_of_month(field: &str) -> Result<String, String> {
    let upper = field.to_ascii_uppercase();
    if upper == "L" {
        return Ok(upper);
    }
    if let Some(day) = upper.strip_suffix('W') {
        return numeric(day, 1, 31, "day of month").map(|d| format!("{d}W"));
    }
    numeric(&upper, 1, 31, "day of month")
}

/// Months: numbers or names, written as numbers (names become their numbers).
fn month_field(field: &str) -> Result<String, String> {
    let mut text = field.to_ascii_uppercase();
    for (i, name) in MONTH_NAMES.iter().enumerate() {
        text = text.replace(name, &(i + 1).to_string());
    }
    if text.contains('*') && !text.contains('/') {
        return Ok("*".into());
    }
    numeric(&text, 1, 12, "month")
}

/// The Unix day-of-week number of a token (`0`–`7` or a name), Sunday as 0.
fn unix_day(token: &str) -> Result<usize, String> {
    if let Some(i) = DAY_NAMES.iter().position(|n| token.eq_ignore_ascii_case(n)) {
        return Ok(i);
    }
    match token.parse::<usize>() {
        Ok(7) => Ok(0),
        Ok(n) if n < 7 => Ok(n),
        _ => Err(format!(
            "day of week {token:?} is not 0–7 or SUN–SAT (Unix cron: 0 and 7 are Sunday)"
        )),
    }
}

/// Day of week: the set of days, written as EventBridge names (runs of three or more as a range,
/// never wrapping past Saturday); `nL` (last weekday n of the month) and `n#k` (k-th weekday n)
/// renumbered from Unix's 0-based Sunday to EventBridge's 1-based Sunday.
fn day_of_week(field: &str) -> Result<String, String> {
    let upper = field.to_ascii_uppercase();
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(format!("{}L", unix_day(day)? + 1));
    }
    if let Some((day, nth)) = upper.split_once('#') {
        let nth = nth
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| format!("day of week {field:?}: the occurrence after # must be 1–5"))?;
        return Ok(format!("{}#{nth}", unix_day(day)? + 1));
    }
    let mut days = [false; 7];
    for part in upper.split(',') {
        let (range, step) = split_step(part, "day of week")?;
        let (first, last) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((a, b)) => {
                    let a = unix_day(a)?;
                    // `5-7` ends on Sunday written as 7: count it after Saturday.
                    let b = if b == "7" { 7 } else { unix_day(b)? };
                    if b < a {
                        return Err(format!(
                            "day of week range {range:?} runs backwards; write it as a list such as FRI,SAT,SUN"
                        ));
                    }
                    (a, b)
                }
                None => {
                    let a = unix_day(range)?;
                    (a, if step.is_some() { 6 } else { a })
                }
            },
        };
        let step = step.unwrap_or(1) as usize;
        for day in (first..=last).step_by(step) {
            days[day % 7] = true;
        }
    }
    let mut parts = Vec::new();
    let mut day = 0;
    while day < 7 {
        if !days[day] {
            day += 1;
            continue;
        }
        let start = day;
        while day + 1 < 7 && days[day + 1] {
            day += 1;
        }
        match day - start {
            0 => parts.push(DAY_NAMES[start].to_string()),
            1 => parts.extend([DAY_NAMES[start].to_string(), DAY_NAMES[day].to_string()]),
            _ => parts.push(format!("{}-{}", DAY_NAMES[start], DAY_NAMES[day])),
        }
        day += 1;
    }
    Ok(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::to_eventbridge;

    fn one(expression: &str) -> String {
        let rules = to_eventbridge(expression).unwrap();
        assert_eq!(rules.len(), 1, "{expression}: {rules:?}");
        rules.into_iter().next().unwrap()
    }

    #[test]
    fn the_example_schedules() {
        assert_eq!(one("30 22 * * MON-FRI"), "cron(30 22 ? * MON-FRI *)");
        assert_eq!(one("0 6 * * SUN"), "cron(0 6 ? * SUN *)");
        // The scraper's rule, written in Unix cron.
        assert_eq!(one("0 18 1,15 * *"), "cron(0 18 1,15 * ? *)");
    }

    #[test]
    fn days_of_week_are_renumbered_by_name() {
        // Unix 1-5 is Monday to Friday; copied as text EventBridge would run Sunday to Thursday.
        assert_eq!(one("0 9 * * 1-5"), "cron(0 9 ? * MON-FRI *)");
        assert_eq!(one("0 9 * * 0"), "cron(0 9 ? * SUN *)");
        assert_eq!(one("0 9 * * 7"), "cron(0 9 ? * SUN *)");
        assert_eq!(one("0 9 * * 6,0"), "cron(0 9 ? * SUN,SAT *)");
        assert_eq!(one("0 9 * * 5-7"), "cron(0 9 ? * SUN,FRI,SAT *)");
        assert_eq!(one("0 0 * * */2"), "cron(0 0 ? * SUN,TUE,THU,SAT *)");
        assert_eq!(one("0 0 * * 1,2"), "cron(0 0 ? * MON,TUE *)");
        assert_eq!(one("0 12 * * 5L"), "cron(0 12 ? * 6L *)");
        assert_eq!(one("0 12 * * 1#2"), "cron(0 12 ? * 2#2 *)");
    }

    #[test]
    fn both_day_fields_become_two_rules_as_unix_runs_either() {
        assert_eq!(
            to_eventbridge("0 0 1 * MON").unwrap(),
            ["cron(0 0 1 * ? *)", "cron(0 0 ? * MON *)"]
        );
    }

    #[test]
    fn steps_seconds_months_and_aliases() {
        assert_eq!(one("*/15 * * * *"), "cron(0/15 * * * ? *)");
        assert_eq!(one("0 30 22 * * *"), "cron(30 22 * * ? *)");
        assert_eq!(one("0 0 1 JAN,JUL *"), "cron(0 0 1 1,7 ? *)");
        assert_eq!(one("@daily"), "cron(0 0 * * ? *)");
        assert_eq!(one("@weekly"), "cron(0 0 ? * SUN *)");
        assert_eq!(one("0 8 L * *"), "cron(0 8 L * ? *)");
    }

    #[test]
    fn what_eventbridge_cannot_do_is_an_error_naming_the_field() {
        let seconds = to_eventbridge("15 30 22 * * *").unwrap_err();
        assert!(seconds.reason.contains("seconds"), "{seconds}");
        let garbage = to_eventbridge("every day").unwrap_err();
        assert!(garbage.reason.contains("5 fields"), "{garbage}");
        assert!(to_eventbridge("61 * * * *").is_err());
    }
}
