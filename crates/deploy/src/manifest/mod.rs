//! `stratus.deploy.toml`: everything a deployment can vary, each with a default, so an empty
//! file deploys a working stack. Reading checks every value once, here, and an error names the
//! key and the fix; everything downstream (template, policies, cost) trusts a [`Manifest`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod check;

/// The commented example `stratus deploy init` writes (also `stratus.deploy.example.toml` in the
/// repository).
pub const EXAMPLE: &str = include_str!("../../../../stratus.deploy.example.toml");

/// A manifest value that cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: `{key}`: {reason}")]
pub struct ManifestError {
    /// The manifest file.
    pub file: String,
    /// The key, dotted (`api.timeout_s`), or the file's syntax error location.
    pub key: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum Architecture {
    /// Graviton (20 % cheaper per GB-second).
    #[default]
    #[serde(rename = "arm64")]
    Arm64,
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    /// Lambda's name for it.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

/// Where the cache lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// scrilla's four DynamoDB tables, shared by every function.
    #[default]
    Dynamodb,
    /// An SQLite file in each container's `/tmp`, seeded from the bundled data (no tables).
    Sqlite,
    /// A PostgreSQL or MySQL-compatible database shared by every function; its URL (with the
    /// password) is the secret `STRATUS_STORE` in SSM (`stratus deploy secret set STRATUS_STORE`),
    /// and a database inside a VPC needs `[vpc]`.
    Database,
    /// A read-only SQLite snapshot in S3 (`cache.snapshot`), published with
    /// `stratus cache snapshot --to`; downloaded at cold start, refreshed when it changes.
    Snapshot,
}

/// DynamoDB billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Billing {
    /// Pay per request.
    #[default]
    OnDemand,
    /// Provisioned read and write capacity.
    Provisioned,
}

/// Where cached profiles and correlations live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// scrilla's tables (shared with scrilla).
    #[default]
    Scrilla,
    /// Stratus's collision-free `stratus_profile` / `stratus_correlations`.
    CollisionFree,
}

/// How the API function is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// Callers sign requests (SigV4) with IAM credentials allowed `lambda:InvokeFunctionUrl`.
    #[default]
    AwsIam,
    /// Anyone with the URL (the web page works in any browser).
    None,
}

/// How scheduled ingest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Compute {
    /// A Lambda function per schedule.
    #[default]
    Lambda,
    /// The scraper's way: an Auto Scaling group scaled 1 then 0 by scheduled actions, whose
    /// instance fetches the binary from the bucket, runs the ingest and shuts down.
    Ec2Schedule,
}

/// The whole manifest, defaults filled in and every value checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Manifest {
    /// Stack name prefix; the stack is `{stack}-{stage}`.
    pub stack: String,
    /// Stage (dev, prod, …).
    pub stage: String,
    /// AWS region.
    pub region: String,
    /// Lambda architecture.
    pub architecture: Architecture,
    /// Default function memory (MB).
    pub memory_mb: u32,
    /// Default function timeout (s).
    pub timeout_s: u32,
    /// Names of secret environment variables (provider keys) the functions read from SSM
    /// SecureString parameters `/{stack}/{stage}/{NAME}` at cold start.
    pub secrets: Vec<String>,
    /// The HTTP API function.
    pub api: ApiConfig,
    /// Function-mode verbs.
    #[serde(rename = "function")]
    pub functions: Vec<FunctionConfig>,
    /// The cache.
    pub cache: CacheConfig,
    /// The export bucket.
    pub bucket: BucketConfig,
    /// Scheduled ingest.
    pub ingest: IngestConfig,
    /// Log groups.
    pub logs: LogsConfig,
    /// Alarms.
    pub alarms: AlarmsConfig,
    /// Tags on every resource that takes them.
    pub tags: BTreeMap<String, String>,
    /// A VPC for the functions (a database inside a VPC).
    pub vpc: Option<VpcConfig>,
    /// The job system (sosw's task tables and roles).
    pub jobs: JobsConfig,
    /// Where the code comes from.
    pub artifacts: ArtifactsConfig,
}

/// `[api]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Deploy the HTTP API function.
    pub enabled: bool,
    /// A Lambda Function URL.
    pub function_url: bool,
    /// An API Gateway HTTP API in front (30 s timeout at most).
    pub http_api: bool,
    /// Function URL auth.
    pub auth: Auth,
    /// Memory (MB); default the top-level `memory_mb`.
    pub memory_mb: Option<u32>,
    /// Timeout (s); default the top-level `timeout_s`.
    pub timeout_s: Option<u32>,
    /// Reserved concurrency (caps cost and protects the tables); 0 = unreserved.
    pub reserved_concurrency: u32,
}

/// `[[function]]`: one verb in function mode.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Short name (`[a-z0-9-]`), part of the function's name.
    pub name: String,
    /// The served verb (`risk-profile`, `correlation`, …).
    pub verb: String,
    /// Default parameters (what `STRATUS_FUNCTION_PARAMS` holds).
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// A Unix cron expression (UTC) to run it on, if any.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Memory (MB).
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// Timeout (s).
    #[serde(default)]
    pub timeout_s: Option<u32>,
}

