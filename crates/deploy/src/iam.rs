//! IAM policies from the resource model: each function's role in the template, and the policy a
//! person or CI needs to run a mode of Stratus from outside AWS (`stratus deploy policy`).
//!
//! Both are rendered by the same code from the same [`Access`] values; only the way an ARN is
//! written differs (`Fn::Sub` with the stack's account and region in a template, literal text in
//! a printed policy), so a printed policy is exactly what the deployed roles hold.

use serde_json::{Value, json};
use stratus_store::tables::{CacheTables, TableKind, TableLayout};

use crate::manifest::Manifest;
use crate::model::{Access, Deployment, Function, JobRole};

/// How ARNs are written.
#[derive(Debug, Clone)]
pub enum Arns {
    /// Inside the template: `{"Fn::Sub": "arn:${AWS::Partition}:…"}`, bucket and queue by
    /// reference.
    Template,
    /// Literal, for a policy printed outside AWS.
    Literal {
        /// Region.
        region: String,
        /// Account id (`*` when not given).
        account: String,
        /// The export bucket's name.
        bucket: String,
    },
}

impl Arns {
    /// An ARN `arn:aws:{service}:{region}:{account}:{resource}`; `regional = false` leaves the
    /// region empty, and the account too except for IAM (S3: `arn:aws:s3:::bucket`).
    fn arn(&self, service: &str, resource: &str, regional: bool) -> Value {
        match self {
            Arns::Template => {
                let scope = if regional {
                    "${AWS::Region}:${AWS::AccountId}"
                } else if service == "iam" {
                    ":${AWS::AccountId}"
                } else {
                    ":"
                };
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{service}:{scope}:{resource}")})
            }
            Arns::Literal {
                region,
                account,
                bucket,
            } => {
                let scope = if regional {
                    format!("{region}:{account}")
                } else if service == "iam" {
                    format!(":{account}")
                } else {
                    ":".to_string()
                };
                let resource = resource.replace("${ExportBucket}", bucket);
                Value::String(format!("arn:aws:{service}:{scope}:{resource}"))
            }
        }
    }
}

/// The export bucket's name when the stack creates it: fixed, so literal policies can name it.
pub fn created_bucket_name(manifest: &Manifest, account: &str) -> String {
    format!("{}-{}-exports-{account}", manifest.stack, manifest.stage)
}

/// The dead-letter queue's name.
pub fn dead_letter_queue_name(manifest: &Manifest) -> String {
    format!("{}-{}-dead-letters", manifest.stack, manifest.stage)
}

fn statement(sid: &str, actions: &[&str], resources: Vec<Value>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

fn table_arn(arns: &Arns, table: &TableLayout) -> Value {
    arns.arn("dynamodb", &format!("table/{}", table.name), true)
}

/// DynamoDB read actions: the store's GetItem, BatchGetItem, Query, Scan, and DescribeTable
/// (it reads the correlations table's key schema when it connects).
const TABLE_READ: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
];
/// DynamoDB write actions: the store writes with PutItem and BatchWriteItem (deletes included).
const TABLE_WRITE: &[&str] = &["dynamodb:BatchWriteItem", "dynamodb:PutItem"];

/// The statements `access` needs on `tables`, the export bucket and secrets (no logs).
pub fn access_statements(
    access: &Access,
    tables: Option<&CacheTables>,
    manifest: &Manifest,
    arns: &Arns,
) -> Vec<Value> {
    let mut statements = Vec::new();
    if let Some(tables) = tables {
        let used: Vec<(&TableLayout, bool)> = TableKind::ALL
            .iter()
            .filter_map(|k| access.tables.get(k).map(|w| (tables.get(*k), *w)))
            .collect();
        if !used.is_empty() {
            statements.push(statement(
                "ReadCacheTables",
                TABLE_READ,
                used.iter().map(|(t, _)| table_arn(arns, t)).collect(),
            ));
            let indexes: Vec<Value> = used
                .iter()
                .flat_map(|(t, _)| {
                    t.indexes.iter().map(|i| {
                        arns.arn(
                            "dynamodb",
                            &format!("table/{}/index/{}", t.name, i.name),
                            true,
                        )
                    })
                })
                .collect();
            if !indexes.is_empty() {
                statements.push(statement("QueryCacheIndexes", &["dynamodb:Query"], indexes));
            }
            let written: Vec<Value> = used
                .iter()
                .filter(|(_, w)| *w)
                .map(|(t, _)| table_arn(arns, t))
                .collect();
            if !written.is_empty() {
                statements.push(statement("WriteCacheTables", TABLE_WRITE, written));
            }
        }
    }
    if access.exports {
        let prefix = manifest.export_prefix();
        let bucket = if manifest.bucket.existing.is_empty() {
            "${ExportBucket}".to_string()
        } else {
            manifest.bucket.existing.clone()
        };
        statements.push(statement(
            "WriteExports",
            &["s3:GetObject", "s3:PutObject"],
            vec![arns.arn("s3", &format!("{bucket}/{prefix}/*"), false)],
        ));
        // Without ListBucket, S3 answers a missing key with 403 instead of 404, and an export
        // could not tell "not written yet" from "forbidden".
        let mut list = statement(
            "ListExports",
            &["s3:ListBucket"],
            vec![arns.arn("s3", &bucket, false)],
        );
        list["Condition"] = json!({"StringLike": {"s3:prefix": [format!("{prefix}/*")]}});
        statements.push(list);
    }
    // Every function opens the store: a snapshot is one object, read (GET and HEAD) and never
    // written.
    if let Some((bucket, key)) = manifest.snapshot_object() {
        statements.push(statement(
            "ReadSnapshot",
            &["s3:GetObject"],
            vec![arns.arn("s3", &format!("{bucket}/{key}"), false)],
        ));
    }
    if !access.secrets.is_empty() {
        statements.push(statement(
            "ReadSecrets",
            &["ssm:GetParameter"],
            access
                .secrets
                .iter()
                .map(|p| arns.arn("ssm", &format!("parameter{p}"), true))
                .collect(),
        ));
    }
    statements
}

