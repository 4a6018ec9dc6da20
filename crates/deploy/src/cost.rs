//! `stratus deploy cost`: a monthly estimate per resource from the resource model and stated
//! usage assumptions, at list prices kept in one table ([`PRICES`]) with their region and date.
//!
//! The estimate is at list price; AWS's always-free allowances are shown beside it, never
//! silently subtracted. The calendar scraper's guide estimated "about $0.05" for 2 runs a month
//! of 1000 MB × 5 minutes plus 1 GB in S3 by rounding each line up ($0.02 + $0.03); priced line
//! by line the same case is $0.010 of Lambda (x86_64) and $0.023 of S3.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::manifest::{Architecture, Billing, Compute};
use crate::model::{Deployment, JobRole, Role};

/// A list price.
#[derive(Debug, Clone, Copy)]
pub struct Price {
    /// What it prices.
    pub item: &'static str,
    /// US dollars per unit.
    pub usd: f64,
    /// The unit.
    pub unit: &'static str,
}

/// Where and when the prices were read.
pub const PRICES_AS_OF: &str = "us-east-1 list prices, 2026-11";

/// Every price the estimate uses.
pub const PRICES: &[Price] = &[
    Price {
        item: "lambda_gb_s_x86_64",
        usd: 0.000_016_666_7,
        unit: "GB-second",
    },
    Price {
        item: "lambda_gb_s_arm64",
        usd: 0.000_013_333_4,
        unit: "GB-second",
    },
    Price {
        item: "lambda_requests",
        usd: 0.20,
        unit: "million requests",
    },
    Price {
        item: "http_api_requests",
        usd: 1.00,
        unit: "million requests",
    },
    Price {
        item: "dynamodb_read_request_units",
        usd: 0.125,
        unit: "million RRU (on-demand)",
    },
    Price {
        item: "dynamodb_write_request_units",
        usd: 0.625,
        unit: "million WRU (on-demand)",
    },
    Price {
        item: "dynamodb_rcu_hour",
        usd: 0.000_13,
        unit: "RCU-hour (provisioned)",
    },
    Price {
        item: "dynamodb_wcu_hour",
        usd: 0.000_65,
        unit: "WCU-hour (provisioned)",
    },
    Price {
        item: "dynamodb_storage",
        usd: 0.25,
        unit: "GB-month",
    },
    Price {
        item: "dynamodb_pitr",
        usd: 0.20,
        unit: "GB-month",
    },
    Price {
        item: "s3_storage",
        usd: 0.023,
        unit: "GB-month (Standard)",
    },
    Price {
        item: "s3_put",
        usd: 0.005,
        unit: "1000 PUT requests",
    },
    Price {
        item: "logs_ingestion",
        usd: 0.50,
        unit: "GB",
    },
    Price {
        item: "logs_storage",
        usd: 0.03,
        unit: "GB-month",
    },
    Price {
        item: "alarm",
        usd: 0.10,
        unit: "alarm-month (standard)",
    },
    Price {
        item: "ec2_t4g_nano",
        usd: 0.0042,
        unit: "instance-hour",
    },
    Price {
        item: "ec2_t3_nano",
        usd: 0.0052,
        unit: "instance-hour",
    },
    Price {
        item: "ebs_gp3",
        usd: 0.08,
        unit: "GB-month",
    },
];

/// The price of `item`.
pub fn price(item: &str) -> f64 {
    PRICES
        .iter()
        .find(|p| p.item == item)
        .map_or(0.0, |p| p.usd)
}

/// Usage the estimate assumes (flags of `deploy cost`).
#[derive(Debug, Clone)]
pub struct Usage {
    /// API requests per month.
    pub requests: u64,
    /// Seconds per API request.
    pub api_duration_s: f64,
    /// Runs per month of each scheduled function (default: from its cron).
    pub runs_per_month: Option<f64>,
    /// Memory of scheduled runs (default: the function's).
    pub memory_mb: Option<u32>,
    /// Seconds per scheduled run.
    pub duration_s: f64,
    /// GB kept in the export bucket.
    pub storage_gb: f64,
    /// GB in the cache tables.
    pub table_gb: f64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            requests: 100_000,
            api_duration_s: 0.1,
            runs_per_month: None,
            memory_mb: None,
            duration_s: 60.0,
            storage_gb: 1.0,
            table_gb: 0.5,
        }
    }
}

/// Runs a month of a Unix cron expression: its occurrences in 30 days, times 730/720 (AWS's
/// 730-hour month).
pub fn runs_per_month(cron: &str) -> f64 {
    use std::str::FromStr;
    let Ok(parsed) = croner::Cron::from_str(cron.trim()) else {
        return 0.0;
    };
    let Some(start) = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single() else {
        return 0.0;
    };
    let end = start + chrono::Duration::days(30);
    let mut count = 0u32;
    let mut at = start;
    while let Ok(next) = parsed.find_next_occurrence(&at, false) {
        if next >= end || count > 50_000 {
            break;
        }
        count += 1;
        at = next;
    }
    f64::from(count) * 730.0 / 720.0
}