/// `[cache]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// DynamoDB or SQLite.
    pub mode: CacheMode,
    /// Table name prefix.
    pub table_prefix: String,
    /// Table layout for profiles and correlations.
    pub layout: Layout,
    /// Billing.
    pub billing: Billing,
    /// Provisioned read capacity per table (and index).
    pub read_capacity: u32,
    /// Provisioned write capacity per table (and index).
    pub write_capacity: u32,
    /// Keep the tables when the stack is deleted.
    pub retain: bool,
    /// The snapshot (mode = "snapshot"): `s3://bucket/key.db`.
    pub snapshot: String,
}

/// `[bucket]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BucketConfig {
    /// An existing bucket to export to; empty: the stack creates one.
    pub existing: String,
    /// Key prefix of every export.
    pub prefix: String,
    /// Days after which exports expire (created bucket only); 0 = never.
    pub expire_days: u32,
}

/// `[ingest]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// The schedule file whose `ingest` jobs are deployed (relative to the manifest); absent
    /// file: no ingest.
    pub schedule: PathBuf,
    /// Lambda, or an EC2 Auto Scaling schedule.
    pub compute: Compute,
    /// Memory (MB) of the ingest function.
    pub memory_mb: Option<u32>,
    /// Timeout (s) of the ingest function.
    pub timeout_s: Option<u32>,
    /// EC2 instance type (compute = "ec2-schedule").
    pub instance_type: String,
    /// Minutes the instance may run before the group scales back to 0.
    pub max_minutes: u32,
}

/// `[jobs]`: the batch job system — sosw's five task tables, the scheduler, orchestrator,
/// scavenger and worker-assistant functions, and one worker function.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Deploy it.
    pub enabled: bool,
    /// Task-table name prefix ("" = sosw's names, so a sosw 0.7 deployment's tables are reused).
    pub table_prefix: String,
    /// The config table.
    pub config_table: String,
    /// Most tasks running at once (the worker's reserved concurrency, and its
    /// `max_simultaneous_invocations` before health scaling).
    pub max_concurrency: u32,
    /// Worker memory (MB); default the top-level `memory_mb`.
    pub worker_memory_mb: Option<u32>,
    /// Worker timeout (s): tasks expire this long (plus a margin) after they start.
    pub worker_timeout_s: Option<u32>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            enabled: false,
            table_prefix: String::new(),
            config_table: "config".into(),
            max_concurrency: 10,
            worker_memory_mb: None,
            worker_timeout_s: None,
        }
    }
}

/// `[logs]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Retention (days; one of CloudWatch's values).
    pub retention_days: u32,
}

/// `[alarms]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmsConfig {
    /// Alarms on function errors and dead letters ($0.10 a month each).
    pub enabled: bool,
    /// Send alarms to this address (an SNS topic with an e-mail subscription).
    pub email: Option<String>,
}

