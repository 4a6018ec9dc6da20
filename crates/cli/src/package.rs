//! `stratus package lambda`: the deployment zip for the `provided.al2023` runtime.
//!
//! Lambda's custom runtimes start an executable called `bootstrap` at the root of the zip, so
//! the package is exactly that: the `stratus-lambda` binary under that name, executable, and
//! nothing else. The architecture is read from the ELF header so the note can say which Lambda
//! architecture (x86_64 or arm64) to choose.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;
use stratus_verbs::output::Output;

/// The Lambda architecture of an ELF executable, from its header.
fn architecture(binary: &[u8]) -> anyhow::Result<&'static str> {
    if binary.len() < 20 || &binary[..4] != b"\x7fELF" {
        bail!("not a Linux executable (no ELF header)");
    }
    match u16::from_le_bytes([binary[18], binary[19]]) {
        0x3E => Ok("x86_64"),
        0xB7 => Ok("arm64"),
        other => bail!("ELF machine {other:#x} is neither x86_64 nor arm64"),
    }
}

/// Zips `binary` as `bootstrap` into `out`.
pub(crate) fn lambda(binary: Option<&Path>, out: &Path) -> anyhow::Result<Output> {
    let binary: PathBuf = binary.map_or_else(
        || PathBuf::from("target/release/stratus-lambda"),
        Path::to_path_buf,
    );
    let bytes = std::fs::read(&binary).with_context(|| {
        format!(
            "cannot read the Lambda binary {}; build it first with `cargo build --release -p stratus-lambda` (for arm64: add --target aarch64-unknown-linux-gnu, see the README)",
            binary.display()
        )
    })?;
    let arch = architecture(&bytes).with_context(|| format!("{}", binary.display()))?;
    let mut zipped = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .unix_permissions(0o755);
        writer.start_file("bootstrap", options)?;
        writer.write_all(&bytes)?;
        writer.finish()?;
    }
    if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    crate::files::write_atomically(out, &zipped)?;
    let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
    let json = json!({
        "zip": out.display().to_string(),
        "zip_bytes": zipped.len(),
        "binary": binary.display().to_string(),
        "binary_bytes": bytes.len(),
        "runtime": "provided.al2023",
        "handler": "bootstrap",
        "architecture": arch,
    });
    let rows = vec![
        vec![
            "zip".into(),
            out.display().to_string(),
            format!("{:.1} MiB", mib(zipped.len())),
        ],
        vec![
            "bootstrap".into(),
            binary.display().to_string(),
            format!("{:.1} MiB", mib(bytes.len())),
        ],
    ];
    Ok(
        Output::table(json, vec!["".into(), "file".into(), "size".into()], rows).note(format!(
            "runtime provided.al2023, architecture {arch}, handler bootstrap"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_holds_one_executable_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        // This test's own executable is a real ELF binary of the build's architecture.
        let me = std::env::current_exe().unwrap();
        let out = dir.path().join("pkg/lambda.zip");
        let result = lambda(Some(&me), &out).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.size(), std::fs::metadata(&me).unwrap().len());
        assert_eq!(
            result.json["architecture"],
            if cfg!(target_arch = "aarch64") {
                "arm64"
            } else {
                "x86_64"
            }
        );
        let e = lambda(Some(&dir.path().join("missing")), &out).unwrap_err();
        assert!(format!("{e:#}").contains("cargo build --release -p stratus-lambda"));
        std::fs::write(dir.path().join("text"), "#!/bin/sh\n").unwrap();
        let e = lambda(Some(&dir.path().join("text")), &out).unwrap_err();
        assert!(format!("{e:#}").contains("ELF"), "{e:#}");
    }
}
