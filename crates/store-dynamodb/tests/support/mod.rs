//! Shared set-up for the DynamoDB Local tests.

#![allow(dead_code, clippy::print_stderr)] // skipping loudly is the point of the message

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::{Credentials, Region};

/// The emulator's URL from `STRATUS_TEST_DYNAMODB`; `None` skips the test (announced on stderr),
/// except under `CI=true`, where a missing emulator fails it.
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

/// SDK configuration for the emulator: fixed region and dummy credentials.
pub(crate) async fn config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "stratus-tests",
        ))
        .load()
        .await
}

/// A table-name prefix no other test uses.
pub(crate) fn prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}_{}_",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}
