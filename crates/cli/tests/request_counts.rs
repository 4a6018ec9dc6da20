//! The lean request path, counted where it costs: at the DynamoDB endpoint. The real binary
//! talks to DynamoDB Local through a counting TCP proxy; a warm `risk-profile` of four tickers
//! must take at most 12 requests (it took 76 before the request path was reshaped), and no warm
//! read may write. Skipped without `STRATUS_TEST_DYNAMODB` (a failure under `CI=true`).

#![allow(clippy::print_stderr)] // the counts are printed for the record

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use stratus_store::{PriceRow, PriceStore, RateRow, RateStore};
use support::dynamo::{endpoint, stratus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// Counts the DynamoDB operations in one direction of a connection: every request carries an
/// `x-amz-target: DynamoDB_20120810.<Operation>` header line.
fn count_lines(pending: &mut Vec<u8>, data: &[u8], counts: &Counts) {
    pending.extend_from_slice(data);
    while let Some(end) = pending.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
        if let Some(rest) = line.strip_prefix("x-amz-target:") {
            let operation = rest.trim().rsplit('.').next().unwrap_or("").to_string();
            *counts.lock().unwrap().entry(operation).or_default() += 1;
        }
        pending.drain(..=end);
    }
    // A body without line breaks: only its tail can begin a header line.
    if pending.len() > 512 {
        pending.drain(..pending.len() - 256);
    }
}

async fn relay(client: TcpStream, upstream: String, counts: Counts) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut pending = Vec::new();
        while let Ok(n) = client_read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            count_lines(&mut pending, &buffer[..n], &counts);
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let answers = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(requests, answers);
}

/// A counting proxy in front of `upstream` (host:port); returns its URL and the counts.
async fn proxy(upstream: String) -> (String, Counts) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts: Counts = Arc::default();
    let shared = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream.clone(), Arc::clone(&shared)));
        }
    });
    (url, counts)
}

/// Five tickers and every Treasury tenor over 2022, from the bundled data.
async fn sqlite_2022(path: &Path) {
    let store = stratus_store_sqlite::SqliteStore::open(path).unwrap();
    let from: chrono::NaiveDate = "2022-01-01".parse().unwrap();
    let rows: Vec<PriceRow> = stratus_providers::bundled::prices()
        .unwrap()
        .into_iter()
        .filter(|p| {
            p.date >= from && ["AAPL", "MSFT", "JPM", "XOM", "SP500"].contains(&p.ticker.as_str())
        })
        .map(|p| PriceRow {
            ticker: p.ticker,
            date: p.date,
            open: p.open,
            close: p.close,
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    let rates: Vec<RateRow> = stratus_providers::bundled::treasury_yields()
        .unwrap()
        .into_iter()
        .filter(|y| y.date >= from)
        .map(|y| RateRow {
            maturity: y.maturity,
            date: y.date,
            percent: y.percent,
        })
        .collect();
    store.put_rates(&rates).await.unwrap();
}

fn take(counts: &Counts) -> BTreeMap<String, u64> {
    std::mem::take(&mut *counts.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_reads_take_few_requests_and_write_nothing() {
    let Some(url) = endpoint() else { return };
    let upstream = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let (proxied, counts) = proxy(upstream).await;
    let home = tempfile::tempdir().unwrap();
    let prefix = format!("count{}_", std::process::id());
    sqlite_2022(&home.path().join("stratus.db")).await;
    let run = |mode: &str, args: &[&str]| {
        let out = stratus(home.path(), &proxied, &prefix, mode, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run("dynamodb", &["cache", "provision"]);
    run(
        "sqlite",
        &["cache", "migrate", "--from", "sqlite", "--to", "dynamodb"],
    );
    take(&counts);

    let four = ["AAPL", "MSFT", "JPM", "XOM"];
    let commands: [(&str, Vec<&str>, u64); 3] = [
        ("risk-profile", [&["risk-profile"][..], &four].concat(), 12),
        ("correlation", [&["correlation"][..], &four].concat(), 12),
        (
            "optimize-portfolio",
            [&["optimize-portfolio"][..], &four].concat(),
            12,
        ),
    ];
    let mut report = Vec::new();
    for (name, args, budget) in &commands {
        // Cold: computes and caches; the same answer must come back warm.
        let cold = run("dynamodb", &[&args[..], &["--json"]].concat());
        let cold_writes: u64 = take(&counts)
            .iter()
            .filter(|(op, _)| ["putitem", "batchwriteitem"].contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum();
        let warm = run("dynamodb", &[&args[..], &["--json"]].concat());
        let counted = take(&counts);
        assert_eq!(
            cold.stdout, warm.stdout,
            "{name}: a warm answer is the cold one"
        );
        let total: u64 = counted.values().sum();
        report.push(format!(
            "{name}: {total} requests {counted:?} (cold run wrote {cold_writes} times)"
        ));
        assert!(
            total <= *budget,
            "{name}: a warm run took {total} DynamoDB requests (budget {budget}): {counted:?}"
        );
        for write in ["putitem", "batchwriteitem", "updateitem", "deleteitem"] {
            assert!(
                !counted.contains_key(write),
                "{name}: a warm read wrote ({write}): {counted:?}"
            );
        }
        assert_eq!(
            counted.get("batchgetitem"),
            Some(&1),
            "{name}: every cached result in one batch: {counted:?}"
        );
    }
    eprintln!("{}", report.join("\n"));
}
