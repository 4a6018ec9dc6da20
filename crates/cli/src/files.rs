//! Writing results to files: checked before any work, written atomically.

use std::path::Path;

use anyhow::{Context, bail};
use stratus_verbs::output::Output;

/// Checks a --save path before any work is done, so a bad extension costs nothing.
pub(crate) fn check_save_path(path: &Path, plot: bool) -> anyhow::Result<()> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (extension.as_deref(), plot) {
        (Some("json" | "csv"), false) | (Some("svg" | "png"), true) => Ok(()),
        (_, false) => bail!(
            "cannot save to {}: use a .json or .csv file name",
            path.display()
        ),
        (_, true) => bail!(
            "cannot save a chart to {}: use a .svg or .png file name",
            path.display()
        ),
    }
}

/// Checks a --report path before any work: an .html file, for `backtest`, run here.
pub(crate) fn check_report_path(
    path: &Path,
    command: &stratus_verbs::args::Command,
    remote: bool,
) -> anyhow::Result<()> {
    use stratus_verbs::args::{Command, Verb};
    if !matches!(command, Command::Verb(Verb::Backtest(_))) {
        bail!("--report writes a backtest's tear sheet; use it with `stratus backtest`");
    }
    if remote {
        bail!(
            "--report is drawn locally; drop --remote, or save the JSON with --save and keep --remote"
        );
    }
    let html = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    if !html {
        bail!(
            "cannot write the tear sheet to {}: use a .html file name",
            path.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a failure never leaves half
/// a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

/// Writes the result to `path` atomically: a temporary file in the same folder, then a rename,
/// so a failure never leaves half a file.
pub(crate) fn save(output: &Output, path: &Path) -> anyhow::Result<()> {
    check_save_path(path, false)?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let body = if is_json {
        serde_json::to_string_pretty(&output.json)? + "\n"
    } else {
        output.csv()
    };
    write_atomically(path, body.as_bytes())
}
