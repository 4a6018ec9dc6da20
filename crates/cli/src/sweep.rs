//! `stratus backtest … --sweep GRID.toml`: a grid of backtests fanned out over the job system.
//!
//! The command line's backtest options are the base; the grid file names what varies —
//! strategies × risk models × lookbacks × rebalance schedules. Each point becomes one task of a
//! job (`verb = "backtest"`, `--summary`, so a result is a few kilobytes and fits any task
//! store), run by the local worker pool in this process (or, with `labourer`, left to a deployed
//! worker). The job id is derived from the grid, so a sweep that is interrupted and run again
//! resumes where it stopped. The results are ranked by one measure, and `--report FILE.html`
//! writes the tear sheet of the best point (or of the best N, `FILE-1.html` …).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};
use stratus_analytics::AppError;
use stratus_app::Settings;

use crate::args::Cli;
use crate::output::{Cell, Output, num, pct};

/// The grid file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grid {
    /// Strategies as `--strategy` takes them (default: the command line's).
    strategies: Option<Vec<String>>,
    /// Risk models, appended as `--cov MODEL` to strategies that estimate a covariance.
    risk_models: Option<Vec<String>>,
    /// Lookbacks: sessions, or "expanding".
    lookbacks: Option<Vec<toml::Value>>,
    /// Rebalance schedules.
    rebalances: Option<Vec<String>>,
    /// The risk-report measure to rank by (default sharpe_ratio; drawdowns, VaR, volatility and
    /// the like rank lowest first).
    rank_by: Option<String>,
    /// How many of the best points get a report with --report (default 1).
    best: Option<usize>,
    /// Local workers (default 2).
    workers: Option<u16>,
    /// The worker the tasks are for (default local: run here).
    labourer: Option<String>,
}

/// The most points one sweep may make.
pub(crate) const MAX_POINTS: usize = 10_000;

/// Measures where less is better.
const LOWER_IS_BETTER: [&str; 12] = [
    "annual_volatility",
    "max_drawdown",
    "average_drawdown",
    "cdar",
    "edar",
    "ulcer_index",
    "historical_var",
    "historical_cvar",
    "gaussian_var",
    "gaussian_cvar",
    "evar",
    "kurtosis",
];

/// Strategies whose weights ignore the covariance (one point however many risk models).
const NO_COVARIANCE: [&str; 2] = ["equal-weight", "ew"];

fn invalid(message: String) -> anyhow::Error {
    AppError::InvalidInput {
        field: "sweep",
        message,
    }
    .into()
}

/// One point of the grid: what varies, and the verb's parameters.
struct Point {
    strategy: String,
    lookback: String,
    rebalance: String,
    params: Map<String, Value>,
}

fn read_grid(path: &Path) -> anyhow::Result<Grid> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(format!(
            "cannot read the sweep file {}: {e}; give the path of a grid file (TOML)",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| {
        invalid(format!(
            "{}: {}; see the sweep example in the README",
            path.display(),
            e.message()
        ))
    })
}

fn points(grid: &Grid, base: &Map<String, Value>) -> anyhow::Result<Vec<Point>> {
    let from_base = |key: &str, default: &str| -> Vec<String> {
        match base.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => vec![default.to_string()],
        }
    };
    let strategies = match &grid.strategies {
        Some(list) => list.clone(),
        None => {
            let mut all = from_base("strategy", "min-variance");
            if let Some(Value::Array(more)) = base.get("compare") {
                all.extend(more.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
            all
        }
    };
    let lookbacks: Vec<String> = match &grid.lookbacks {
        Some(list) => list
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(n) => Ok(n.to_string()),
                other => Err(invalid(format!(
                    "lookbacks: {other:?} is not a lookback; give numbers of sessions or \"expanding\""
                ))),
            })
            .collect::<anyhow::Result<_>>()?,
        None => from_base("lookback", "756"),
    };
    let rebalances = grid
        .rebalances
        .clone()
        .unwrap_or_else(|| from_base("rebalance", "monthly"));
    let models = grid.risk_models.clone().unwrap_or_default();
    for (name, list) in [
        ("strategies", strategies.len()),
        ("lookbacks", lookbacks.len()),
        ("rebalances", rebalances.len()),
    ] {
        if list == 0 {
            return Err(invalid(format!(
                "{name} is empty; list at least one value or leave it out"
            )));
        }
    }
    let mut with_models: Vec<String> = Vec::new();
    for s in &strategies {
        let name = s.split_whitespace().next().unwrap_or_default();
        if models.is_empty() || NO_COVARIANCE.contains(&name) {
            with_models.push(s.clone());
        } else {
            with_models.extend(models.iter().map(|m| format!("{s} --cov {m}")));
        }
    }
    let total = with_models.len() * lookbacks.len() * rebalances.len();
    if total > MAX_POINTS {
        return Err(invalid(format!(
            "the grid makes {total} backtests, more than {MAX_POINTS}; narrow it"
        )));
    }
    let mut out = Vec::with_capacity(total);
    for strategy in &with_models {
        for lookback in &lookbacks {
            for rebalance in &rebalances {
                let mut params = base.clone();
                params.remove("compare");
                params.insert("strategy".into(), json!([strategy]));
                params.insert("lookback".into(), json!(lookback));
                params.insert("rebalance".into(), json!(rebalance));
                params.insert("summary".into(), json!(true));
                // Every point is parsed as the workers will parse it, before anything is queued.
                stratus_verbs::request::command_from_params(
                    "backtest",
                    &params
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>(),
                )
                .map_err(|e| {
                    invalid(format!("{strategy}, lookback {lookback}, {rebalance}: {e}"))
                })?;
                out.push(Point {
                    strategy: strategy.clone(),
                    lookback: lookback.clone(),
                    rebalance: rebalance.clone(),
                    params,
                });
            }
        }
    }
    Ok(out)
}

