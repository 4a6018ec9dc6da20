//! `cargo bench -p stratus-server`: HTTP `risk-profile` latency and throughput under load.
//!
//! The server (release build, multi-threaded runtime) runs in this process on each store the
//! environment offers — SQLite (always), PostgreSQL and MySQL (`STRATUS_TEST_POSTGRES`,
//! `STRATUS_TEST_MYSQL`: a new database, migrated from SQLite) and a read-only snapshot on S3
//! (`STRATUS_TEST_S3`) — all holding the bundled data; a load generator of keep-alive HTTP/1.1 connections — raw TCP,
//! so the client costs as little as possible — sends the same request for a fixed time. Client
//! and server share this machine's cores, so the numbers are a floor for a dedicated server.

#![allow(missing_docs, clippy::print_stdout)]

use std::time::{Duration, Instant};

use std::sync::Arc;

use stratus_app::{Settings, StoreLocation};
use stratus_server::{ServerOptions, router};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const PATH: &str = "/api/risk-profile?tickers=AAPL,MSFT,JPM,KO";
const DURATION: Duration = Duration::from_secs(10);

/// Sends requests on one connection until `until`; returns each latency.
async fn client(addr: std::net::SocketAddr, until: Instant) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut stream = BufReader::new(stream);
    let request = format!("GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n");
    let mut latencies = Vec::new();
    let mut line = String::new();
    while Instant::now() < until {
        let start = Instant::now();
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("send");
        let mut length = 0usize;
        let mut status = 0u16;
        loop {
            line.clear();
            stream.read_line(&mut line).await.expect("read");
            if line == "\r\n" {
                break;
            }
            if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
                status = code[..3].parse().unwrap_or(0);
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.expect("body");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        latencies.push(start.elapsed());
    }
    latencies
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let home = tempfile::tempdir().expect("temporary folder");
        let h = home.path().display().to_string();
        let settings =
            Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())).expect("settings");
        let sqlite = stratus_app::open_store(&settings).await.expect("store");
        stratus_app::analytics(Arc::clone(&sqlite), &settings)
            .ensure_seeded(&|_| {})
            .await
            .expect("seed");
        // Every store the environment offers, filled with the same bundled data.
        let mut stores: Vec<(String, StoreLocation)> =
            vec![("sqlite (read pool)".into(), StoreLocation::configured(&settings))];
        for (name, var) in [("postgres", "STRATUS_TEST_POSTGRES"), ("mysql", "STRATUS_TEST_MYSQL")] {
            if let Ok(server) = std::env::var(var) {
                let base = server.rsplit_once('/').expect("a database URL").0;
                let url = format!("{base}/bench_{}", std::process::id());
                let location = StoreLocation::parse(&url, &settings).expect("url");
                stratus_app::provision(&location, &settings).await.expect("provision");
                let target = stratus_app::open(&location, &settings).await.expect("open");
                stratus_app::migrate::migrate(sqlite.as_ref(), target.as_ref(), &|_, _, _| {})
                    .await
                    .expect("migrate");
                stores.push((name.into(), location));
            }
        }
        if let Ok(endpoint) = std::env::var("STRATUS_TEST_S3") {
            let bucket = format!("bench-{}", std::process::id());
            let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
            let mut stream = tokio::net::TcpStream::connect(host).await.expect("S3");
            let request = format!(
                "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.expect("create bucket");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("create bucket");
            let vars = [
                ("STRATUS_HOME", h.clone()),
                ("AWS_ENDPOINT_URL_S3", endpoint.clone()),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ];
            let with_s3 = Settings::load(&|k| {
                vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            })
            .expect("settings");
            let location =
                StoreLocation::parse(&format!("s3://{bucket}/stratus.db"), &with_s3).expect("url");
            stratus_app::snapshot::publish(
                &StoreLocation::configured(&with_s3),
                &location,
                &with_s3,
                &|_, _, _| {},
            )
            .await
            .expect("publish");
            stores.push(("s3 snapshot".into(), location));
            run_store(&stores, &with_s3).await;
        } else {
            run_store(&stores, &settings).await;
        }
    });
}

async fn run_store(stores: &[(String, StoreLocation)], settings: &Settings) {
    println!("| store | connections | requests | requests/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for (name, location) in stores {
        let store = stratus_app::open(location, settings).await.expect("open");
        let analytics = stratus_app::analytics(store, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(stratus_server::serve(
            listener,
            router(analytics, &ServerOptions::default()),
        ));
        // Warm the profile cache and the connection path.
        client(addr, Instant::now() + Duration::from_millis(500)).await;
        for connections in [1, 8, 32] {
            let until = Instant::now() + DURATION;
            let start = Instant::now();
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(client(addr, until)))
                .collect();
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.expect("client"));
            }
            let elapsed = start.elapsed();
            all.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
            println!(
                "| {name} | {connections} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                all.len(),
                all.len() as f64 / elapsed.as_secs_f64(),
                ms(at(0.50)),
                ms(at(0.99)),
                ms(all[all.len() - 1])
            );
        }
        server.abort();
    }
}
