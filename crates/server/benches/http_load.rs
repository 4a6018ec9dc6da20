//! `cargo bench -p stratus-server`: HTTP `risk-profile` latency and throughput under load.
//!
//! The server (release build, multi-threaded runtime) runs in this process on a SQLite store
//! seeded with the bundled data; a load generator of keep-alive HTTP/1.1 connections — raw TCP,
//! so the client costs as little as possible — sends the same request for a fixed time. Client
//! and server share this machine's cores, so the numbers are a floor for a dedicated server.

#![allow(missing_docs, clippy::print_stdout)]

use std::time::{Duration, Instant};

use stratus_app::Settings;
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
        let store = stratus_app::open_store(&settings).await.expect("store");
        let analytics = stratus_app::analytics(store, &settings);
        analytics.ensure_seeded(&|_| {}).await.expect("seed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(stratus_server::serve(
            listener,
            router(analytics, &ServerOptions::default()),
        ));
        // Warm the profile cache and the connection path.
        client(addr, Instant::now() + Duration::from_millis(500)).await;

        println!("| connections | requests | requests/s | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
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
                "| {connections} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                all.len(),
                all.len() as f64 / elapsed.as_secs_f64(),
                ms(at(0.50)),
                ms(at(0.99)),
                ms(all[all.len() - 1])
            );
        }
    });
}