/// Every statement of a function's role: its access, its own log group, and the dead-letter
/// queue when it has schedules.
pub fn function_statements(
    function: &Function,
    deployment: &Deployment,
    arns: &Arns,
) -> Vec<Value> {
    let mut statements = vec![statement(
        "OwnLogs",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![arns.arn(
            "logs",
            &format!("log-group:/aws/lambda/{}:*", function.name),
            true,
        )],
    )];
    statements.extend(access_statements(
        &function.access,
        deployment.tables.as_ref(),
        &deployment.manifest,
        arns,
    ));
    statements.extend(job_statements(function, deployment, arns));
    if function.access.dead_letters {
        let queue = match arns {
            Arns::Template => json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}),
            Arns::Literal { .. } => {
                arns.arn("sqs", &dead_letter_queue_name(&deployment.manifest), true)
            }
        };
        statements.push(statement("DeadLetters", &["sqs:SendMessage"], vec![queue]));
    }
    if let Some(vpc) = &deployment.manifest.vpc {
        // Lambda creates and removes the function's network interfaces in these subnets.
        let mut scoped: Vec<Value> = vpc
            .subnets
            .iter()
            .map(|s| arns.arn("ec2", &format!("subnet/{s}"), true))
            .chain(
                vpc.security_groups
                    .iter()
                    .map(|g| arns.arn("ec2", &format!("security-group/{g}"), true)),
            )
            .collect();
        scoped.push(arns.arn("ec2", "network-interface/*", true));
        statements.push(statement(
            "VpcInterfaces",
            &[
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            scoped,
        ));
        // Describe calls take no resource narrower than "*" (AWS's rule, not a choice).
        statements.push(statement(
            "VpcDescribe",
            &["ec2:DescribeNetworkInterfaces"],
            vec![json!("*")],
        ));
    }
    statements
}

/// What a job role does to the task tables: (table, actions, through its index too).
fn job_table_actions(role: JobRole) -> Vec<(TaskTable, &'static [&'static str])> {
    use TaskTable::{Closed, Config, Live, Meta, Retry};
    let config: (TaskTable, &'static [&'static str]) = (Config, &["dynamodb:GetItem"]);
    let audit: (TaskTable, &'static [&'static str]) = (Meta, &["dynamodb:PutItem"]);
    match role {
        JobRole::Scheduler => vec![
            (Live, &["dynamodb:PutItem", "dynamodb:Query"]),
            audit,
            config,
        ],
        JobRole::Orchestrator => vec![
            (
                Live,
                &[
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
            ),
            (Retry, &["dynamodb:PutItem"]),
            (Closed, &["dynamodb:PutItem"]),
            audit,
            config,
        ],
        JobRole::Scavenger => vec![
            (
                Live,
                &[
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                ],
            ),
            (
                Retry,
                &[
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                ],
            ),
            (Closed, &["dynamodb:PutItem"]),
            audit,
            config,
        ],
        JobRole::Assistant => vec![
            (
                Live,
                &[
                    "dynamodb:GetItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
            ),
            (Retry, &["dynamodb:PutItem"]),
            (Closed, &["dynamodb:PutItem"]),
            audit,
            config,
        ],
        // The worker reports through the assistant and touches no task table.
        JobRole::Worker => Vec::new(),
    }
}

/// The task tables, by what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskTable {
    Live,
    Closed,
    Retry,
    Meta,
    Config,
}

