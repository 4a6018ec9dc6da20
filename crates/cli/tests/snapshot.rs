//! A read-only SQLite snapshot on S3 (moto's server on 127.0.0.1) end to end through the real
//! binary: `cache snapshot` publishes one, `serve --store s3://…` answers from it exactly as the
//! local store does, a replaced object is served after the TTL without a restart, and every
//! write is refused. Skipped without `STRATUS_TEST_S3` (a failure under `CI=true`).

#![allow(clippy::print_stderr)]

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn s3() -> Option<String> {
    match std::env::var("STRATUS_TEST_S3") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but STRATUS_TEST_S3 is not set: .ci/run must start moto's server")
        }
        _ => {
            eprintln!("SKIPPED: set STRATUS_TEST_S3 to a local S3 endpoint (moto)");
            None
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn command(home: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
    command
        .args(args)
        .env("STRATUS_HOME", home)
        .env("AWS_ENDPOINT_URL_S3", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("STRATUS_SNAPSHOT_TTL", "1")
        .env_remove("STRATUS_STORE")
        .env_remove("CACHE_MODE");
    command
}

fn stratus(home: &Path, endpoint: &str, args: &[&str]) -> Output {
    command(home, endpoint, args).output().unwrap()
}

/// One HTTP/1.1 GET; the status and the body.
fn get(base: &str, path: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn create_bucket(endpoint: &str, bucket: &str) {
    let (status, body) = {
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(stream, "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        (answer[9..12].to_string(), answer)
    };
    assert_eq!(status, "200", "{body}");
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn publish_serve_refresh_and_refuse_writes() {
    let Some(endpoint) = s3() else { return };
    let bucket = format!(
        "snap-{}-{}",
        std::process::id(),
        Instant::now().elapsed().subsec_nanos()
    );
    create_bucket(&endpoint, &bucket);
    let url = format!("s3://{bucket}/published/stratus.db");
    let source = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();

    // Publish the bundled data (seeded on first use) plus a cached risk profile.
    let cached = stratus(source.path(), &endpoint, &["rp", "AAPL", "--json"]);
    assert!(cached.status.success(), "{}", text(&cached.stderr));
    let published = stratus(
        source.path(),
        &endpoint,
        &["cache", "snapshot", "--to", &url, "--json"],
    );
    assert!(published.status.success(), "{}", text(&published.stderr));
    let report: serde_json::Value = serde_json::from_slice(&published.stdout).unwrap();
    assert!(
        report["prices"].as_u64().unwrap() > 100_000 && report["profiles"].as_u64().unwrap() >= 1,
        "{report}"
    );

    // The CLI on the snapshot answers exactly as on the source, from an empty home it never writes.
    for args in [
        &["rp", "AAPL", "MSFT", "--json"][..],
        &["cor", "AAPL", "KO", "--json"],
        &["yield-curve", "--json"],
    ] {
        let local = stratus(source.path(), &endpoint, args);
        let mut remote = command(empty.path(), &endpoint, args);
        let remote = remote.env("STRATUS_STORE", &url).output().unwrap();
        assert!(remote.status.success(), "{}", text(&remote.stderr));
        assert_eq!(text(&local.stdout), text(&remote.stdout), "{args:?}");
    }
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing written locally"
    );

    // Writes are refused with the fix.
    for args in [
        &["--store", &url, "clear-cache", "--yes"][..],
        &["cache", "migrate", "--from", "sqlite", "--to", &url],
    ] {
        let out = stratus(source.path(), &endpoint, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("cache snapshot --to"),
            "{}",
            text(&out.stderr)
        );
    }

    // Serve it.
    let mut child = command(
        empty.path(),
        &endpoint,
        &["serve", "--addr", "127.0.0.1:0", "--store", &url],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let (status, health) = get(&base, "/health");
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        (health["backend"].as_str(), health["read_only"].as_bool()),
        (Some("snapshot"), Some(true))
    );
    let (status, before) = get(&base, "/api/risk-profile?tickers=AAPL");
    assert_eq!(status, 200, "{before}");

    // Replace the object with a snapshot in which AAPL's history ends in 2021.
    let rewritten = rusqlite::Connection::open(source.path().join("stratus.db")).unwrap();
    rewritten
        .execute(
            "DELETE FROM prices WHERE ticker = 'AAPL' AND date > '2021-12-31'",
            [],
        )
        .unwrap();
    rewritten.execute("DELETE FROM profile", []).unwrap();
    drop(rewritten);
    let republished = stratus(
        source.path(),
        &endpoint,
        &["cache", "snapshot", "--to", &url, "--json"],
    );
    assert!(
        republished.status.success(),
        "{}",
        text(&republished.stderr)
    );
    let expected = stratus(source.path(), &endpoint, &["rp", "AAPL", "--json"]);
    let expected: serde_json::Value = serde_json::from_slice(&expected.stdout).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(&base, "/api/risk-profile?tickers=AAPL");
        assert_eq!(status, 200, "{body}");
        if body != before {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
                expected
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new snapshot was not served after the TTL"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
