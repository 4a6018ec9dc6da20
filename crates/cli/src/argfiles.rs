//! `--views @FILE` and the other per-ticker options read from a file on the command line.
//!
//! Views, budgets, weights, sectors and market caps outgrow a command line at a few dozen
//! tickers, so the CLI takes `@PATH` for them (curl's convention) and reads the file before
//! parsing: the file holds exactly what the option takes inline, one entry per line or separated
//! as inline, with `#` comments. Only the CLI does this — the HTTP API and Lambda take the same
//! text in the request itself and never open a path a caller names.

use std::ffi::OsString;

/// The options whose value may be `@PATH` (and `--mu bl:@PATH`, `--rebalance dates:@PATH`).
pub const FILE_OPTIONS: [&str; 9] = [
    "--tickers",
    "--rebalance",
    "--views",
    "--market-caps",
    "--budgets",
    "--weights",
    "--current",
    "--sectors",
    "--mu",
];

/// The largest argument file read (a list of 100 000 tickers is far smaller).
const LIMIT: u64 = 16 * 1024 * 1024;

/// A file an option named that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "{option} {value}: {reason}; give the entries inline (TICKER=V, comma- or newline-separated) or a readable UTF-8 file"
)]
pub struct ArgFileError {
    option: String,
    value: String,
    reason: String,
}

/// Replaces every `@PATH` value of the options in [`FILE_OPTIONS`] by the file's entries. Other
/// arguments, and everything after `--`, pass through untouched.
pub fn expand(argv: Vec<OsString>) -> Result<Vec<OsString>, ArgFileError> {
    let mut out = Vec::with_capacity(argv.len());
    let mut pending: Option<String> = None;
    let mut rest = false;
    for arg in argv {
        if rest {
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str().map(str::to_owned) else {
            pending = None;
            out.push(arg);
            continue;
        };
        if let Some(option) = pending.take() {
            out.push(expand_value(&option, &text)?.into());
            continue;
        }
        if text == "--" {
            rest = true;
        } else if let Some((option, value)) = text.split_once('=')
            && FILE_OPTIONS.contains(&option)
        {
            out.push(format!("{option}={}", expand_value(option, value)?).into());
            continue;
        } else if FILE_OPTIONS.contains(&text.as_str()) {
            pending = Some(text.clone());
        }
        out.push(arg);
    }
    Ok(out)
}

fn expand_value(option: &str, value: &str) -> Result<String, ArgFileError> {
    let (prefix, path) = match (option, value) {
        ("--mu", v) => match v.strip_prefix("bl:@") {
            Some(path) => ("bl:", path),
            None => return Ok(value.to_string()),
        },
        ("--rebalance", v) => match v.strip_prefix("dates:@") {
            Some(path) => ("dates:", path),
            None => return Ok(value.to_string()),
        },
        (_, v) => match v.strip_prefix('@') {
            Some(path) => ("", path),
            None => return Ok(value.to_string()),
        },
    };
    let fail = |reason: String| ArgFileError {
        option: option.to_string(),
        value: value.to_string(),
        reason,
    };
    if path.is_empty() {
        return Err(fail("'@' names no file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read {path}: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| fail(format!("cannot read {path}: {e}")))?
        .len();
    if size > LIMIT {
        return Err(fail(format!(
            "{path} holds {size} bytes, more than the {LIMIT} an argument file may"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read {path}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| fail(format!("{path} is not UTF-8 text")))?;
    // Views are separated by ';' or newlines, everything else by ',' or newlines: newlines work
    // for both, so each line is kept whole.
    let entries: Vec<&str> = text
        .lines()
        .map(|line| {
            line.split_once('#')
                .map_or(line, |(before, _)| before)
                .trim()
        })
        .filter(|line| !line.is_empty())
        .collect();
    if entries.is_empty() {
        return Err(fail(format!("{path} holds no entries")));
    }
    Ok(format!("{prefix}{}", entries.join("\n")))
}
