//! S3 through `object_store`, configured once from the AWS variables: used by ingest exports,
//! deploy artefacts, and the read-only snapshot store.
//!
//! An S3-compatible endpoint (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`) is addressed
//! path-style, as moto and MinIO need; credentials come from the usual variables (on Lambda, the
//! function role's).

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{ClientOptions, RetryConfig};

use crate::Secret;
use crate::vars::lookup;

/// How to reach S3.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct S3Settings {
    /// An S3-compatible endpoint, if not AWS's.
    pub endpoint: Option<String>,
    /// Region (default us-east-1).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<Secret>,
    /// Secret access key.
    pub secret_access_key: Option<Secret>,
    /// Session token.
    pub session_token: Option<Secret>,
}

impl S3Settings {
    /// From the AWS variables `env` reads.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(env, name).map(|(_, v)| v);
        S3Settings {
            endpoint: get("AWS_ENDPOINT_URL_S3").or_else(|| get("AWS_ENDPOINT_URL")),
            region: get("AWS_REGION"),
            access_key_id: get("AWS_ACCESS_KEY_ID").map(Secret::new),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
            session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        }
    }

    /// A client for `bucket`, with bounded timeouts and retries.
    pub fn bucket(&self, bucket: &str) -> Result<AmazonS3, String> {
        // The process environment first (container and web-identity credentials), then the
        // values read through the registry.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(Duration::from_secs(30))
                    .with_connect_timeout(Duration::from_secs(5)),
            )
            .with_region(self.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        for (value, key) in [
            (&self.access_key_id, AmazonS3ConfigKey::AccessKeyId),
            (&self.secret_access_key, AmazonS3ConfigKey::SecretAccessKey),
            (&self.session_token, AmazonS3ConfigKey::Token),
        ] {
            if let Some(value) = value {
                builder = builder.with_config(key, value.expose());
            }
        }
        builder.build().map_err(|e| e.to_string())
    }
}
