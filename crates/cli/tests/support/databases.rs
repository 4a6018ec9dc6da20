//! What the server-database tests share: the servers (skip, or fail under `CI=true`, without
//! them), a fresh database name per test, and the real binary run against a store URL.

#![allow(dead_code, clippy::print_stderr)] // each test file uses its own part; skipping is loud

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server URL in `var` (`STRATUS_TEST_POSTGRES`, `STRATUS_TEST_MYSQL`).
pub(crate) fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true but {var} is not set: the database servers must run in CI (tools/ci/databases.sh)"
            )
        }
        _ => {
            eprintln!("SKIPPED: set {var} to a database URL (tools/ci/databases.sh starts both)");
            None
        }
    }
}

/// The URL of a database no other test uses (not created: `cache provision` creates it).
pub(crate) fn fresh_url(server: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&format!(
        "/cli{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_micros()
    ));
    url.to_string()
}

/// Runs `stratus` with `home` as its data folder and `store` as STRATUS_STORE.
pub(crate) fn stratus(home: &Path, store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .env("STRATUS_HOME", home)
        .env("STRATUS_STORE", store)
        .env_remove("CACHE_MODE")
        .output()
        .expect("run stratus")
}
