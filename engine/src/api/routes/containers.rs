//! `/containers/...`: list, create, inspect, start, stop, kill, wait, changes, remove.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{blocking, channel_body, flag, no_filters, ApiError, ApiResult, Engine, Shared};
use crate::api::wire::{self, CreateBody};
use crate::container::{self, remove::RemoveOptions};

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/containers/json", get(containers_list))
        .route("/containers/create", post(container_create))
        .route("/containers/{id}/json", get(container_inspect))
        .route("/containers/{id}/start", post(container_start))
        .route("/containers/{id}/stop", post(container_stop))
        .route("/containers/{id}/kill", post(container_kill))
        .route("/containers/{id}/wait", post(container_wait))
        .route("/containers/{id}/changes", get(container_changes))
        .route("/containers/{id}", delete(container_remove))
}

async fn containers_list(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    no_filters(&q)?;
    let all = flag(&q, "all");
    blocking(move || {
        let store = e.root.load()?;
        let now = chrono::Utc::now().timestamp();
        let rows = analyzers::usage::df::list_containers(&store, now);
        let listed: Vec<Value> = rows
            .into_iter()
            .filter(|c| all || c.state == "running")
            .map(|c| {
                let mut v = serde_json::to_value(&c).unwrap_or_default();
                if let Some(obj) = v.as_object_mut() {
                    for k in ["SizeRw", "SizeRootFs", "MountId"] {
                        obj.remove(k);
                    }
                    obj.insert("Ports".to_owned(), json!([]));
                    obj.insert("HostConfig".to_owned(), json!({"NetworkMode": "none"}));
                    obj.insert("NetworkSettings".to_owned(), json!({"Networks": {}}));
                }
                v
            })
            .collect();
        Ok(Value::Array(listed))
    })
    .await
    .map(Json)
}

async fn container_create(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult<Response> {
    let opts = crate::api::fields::check_query(&q)
        .and_then(|()| CreateBody::parse(&body))
        .and_then(|b| b.into_options(q.get("name").cloned()))
        .map_err(ApiError)?;
    let id = blocking(move || container::create::create(&e.root, &opts)).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warnings": []}))).into_response())
}

/// Resolves the `{id}` of a path (full id, prefix or name).
pub(super) fn resolve(e: &Engine, name: &str) -> crate::Result<String> {
    container::resolve(&e.root, name)
}

async fn container_inspect(
    State(e): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(move || wire::inspect(&e.root, &resolve(&e, &name)?))
        .await
        .map(Json)
}

async fn container_start(
    State(e): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    blocking(move || {
        let id = resolve(&e, &name)?;
        if container::record::load(&e.root, &id)?.state.running {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        let mut supervisor = container::start::start(&e.root, &id, &e.program)?;
        // The supervisor is this process's child: something must reap it.
        std::thread::spawn(move || supervisor.wait());
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn container_stop(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    blocking(move || {
        let id = resolve(&e, &name)?;
        let rec = container::record::load(&e.root, &id)?;
        if !rec.state.running {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        let grace = q
            .get("t")
            .and_then(|t| t.parse::<u64>().ok())
            .map_or_else(|| container::stop::default_grace(&rec), Duration::from_secs);
        container::stop::stop(&e.root, &id, grace)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn container_kill(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let signal = q
        .get("signal")
        .cloned()
        .unwrap_or_else(|| "KILL".to_owned());
    blocking(move || {
        let id = resolve(&e, &name)?;
        container::stop::kill(&e.root, &id, container::stop::parse_signal(&signal)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Answers at once and sends the body when the container meets the condition: the Docker
/// CLI waits for the answer's head before it starts the container it waits for.
async fn container_wait(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let condition = q.get("condition").cloned().unwrap_or_default();
    let id = {
        let e = Arc::clone(&e);
        blocking(move || resolve(&e, &name)).await?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::task::spawn_blocking(move || {
        let body = match container::wait::wait(&e.root, &id, &condition) {
            Ok(code) => json!({"StatusCode": code, "Error": null}),
            Err(err) => json!({"StatusCode": -1, "Error": {"Message": err.to_string()}}),
        };
        let _ = tx.blocking_send(Ok(Bytes::from(format!("{body}\n"))));
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        channel_body(rx),
    )
        .into_response())
}

async fn container_changes(
    State(e): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let id = resolve(&e, &name)?;
        let changes = container::changes::changes(&e.root, &id)?;
        Ok(changes
            .iter()
            .map(|c| json!({"Path": c.path, "Kind": container::changes::docker_kind(c.kind)}))
            .collect())
    })
    .await
    .map(Json)
}

async fn container_remove(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let opts = RemoveOptions {
        force: flag(&q, "force"),
        volumes: flag(&q, "v"),
    };
    blocking(move || {
        let id = resolve(&e, &name)?;
        container::remove::remove(&e.root, &id, &opts)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
