//! Health throttling (sosw's Ecology manager): each worker's concurrency is scaled by how its
//! dependencies feel, read from metrics (CloudWatch on AWS; any [`MetricSource`] in tests).
//!
//! sosw named the comparison as a string handed to `getattr(operator, …)`, so the documented
//! `'<='` failed and only `'__le__'` worked. Here it is an enum read when the config is loaded:
//! both spellings are accepted, anything else is a config error naming the metric.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

/// The best health; a worker without metrics has it.
pub const HIGH: u8 = 4;

/// How a metric's value is compared with a feeling's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Comparison {
    /// Value below the threshold.
    #[serde(rename = "<", alias = "__lt__", alias = "lt")]
    Less,
    /// At most the threshold.
    #[serde(rename = "<=", alias = "__le__", alias = "le")]
    LessOrEqual,
    /// Above the threshold.
    #[serde(rename = ">", alias = "__gt__", alias = "gt")]
    Greater,
    /// At least the threshold.
    #[serde(rename = ">=", alias = "__ge__", alias = "ge")]
    GreaterOrEqual,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
        }
    }
}

/// How a metric's datapoints become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    /// The mean (sosw's default).
    #[default]
    Mean,
    /// The largest.
    Max,
    /// The smallest.
    Min,
}

/// One health metric of a worker.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// What to ask the metric source (CloudWatch `GetMetricStatistics` arguments).
    pub details: Value,
    /// Health status (`"0"`–`"4"`) → threshold.
    pub feelings: BTreeMap<String, f64>,
    /// How the value is compared with the thresholds.
    pub feeling_comparison_operator: Comparison,
    /// How datapoints are reduced.
    #[serde(default, rename = "reduce")]
    pub reduce: Reduce,
}

impl Metric {
    /// Checks the feelings: statuses 0–4, finite thresholds, ordered so that a better status
    /// asks for a better value.
    pub fn check(&self) -> Result<(), String> {
        let mut feelings = Vec::new();
        for (status, threshold) in &self.feelings {
            let status: u8 = status
                .parse()
                .ok()
                .filter(|s| *s <= HIGH)
                .ok_or_else(|| format!("feeling {status:?} is not a status 0–4"))?;
            if !threshold.is_finite() {
                return Err(format!("feeling {status}: the threshold is not a number"));
            }
            feelings.push((status, *threshold));
        }
        if feelings.is_empty() {
            return Err("a metric needs at least one feeling, e.g. {\"3\": 50, \"4\": 25}".into());
        }
        let ascending = matches!(
            self.feeling_comparison_operator,
            Comparison::Greater | Comparison::GreaterOrEqual
        );
        for pair in feelings.windows(2) {
            let (lower, higher) = (pair[0].1, pair[1].1);
            let ordered = if ascending {
                higher >= lower
            } else {
                higher <= lower
            };
            if !ordered {
                return Err(format!(
                    "feelings out of order: status {} needs a {} threshold than status {}",
                    pair[1].0,
                    if ascending { "higher" } else { "lower" },
                    pair[0].0
                ));
            }
        }
        Ok(())
    }

    /// The status a value earns: the best whose threshold it satisfies, else 0.
    pub fn status(&self, value: f64) -> u8 {
        let mut statuses: Vec<(u8, f64)> = self
            .feelings
            .iter()
            .filter_map(|(s, t)| Some((s.parse().ok()?, *t)))
            .collect();
        statuses.sort_by_key(|s| std::cmp::Reverse(s.0));
        statuses
            .into_iter()
            .find(|(_, threshold)| self.feeling_comparison_operator.holds(value, *threshold))
            .map_or(0, |(status, _)| status)
    }

