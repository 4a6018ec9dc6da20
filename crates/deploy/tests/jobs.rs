//! The job system in the template: sosw's five tables exactly as the task store provisions them,
//! the every-minute orchestrator and scavenger, and least privilege — the orchestrator may invoke
//! only the worker, no role holds a wildcard action, the worker touches no task table.

use serde_json::Value;
use stratus_deploy::iam::{self, Arns};
use stratus_deploy::{Deployment, Manifest, template};
use stratus_store::tables::TaskTables;

fn deployment() -> Deployment {
    let manifest = Manifest::parse(
        "jobs",
        "stage = \"prod\"\n[jobs]\nenabled = true\nmax_concurrency = 25\n",
    )
    .unwrap();
    Deployment::new(&manifest, std::path::Path::new(".")).unwrap()
}

fn literal() -> Arns {
    Arns::Literal {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        bucket: "b".into(),
    }
}

#[test]
fn the_five_task_tables_are_the_task_store_s_layouts() {
    let template = template::render(&deployment());
    let resources = &template["Resources"];
    let tables = TaskTables::new("", "config");
    for (id, layout) in [
        ("TasksTable", &tables.tasks),
        ("ClosedTasksTable", &tables.closed),
        ("RetryTasksTable", &tables.retry),
        ("TasksMetaTable", &tables.meta),
        ("JobsConfigTable", &tables.config),
    ] {
        let rendered = &resources[id];
        let expected = template::table_resource(layout, &deployment().manifest);
        assert_eq!(rendered["Properties"], expected["Properties"], "{id}");
        let properties = &rendered["Properties"];
        assert_eq!(properties["TableName"], layout.name.as_str());
        assert_eq!(properties["KeySchema"][0]["AttributeName"], layout.hash);
        for index in &layout.indexes {
            let list = if index.local {
                "LocalSecondaryIndexes"
            } else {
                "GlobalSecondaryIndexes"
            };
            let found = properties[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["IndexName"] == index.name.as_str());
            assert!(found.is_some(), "{id}: {}", index.name);
        }
    }
    assert_eq!(
        resources["RetryTasksTable"]["Properties"]["LocalSecondaryIndexes"][0]["KeySchema"][1]["AttributeName"],
        "desired_launch_time"
    );
    assert_eq!(
        resources["ClosedTasksTable"]["Properties"]["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"],
        "INCLUDE"
    );
    assert_eq!(resources["JobsConfigTable"]["DeletionPolicy"], "Retain");
    // The orchestrator and scavenger run every minute.
    for role in ["JobsOrchestrator", "JobsScavenger"] {
        assert_eq!(
            resources[format!("{role}Schedule1")]["Properties"]["ScheduleExpression"],
            "rate(1 minute)",
            "{role}"
        );
    }
    assert_eq!(
        resources["JobsWorkerFunction"]["Properties"]["ReservedConcurrentExecutions"],
        25
    );
}

#[test]
fn each_role_holds_only_what_it_does() {
    let deployment = deployment();
    let policy = |short: &str| -> Vec<Value> {
        let function = deployment
            .functions
            .iter()
            .find(|f| f.short == short)
            .unwrap();
        iam::function_statements(function, &deployment, &literal())
    };
    let actions = |statements: &[Value]| -> Vec<String> {
        statements
            .iter()
            .flat_map(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
            })
            .collect()
    };
    for role in [
        "jobs-scheduler",
        "jobs-orchestrator",
        "jobs-scavenger",
        "jobs-assistant",
        "jobs-worker",
    ] {
        let statements = policy(role);
        assert!(
            actions(&statements).iter().all(|a| !a.contains('*')),
            "{role}: {:?}",
            actions(&statements)
        );
    }
    let orchestrator = policy("jobs-orchestrator");
    let invoke: Vec<&Value> = orchestrator
        .iter()
        .filter(|s| s["Action"][0] == "lambda:InvokeFunction")
        .collect();
    assert_eq!(invoke.len(), 1);
    assert_eq!(
        invoke[0]["Resource"],
        serde_json::json!([
            "arn:aws:lambda:us-east-1:123456789012:function:stratus-prod-jobs-worker"
        ])
    );
    let worker = policy("jobs-worker");
    let resources = serde_json::to_string(&worker).unwrap();
    assert!(
        !resources.contains("sosw_"),
        "the worker reports through the assistant: {resources}"
    );
    assert!(resources.contains("function:stratus-prod-jobs-assistant"));
    // The assistant updates tasks but never invokes anything.
    let assistant = actions(&policy("jobs-assistant"));
    assert!(assistant.contains(&"dynamodb:UpdateItem".to_string()));
    assert!(!assistant.iter().any(|a| a.starts_with("lambda:")));
}
