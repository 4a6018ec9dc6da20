//! Every manifest value checked once, against AWS's own limits, with errors naming the key and
//! the fix; nothing downstream re-checks.

use super::{Billing, CacheMode, Compute, Manifest, ManifestError};

/// CloudWatch Logs' allowed retention periods (days).
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

impl Manifest {
    pub(super) fn check(&self, file: &str) -> Result<(), ManifestError> {
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
        let table_ok = |s: &str| {
            s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        };
        if !table_ok(&self.jobs.table_prefix) {
            return Err(fail(
                "jobs.table_prefix",
                format!(
                    "{:?}: use letters, digits, '_', '-' and '.' only (\"\" for sosw's names)",
                    self.jobs.table_prefix
                ),
            ));
        }
        if self.jobs.config_table.len() < 3 || !table_ok(&self.jobs.config_table) {
            return Err(fail(
                "jobs.config_table",
                format!(
                    "{:?}: a DynamoDB table name (3–100 letters, digits, '_', '-', '.')",
                    self.jobs.config_table
                ),
            ));
        }
        if !(1..=1000).contains(&self.jobs.max_concurrency) {
            return Err(fail(
                "jobs.max_concurrency",
                format!("{} must be from 1 to 1000", self.jobs.max_concurrency),
            ));
        }
        if let Some(t) = self.jobs.worker_timeout_s
            && !(1..=900).contains(&t)
        {
            return Err(fail(
                "jobs.worker_timeout_s",
                format!("{t} must be from 1 to 900 (Lambda's limit)"),
            ));
        }
        if let Some(m) = self.jobs.worker_memory_mb
            && !(128..=10240).contains(&m)
        {
            return Err(fail(
                "jobs.worker_memory_mb",
                format!("{m} must be from 128 to 10240"),
            ));
        }
        if self.jobs.enabled && self.cache.mode != CacheMode::Dynamodb {
            return Err(fail(
                "jobs.enabled",
                "the job system's tasks are shared by several functions in DynamoDB tables; set [cache] mode = \"dynamodb\" or turn jobs off".into(),
            ));
        }
        if self.cache.mode == CacheMode::Snapshot && self.snapshot_object().is_none() {
            return Err(fail(
                "cache.snapshot",
                format!(
                    "{:?} is not s3://bucket/key.db; publish one with `stratus cache snapshot --to s3://bucket/stratus.db` and name it here",
                    self.cache.snapshot
                ),
            ));
        }
        if self.cache.mode != CacheMode::Snapshot && !self.cache.snapshot.is_empty() {
            return Err(fail(
                "cache.snapshot",
                "a snapshot is read only with mode = \"snapshot\"; set the mode or drop the key"
                    .into(),
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
}

fn bucket_name_ok(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}
