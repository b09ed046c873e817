//! `GET /containers/{id}/logs`: the json-file log as multiplexed frames, followed or not.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::containers::resolve;
use super::{blocking, channel_body, flag, ApiError, ApiResult, Shared};
use crate::api::wire;
use crate::container;
use crate::error::Error;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/containers/{id}/logs", get(container_logs))
}

/// Refuses the log options strata does not implement (`since`, `until` and `details` when
/// they ask for something) and any parameter `GET /containers/{id}/logs` does not have,
/// naming it: a log cut at other times than asked would be a wrong answer.
fn refuse_unsupported_log_options(q: &HashMap<String, String>) -> ApiResult<()> {
    for (key, value) in q {
        let asks = match key.as_str() {
            "stdout" | "stderr" | "follow" | "timestamps" | "tail" => false,
            "since" | "until" => !value.is_empty() && value != "0",
            "details" => flag(q, "details"),
            _ => true,
        };
        if asks {
            return Err(ApiError(Error::Invalid(format!(
                "logs: the {key}={value} option is not supported by strata's engine"
            ))));
        }
    }
    Ok(())
}

async fn container_logs(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    refuse_unsupported_log_options(&q)?;
    let (stdout, stderr) = (flag(&q, "stdout"), flag(&q, "stderr"));
    let (follow, timestamps) = (flag(&q, "follow"), flag(&q, "timestamps"));
    let tail: Option<usize> = q.get("tail").and_then(|t| t.parse().ok());
    // The log is checked before the head is sent, so that a record whose `LogPath` is
    // refused answers 400 rather than a 200 whose stream breaks off.
    let id = {
        let e = Arc::clone(&e);
        blocking(move || {
            let id = resolve(&e, &name)?;
            container::logs::log_path(&e.root, &id, &container::record::load(&e.root, &id)?)?;
            Ok(id)
        })
        .await?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::task::spawn_blocking(move || {
        let mut send = |line: container::logs::LogLine| {
            let wanted = if line.stream == "stderr" {
                stderr
            } else {
                stdout
            };
            if !wanted {
                return true;
            }
            let text = if timestamps {
                format!("{} {}", line.time, line.log)
            } else {
                line.log
            };
            tx.blocking_send(Ok(Bytes::from(wire::frame(&line.stream, text.as_bytes()))))
                .is_ok()
        };
        let result = if follow {
            container::logs::follow(&e.root, &id, tail, &mut send)
        } else {
            container::logs::read(&e.root, &id).map(|lines| {
                let skip = tail.map_or(0, |n| lines.len().saturating_sub(n));
                for line in lines.into_iter().skip(skip) {
                    if !send(line) {
                        break;
                    }
                }
            })
        };
        if let Err(err) = result {
            let _ = tx.blocking_send(Err(std::io::Error::other(err.to_string())));
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.docker.raw-stream")],
        channel_body(rx),
    )
        .into_response())
}
