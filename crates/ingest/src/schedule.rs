//! Cron schedules for long-running `stratus schedule` processes.
//!
//! A schedule is data — a name, a cron expression in UTC, and a stratus command line — so the
//! same definitions can run here in a loop or become EventBridge rules in a deployment. Times
//! are computed with `croner` (5 fields, or 6 with seconds first; names like MON-FRI allowed).

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::Deserialize;

/// A schedule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// The jobs.
    #[serde(rename = "job", default)]
    pub jobs: Vec<JobConfig>,
}

/// One job as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Name in logs.
    pub name: String,
    /// Cron expression (UTC).
    pub cron: String,
    /// The stratus command line, without the program name.
    pub command: Vec<String>,
}

/// A job with its parsed expression.
#[derive(Debug, Clone)]
pub struct Job {
    /// Name.
    pub name: String,
    /// The expression as written.
    pub expression: String,
    /// Command line.
    pub command: Vec<String>,
    cron: Cron,
}

impl Job {
    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

/// A schedule that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ScheduleError {
    /// The file.
    pub path: String,
    /// What to fix.
    pub reason: String,
}

/// Reads and checks a schedule file.
pub fn load(path: &Path) -> Result<Vec<Job>, ScheduleError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScheduleError {
        path: shown.clone(),
        reason: format!("cannot read it ({e}); see schedule.example.toml"),
    })?;
    parse(&shown, &text)
}

/// Parses schedule text; `path` names it in errors.
pub fn parse(path: &str, text: &str) -> Result<Vec<Job>, ScheduleError> {
    let error = |reason: String| ScheduleError {
        path: path.to_string(),
        reason,
    };
    let file: ScheduleFile = toml::from_str(text).map_err(|e| error(e.to_string()))?;
    if file.jobs.is_empty() {
        return Err(error("no [[job]] tables".into()));
    }
    file.jobs
        .into_iter()
        .map(|job| {
            let cron = Cron::from_str(job.cron.trim()).map_err(|e| {
                error(format!(
                    "job {:?}: bad cron {:?} ({e}); expected e.g. \"30 22 * * MON-FRI\"",
                    job.name, job.cron
                ))
            })?;
            if job.command.is_empty() {
                return Err(error(format!("job {:?}: empty command", job.name)));
            }
            if job.command[0] == "schedule" {
                return Err(error(format!(
                    "job {:?}: a schedule cannot run `schedule`",
                    job.name
                )));
            }
            Ok(Job {
                name: job.name,
                expression: job.cron,
                command: job.command,
                cron,
            })
        })
        .collect()
}

/// The next instant after `now` at which a job is due, and every job due then (in the order
/// listed), so that jobs sharing an instant all run, one after the other.
pub fn next_due(jobs: &[Job], now: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<usize>)> {
    let times: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.next_after(now)).collect();
    let when = times.iter().flatten().min().copied()?;
    let due = times
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == Some(when))
        .map(|(i, _)| i)
        .collect();
    Some((when, due))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekday_evening_jobs_skip_the_weekend() {
        let jobs = parse(
            "s.toml",
            "[[job]]\nname = \"n\"\ncron = \"30 22 * * MON-FRI\"\ncommand = [\"ingest\"]\n",
        )
        .unwrap();
        // Friday 2026-11-20 23:00 → Monday 2026-11-23 22:30.
        let next = jobs[0].next_after(at("2026-11-20T23:00:00Z")).unwrap();
        assert_eq!(next, at("2026-11-23T22:30:00Z"));
    }

    #[test]
    fn the_earliest_job_is_due_first_and_seconds_are_allowed() {
        let text = "[[job]]\nname = \"a\"\ncron = \"0 0 * * *\"\ncommand = [\"ingest\"]\n\
                    [[job]]\nname = \"b\"\ncron = \"*/10 * * * * *\"\ncommand = [\"version\"]\n";
        let jobs = parse("s.toml", text).unwrap();
        let (when, due) = next_due(&jobs, at("2026-11-23T10:00:01Z")).unwrap();
        assert_eq!((when, due), (at("2026-11-23T10:00:10Z"), vec![1]));
    }

    #[test]
    fn jobs_due_at_the_same_instant_are_all_due() {
        let text = "[[job]]\nname = \"a\"\ncron = \"0 * * * *\"\ncommand = [\"version\"]\n\
                    [[job]]\nname = \"b\"\ncron = \"*/30 * * * *\"\ncommand = [\"version\"]\n\
                    [[job]]\nname = \"c\"\ncron = \"0 0 * * *\"\ncommand = [\"version\"]\n";
        let jobs = parse("s.toml", text).unwrap();
        let (when, due) = next_due(&jobs, at("2026-11-23T10:45:00Z")).unwrap();
        assert_eq!((when, due), (at("2026-11-23T11:00:00Z"), vec![0, 1]));
        let (when, due) = next_due(&jobs, at("2026-11-23T23:59:59Z")).unwrap();
        assert_eq!((when, due), (at("2026-11-24T00:00:00Z"), vec![0, 1, 2]));
    }

    #[test]
    fn bad_schedules_are_named() {
        let e = parse(
            "s.toml",
            "[[job]]\nname = \"x\"\ncron = \"61 * * * *\"\ncommand = [\"ingest\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("job \"x\": bad cron"), "{e}");
        assert!(
            parse("s.toml", "")
                .unwrap_err()
                .to_string()
                .contains("no [[job]]")
        );
        let example = include_str!("../../../schedule.example.toml");
        assert_eq!(parse("schedule.example.toml", example).unwrap().len(), 2);
    }
}