fn line(resource: &str, detail: String, usd: f64) -> Value {
    json!({"resource": resource, "detail": detail, "usd_per_month": (usd * 1e6).round() / 1e6})
}

/// The estimate for `deployment` under `usage` on `architecture`.
fn lines(deployment: &Deployment, usage: &Usage, architecture: Architecture) -> Vec<Value> {
    let manifest = &deployment.manifest;
    let gb_s = match architecture {
        Architecture::Arm64 => price("lambda_gb_s_arm64"),
        Architecture::X86_64 => price("lambda_gb_s_x86_64"),
    };
    let mut out = Vec::new();
    let mut invocations = 0.0;
    let mut log_gb = 0.0;
    let mut reads = 0.0;
    let mut writes = 0.0;
    let mut puts = 0.0;
    for f in &deployment.functions {
        let (runs, memory, seconds) = match f.role {
            Role::Api => (usage.requests as f64, f.memory_mb, usage.api_duration_s),
            // The every-minute roles take a fraction of a second when there is nothing to do.
            Role::Job(JobRole::Orchestrator | JobRole::Scavenger) => (
                f.schedules.iter().map(|s| runs_per_month(&s.cron)).sum(),
                f.memory_mb,
                0.2,
            ),
            _ => (
                usage.runs_per_month.unwrap_or_else(|| {
                    f.schedules
                        .iter()
                        .map(|s| runs_per_month(&s.cron) * s.expressions.len().min(1) as f64)
                        .sum()
                }),
                usage.memory_mb.unwrap_or(f.memory_mb),
                usage.duration_s,
            ),
        };
        let gb_seconds = runs * f64::from(memory) / 1024.0 * seconds;
        let usd = gb_seconds * gb_s + runs / 1e6 * price("lambda_requests");
        out.push(line(
            &format!("lambda:{}", f.name),
            format!(
                "{runs:.0} invocations × {memory} MB × {seconds} s = {gb_seconds:.1} GB-s ({})",
                architecture.lambda_name()
            ),
            usd,
        ));
        invocations += runs;
        log_gb += runs * 2e-6; // about 2 KB of log lines per invocation
        match f.role {
            Role::Api => {
                reads += runs * 25.0;
                writes += runs;
            }
            Role::Ingest => {
                writes += runs * 500.0;
                puts += runs * 12.0;
            }
            Role::Verb(_) => {
                reads += runs * 25.0;
                writes += runs;
            }
            // Two index queries a run per worker; tasks themselves are billed by the job.
            Role::Job(_) => reads += runs * 2.0,
        }
    }
    if manifest.api.enabled && manifest.api.http_api {
        out.push(line(
            "apigateway:http-api",
            format!("{} requests", usage.requests),
            usage.requests as f64 / 1e6 * price("http_api_requests"),
        ));
    }
    for job in &deployment.ec2_jobs {
        let runs = usage
            .runs_per_month
            .unwrap_or_else(|| runs_per_month(&job.cron));
        // EC2 bills per second with a one-minute minimum; boot and download add about a minute.
        let hours = runs * (usage.duration_s.max(60.0) + 60.0) / 3600.0;
        let hourly = if manifest.ingest.instance_type.starts_with("t4g") {
            price("ec2_t4g_nano")
        } else {
            price("ec2_t3_nano")
        };
        out.push(line(
            &format!("ec2:{}", job.name),
            format!(
                "{runs:.0} runs × {:.0} s of {} (+8 GB gp3 while running)",
                usage.duration_s.max(60.0) + 60.0,
                manifest.ingest.instance_type
            ),
            hours * hourly + 8.0 * price("ebs_gp3") * hours / 730.0,
        ));
        writes += runs * 500.0;
        puts += runs * 12.0;
    }
    if deployment.tables.is_some() {
        let capacity = match manifest.cache.billing {
            Billing::OnDemand => {
                reads / 1e6 * price("dynamodb_read_request_units")
                    + writes / 1e6 * price("dynamodb_write_request_units")
            }
            Billing::Provisioned => {
                // Four tables and their indexes, each with the manifest's capacity, all month.
                let units: usize = deployment
                    .tables
                    .iter()
                    .flat_map(|t| t.all())
                    .map(|t| 1 + t.indexes.len())
                    .sum();
                units as f64
                    * 730.0
                    * (f64::from(manifest.cache.read_capacity) * price("dynamodb_rcu_hour")
                        + f64::from(manifest.cache.write_capacity) * price("dynamodb_wcu_hour"))
            }
        };
        out.push(line(
            "dynamodb:cache-tables",
            format!(
                "{:.0} reads, {:.0} writes, {} GB stored with point-in-time recovery",
                reads, writes, usage.table_gb
            ),
            capacity + usage.table_gb * (price("dynamodb_storage") + price("dynamodb_pitr")),
        ));
    }
    out.push(line(
        "s3:exports",
        format!("{} GB stored, {puts:.0} PUTs", usage.storage_gb),
        usage.storage_gb * price("s3_storage") + puts / 1000.0 * price("s3_put"),
    ));
    out.push(line(
        "logs",
        format!("{invocations:.0} invocations × ~2 KB"),
        log_gb * (price("logs_ingestion") + price("logs_storage")),
    ));
    let alarms = if manifest.alarms.enabled {
        deployment.functions.len() + usize::from(deployment.has_schedules())
    } else {
        0
    };
    if alarms > 0 {
        out.push(line(
            "cloudwatch:alarms",
            format!("{alarms} alarms"),
            alarms as f64 * price("alarm"),
        ));
    }
    if deployment.has_schedules() {
        out.push(line(
            "events+sqs+ssm",
            "scheduled rules, an idle dead-letter queue and standard parameters".into(),
            0.0,
        ));
    }
    out
}