/// `[vpc]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcConfig {
    /// The VPC.
    pub vpc_id: String,
    /// Private subnets for the functions.
    pub subnets: Vec<String>,
    /// Security groups of the functions.
    pub security_groups: Vec<String>,
    /// Add an S3 gateway endpoint (functions in a VPC lose S3 otherwise).
    #[serde(default = "yes")]
    pub s3_endpoint: bool,
    /// Route tables the endpoint is attached to.
    #[serde(default)]
    pub route_tables: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `[artifacts]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArtifactsConfig {
    /// The zip `stratus package lambda` wrote.
    pub zip: PathBuf,
    /// A container image URI instead of the zip.
    pub image: String,
    /// The `stratus` binary for the instances (ingest.compute = "ec2-schedule").
    pub cli: PathBuf,
    /// Bucket for the zip; empty: `{stack}-{stage}-artifacts-{account}`, created by apply.
    pub bucket: String,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            stack: "stratus".into(),
            stage: "dev".into(),
            region: "us-east-1".into(),
            architecture: Architecture::Arm64,
            memory_mb: 1024,
            timeout_s: 30,
            secrets: Vec::new(),
            api: ApiConfig::default(),
            functions: Vec::new(),
            cache: CacheConfig::default(),
            bucket: BucketConfig::default(),
            ingest: IngestConfig::default(),
            logs: LogsConfig::default(),
            alarms: AlarmsConfig::default(),
            tags: BTreeMap::new(),
            vpc: None,
            jobs: JobsConfig::default(),
            artifacts: ArtifactsConfig::default(),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            function_url: true,
            http_api: false,
            auth: Auth::AwsIam,
            memory_mb: None,
            timeout_s: None,
            reserved_concurrency: 50,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            mode: CacheMode::Dynamodb,
            table_prefix: String::new(),
            layout: Layout::Scrilla,
            billing: Billing::OnDemand,
            read_capacity: 5,
            write_capacity: 5,
            retain: true,
            snapshot: String::new(),
        }
    }
}

impl Default for BucketConfig {
    fn default() -> Self {
        BucketConfig {
            existing: String::new(),
            prefix: "exports".into(),
            expire_days: 365,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            schedule: PathBuf::from("schedule.toml"),
            compute: Compute::Lambda,
            memory_mb: None,
            timeout_s: Some(600),
            instance_type: "t4g.nano".into(),
            max_minutes: 30,
        }
    }
}

impl Default for AlarmsConfig {
    fn default() -> Self {
        AlarmsConfig {
            enabled: true,
            email: None,
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { retention_days: 30 }
    }
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            zip: PathBuf::from("target/lambda/stratus-lambda.zip"),
            image: String::new(),
            cli: PathBuf::from("target/release/stratus"),
            bucket: String::new(),
        }
    }
}

/// The secret holding a database store's URL.
pub const STORE_SECRET: &str = "STRATUS_STORE";

impl Manifest {
    /// Reads `path`; a missing file is the defaults (as an empty file is).
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Manifest::parse(&shown, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let manifest = Manifest::default();
                manifest.check(&shown)?;
                Ok(manifest)
            }
            Err(e) => Err(ManifestError {
                file: shown,
                key: "(file)".into(),
                reason: format!("cannot read it ({e})"),
            }),
        }
    }

    /// Parses and checks manifest text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let reason = e.message().to_string();
            let key = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("line {line}")
                })
                .unwrap_or_else(|| "(syntax)".into());
            ManifestError {
                file: file.to_string(),
                key,
                reason: format!("{reason}; see stratus.deploy.example.toml for every key"),
            }
        })?;
        manifest.check(file)?;
        Ok(manifest.with_store_secret())
    }

    /// A database's URL holds its password, so it travels as the secret `STRATUS_STORE`.
    fn with_store_secret(mut self) -> Manifest {
        if self.cache.mode == CacheMode::Database && !self.secrets.iter().any(|s| s == STORE_SECRET)
        {
            self.secrets.push(STORE_SECRET.into());
        }
        self
    }

    /// The snapshot's bucket and key (mode = "snapshot").
    pub fn snapshot_object(&self) -> Option<(&str, &str)> {
        let rest = self.cache.snapshot.strip_prefix("s3://")?;
        rest.split_once('/')
            .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty() && !key.ends_with('/'))
    }

    /// The CloudFormation stack name.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.stack, self.stage)
    }

    /// A function's full name.
    pub fn function_name(&self, short: &str) -> String {
        format!("{}-{}-{short}", self.stack, self.stage)
    }

    /// The SSM parameter holding secret `name`.
    pub fn secret_parameter(&self, name: &str) -> String {
        format!("/{}/{}/{name}", self.stack, self.stage)
    }

    /// The API function's timeout.
    pub fn api_timeout(&self) -> u32 {
        self.api.timeout_s.unwrap_or(self.timeout_s)
    }

    /// The API function's memory.
    pub fn api_memory(&self) -> u32 {
        self.api.memory_mb.unwrap_or(self.memory_mb)
    }

    /// The export bucket's prefix, without slashes at either end.
    pub fn export_prefix(&self) -> &str {
        self.bucket.prefix.trim_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ManifestError {
        Manifest::parse("m.toml", text).unwrap_err()
    }

    #[test]
    fn an_empty_manifest_is_the_defaults_and_the_example_parses() {
        let empty = Manifest::parse("m.toml", "").unwrap();
        assert_eq!(empty, Manifest::default());
        assert_eq!(empty.stack_name(), "stratus-dev");
        assert_eq!(empty.architecture, Architecture::Arm64);
        Manifest::parse("example", EXAMPLE).unwrap();
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases = [
            ("memory_mb = 64", "memory_mb", "128–10240"),
            ("stack = \"My Stack\"", "stack", "lower-case"),
            ("region = \"mars\"", "region", "us-east-1"),
            (
                "[logs]\nretention_days = 10",
                "logs.retention_days",
                "one of",
            ),
            (
                "[api]\nhttp_api = true\ntimeout_s = 60",
                "api.timeout_s",
                "30 s",
            ),
            (
                "[[function]]\nname = \"x\"\nverb = \"nope\"",
                "function[0].verb",
                "risk-profile",
            ),
            (
                "[[function]]\nname = \"x\"\nverb = \"risk-profile\"\nschedule = \"15 0 0 * * *\"",
                "function[0].schedule",
                "seconds",
            ),
            ("[alarms]\nemail = \"nobody\"", "alarms.email", "e-mail"),
            (
                "[vpc]\nvpc_id = \"vpc-1\"\nsubnets = [\"subnet-1\"]\nsecurity_groups = [\"sg-1\"]",
                "vpc.route_tables",
                "rtb-",
            ),
            ("architecture = \"mips\"", "line 1", "arm64"),
            ("memry_mb = 512", "line 1", "memory_mb"),
            (
                "[bucket]\nexisting = \"Bad_Bucket\"",
                "bucket.existing",
                "S3 bucket",
            ),
            ("secrets = [\"lower\"]", "secrets[0]", "ALPHA_VANTAGE_KEY"),
        ];
        for (text, key, fix) in cases {
            let e = error(text);
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.reason.contains(fix), "{text}: {e}");
        }
    }
}
