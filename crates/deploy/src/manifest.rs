//! `stratus.deploy.toml`: everything a deployment can vary, each with a default, so an empty
//! file deploys a working stack. Reading checks every value once, here, and an error names the
//! key and the fix; everything downstream (template, policies, cost) trusts a [`Manifest`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The commented example `stratus deploy init` writes (also `stratus.deploy.example.toml` in the
/// repository).
pub const EXAMPLE: &str = include_str!("../../../stratus.deploy.example.toml");

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

/// CloudWatch Logs' allowed retention periods (days).
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

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
        Ok(manifest)
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

    fn check(&self, file: &str) -> Result<(), ManifestError> {
        let fail = |key: &str, reason: String| ManifestError {
            file: file.to_string(),
            key: key.to_string(),
            reason,
        };
        let name_ok = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.ends_with('-')
        };
        if !name_ok(&self.stack, 24) {
            return Err(fail(
                "stack",
                format!(
                    "{:?} must be 1–24 lower-case letters, digits and hyphens, starting with a letter (e.g. \"stratus\")",
                    self.stack
                ),
            ));
        }
        if !name_ok(&self.stage, 12) {
            return Err(fail(
                "stage",
                format!(
                    "{:?} must be 1–12 lower-case letters, digits and hyphens, starting with a letter (e.g. \"prod\")",
                    self.stage
                ),
            ));
        }
        let region_ok = {
            let parts: Vec<&str> = self.region.split('-').collect();
            parts.len() >= 3
                && parts[0].len() == 2
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        };
        if !region_ok {
            return Err(fail(
                "region",
                format!(
                    "{:?} is not an AWS region such as \"us-east-1\"",
                    self.region
                ),
            ));
        }
        let memory = |key: &str, mb: u32| {
            if (128..=10_240).contains(&mb) {
                Ok(())
            } else {
                Err(fail(
                    key,
                    format!("{mb} MB is outside Lambda's 128–10240 MB"),
                ))
            }
        };
        let timeout = |key: &str, s: u32| {
            if (1..=900).contains(&s) {
                Ok(())
            } else {
                Err(fail(key, format!("{s} s is outside Lambda's 1–900 s")))
            }
        };
        memory("memory_mb", self.memory_mb)?;
        timeout("timeout_s", self.timeout_s)?;
        if let Some(mb) = self.api.memory_mb {
            memory("api.memory_mb", mb)?;
        }
        if let Some(s) = self.api.timeout_s {
            timeout("api.timeout_s", s)?;
        }
        if self.api.enabled && !self.api.function_url && !self.api.http_api {
            return Err(fail(
                "api.function_url",
                "the API needs a way in: set function_url = true or http_api = true (or enabled = false)".into(),
            ));
        }
        if self.api.enabled && self.api.http_api && self.api_timeout() > 30 {
            return Err(fail(
                "api.timeout_s",
                format!(
                    "{} s: an HTTP API waits at most 30 s for Lambda; set api.timeout_s = 30 or use the Function URL alone",
                    self.api_timeout()
                ),
            ));
        }
        if self.api.reserved_concurrency > 1000 {
            return Err(fail(
                "api.reserved_concurrency",
                format!(
                    "{} is above the default account limit of 1000; 0 leaves it unreserved",
                    self.api.reserved_concurrency
                ),
            ));
        }
        for (i, secret) in self.secrets.iter().enumerate() {
            let ok = !secret.is_empty()
                && secret.len() <= 64
                && secret
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(fail(
                    &format!("secrets[{i}]"),
                    format!(
                        "{secret:?} must be an environment variable name such as \"ALPHA_VANTAGE_KEY\""
                    ),
                ));
            }
        }
        let verbs = stratus_verbs::request::served_verbs();
        let mut seen = std::collections::BTreeSet::new();
        for (i, function) in self.functions.iter().enumerate() {
            let at = |field: &str| format!("function[{i}].{field}");
            if !name_ok(&function.name, 20) || matches!(function.name.as_str(), "api" | "ingest") {
                return Err(fail(
                    &at("name"),
                    format!(
                        "{:?} must be 1–20 lower-case letters, digits and hyphens, and not \"api\" or \"ingest\"",
                        function.name
                    ),
                ));
            }
            if !seen.insert(function.name.clone()) {
                return Err(fail(
                    &at("name"),
                    format!(
                        "{:?} is used twice; give each function its own name",
                        function.name
                    ),
                ));
            }
            if !verbs.contains(&function.verb) {
                return Err(fail(
                    &at("verb"),
                    format!(
                        "{:?} is not a served verb; one of: {}",
                        function.verb,
                        verbs.join(", ")
                    ),
                ));
            }
            if let Some(cron) = &function.schedule {
                crate::cron::to_eventbridge(cron)
                    .map_err(|e| fail(&at("schedule"), e.to_string()))?;
            }
            if let Some(mb) = function.memory_mb {
                memory(&at("memory_mb"), mb)?;
            }
            if let Some(s) = function.timeout_s {
                timeout(&at("timeout_s"), s)?;
            }
            let params = serde_json::to_string(&function.params).unwrap_or_default();
            if params.len() > 2048 {
                return Err(fail(
                    &at("params"),
                    format!(
                        "{} bytes of parameters; Lambda's environment holds 4 KB in all, keep them under 2 KB",
                        params.len()
                    ),
                ));
            }
        }
        if self.cache.mode == CacheMode::Dynamodb {
            let prefix_ok = self.cache.table_prefix.len() <= 32
                && self
                    .cache
                    .table_prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !prefix_ok {
                return Err(fail(
                    "cache.table_prefix",
                    format!(
                        "{:?} may hold up to 32 letters, digits, _ - and . (DynamoDB table names)",
                        self.cache.table_prefix
                    ),
                ));
            }
            if self.cache.billing == Billing::Provisioned {
                for (key, value) in [
                    ("cache.read_capacity", self.cache.read_capacity),
                    ("cache.write_capacity", self.cache.write_capacity),
                ] {
                    if !(1..=40_000).contains(&value) {
                        return Err(fail(
                            key,
                            format!("{value} is outside 1–40000 capacity units"),
                        ));
                    }
                }
            }
        }
        if !self.bucket.existing.is_empty() && !bucket_name_ok(&self.bucket.existing) {
            return Err(fail(
                "bucket.existing",
                format!(
                    "{:?} is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens)",
                    self.bucket.existing
                ),
            ));
        }
        if !self.artifacts.bucket.is_empty() && !bucket_name_ok(&self.artifacts.bucket) {
            return Err(fail(
                "artifacts.bucket",
                format!(
                    "{:?} is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens)",
                    self.artifacts.bucket
                ),
            ));
        }
        let prefix = self.bucket.prefix.trim_matches('/');
        if prefix.is_empty()
            || prefix.len() > 200
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
        {
            return Err(fail(
                "bucket.prefix",
                format!(
                    "{:?} must be a non-empty key prefix of letters, digits, - _ . and / (e.g. \"exports\")",
                    self.bucket.prefix
                ),
            ));
        }
        if !RETENTION_DAYS.contains(&self.logs.retention_days) {
            return Err(fail(
                "logs.retention_days",
                format!(
                    "{} is not a CloudWatch retention; one of {RETENTION_DAYS:?}",
                    self.logs.retention_days
                ),
            ));
        }
        if let Some(email) = &self.alarms.email {
            let ok = email
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'))
                && !email.contains(char::is_whitespace);
            if !ok {
                return Err(fail(
                    "alarms.email",
                    format!("{email:?} is not an e-mail address; remove the key for no e-mail"),
                ));
            }
        }
        for (key, value) in &self.tags {
            if key.is_empty() || key.len() > 128 || key.starts_with("aws:") || value.len() > 256 {
                return Err(fail(
                    &format!("tags.{key}"),
                    "tag keys are 1–128 characters not starting with \"aws:\", values at most 256"
                        .into(),
                ));
            }
        }
        if let Some(vpc) = &self.vpc {
            if !vpc.vpc_id.starts_with("vpc-") {
                return Err(fail(
                    "vpc.vpc_id",
                    format!("{:?} is not a VPC id (vpc-…)", vpc.vpc_id),
                ));
            }
            if vpc.subnets.is_empty() || !vpc.subnets.iter().all(|s| s.starts_with("subnet-")) {
                return Err(fail(
                    "vpc.subnets",
                    "list the functions' private subnets (subnet-…), two or more for availability"
                        .into(),
                ));
            }
            if vpc.security_groups.is_empty()
                || !vpc.security_groups.iter().all(|s| s.starts_with("sg-"))
            {
                return Err(fail(
                    "vpc.security_groups",
                    "list the functions' security groups (sg-…)".into(),
                ));
            }
            if vpc.s3_endpoint
                && (vpc.route_tables.is_empty()
                    || !vpc.route_tables.iter().all(|s| s.starts_with("rtb-")))
            {
                return Err(fail(
                    "vpc.route_tables",
                    "the S3 gateway endpoint attaches to the subnets' route tables (rtb-…); list them, or set s3_endpoint = false if the VPC has one".into(),
                ));
            }
        }
        if let Some(mb) = self.ingest.memory_mb {
            memory("ingest.memory_mb", mb)?;
        }
        if let Some(s) = self.ingest.timeout_s {
            timeout("ingest.timeout_s", s)?;
        }
        if self.ingest.compute == Compute::Ec2Schedule {
            let t = &self.ingest.instance_type;
            let ok = t.split_once('.').is_some_and(|(family, size)| {
                !family.is_empty()
                    && !size.is_empty()
                    && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            });
            if !ok {
                return Err(fail(
                    "ingest.instance_type",
                    format!("{t:?} is not an EC2 instance type such as \"t4g.nano\""),
                ));
            }
            if !(5..=1440).contains(&self.ingest.max_minutes) {
                return Err(fail(
                    "ingest.max_minutes",
                    format!("{} is outside 5–1440 minutes", self.ingest.max_minutes),
                ));
            }
        }
        if !self.artifacts.image.is_empty() && !self.artifacts.image.contains(".dkr.ecr.") {
            return Err(fail(
                "artifacts.image",
                format!(
                    "{:?}: Lambda runs images from ECR only (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG)",
                    self.artifacts.image
                ),
            ));
        }
        Ok(())
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

fn bucket_name_ok(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
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
