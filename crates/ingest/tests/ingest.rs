//! The ingest job end to end: a mock provider over real HTTP on 127.0.0.1, a real SQLite store,
//! and real destinations (a folder; moto's S3 server when STRATUS_TEST_S3 is set, mandatory
//! under CI=true), including the faults the issue names.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use stratus_ingest::{Destination, Event, IngestConfig, IngestOptions, PutOutcome, Status, ingest};
use stratus_providers::mock::{Behaviour, MockServer};
use support::*;

const CONFIG: &str = r#"
destination = "unused"

[[source]]
name = "equities"
provider = "alphavantage"
symbols = ["AAA", "BBB"]

[[source]]
name = "payouts"
provider = "alphavantage"
kind = "dividends"
symbols = ["AAA"]

[[source]]
name = "curve"
provider = "treasury"
lookback_days = 10
maturities = ["THREE_MONTH", "TEN_YEAR"]

[[source]]
name = "macro"
provider = "fred"
series = ["UNRATE"]
lookback_days = 400

[[source]]
name = "delisted"
provider = "alphavantage"
symbols = ["NOPE"]
"#;

fn options(force: bool) -> IngestOptions {
    IngestOptions {
        run_date: date(TODAY),
        force,
        full: false,
    }
}

fn status_of(report: &stratus_ingest::RunReport, name: &str) -> Status {
    report
        .sources
        .iter()
        .find(|s| s.name == name)
        .unwrap()
        .status
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_validates_stores_and_exports_every_source_in_isolation() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let env = live_env(&mock, home.path());
    let analytics = analytics(&env).await;
    let config = IngestConfig::parse("t.toml", CONFIG).unwrap();
    let out = home.path().join("exports");
    let destination = Destination::open(out.to_str().unwrap(), &|_| None).unwrap();
    let events = AtomicUsize::new(0);
    let report = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|e| {
            if let Event::Step(_) = e {
                events.fetch_add(1, Ordering::SeqCst);
            }
        },
    )
    .await
    .unwrap();

    assert_eq!(
        status_of(&report, "equities"),
        Status::Errors,
        "{report:#?}"
    );
    assert_eq!(status_of(&report, "payouts"), Status::Operational);
    assert_eq!(status_of(&report, "curve"), Status::Operational);
    assert_eq!(status_of(&report, "macro"), Status::Operational);
    assert_eq!(status_of(&report, "delisted"), Status::Broken);
    assert!(report.any_failed());
    assert!(events.load(Ordering::SeqCst) >= 6, "progress was reported");

    // BBB: the NaN close and the future date are rejected, the rest stored.
    let equities = &report.sources[0];
    assert_eq!(equities.rejected, 2);
    let reasons: Vec<&str> = equities
        .rejected_examples
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("finite"))
            && reasons.iter().any(|r| r.contains("future"))
    );
    let sessions = mock_data().prices["AAA"].len();
    assert_eq!(equities.records, 2 * sessions - 1);
    assert_eq!(equities.stored, 2 * sessions - 1);
    let stored = analytics
        .store()
        .prices("BBB", date("2023-01-01"), date("2024-12-31"))
        .await
        .unwrap();
    assert_eq!(stored.len(), sessions - 1);
    assert!(
        stored
            .iter()
            .all(|r| r.close.is_finite() && r.date <= date(TODAY))
    );
    assert!(
        report.sources[4].errors[0].contains("NOPE"),
        "{:?}",
        report.sources[4].errors
    );

    // Yields: the two maturities asked for over the last 10 days (6 sessions, 2024-05-31..06-07).
    let curve = &report.sources[2];
    assert_eq!(curve.records, 2 * 6);

    // Exports: one CSV per dataset, stamped with the run date, then the reports.
    for (dataset, rows) in [
        ("prices", 2 * sessions - 1),
        ("dividends", 8),
        ("yields", 12),
        ("series", 5),
    ] {
        let bytes = std::fs::read(out.join(format!("{dataset}/{dataset}-{TODAY}.csv"))).unwrap();
        assert_eq!(csv_rows(&bytes).len(), rows, "{dataset}");
        let exported = report
            .exports
            .iter()
            .find(|e| e.path.contains(dataset))
            .unwrap();
        assert_eq!(
            (exported.rows, exported.bytes, exported.outcome),
            (rows, bytes.len(), PutOutcome::Written)
        );
    }
    let prices = std::fs::read(out.join(format!("prices/prices-{TODAY}.csv"))).unwrap();
    assert!(String::from_utf8_lossy(&prices).starts_with("date,ticker,open,close,source\n"));
    let json: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("reports/ingest-report-{TODAY}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json["sources"][4]["status"], "Broken");
    assert_eq!(json["sources"][1]["status"], "Operational");
    let report_csv =
        csv_rows(&std::fs::read(out.join(format!("reports/ingest-report-{TODAY}.csv"))).unwrap());
    assert_eq!(report_csv.len(), 5);
    assert_eq!(report_csv[0][4], "Errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_keeps_what_was_exported_and_force_overwrites() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let env = live_env(&mock, home.path());
    let analytics = analytics(&env).await;
    let config = IngestConfig::parse("t.toml", CONFIG).unwrap();
    let out = home.path().join("exports");
    let destination = Destination::open(out.to_str().unwrap(), &|_| None).unwrap();
    ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    let file = out.join(format!("series/series-{TODAY}.csv"));
    std::fs::write(&file, "edited by hand\n").unwrap();

    let again = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        again.exports.iter().all(|e| e.outcome == PutOutcome::Kept),
        "{:?}",
        again.exports
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "edited by hand\n");
    // The second run found the store current: nothing new stored, prices fetched compactly.
    assert_eq!(again.sources[0].stored, 0);

    let forced = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(true),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        forced
            .exports
            .iter()
            .all(|e| e.outcome == PutOutcome::Overwritten)
    );
    assert_eq!(csv_rows(&std::fs::read(&file).unwrap()).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_times_out_breaks_only_its_source() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    mock.set_behaviour("TREASURY", Behaviour::Stall(Duration::from_secs(5)));
    mock.set_behaviour("UNRATE", Behaviour::Fail(100));
    let home = tempfile::tempdir().unwrap();
    let env = live_env(&mock, home.path());
    let analytics = analytics(&env).await;
    let config = IngestConfig::parse("t.toml", CONFIG).unwrap();
    let destination =
        Destination::open(home.path().join("x").to_str().unwrap(), &|_| None).unwrap();
    let started = std::time::Instant::now();
    let report = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(status_of(&report, "curve"), Status::Broken);
    assert!(
        report.sources[2].errors[0].contains("did not answer within 1 s"),
        "{:?}",
        report.sources[2].errors
    );
    assert_eq!(status_of(&report, "macro"), Status::Broken);
    assert!(
        report.sources[3].errors[0].contains("HTTP 503"),
        "{:?}",
        report.sources[3].errors
    );
    assert_eq!(status_of(&report, "payouts"), Status::Operational);
    assert_eq!(status_of(&report, "equities"), Status::Errors);
    // Timeout 1 s, one retry: the stalled source costs about 2 s, not the stall's 5 s per call.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.calls("TREASURY"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_stops_its_source_after_the_first_symbol() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    mock.set_behaviour("AAA", Behaviour::BadKey);
    let home = tempfile::tempdir().unwrap();
    let env = live_env(&mock, home.path());
    let analytics = analytics(&env).await;
    let text = "destination = \"x\"\n[[source]]\nname = \"e\"\nprovider = \"alphavantage\"\nsymbols = [\"AAA\", \"BBB\", \"SPY\"]\n";
    let config = IngestConfig::parse("t.toml", text).unwrap();
    let destination =
        Destination::open(home.path().join("x").to_str().unwrap(), &|_| None).unwrap();
    let report = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.sources[0].status, Status::Broken);
    let errors = &report.sources[0].errors;
    assert!(
        errors[0].contains("ALPHA_VANTAGE_KEY") && !errors[0].contains("test-key"),
        "{errors:?}"
    );
    assert!(errors[1].contains("not fetched"), "{errors:?}");
    assert_eq!(mock.calls("BBB") + mock.calls("SPY"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_to_s3_are_conditional() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let mock = MockServer::start(mock_data()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut env = live_env(&mock, home.path());
    s3_env(&mut env, &endpoint);
    let analytics = analytics(&env).await;
    let bucket = format!("stratus-ingest-{}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let config = IngestConfig::parse("t.toml", CONFIG).unwrap();
    let url = format!("s3://{bucket}/daily");
    let destination = Destination::open(&url, &|k| env.get(k).cloned()).unwrap();
    let first = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        first
            .exports
            .iter()
            .all(|e| e.outcome == PutOutcome::Written)
    );
    assert!(first.exports[0].path.starts_with("daily/"));
    let prices = destination
        .get(&format!("prices/prices-{TODAY}.csv"))
        .await
        .unwrap();
    assert_eq!(
        csv_rows(&prices).len(),
        first
            .exports
            .iter()
            .find(|e| e.path.contains("prices"))
            .unwrap()
            .rows
    );
    let report: Value = serde_json::from_slice(
        &destination
            .get(&format!("reports/ingest-report-{TODAY}.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(report["run_date"], TODAY);

    let second = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        second.exports.iter().all(|e| e.outcome == PutOutcome::Kept),
        "{:?}",
        second.exports
    );
}

/// A TCP proxy in front of the S3 server that can be cut: open connections are dropped and new
/// ones refused, as when an endpoint goes down.
struct Cuttable {
    endpoint: String,
    down: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Cuttable {
    async fn start(upstream: &str) -> Cuttable {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let down = Arc::new(AtomicBool::new(false));
        let (cut, watch) = tokio::sync::watch::channel(false);
        let flag = down.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Cuttable {
            endpoint,
            down,
            cut,
        }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        let _ = self.cut.send(down);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_down_during_export_is_a_clear_error_and_a_rerun_completes() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let mock = MockServer::start(mock_data()).await.unwrap();
    let proxy = Cuttable::start(&endpoint).await;
    let home = tempfile::tempdir().unwrap();
    let mut env = live_env(&mock, home.path());
    s3_env(&mut env, &proxy.endpoint);
    let analytics = analytics(&env).await;
    let bucket = format!("stratus-fault-{}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let config = IngestConfig::parse("t.toml", CONFIG).unwrap();
    let url = format!("s3://{bucket}/run");
    let destination = Destination::open(&url, &|k| env.get(k).cloned()).unwrap();

    // The endpoint goes down after the first dataset object is written.
    let exports = AtomicUsize::new(0);
    let error = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|e| {
            if matches!(e, Event::Step("export")) && exports.fetch_add(1, Ordering::SeqCst) == 1 {
                proxy.set_down(true);
            }
        },
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&url) && message.contains("rerun"),
        "{message}"
    );

    // Through the real endpoint: exactly the one complete object, no report.
    let direct = {
        let mut direct_env = env.clone();
        s3_env(&mut direct_env, &endpoint);
        Destination::open(&url, &|k| direct_env.get(k).cloned()).unwrap()
    };
    let written = direct
        .get(&format!("dividends/dividends-{TODAY}.csv"))
        .await
        .unwrap();
    assert_eq!(csv_rows(&written).len(), 8);
    for missing in [
        format!("prices/prices-{TODAY}.csv"),
        format!("reports/ingest-report-{TODAY}.json"),
    ] {
        assert!(
            direct.get(&missing).await.is_err(),
            "{missing} should not exist"
        );
    }

    proxy.set_down(false);
    let rerun = ingest(
        &analytics,
        &settings(&env).live,
        &config,
        &destination,
        &options(false),
        &|_| {},
    )
    .await
    .unwrap();
    let outcome = |name: &str| {
        rerun
            .exports
            .iter()
            .find(|e| e.path.contains(name))
            .unwrap()
            .outcome
    };
    assert_eq!(outcome("dividends"), PutOutcome::Kept);
    assert_eq!(outcome("prices"), PutOutcome::Written);
    for e in &rerun.exports {
        let relative = e.path.trim_start_matches("run/");
        assert_eq!(
            csv_rows(&direct.get(relative).await.unwrap()).len(),
            e.rows,
            "{relative}"
        );
    }
    assert!(
        direct
            .get(&format!("reports/ingest-report-{TODAY}.json"))
            .await
            .is_ok()
    );
}