fn total(lines: &[Value]) -> f64 {
    let sum: f64 = lines
        .iter()
        .filter_map(|l| l["usd_per_month"].as_f64())
        .sum();
    (sum * 1e6).round() / 1e6
}

/// The estimate: per-resource lines, the total on the manifest's architecture, and the total on
/// each architecture.
pub fn estimate(deployment: &Deployment, usage: &Usage) -> Value {
    let architecture = deployment.manifest.architecture;
    let resources = lines(deployment, usage, architecture);
    let arm = total(&lines(deployment, usage, Architecture::Arm64));
    let x86 = total(&lines(deployment, usage, Architecture::X86_64));
    let compute = deployment.manifest.ingest.compute == Compute::Ec2Schedule;
    json!({
        "prices": PRICES_AS_OF,
        "architecture": architecture.lambda_name(),
        "resources": resources,
        "total_usd_per_month": total(&resources),
        "by_architecture": {"arm64": arm, "x86_64": x86},
        "free_tier": "not subtracted: Lambda's 1M requests and 400 000 GB-s, DynamoDB's 25 GB, CloudWatch's 10 alarms and 5 GB of logs a month are free",
        "ec2_ingest": compute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn deployment(text: &str) -> Deployment {
        let manifest = Manifest::parse("m", text).unwrap();
        Deployment::new(&manifest, std::path::Path::new("/nonexistent")).unwrap()
    }

    #[test]
    fn the_scraper_guide_s_case() {
        // The guide's Lambda: 1000 MB, 2 runs a month of 5 minutes, 1 GB in S3, nothing else.
        let d = deployment(
            "architecture = \"x86_64\"\n[api]\nenabled = false\n[alarms]\nenabled = false\n[cache]\nmode = \"sqlite\"\n[[function]]\nname = \"scrape\"\nverb = \"prices\"\nschedule = \"0 18 1,15 * *\"\nmemory_mb = 1000\ntimeout_s = 600\n",
        );
        let usage = Usage {
            requests: 0,
            duration_s: 300.0,
            storage_gb: 1.0,
            runs_per_month: Some(2.0),
            ..Usage::default()
        };
        let e = estimate(&d, &usage);
        let lambda = e["resources"][0]["usd_per_month"].as_f64().unwrap();
        let gb_s = 2.0 * 1000.0 / 1024.0 * 300.0;
        assert!(
            (lambda - (gb_s * 0.000_016_666_7 + 2e-6 * 0.2)).abs() < 1e-6,
            "{e}"
        );
        let total = e["total_usd_per_month"].as_f64().unwrap();
        assert!(
            (0.03..=0.05).contains(&total),
            "about $0.05 in the guide: {e}"
        );
        let arm = e["by_architecture"]["arm64"].as_f64().unwrap();
        let x86 = e["by_architecture"]["x86_64"].as_f64().unwrap();
        assert!(arm < x86, "{e}");
        assert!((x86 - arm - gb_s * (0.000_016_666_7 - 0.000_013_333_4)).abs() < 1e-5);
    }

    #[test]
    fn runs_per_month_from_cron() {
        assert!((runs_per_month("0 18 1,15 * *") - 2.0 * 730.0 / 720.0).abs() < 1e-9);
        // 30 days from a Thursday: 22 weekdays.
        assert!((runs_per_month("30 22 * * MON-FRI") - 22.0 * 730.0 / 720.0).abs() < 1e-9);
    }

    #[test]
    fn the_default_stack_costs_cents_at_100k_requests() {
        let e = estimate(&deployment(""), &Usage::default());
        let total = e["total_usd_per_month"].as_f64().unwrap();
        assert!(total > 0.0 && total < 5.0, "{e}");
    }
}
