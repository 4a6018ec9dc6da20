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

/// The glibc of Amazon Linux 2023, the `provided.al2023` runtime.
const AL2023_GLIBC: (u32, u32) = (2, 34);

/// The newest `GLIBC_x.y` symbol version an executable asks for (none for a static binary).
fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    let tag = b"GLIBC_";
    let mut newest = None;
    let mut at = 0;
    while let Some(offset) = binary[at..].windows(tag.len()).position(|w| w == tag) {
        let start = at + offset + tag.len();
        let text: String = binary[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .map(|b| *b as char)
            .collect();
        let mut parts = text.split('.').map(|p| p.parse::<u32>());
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
            newest = newest.max(Some((major, minor)));
        }
        at = start;
    }
    newest
}

/// Whether `binary` carries the identity string that `stratus-lambda` embeds. The string is
/// assembled here at run time, so that this program (the CLI) never holds it whole and cannot be
/// mistaken for the handler.
fn is_lambda_handler(binary: &[u8]) -> bool {
    let identity = ["stratus-lambda", "bootstrap", "v1"].join("/");
    binary
        .windows(identity.len())
        .any(|w| w == identity.as_bytes())
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
    if let Some((major, minor)) = newest_glibc(&bytes).filter(|v| *v > AL2023_GLIBC) {
        bail!(
            "{} needs glibc {major}.{minor}, newer than the {}.{} of provided.al2023, so Lambda could not start it; build it with `cargo zigbuild --release -p stratus-lambda --target x86_64-unknown-linux-gnu.2.34` (or for x86_64-unknown-linux-musl), or on a system with glibc 2.34 or older",
            binary.display(),
            AL2023_GLIBC.0,
            AL2023_GLIBC.1
        );
    }
    if !is_lambda_handler(&bytes) {
        bail!(
            "{} is not the Stratus Lambda handler (the `stratus` command line, or another program?); Lambda would start it and time out. Build and package stratus-lambda: `cargo build --release -p stratus-lambda`, then `stratus package lambda`",
            binary.display()
        );
    }
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
        Output::text_table(json, vec!["".into(), "file".into(), "size".into()], rows).note(
            format!("runtime provided.al2023, architecture {arch}, handler bootstrap"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes this test executable carry the handler's identity, as `stratus-lambda` does.
    static IDENTITY: &str = "stratus-lambda/bootstrap/v1";

    #[test]
    fn a_zip_holds_one_executable_bootstrap() {
        assert!(!std::hint::black_box(IDENTITY).is_empty());
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
        // A binary asking for a newer glibc than Amazon Linux 2023 has is refused.
        let mut too_new = b"\x7fELF".to_vec();
        too_new.resize(20, 0);
        too_new[18] = 0x3E;
        // (Built at run time: the literal would put a too-new tag into this very test binary,
        // which the first check packages.)
        too_new.extend_from_slice(
            format!("\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.{}\0", 30 + 8).as_bytes(),
        );
        std::fs::write(dir.path().join("new"), &too_new).unwrap();
        let e = lambda(Some(&dir.path().join("new")), &out).unwrap_err();
        assert!(format!("{e:#}").contains("glibc 2.38"), "{e:#}");
        assert_eq!(newest_glibc(b"x GLIBC_2.17 y GLIBC_2.34"), Some((2, 34)));
        assert_eq!(newest_glibc(b"static"), None);
        // An executable that is not the handler (say, the CLI) is refused.
        let mut other = b"\x7fELF".to_vec();
        other.resize(20, 0);
        other[18] = 0x3E;
        other.extend_from_slice(b"\0GLIBC_2.17\0the stratus command line\0");
        std::fs::write(dir.path().join("stratus"), &other).unwrap();
        let e = lambda(Some(&dir.path().join("stratus")), &out).unwrap_err();
        assert!(
            format!("{e:#}").contains("not the Stratus Lambda handler"),
            "{e:#}"
        );
        std::fs::write(dir.path().join("text"), "#!/bin/sh\n").unwrap();
        let e = lambda(Some(&dir.path().join("text")), &out).unwrap_err();
        assert!(format!("{e:#}").contains("ELF"), "{e:#}");
    }
}
