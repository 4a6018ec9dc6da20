//! Health metrics from CloudWatch (`GetMetricStatistics`), as sosw's Ecology manager read them:
//! a metric's `details` are the request's arguments (`Namespace`, `MetricName`, `Dimensions`,
//! `Statistics`, `Period`) plus `MetricAggregationTimeSlice`, the window ending now (default
//! 300 s).

use crate::ecology::MetricSource;
use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use serde_json::Value;

/// CloudWatch as a metric source.
pub struct CloudWatch {
    /// The client (its region and credentials are the deployment's).
    pub client: aws_sdk_cloudwatch::Client,
}

fn text<'a>(details: &'a Value, key: &str) -> Result<&'a str, String> {
    details
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("health metric {details}: needs \"{key}\""))
}

#[async_trait]
impl MetricSource for CloudWatch {
    async fn datapoints(&self, details: &Value) -> Result<Vec<f64>, String> {
        let namespace = text(details, "Namespace")?;
        let name = text(details, "MetricName")?;
        let statistic = details
            .get("Statistics")
            .and_then(|s| s.get(0))
            .and_then(Value::as_str)
            .unwrap_or("Average");
        let statistic = match statistic {
            "Average" => Statistic::Average,
            "Maximum" => Statistic::Maximum,
            "Minimum" => Statistic::Minimum,
            "Sum" => Statistic::Sum,
            "SampleCount" => Statistic::SampleCount,
            other => return Err(format!("health metric {name}: unknown statistic {other:?}")),
        };
        let period = details
            .get("Period")
            .and_then(Value::as_i64)
            .unwrap_or(60)
            .clamp(1, 86_400) as i32;
        let slice = details
            .get("MetricAggregationTimeSlice")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(300.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut request = self
            .client
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(name)
            .start_time(DateTime::from_secs((now - slice) as i64))
            .end_time(DateTime::from_secs(now.ceil() as i64 + 1))
            .period(period)
            .statistics(statistic.clone());
        for dimension in details
            .get("Dimensions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            request = request.dimensions(
                Dimension::builder()
                    .name(text(dimension, "Name")?)
                    .value(text(dimension, "Value")?)
                    .build(),
            );
        }
        let output = request.send().await.map_err(|e| {
            format!(
                "CloudWatch {namespace}/{name}: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        })?;
        Ok(output
            .datapoints()
            .iter()
            .filter_map(|p| match statistic {
                Statistic::Average => p.average,
                Statistic::Maximum => p.maximum,
                Statistic::Minimum => p.minimum,
                Statistic::Sum => p.sum,
                _ => p.sample_count,
            })
            .collect())
    }
}
