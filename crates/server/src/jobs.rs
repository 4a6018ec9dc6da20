//! Long work on the job system: a backtest posted with `Prefer: respond-async` is checked, queued
//! and answered 202; `GET /api/jobs/{job}` reports its state and, once done, exactly the JSON the
//! synchronous call returns. Only when the server runs job workers (`STRATUS_SERVE_WORKERS`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stratus_analytics::{Analytics, ErrorClass};

use crate::api::{ApiError, Shared};

/// `Prefer: respond-async` (RFC 7240): the client would rather poll than wait.
pub(crate) fn prefers_async(headers: &header::HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

fn jobs_error(error: stratus_jobs::JobsError) -> ApiError {
    match error {
        stratus_jobs::JobsError::NotFound(message) => {
            ApiError::classified(ErrorClass::NotFound, message, Some("job".into()))
        }
        stratus_jobs::JobsError::Store(e) => stratus_app::tasks::app_error(e).into(),
        stratus_jobs::JobsError::Job(e) => {
            ApiError::classified(ErrorClass::UserInput, e.0, Some("job".into()))
        }
    }
}

/// A backtest queued on the job system: checked now (a bad parameter is a 400, not a dead task),
/// answered 202 with the job to poll.
pub(crate) async fn queue(
    analytics: &Analytics,
    jobs: &stratus_jobs::Jobs,
    params: &Value,
) -> Result<Response, ApiError> {
    stratus_verbs::request::command_from_json("backtest", params)?;
    let job = json!({
        "verb": "backtest",
        "labourer": "local",
        "tasks": [{ "params": params }],
    });
    let Value::Object(job) = job else {
        unreachable!("a JSON object literal")
    };
    let submission = jobs
        .submit(&job, analytics.today(), None)
        .await
        .map_err(jobs_error)?;
    let poll = format!("/api/jobs/{}", submission.job_id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, poll.clone())],
        axum::Json(json!({ "job": submission.job_id, "state": "queued", "poll": poll })),
    )
        .into_response())
}

/// `GET /api/jobs/{job}`: a queued backtest's state, and its result once done.
pub(crate) async fn job(State(state): Shared, Path(job): Path<String>) -> Response {
    let Some(jobs) = &state.jobs else {
        return ApiError::classified(
            ErrorClass::NotFound,
            "this server runs no job workers (start it with STRATUS_SERVE_WORKERS=2)".into(),
            None,
        )
        .into_response();
    };
    let answer = async {
        let status = jobs.status(&job).await.map_err(jobs_error)?;
        let mut body = json!({
            "job": job,
            "tasks": status.tasks,
            "completed": status.completed,
            "dead": status.dead,
        });
        let state = if status.dead > 0 {
            let results = jobs.results(&job).await.map_err(jobs_error)?;
            body["error"] = json!(results.dead.first().and_then(|d| d.error.clone()));
            "failed"
        } else if status.tasks > 0 && status.completed == status.tasks {
            let results = jobs.results(&job).await.map_err(jobs_error)?;
            body["result"] = results
                .results
                .into_iter()
                .next()
                .map_or(Value::Null, |r| r.result);
            "done"
        } else if status.running > 0 {
            "running"
        } else {
            "queued"
        };
        body["state"] = json!(state);
        Ok::<_, ApiError>(axum::Json(body).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}
