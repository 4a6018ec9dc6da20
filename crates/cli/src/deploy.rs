//! `stratus deploy …`: the command-line face of `stratus-deploy`. Rendering, policies and cost
//! need no AWS access; apply, status, verify, destroy and secrets use the standard AWS
//! configuration (`AWS_ENDPOINT_URL` for an emulator). Template and policy print their document
//! alone on standard output, so they pipe into files and linters.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use stratus_deploy::aws::{self, ApplyOptions, Aws, DeployError, Progress};
use stratus_deploy::iam::{Audience, policy_for};
use stratus_deploy::{Deployment, Manifest, cost, template, verify};
use stratus_verbs::args::{DeployAction, SecretAction};

use crate::output::Output;

/// What a deploy command printed: an `Output` for the usual text/JSON forms, or a document.
pub(crate) enum Printed {
    /// A result for `emit`.
    Output(Output, u8),
    /// Already written.
    Done,
}

fn load(manifest: &Path) -> Result<Deployment, DeployError> {
    // Only the default name may be absent (an empty manifest); a path given by hand that does not
    // exist is a typo, never "deploy the defaults".
    if !manifest.exists() && manifest != Path::new("stratus.deploy.toml") {
        return Err(DeployError::Input(format!(
            "no manifest at {}; write one with `stratus deploy init --manifest {}`",
            manifest.display(),
            manifest.display()
        )));
    }
    let parsed = Manifest::load(manifest)?;
    let base = manifest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(Deployment::new(&parsed, base)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Runs one `deploy` action.
pub(crate) fn run(
    manifest: &Path,
    action: &DeployAction,
    env: &dyn Fn(&str) -> Option<String>,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Printed> {
    match action {
        DeployAction::Init { force } => {
            if manifest.exists() && !force {
                return Err(DeployError::Input(format!(
                    "{} exists; pass --force to overwrite it",
                    manifest.display()
                ))
                .into());
            }
            crate::files::write_atomically(manifest, stratus_deploy::manifest::EXAMPLE.as_bytes())?;
            let result = Output::table(json!({"manifest": manifest.display().to_string()}), vec![], vec![])
                .note(format!(
                    "wrote {}: every key commented with its default; `stratus deploy template` shows what it deploys",
                    manifest.display()
                ));
            Ok(Printed::Output(result, 0))
        }
        DeployAction::Template { format, out: file } => {
            let deployment = load(manifest)?;
            let rendered = template::render(&deployment);
            let text = if format == "yaml" {
                template::to_yaml(&rendered)?
            } else {
                serde_json::to_string_pretty(&rendered)? + "\n"
            };
            match file {
                Some(path) => {
                    crate::files::write_atomically(path, text.as_bytes())?;
                    let resources = rendered["Resources"].as_object().map_or(0, |r| r.len());
                    let result = Output::table(
                        json!({"template": path.display().to_string(), "resources": resources, "bytes": text.len()}),
                        vec![],
                        vec![],
                    )
                    .note(format!("wrote {} ({resources} resources, {} bytes)", path.display(), text.len()));
                    Ok(Printed::Output(result, 0))
                }
                None => {
                    out.write_all(text.as_bytes())?;
                    Ok(Printed::Done)
                }
            }
        }
        DeployAction::Policy { audience, account } => {
            let deployment = load(manifest)?;
            let audience = Audience::parse(audience)
                .ok_or_else(|| DeployError::Input(format!("unknown --for {audience}")))?;
            if let Some(id) = account
                && !(id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(DeployError::Input(format!(
                    "--account {id:?} is not a 12-digit AWS account id"
                ))
                .into());
            }
            let policy = policy_for(audience, &deployment, account.as_deref().unwrap_or("*"));
            serde_json::to_writer_pretty(&mut *out, &policy)?;
            writeln!(out)?;
            Ok(Printed::Done)
        }
        DeployAction::Cost {
            requests,
            runs_per_month,
            memory_mb,
            duration_s,
            storage_gb,
        } => {
            let deployment = load(manifest)?;
            let finite = |name: &str, v: f64| {
                if (0.0..1e12).contains(&v) {
                    Ok(v)
                } else {
                    Err(DeployError::Input(format!(
                        "--{name} {v} must be a finite number ≥ 0"
                    )))
                }
            };
            let usage = cost::Usage {
                requests: *requests,
                runs_per_month: runs_per_month
                    .map(|v| finite("runs-per-month", v))
                    .transpose()?,
                memory_mb: *memory_mb,
                duration_s: finite("duration-s", *duration_s)?,
                storage_gb: finite("storage-gb", *storage_gb)?,
                ..cost::Usage::default()
            };
            if let Some(mb) = memory_mb
                && !(128..=10_240).contains(mb)
            {
                return Err(DeployError::Input(format!(
                    "--memory-mb {mb} is outside Lambda's 128–10240"
                ))
                .into());
            }
            let estimate = cost::estimate(&deployment, &usage);
            let rows = estimate["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    vec![
                        r["resource"].as_str().unwrap_or_default().to_string(),
                        r["detail"].as_str().unwrap_or_default().to_string(),
                        format!("${:.4}", r["usd_per_month"].as_f64().unwrap_or(0.0)),
                    ]
                })
                .collect();
            let note = format!(
                "total ${:.4}/month on {} (arm64 ${:.4}, x86_64 ${:.4}); {}; {}",
                estimate["total_usd_per_month"].as_f64().unwrap_or(0.0),
                estimate["architecture"].as_str().unwrap_or_default(),
                estimate["by_architecture"]["arm64"].as_f64().unwrap_or(0.0),
                estimate["by_architecture"]["x86_64"]
                    .as_f64()
                    .unwrap_or(0.0),
                cost::PRICES_AS_OF,
                estimate["free_tier"].as_str().unwrap_or_default(),
            );
            let result = Output::text_table(
                estimate,
                vec!["resource".into(), "assumption".into(), "USD/month".into()],
                rows,
            )
            .note(note);
            Ok(Printed::Output(result, 0))
        }
        DeployAction::Apply { yes, dry_run } => {
            let deployment = load(manifest)?;
            let m = &deployment.manifest;
            let read = |path: &Path, wanted: bool| -> anyhow::Result<Option<Vec<u8>>> {
                if !wanted {
                    return Ok(None);
                }
                match std::fs::read(path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            };
            let zip = read(&m.artifacts.zip, m.artifacts.image.is_empty())?;
            let cli = read(&m.artifacts.cli, !deployment.ec2_jobs.is_empty())?;
            let yes = *yes;
            let confirm = move |summary: &str| -> bool {
                if yes {
                    return true;
                }
                if !std::io::stdin().is_terminal() {
                    return false;
                }
                let _ = write!(std::io::stderr(), "{summary}. Apply? [y/N] ");
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                matches!(answer.trim(), "y" | "Y" | "yes")
            };
            let options = ApplyOptions {
                zip,
                cli,
                dry_run: *dry_run,
                confirm: &confirm,
                env,
            };
            let bar = spinner(quiet);
            let progress = |p: Progress<'_>| report(&bar, p);
            let applied = runtime()?.block_on(async {
                let aws = Aws::connect(&m.region, env).await;
                aws::apply(&aws, &deployment, &options, &progress).await
            });
            bar.finish_and_clear();
            let applied = applied?;
            let rows = applied
                .changes
                .iter()
                .map(|(a, l, t)| vec![a.clone(), l.clone(), t.clone()])
                .collect();
            let outputs: Vec<String> = applied
                .outputs
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default()))
                .collect();
            let note = format!(
                "{} {} in {:.1} s{}{}",
                applied.stack,
                applied.status,
                applied.seconds,
                applied
                    .code
                    .as_ref()
                    .map(|c| format!("; code {c}"))
                    .unwrap_or_default(),
                if outputs.is_empty() {
                    String::new()
                } else {
                    format!("\n{}", outputs.join("\n"))
                }
            );
            let result = Output::text_table(
                serde_json::to_value(&applied)?,
                vec!["action".into(), "resource".into(), "type".into()],
                rows,
            )
            .note(note);
            Ok(Printed::Output(result, 0))
        }
        DeployAction::Status => {
            let deployment = load(manifest)?;
            let status = runtime()?.block_on(async {
                let aws = Aws::connect(&deployment.manifest.region, env).await;
                aws::status(&aws, &deployment).await
            })?;
            let rows = status["outputs"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| vec![k.clone(), v.as_str().unwrap_or_default().to_string()])
                .collect();
            let note = format!(
                "{} {}{}",
                status["stack"].as_str().unwrap_or_default(),
                status["status"].as_str().unwrap_or_default(),
                status["reason"]
                    .as_str()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            let result =
                Output::text_table(status, vec!["output".into(), "value".into()], rows).note(note);
            Ok(Printed::Output(result, 0))
        }
        DeployAction::Verify => {
            let deployment = load(manifest)?;
            let checks = runtime()?.block_on(async {
                let aws = Aws::connect(&deployment.manifest.region, env).await;
                verify::verify(&aws, &deployment, env).await
            })?;
            let failed = checks.iter().filter(|c| c.ok == Some(false)).count();
            let rows = checks
                .iter()
                .map(|c| {
                    vec![
                        match c.ok {
                            Some(true) => "ok".to_string(),
                            Some(false) => "FAILED".to_string(),
                            None => "skipped".to_string(),
                        },
                        c.check.clone(),
                        c.detail.clone(),
                    ]
                })
                .collect();
            let json = json!({"passed": failed == 0, "checks": checks});
            let note = if failed == 0 {
                format!("{} checks passed", checks.len())
            } else {
                format!("{failed} of {} checks FAILED", checks.len())
            };
            let result =
                Output::text_table(json, vec!["".into(), "check".into(), "found".into()], rows)
                    .note(note);
            Ok(Printed::Output(result, u8::from(failed > 0)))
        }
        DeployAction::Destroy { yes } => {
            let deployment = load(manifest)?;
            let name = deployment.manifest.stack_name();
            if !yes {
                let confirmed = std::io::stdin().is_terminal() && {
                    let _ = write!(
                        std::io::stderr(),
                        "Delete stack {name}? Retained tables and the export bucket stay. [y/N] "
                    );
                    let mut answer = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut answer);
                    matches!(answer.trim(), "y" | "Y" | "yes")
                };
                if !confirmed {
                    return Err(DeployError::Input(format!(
                        "stack {name} not deleted; pass --yes to delete without asking"
                    ))
                    .into());
                }
            }
            let bar = spinner(quiet);
            let progress = |p: Progress<'_>| report(&bar, p);
            let done = runtime()?.block_on(async {
                let aws = Aws::connect(&deployment.manifest.region, env).await;
                aws::destroy(&aws, &deployment, &progress).await
            });
            bar.finish_and_clear();
            let done = done?;
            let note = format!(
                "deleted {name} in {:.1} s; kept: {}",
                done["seconds"].as_f64().unwrap_or(0.0),
                done["retained"]
                    .as_array()
                    .map(|r| r
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            Ok(Printed::Output(
                Output::table(done, vec![], vec![]).note(note),
                0,
            ))
        }
        DeployAction::Secret {
            action: SecretAction::Set { name },
        } => {
            let deployment = load(manifest)?;
            let mut value = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut value)
                .context("cannot read the secret from standard input")?;
            let value = value.trim_end_matches(['\n', '\r']);
            let stored = runtime()?.block_on(async {
                let aws = Aws::connect(&deployment.manifest.region, env).await;
                aws::set_secret(&aws, &deployment, name, value).await
            })?;
            let mut note = format!(
                "stored {name} as {} (version {})",
                stored["parameter"].as_str().unwrap_or_default(),
                stored["version"]
            );
            if stored["used_by_the_deployment"] == json!(false) {
                note.push_str(&format!(
                    "; note: no function reads it — add \"{name}\" to `secrets` in the manifest"
                ));
            }
            Ok(Printed::Output(
                Output::table(stored, vec![], vec![]).note(note),
                0,
            ))
        }
    }
}

fn spinner(quiet: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A line above the spinner; plain on standard error when it is not a terminal (CI logs).
fn say(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        if !std::io::stderr().is_terminal() && !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    } else {
        bar.println(line);
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn report(bar: &indicatif::ProgressBar, progress: Progress<'_>) {
    match progress {
        Progress::Step(step) => {
            say(bar, step);
            bar.set_message(step.to_string());
        }
        Progress::Event(event) => {
            let line = format!(
                "{:<32} {:<24} {}",
                event.logical_resource_id.as_deref().unwrap_or(""),
                event
                    .resource_status
                    .as_ref()
                    .map(|s| s.as_str())
                    .unwrap_or(""),
                event.resource_status_reason.as_deref().unwrap_or("")
            );
            say(bar, line.trim_end());
            bar.set_message(format!(
                "{} {}",
                event.logical_resource_id.as_deref().unwrap_or(""),
                event
                    .resource_status
                    .as_ref()
                    .map(|s| s.as_str())
                    .unwrap_or("")
            ));
        }
    }
}
