//! The `stratus` command line as a library: [`run`] takes parsed arguments, an environment
//! lookup and two writers, so every command can be tested in process without spawning a binary
//! or touching the real environment.
//!
//! Exit codes: 0 success; 2 bad input (unknown ticker, bad date, too few prices, malformed CSV —
//! clap's usage errors are 2 as well); 1 anything else (a store that cannot be opened, a provider
//! or export destination that is down, an I/O failure); 3 an `ingest` run in which some source
//! failed (everything else of the run was done). Errors go to stderr, one line, naming the input and the fix; stdout then stays
//! empty, so a pipeline never sees a partial result.

pub mod argfiles;
mod cache;
mod deploy;
mod files;
mod ingest;
mod jobs;
mod package;
mod remote;
mod sweep;

pub use ingest::EXIT_SOURCES_FAILED;

pub use stratus_verbs::{args, commands, output};

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use args::Cli;
use stratus_analytics::{AppError, ErrorClass};
use stratus_app::Settings;

/// Exit code for input the user can fix ([`ErrorClass::exit_code`]).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for every other failure.
pub const EXIT_FAILURE: u8 = 1;

/// Runs one command. `env` reads environment variables.
pub fn run(
    cli: Cli,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    match execute(cli, env, out, err) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`stratus prices … | head -1`): what it wanted was written.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let code = class_of(&error).exit_code();
            // Store errors already say what failed and what to do; their SDK source chain would
            // only repeat it, so only other errors print their causes.
            let _ = match error.downcast_ref::<AppError>() {
                Some(app) => writeln!(err, "error: {app}"),
                None => writeln!(err, "error: {error:#}"),
            };
            ExitCode::from(code)
        }
    }
}