    fn reduce(&self, points: &[f64]) -> Option<f64> {
        let finite: Vec<f64> = points.iter().copied().filter(|p| p.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        Some(match self.reduce {
            Reduce::Mean => finite.iter().sum::<f64>() / finite.len() as f64,
            Reduce::Max => finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Reduce::Min => finite.iter().copied().fold(f64::INFINITY, f64::min),
        })
    }
}

/// Where metric values come from.
#[async_trait]
pub trait MetricSource: Send + Sync {
    /// The datapoints of the metric `details` describes, over its recent window.
    async fn datapoints(&self, details: &Value) -> Result<Vec<f64>, String>;
}

/// A source with no metrics at all: every worker is healthy.
#[derive(Debug, Default)]
pub struct NoMetrics;

#[async_trait]
impl MetricSource for NoMetrics {
    async fn datapoints(&self, details: &Value) -> Result<Vec<f64>, String> {
        Err(format!(
            "no metric source is configured, but a health metric asks for {details}"
        ))
    }
}

/// A worker's health: the worst status over its metrics; [`HIGH`] without metrics. A metric
/// with no datapoints counts as healthy (no traffic, nothing to worry about); a source that
/// fails is an error, so the orchestrator skips the worker this run rather than guess.
pub async fn health(source: &dyn MetricSource, metrics: &[Metric]) -> Result<u8, String> {
    let mut worst = HIGH;
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    for metric in metrics {
        let key = metric.details.to_string();
        let value = match seen.get(&key) {
            Some(v) => Some(*v),
            None => {
                let points = source.datapoints(&metric.details).await?;
                let value = metric.reduce(&points);
                if let Some(v) = value {
                    seen.insert(key, v);
                }
                value
            }
        };
        if let Some(value) = value {
            worst = worst.min(metric.status(value));
        }
    }
    Ok(worst)
}

/// How many more tasks a worker may start: floor(max × coefficient[health]) − running, never
/// below zero.
pub fn desired(max: u32, coefficients: &[f64; 5], health: u8, running: u64) -> u64 {
    let share = coefficients[usize::from(health.min(HIGH))];
    let allowed = (f64::from(max) * share).floor() as u64;
    allowed.saturating_sub(running)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cpu(op: &str) -> Metric {
        serde_json::from_value(json!({
            "details": {"MetricName": "CPUUtilization"},
            "feelings": {"3": 50, "4": 25},
            "feeling_comparison_operator": op,
        }))
        .unwrap()
    }

    #[test]
    fn both_spellings_of_an_operator_work_and_others_are_refused() {
        assert_eq!(
            cpu("<=").feeling_comparison_operator,
            Comparison::LessOrEqual
        );
        assert_eq!(
            cpu("__le__").feeling_comparison_operator,
            Comparison::LessOrEqual
        );
        let bad: Result<Metric, _> = serde_json::from_value(json!({
            "details": {}, "feelings": {"3": 1}, "feeling_comparison_operator": "=="}));
        assert!(bad.is_err());
    }

    #[test]
    fn the_best_satisfied_feeling_wins() {
        let metric = cpu("<=");
        metric.check().unwrap();
        assert_eq!(metric.status(10.0), 4);
        assert_eq!(metric.status(25.0), 4);
        assert_eq!(metric.status(40.0), 3);
        assert_eq!(metric.status(90.0), 0);
        let disordered: Metric = serde_json::from_value(json!({
            "details": {}, "feelings": {"3": 10, "4": 25}, "feeling_comparison_operator": "<="}))
        .unwrap();
        assert!(disordered.check().unwrap_err().contains("out of order"));
    }

    #[test]
    fn desired_scales_by_coefficient_and_never_goes_negative() {
        let c = [0.0, 0.0, 0.5, 0.75, 1.0];
        assert_eq!(desired(10, &c, 4, 3), 7);
        assert_eq!(desired(10, &c, 3, 3), 4);
        assert_eq!(desired(10, &c, 2, 3), 2);
        assert_eq!(desired(10, &c, 1, 0), 0);
        assert_eq!(desired(10, &c, 4, 30), 0);
    }
}