/// A job role's statements: exactly the task-table actions it performs (never `dynamodb:*`),
/// the functions it invokes, and reading the cache's key schema when it connects.
fn job_statements(function: &Function, deployment: &Deployment, arns: &Arns) -> Vec<Value> {
    let mut statements = Vec::new();
    if let (Some(role), Some(tables)) = (function.access.jobs, &deployment.task_tables) {
        for (which, actions) in job_table_actions(role) {
            let table = match which {
                TaskTable::Live => &tables.tasks,
                TaskTable::Closed => &tables.closed,
                TaskTable::Retry => &tables.retry,
                TaskTable::Meta => &tables.meta,
                TaskTable::Config => &tables.config,
            };
            let mut resources = vec![table_arn(arns, table)];
            if actions.contains(&"dynamodb:Query") {
                resources.extend(table.indexes.iter().map(|i| {
                    arns.arn(
                        "dynamodb",
                        &format!("table/{}/index/{}", table.name, i.name),
                        true,
                    )
                }));
            }
            let sid = format!("Tasks{which:?}");
            statements.push(statement(&sid, actions, resources));
        }
        if role == JobRole::Orchestrator {
            // Health metrics; CloudWatch offers no resource narrower than "*" for this read.
            statements.push(statement(
                "ReadHealthMetrics",
                &["cloudwatch:GetMetricStatistics"],
                vec![json!("*")],
            ));
        }
        if role != JobRole::Worker
            && let Some(cache) = &deployment.tables
        {
            statements.push(statement(
                "DescribeCacheTable",
                &["dynamodb:DescribeTable"],
                vec![table_arn(arns, &cache.correlations)],
            ));
        }
    }
    if !function.access.invoke.is_empty() {
        statements.push(statement(
            "InvokeFunctions",
            &["lambda:InvokeFunction"],
            function
                .access
                .invoke
                .iter()
                .map(|name| arns.arn("lambda", &format!("function:{name}"), true))
                .collect(),
        ));
    }
    statements
}

/// A policy document.
pub fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Who `stratus deploy policy --for` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Running analytics against the deployed tables (reads, and caches results).
    Analytics,
    /// Filling the tables: `cache migrate`, `import-csv`, ingest into the cache.
    CacheWriter,
    /// Running `stratus ingest` into the tables and the export bucket.
    Ingest,
    /// Running `stratus deploy` itself.
    Deployer,
}

impl Audience {
    /// Parses `--for`.
    pub fn parse(text: &str) -> Option<Audience> {
        match text {
            "analytics" => Some(Audience::Analytics),
            "cache-writer" => Some(Audience::CacheWriter),
            "ingest" => Some(Audience::Ingest),
            "deployer" => Some(Audience::Deployer),
            _ => None,
        }
    }
}

/// The policy a person or CI running `audience` from outside AWS needs, for `deployment`.
pub fn policy_for(audience: Audience, deployment: &Deployment, account: &str) -> Value {
    let manifest = &deployment.manifest;
    let bucket = if manifest.bucket.existing.is_empty() {
        created_bucket_name(manifest, account)
    } else {
        manifest.bucket.existing.clone()
    };
    let arns = Arns::Literal {
        region: manifest.region.clone(),
        account: account.to_string(),
        bucket,
    };
    let all = |write: bool| TableKind::ALL.iter().map(|k| (*k, write)).collect();
    let access = match audience {
        Audience::Analytics => Access {
            tables: [
                (TableKind::Prices, false),
                (TableKind::Interest, false),
                (TableKind::Profile, true),
                (TableKind::Correlations, true),
            ]
            .into_iter()
            .collect(),
            ..Access::default()
        },
        Audience::CacheWriter => Access {
            tables: all(true),
            ..Access::default()
        },
        Audience::Ingest => Access {
            tables: all(true),
            exports: true,
            ..Access::default()
        },
        Audience::Deployer => return document(crate::deployer::statements(deployment, &arns)),
    };
    let mut statements = access_statements(&access, deployment.tables.as_ref(), manifest, &arns);
    if audience == Audience::CacheWriter
        && let Some(tables) = &deployment.tables
    {
        // `cache migrate` provisions missing tables.
        statements.push(statement(
            "CreateCacheTables",
            &["dynamodb:CreateTable"],
            tables.all().iter().map(|t| table_arn(&arns, t)).collect(),
        ));
    }
    document(statements)
}

/// Renders an ARN the way `arns` writes them (for the deployer's statements).
pub(crate) fn arn(arns: &Arns, service: &str, resource: &str, regional: bool) -> Value {
    arns.arn(service, resource, regional)
}

pub(crate) fn allow(sid: &str, actions: &[&str], resources: Vec<Value>) -> Value {
    statement(sid, actions, resources)
}