/// A stable job id for a grid, so running the same sweep again resumes it.
fn job_id(job: &Value) -> String {
    // FNV-1a over the job's JSON: stable across runs and machines.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in job.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("sweep-{hash:016x}")
}

/// Runs the sweep of `cli` (a `backtest` command) over the grid in `path`.
pub(crate) fn run(
    cli: &Cli,
    path: &Path,
    settings: Settings,
    env: &dyn Fn(&str) -> Option<String>,
    quiet: bool,
) -> anyhow::Result<Output> {
    let grid = read_grid(path)?;
    let (_, base) = crate::remote::request_of(cli).map_err(|e| invalid(e.to_string()))?;
    let points = points(&grid, &base)?;
    let rank_by = grid
        .rank_by
        .clone()
        .unwrap_or_else(|| "sharpe_ratio".into());
    let workers = grid.workers.unwrap_or(2).clamp(1, 256);
    let labourer = grid.labourer.clone().unwrap_or_else(|| "local".into());
    let tasks: Vec<Value> = points
        .iter()
        .map(|p| json!({ "params": p.params }))
        .collect();
    let mut job = Map::new();
    job.insert("verb".into(), json!("backtest"));
    job.insert("labourer".into(), json!(labourer));
    job.insert("tasks".into(), Value::Array(tasks));
    let id = job_id(&Value::Object(job.clone()));
    job.insert("job_id".into(), json!(id));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(async {
        let jobs = crate::jobs::open(&settings).await?;
        crate::jobs::submit(&jobs, job, &settings).await?;
        if labourer == "local" {
            let until = stratus_jobs::pool::Until::JobDone(id.clone());
            crate::jobs::work(&jobs, &settings, env, &labourer, workers, until, quiet).await?;
        } else {
            // Deployed workers run it; the same command run again (the same job) ranks it once
            // they are done.
            let status = jobs.status(&id).await.map_err(crate::jobs::jobs_error)?;
            if !status.is_done() {
                return anyhow::Ok(Err(status));
            }
        }
        let results = jobs.results(&id).await.map_err(crate::jobs::jobs_error)?;
        anyhow::Ok(Ok(results))
    })?;
    let results = match results {
        Ok(results) => results,
        Err(status) => {
            let done = status.completed + status.dead;
            return Ok(Output::text_table(
                json!({ "job": id, "tasks": points.len(), "done": done, "status": status }),
                vec!["job".into(), "tasks".into(), "done".into()],
                vec![vec![id.clone(), points.len().to_string(), done.to_string()]],
            )
            .note(format!(
                "queued for worker {labourer} ({done} of {} done); run the same command again to rank the results once the workers finish (progress: stratus jobs status {id})",
                points.len()
            )));
        }
    };
    let index_of = |task: &str| -> Option<usize> { task.rsplit('_').next()?.parse().ok() };
    let mut ranked: Vec<(usize, f64, &Value)> = Vec::new();
    for row in &results.results {
        let Some(i) = index_of(&row.task).filter(|i| *i < points.len()) else {
            continue;
        };
        let run = &row.result["strategies"][0];
        let value = run["risk_report"][rank_by.as_str()]
            .as_f64()
            .ok_or_else(|| {
                invalid(format!(
                    "rank_by = {rank_by:?} is not a measure of the risk report; use sharpe_ratio, sortino_ratio, calmar_ratio, annual_return, max_drawdown, cdar, …"
                ))
            })?;
        ranked.push((i, value, run));
    }
    let lower = LOWER_IS_BETTER.contains(&rank_by.as_str());
    ranked.sort_by(|a, b| {
        let order = a.1.total_cmp(&b.1);
        if lower { order } else { order.reverse() }
    });
    let header = [
        "rank",
        "strategy",
        "lookback",
        "rebalance",
        rank_by.as_str(),
        "annual return",
        "annual volatility",
        "max drawdown",
        "turnover",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<Cell>> = ranked
        .iter()
        .enumerate()
        .map(|(rank, (i, value, run))| {
            let p = &points[*i];
            let m = &run["risk_report"];
            let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
            vec![
                Cell::from((rank + 1).to_string()),
                Cell::from(p.strategy.clone()),
                Cell::from(p.lookback.clone()),
                Cell::from(p.rebalance.clone()),
                num(*value),
                pct(f(&m["annual_return"])),
                pct(f(&m["annual_volatility"])),
                pct(f(&m["max_drawdown"])),
                num(f(&run["total_turnover"])),
            ]
        })
        .collect();
    let json = json!({
        "job": id,
        "rank_by": rank_by,
        "points": ranked.iter().map(|(i, value, run)| {
            let p = &points[*i];
            json!({"strategy": p.strategy, "lookback": p.lookback, "rebalance": p.rebalance,
                   "value": value, "result": run})
        }).collect::<Vec<_>>(),
        "dead": results.dead.iter().map(|d| json!({"task": d.task, "error": d.error})).collect::<Vec<_>>(),
    });
    let ran_on = if labourer == "local" {
        format!("{workers} local worker(s)")
    } else {
        format!("worker {labourer}")
    };
    let mut output = Output::table(json, header, rows).note(format!(
        "{} backtests of job {id} on {ran_on}, ranked by {rank_by} ({} first)",
        ranked.len(),
        if lower { "lowest" } else { "highest" }
    ));
    for dead in &results.dead {
        output = output.note(format!(
            "failed: {} — {}",
            index_of(&dead.task).and_then(|i| points.get(i)).map_or(
                dead.task.clone(),
                |p| format!("{} / {} / {}", p.strategy, p.lookback, p.rebalance)
            ),
            dead.error.clone().unwrap_or_default()
        ));
    }
    if ranked.is_empty() {
        return Err(invalid(format!(
            "no backtest of the sweep finished ({} failed); see the notes above or `stratus jobs results {id}`",
            results.dead.len()
        )));
    }
    if let Some(report) = &cli.global.report {
        let best = grid.best.unwrap_or(1).clamp(1, ranked.len());
        let written = reports(cli, report, &points, &ranked[..best], env)?;
        for file in written {
            output = output.note(format!("wrote the tear sheet {}", file.display()));
        }
    }
    Ok(output)
}

/// The full backtest of each of the best points, each written as a tear sheet.
fn reports(
    cli: &Cli,
    report: &Path,
    points: &[Point],
    best: &[(usize, f64, &Value)],
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rank, (i, _, _)) in best.iter().enumerate() {
        let mut params = points[*i].params.clone();
        params.remove("summary");
        let file = if best.len() == 1 {
            report.to_path_buf()
        } else {
            let stem = report
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            report.with_file_name(format!("{stem}-{}.html", rank + 1))
        };
        let mut argv: Vec<String> = vec!["stratus".into(), "backtest".into(), "--quiet".into()];
        if let Some(home) = &cli.global.home {
            argv.push(format!("--home={}", home.display()));
        }
        if let Some(store) = &cli.global.store {
            argv.push(format!("--store={store}"));
        }
        argv.push(format!("--report={}", file.display()));
        argv.extend(crate::remote::argv_of(&params));
        let sub =
            <Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| invalid(e.to_string()))?;
        let code = crate::run(sub, env, &mut std::io::sink(), &mut std::io::sink());
        if code != std::process::ExitCode::SUCCESS {
            return Err(invalid(format!(
                "the report of {} could not be written",
                points[*i].strategy
            )));
        }
        written.push(file);
    }
    Ok(written)
}
