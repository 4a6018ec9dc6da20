//! What the DynamoDB tests share: the endpoint (skip, or fail under `CI=true`, without one) and
//! running the real binary against it.

#![allow(dead_code, clippy::print_stderr)] // each test file uses its own part; skipping is loud

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) fn endpoint() -> Option<String> {
    match std::env::var("STRATUS_TEST_DYNAMODB") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true but STRATUS_TEST_DYNAMODB is not set: DynamoDB Local must run in CI (see .ci/run)"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED: DynamoDB tests need STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT (DynamoDB Local)"
            );
            None
        }
    }
}

pub(crate) fn prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "cli{}_{}_",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

pub(crate) fn stratus(home: &Path, url: &str, prefix: &str, mode: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .env("STRATUS_HOME", home)
        .env("CACHE_MODE", mode)
        .env("STRATUS_TABLE_PREFIX", prefix)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run stratus")
}
