//! The Python side of a bench: `tools/bench/<script>` run with the spec as its argument, its
//! standard output read as JSON. Without the Python stack the bench says so and prints only
//! Stratus's times.

pub(crate) fn python_peer(script: &str, spec: &serde_json::Value) -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/bench")
        .join(script);
    let output = std::process::Command::new("python3")
        .arg(path)
        .arg(spec.to_string())
        .output()
        .ok()?;
    if !output.status.success() {
        println!(
            "(Python peer unavailable: {})",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}
