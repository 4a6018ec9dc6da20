//! Health metrics from CloudWatch, against moto's server (`STRATUS_TEST_S3`; moto serves
//! CloudWatch on the same port). Skipped without it, failed under `CI=true`.

use aws_sdk_cloudwatch::types::Dimension;
use serde_json::json;
use stratus_jobs::cloudwatch::CloudWatch;
use stratus_jobs::ecology::MetricSource;

/// Against moto's server (`STRATUS_TEST_S3`, which serves CloudWatch too): values put are
/// read back, reduced and judged as the orchestrator would.
#[tokio::test]
async fn datapoints_come_back_from_cloudwatch() {
    let Ok(url) = std::env::var("STRATUS_TEST_S3") else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true needs STRATUS_TEST_S3 (moto)"
        );
        return;
    };
    use aws_sdk_cloudwatch::config::{Credentials, Region};
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let client = aws_sdk_cloudwatch::Client::new(&config);
    let namespace = format!("StratusTest{}", std::process::id());
    for value in [40.0, 80.0] {
        client
            .put_metric_data()
            .namespace(&namespace)
            .metric_data(
                aws_sdk_cloudwatch::types::MetricDatum::builder()
                    .metric_name("CPUUtilization")
                    .dimensions(
                        Dimension::builder()
                            .name("DBInstanceIdentifier")
                            .value("db1")
                            .build(),
                    )
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let source = CloudWatch { client };
    let details = json!({
        "Namespace": namespace,
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
        "Statistics": ["Maximum"],
        "Period": 60,
    });
    let points = source.datapoints(&details).await.unwrap();
    assert!(points.contains(&80.0), "{points:?}");
    let metric: stratus_jobs::ecology::Metric = serde_json::from_value(json!({
        "details": details, "feelings": {"3": 50, "4": 25}, "feeling_comparison_operator": "<=", "reduce": "max"
    }))
    .unwrap();
    assert_eq!(
        stratus_jobs::ecology::health(&source, &[metric])
            .await
            .unwrap(),
        0
    );
    let error = source
        .datapoints(&json!({"MetricName": "x"}))
        .await
        .unwrap_err();
    assert!(error.contains("Namespace"), "{error}");
}