/// The class of a failed command: the services', a request's or an ingest run's own
/// classification; an I/O failure is internal; anything else (a settings value, a file the
/// user named) is the user's to fix.
fn class_of(error: &anyhow::Error) -> ErrorClass {
    if let Some(app) = error.downcast_ref::<AppError>() {
        app.class()
    } else if let Some(ingest) = error.downcast_ref::<stratus_ingest::IngestError>() {
        ingest.class()
    } else if let Some(deploy) = error.downcast_ref::<stratus_deploy::aws::DeployError>() {
        deploy.class()
    } else if let Some(remote) = error.downcast_ref::<remote::RemoteError>() {
        remote.class
    } else if error.downcast_ref::<std::io::Error>().is_some() {
        ErrorClass::Internal
    } else {
        ErrorClass::UserInput
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn execute(
    cli: Cli,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    if let Some(path) = &cli.global.save {
        files::check_save_path(path, cli.command.is_plot())?;
    }
    if let Some(path) = &cli.global.report {
        files::check_report_path(path, &cli.command, cli.global.remote.is_some())?;
    }
    if cli.global.sweep.is_some()
        && (!matches!(cli.command, args::Command::Verb(args::Verb::Backtest(_)))
            || cli.global.remote.is_some())
    {
        return Err(AppError::InvalidInput {
            field: "sweep",
            message: "--sweep runs a grid of `stratus backtest` here; use it with backtest and without --remote".into(),
        }
        .into());
    }
    if matches!(cli.command, args::Command::Version) {
        let text = env!("CARGO_PKG_VERSION");
        let result = output::Output::table(serde_json::json!({ "version": text }), vec![], vec![])
            .note(format!("stratus {text}"));
        return emit(&cli, &result, out).map(|()| 0);
    }
    if let args::Command::Connect { url } = &cli.command {
        return remote::connect(url, cli.global.json, out);
    }
    if let Some(base) = &cli.global.remote {
        return remote::run(&cli, base, out);
    }
    if let args::Command::Package {
        target: args::PackageTarget::Lambda { binary, out: zip },
    } = &cli.command
    {
        let result = package::lambda(binary.as_deref(), zip)?;
        return emit(&cli, &result, out).map(|()| 0);
    }
    if let args::Command::Deploy { manifest, action } = &cli.command {
        return match deploy::run(manifest, action, env, cli.global.quiet, out)? {
            deploy::Printed::Output(result, code) => emit(&cli, &result, out).map(|()| code),
            deploy::Printed::Done => Ok(0),
        };
    }
    let (home, store) = (cli.global.home.clone(), cli.global.store.clone());
    let layered = |key: &str| -> Option<String> {
        match (key, &home, &store) {
            ("STRATUS_HOME", Some(h), _) => Some(h.display().to_string()),
            ("STRATUS_STORE", _, Some(s)) => Some(s.clone()),
            _ => env(key),
        }
    };
    let settings = Settings::load(&layered).map_err(|e| AppError::Setup {
        message: e.to_string(),
    })?;
    if let args::Command::Serve { addr } = &cli.command {
        return serve(addr, settings, env, cli.global.quiet, out).map(|()| 0);
    }
    if let args::Command::Ingest {
        config,
        force,
        full,
        destination,
    } = &cli.command
    {
        let request = ingest::IngestRequest {
            config,
            force: *force,
            full: *full,
            destination: destination.as_deref(),
        };
        let (result, code) = ingest::run_ingest(&request, settings, &layered, cli.global.quiet)?;
        emit(&cli, &result, out)?;
        return Ok(code);
    }
    if let args::Command::Schedule {
        config,
        list,
        max_runs,
    } = &cli.command
    {
        if let Some(result) = ingest::run_schedule(config, *list, *max_runs, &layered, out, err)? {
            emit(&cli, &result, out)?;
        }
        return Ok(0);
    }
    if let args::Command::Jobs { action } = &cli.command {
        let result = jobs::run(action, settings, &layered, cli.global.quiet)?;
        return emit(&cli, &result, out).map(|()| 0);
    }
    if let Some(grid) = &cli.global.sweep {
        let result = sweep::run(&cli, grid, settings, &layered, cli.global.quiet)?;
        return emit(&cli, &result, out).map(|()| 0);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let args::Command::Cache { action } = &cli.command {
        let quiet = cli.global.quiet;
        let result = runtime.block_on(cache::run(action, &settings, quiet))?;
        return emit(&cli, &result, out).map(|()| 0);
    }
    let rebuilds = matches!(cli.command, args::Command::ClearCache { all: true, .. });
    let result = runtime.block_on(async {
        let mut analytics = open_analytics(settings, cli.global.quiet, rebuilds, err).await?;
        if !cli.global.quiet && commands::is_long_run(&cli.command) {
            analytics.set_progress(progress_bar());
        }
        let format = stratus_charts::Format::from_path(&chart_path(&cli))
            .unwrap_or(stratus_charts::Format::Svg);
        let result = match (&cli.global.report, &cli.command) {
            (Some(path), args::Command::Verb(args::Verb::Backtest(a))) => {
                match commands::backtest_with_report(&analytics, a).await {
                    Ok((result, html)) => {
                        files::write_atomically(path, html.as_bytes())?;
                        Ok(result.note(format!("wrote the tear sheet to {}", path.display())))
                    }
                    Err(e) => Err(e),
                }
            }
            _ => commands::dispatch(&cli.command, &analytics, format).await,
        };
        for notice in analytics.take_notices() {
            writeln!(err, "note: {notice}")?;
        }
        anyhow::Ok(result?)
    })?;
    emit(&cli, &result, out).map(|()| 0)
}

/// `stratus serve`: the HTTP API and web page until the process is stopped.
fn serve(
    addr: &str,
    settings: Settings,
    env: &dyn Fn(&str) -> Option<String>,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut options = stratus_server::ServerOptions::from_env(env);
    let workers = match stratus_app::vars::lookup(env, "STRATUS_SERVE_WORKERS") {
        None => 0,
        Some((name, text)) => text.trim().parse::<u16>().map_err(|_| AppError::Setup {
            message: format!(
                "{name}={text:?}: give a number of job workers from 0 to 65535, e.g. 2"
            ),
        })?,
    };
    runtime.block_on(async {
        if workers > 0 {
            let jobs = jobs::open(&settings).await?;
            options.jobs = Some(stratus_server::JobsHandle(jobs.clone()));
            let store = stratus_app::open_store(&settings).await?;
            let worker = jobs::worker(stratus_app::analytics(store, &settings), &settings, env);
            let pool = stratus_jobs::pool::PoolOptions {
                labourer_id: "local".into(),
                concurrency: usize::from(workers),
                scavenge: true,
                scavenge_every: std::time::Duration::from_secs(1),
                poll: std::time::Duration::from_millis(200),
                until: stratus_jobs::pool::Until::Forever,
            };
            tokio::spawn(async move {
                let _ = stratus_jobs::pool::run(jobs, Arc::new(worker), pool, &|_| {}).await;
            });
        }
        let analytics = open_analytics(settings, quiet, false, &mut std::io::sink()).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}; choose another --addr"))?;
        let local = listener.local_addr()?;
        if !quiet {
            writeln!(
                out,
                "serving http://{local}/ (API under /api, docs at /docs); Ctrl-C stops"
            )?;
            out.flush()?;
        }
        stratus_server::serve(listener, stratus_server::router(analytics, &options)).await?;
        Ok(())
    })
}

fn emit(cli: &Cli, result: &output::Output, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(chart) = &result.chart {
        let path = chart_path(cli);
        files::write_atomically(&path, chart)?;
        if cli.global.quiet {
            return Ok(());
        }
        if cli.global.json {
            let mut json = result.json.clone();
            if let Some(map) = json.as_object_mut() {
                map.insert(
                    "file".into(),
                    serde_json::Value::String(path.display().to_string()),
                );
            }
            serde_json::to_writer(&mut *out, &json)?;
            writeln!(out)?;
        } else {
            result.write_text(out)?;
            writeln!(out, "wrote {}", path.display())?;
        }
        return Ok(());
    }
    if let Some(path) = &cli.global.save {
        files::save(result, path)?;
    }
    if cli.global.quiet {
        return Ok(());
    }
    if cli.global.json {
        serde_json::to_writer(&mut *out, &result.json)?;
        writeln!(out)?;
    } else {
        result.write_text(out)?;
    }
    Ok(())
}

/// A progress bar on stderr (drawn only on a terminal) for long portfolio runs.
fn progress_bar() -> stratus_analytics::Progress {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:36} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Arc::new(move |stage: &str, done: u64, total: u64| {
        bar.set_message(stage.to_string());
        bar.set_length(total);
        bar.set_position(done);
        if done == total && stage == "frontier" {
            bar.finish_and_clear();
        }
    })
}

/// Where a chart goes: --save, or the command's default name in the current folder.
pub fn chart_path(cli: &Cli) -> std::path::PathBuf {
    cli.global
        .save
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(cli.command.default_chart_name()))
}

/// The services over the configured store, filled from the bundled data on first use. With
/// `rebuild` (the command empties the store anyway), a damaged store file is set aside first.
async fn open_analytics(
    settings: Settings,
    quiet: bool,
    rebuild: bool,
    err: &mut dyn Write,
) -> anyhow::Result<stratus_analytics::Analytics> {
    let store = if rebuild {
        let (store, aside) = stratus_app::open_store_recovering(&settings).await?;
        if let Some(aside) = aside {
            writeln!(
                err,
                "note: the store file was damaged; moved it to {} and started a new one",
                aside.display()
            )?;
        }
        store
    } else {
        stratus_app::open_store(&settings).await?
    };
    let analytics = stratus_app::analytics(store, &settings);
    seed_with_progress(&analytics, quiet).await?;
    Ok(analytics)
}

async fn seed_with_progress(
    analytics: &stratus_analytics::Analytics,
    quiet: bool,
) -> Result<(), AppError> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("loading bundled market data {bar:30} {pos}/{len} rows")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let update = |p: stratus_analytics::SeedProgress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let loaded = analytics.ensure_seeded(&update).await?;
    if loaded {
        bar.finish_and_clear();
    }
    Ok(())
}
