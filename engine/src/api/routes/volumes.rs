//! `/volumes/...`: list, create, inspect, remove, prune.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{blocking, no_filters, ApiError, ApiResult, Shared};
use crate::error::Error;
use crate::volume;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/volumes", get(volumes_list))
        .route("/volumes/create", post(volume_create))
        .route("/volumes/prune", post(volumes_prune))
        .route("/volumes/{name}", get(volume_inspect).delete(volume_remove))
}

async fn volumes_list(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    no_filters(&q)?;
    blocking(move || volume::list(&e.root))
        .await
        .map(|v| Json(json!({"Volumes": v, "Warnings": []})))
}

/// `POST /volumes/create`'s body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeBody {
    name: String,
    driver: String,
    labels: Option<std::collections::BTreeMap<String, String>>,
    driver_opts: Option<std::collections::BTreeMap<String, String>>,
}

async fn volume_create(
    State(e): State<Shared>,
    Json(body): Json<VolumeBody>,
) -> ApiResult<Response> {
    if !(body.driver.is_empty() || body.driver == "local")
        || body.driver_opts.as_ref().is_some_and(|o| !o.is_empty())
    {
        return Err(ApiError(Error::Invalid(
            "strata's engine has the local volume driver only, without options".to_owned(),
        )));
    }
    let opts = volume::CreateOptions {
        name: (!body.name.is_empty()).then_some(body.name),
        labels: Some(body.labels.unwrap_or_default()),
    };
    let made = blocking(move || volume::create(&e.root, &opts)).await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

async fn volume_inspect(
    State(e): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult<Json<volume::Volume>> {
    blocking(move || volume::inspect(&e.root, &name))
        .await
        .map(Json)
}

async fn volume_remove(State(e): State<Shared>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    blocking(move || volume::remove(&e.root, &name))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn volumes_prune(State(e): State<Shared>) -> ApiResult<Json<volume::Pruned>> {
    blocking(move || volume::prune(&e.root)).await.map(Json)
}
