//! `stratus ingest` and `stratus schedule`: the batch side of the CLI.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use stratus_analytics::AppError;
use stratus_app::Settings;
use stratus_ingest::schedule::{self, Job};
use stratus_ingest::{Destination, Event, IngestConfig, IngestOptions, RunReport, ingest};

use crate::output::Output;
use crate::{EXIT_BAD_INPUT, args::Cli};

/// Exit code of an ingest run in which some source failed (the exports and report are written).
pub const EXIT_SOURCES_FAILED: u8 = 3;

/// Options of `stratus ingest`.
pub(crate) struct IngestRequest<'a> {
    pub(crate) config: &'a Path,
    pub(crate) force: bool,
    pub(crate) full: bool,
    pub(crate) destination: Option<&'a str>,
}

/// Runs one ingest; returns the report as output and the exit code.
pub(crate) fn run_ingest(
    request: &IngestRequest<'_>,
    settings: Settings,
    env: &dyn Fn(&str) -> Option<String>,
    quiet: bool,
) -> anyhow::Result<(Output, u8)> {
    let config = IngestConfig::load(request.config).map_err(|e| AppError::NoData {
        message: e.to_string(),
    })?;
    let url = request
        .destination
        .unwrap_or(&config.destination)
        .to_string();
    let destination = Destination::open(&url, env).map_err(|e| AppError::NoData {
        message: e.to_string(),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        // An empty shared store is what an ingest job fills, so it is not an error here; a
        // store seeded from the bundled data gets it first, as for every other command.
        let store = stratus_app::open_store(&settings).await?;
        let analytics = stratus_app::analytics(store, &settings);
        crate::seed_with_progress(&analytics, quiet).await?;
        let options = IngestOptions {
            run_date: analytics.today(),
            force: request.force,
            full: request.full,
        };
        let bar = progress(quiet);
        let observer = |event: Event<'_>| match event {
            Event::Planned(total) => bar.set_length(total),
            Event::Step(what) => {
                bar.set_message(what.to_string());
                bar.inc(1);
            }
        };
        let report = ingest(
            &analytics,
            &settings.live,
            &config,
            &destination,
            &options,
            &observer,
        )
        .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;
    let code = if report.any_failed() {
        EXIT_SOURCES_FAILED
    } else {
        0
    };
    Ok((report_output(&report), code))
}

fn progress(quiet: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("ingest {msg:24} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn report_output(report: &RunReport) -> Output {
    let rows = report
        .sources
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.dataset.clone(),
                s.status.label().to_string(),
                s.records.to_string(),
                s.stored.to_string(),
                s.rejected.to_string(),
                format!("{:.2}", s.duration_seconds),
            ]
        })
        .collect();
    let mut out = Output::text_table(
        serde_json::to_value(report).unwrap_or_default(),
        [
            "source", "dataset", "status", "records", "stored", "rejected", "seconds",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    );
    for s in &report.sources {
        for e in &s.errors {
            out = out.note(format!("{}: {e}", s.name));
        }
        if let Some(first) = s.rejected_examples.first() {
            out = out.note(format!(
                "{}: {} records rejected, e.g. {} {}: {}",
                s.name, s.rejected, first.key, first.date, first.reason
            ));
        }
    }
    for e in &report.exports {
        out = out.note(
            format!(
                "{:?} {} ({} rows, {} bytes)",
                e.outcome, e.path, e.rows, e.bytes
            )
            .to_lowercase(),
        );
    }
    out.note(format!(
        "report: {}/reports/ingest-report-{}.json and .csv; {:.2} s",
        report.destination.trim_end_matches('/'),
        report.run_date,
        report.duration_seconds
    ))
}

/// `stratus schedule`: runs jobs on their cron expressions; with `list`, prints the next runs.
pub(crate) fn run_schedule(
    config: &Path,
    list: bool,
    max_runs: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Option<Output>> {
    let jobs = schedule::load(config).map_err(|e| AppError::NoData {
        message: e.to_string(),
    })?;
    for job in &jobs {
        let mut argv = vec!["stratus".to_string()];
        argv.extend(job.command.iter().cloned());
        <Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| AppError::NoData {
            message: format!(
                "{}: job {:?}: command {:?} does not parse: {}",
                config.display(),
                job.name,
                job.command.join(" "),
                e.render().to_string().lines().next().unwrap_or_default()
            ),
        })?;
    }
    if list {
        return Ok(Some(list_output(&jobs)));
    }
    let mut runs = 0u64;
    // The instant whose jobs ran last: the next batch is the first instant after it (or after
    // now, when running took longer — runs missed meanwhile are skipped, as cron does).
    let mut done_until = stratus_analytics::live::now();
    loop {
        let now = stratus_analytics::live::now().max(done_until);
        let Some((when, due)) = schedule::next_due(&jobs, now) else {
            writeln!(err, "schedule: no job has a future run time; stopping")?;
            return Ok(None);
        };
        let wait = (when - stratus_analytics::live::now())
            .to_std()
            .unwrap_or_default();
        std::thread::sleep(wait);
        for index in due {
            let job = &jobs[index];
            writeln!(
                err,
                "schedule: {} starting job {:?}: stratus {}",
                stratus_analytics::live::now().format("%Y-%m-%dT%H:%M:%SZ"),
                job.name,
                job.command.join(" ")
            )?;
            let mut argv = vec!["stratus".to_string()];
            argv.extend(job.command.iter().cloned());
            let code = match <Cli as clap::Parser>::try_parse_from(&argv) {
                Ok(cli) => crate::run(cli, env, out, err),
                Err(_) => std::process::ExitCode::from(EXIT_BAD_INPUT),
            };
            writeln!(err, "schedule: job {:?} finished: {code:?}", job.name)?;
            out.flush()?;
            runs += 1;
            if max_runs.is_some_and(|m| runs >= m) {
                return Ok(None);
            }
        }
        done_until = when;
    }
}

fn list_output(jobs: &[Job]) -> Output {
    let now = stratus_analytics::live::now();
    let mut json = Vec::new();
    let mut rows = Vec::new();
    for job in jobs {
        let mut next = Vec::new();
        let mut at = now;
        for _ in 0..3 {
            match job.next_after(at) {
                Some(t) => {
                    next.push(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                    at = t;
                }
                None => break,
            }
        }
        rows.push(vec![
            job.name.clone(),
            job.expression.clone(),
            next.first().cloned().unwrap_or_else(|| "never".into()),
            job.command.join(" "),
        ]);
        json.push(json!({"name": job.name, "cron": job.expression, "command": job.command, "next_runs": next}));
    }
    Output::text_table(
        json!(json),
        ["job", "cron (UTC)", "next run", "command"]
            .map(String::from)
            .to_vec(),
        rows,
    )
}
