//! `stratus cache provision | status | migrate`: operations on backends themselves, which must
//! work on an empty store (no seeding, no analytics).

use std::sync::Arc;

use serde_json::json;
use stratus_analytics::AppError;
use stratus_app::{Settings, StoreLocation};

use crate::args::CacheAction;
use crate::output::Output;

pub(crate) async fn run(
    action: &CacheAction,
    settings: &Settings,
    quiet: bool,
) -> Result<Output, AppError> {
    match action {
        CacheAction::Provision => {
            let created =
                stratus_app::provision(&StoreLocation::configured(settings), settings).await?;
            let note = if created.is_empty() {
                "every table the store needs exists with the expected layout".to_string()
            } else {
                format!("created {}", created.join(", "))
            };
            Ok(Output::table(json!({ "created": created }), vec![], vec![]).note(note))
        }
        CacheAction::Status { exact } => {
            let store = stratus_app::open_store(settings).await?;
            let status = if *exact {
                store.status().await?
            } else {
                store.estimated_status().await?
            };
            let backend = store.backend();
            let rows = vec![
                vec!["prices".into(), status.prices.to_string()],
                vec!["interest".into(), status.rates.to_string()],
                vec!["profile".into(), status.profiles.to_string()],
                vec!["correlations".into(), status.correlations.to_string()],
            ];
            Ok(Output::text_table(
                json!({
                    "backend": backend,
                    "location": status.description,
                    "items": { "prices": status.prices, "interest": status.rates, "profile": status.profiles, "correlations": status.correlations },
                }),
                vec!["table".into(), "items".into()],
                rows,
            )
            .note(format!("backend {backend}: {}", status.description)))
        }
        CacheAction::Snapshot { to, from } => {
            let target = StoreLocation::parse(to, settings)?;
            let source = match from {
                Some(from) => StoreLocation::parse(from, settings)?,
                None => StoreLocation::configured(settings),
            };
            let bar = progress(quiet, "upload");
            let report = stratus_app::snapshot::publish(&source, &target, settings, &bar).await?;
            let rows = vec![
                vec!["prices".into(), report.prices.to_string()],
                vec!["interest".into(), report.interest.to_string()],
                vec!["profile".into(), report.profiles.to_string()],
                vec!["correlations".into(), report.correlations.to_string()],
            ];
            let note = format!(
                "published {source} to {} ({} bytes, ETag {}); serve it with STRATUS_STORE={}",
                report.to,
                report.bytes,
                report.etag.as_deref().unwrap_or("none"),
                report.to
            );
            Ok(Output::text_table(
                serde_json::to_value(&report).unwrap_or_default(),
                vec!["table".into(), "items".into()],
                rows,
            )
            .note(note))
        }
        CacheAction::Migrate { from, to } => {
            let source = StoreLocation::parse(from, settings)?;
            let target = StoreLocation::parse(to, settings)?;
            let source_store = stratus_app::open(&source, settings).await?;
            // A source seeded from the bundled data gets it first (a no-op for any other).
            stratus_app::analytics(Arc::clone(&source_store), settings)
                .ensure_seeded(&|_| {})
                .await?;
            stratus_app::provision(&target, settings).await?;
            let target_store = stratus_app::open(&target, settings).await?;
            if target_store.capabilities().read_only {
                return Err(AppError::InvalidInput {
                    field: "to",
                    message: format!(
                        "{target} is read-only; publish a snapshot with `stratus cache snapshot --to {target}`"
                    ),
                });
            }
            let bar = progress(quiet, "correlations");
            let report =
                stratus_app::migrate::migrate(source_store.as_ref(), target_store.as_ref(), &bar)
                    .await?;
            let rows = [
                ("prices", &report.prices),
                ("interest", &report.interest),
                ("profile", &report.profiles),
                ("correlations", &report.correlations),
            ]
            .iter()
            .map(|(name, t)| {
                vec![
                    name.to_string(),
                    t.source.to_string(),
                    t.written.to_string(),
                    t.skipped.to_string(),
                ]
            })
            .collect();
            if let Some(mismatch) = &report.mismatch {
                return Err(AppError::NoData {
                    message: format!(
                        "the copy does not match the source after migration ({mismatch}); run the migration again"
                    ),
                });
            }
            let mut output = Output::text_table(
                serde_json::to_value(&report).unwrap_or_default(),
                ["table", "source items", "written", "already there"]
                    .map(String::from)
                    .to_vec(),
                rows,
            )
            .note(format!(
                "migrated {source} to {target}; verified item by item"
            ));
            if report.collided > 0 {
                output = output.note(format!(
                    "{} cached results share a (ticker, start_date) key with another in the target's scrilla layout; the later one was kept (they are recomputed on demand)",
                    report.collided
                ));
            }
            Ok(output)
        }
    }
}

fn progress(quiet: bool, last_stage: &'static str) -> impl Fn(&str, u64, u64) + Sync {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{msg:14} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    move |stage: &str, done: u64, total: u64| {
        bar.set_message(stage.to_string());
        bar.set_length(total);
        bar.set_position(done);
        if stage == last_stage && done == total {
            bar.finish_and_clear();
        }
    }
}
