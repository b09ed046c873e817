//! `/images/...`: list, load, import.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{blocking, body_reader, messages, no_filters, ApiError, ApiResult, Shared};
use crate::error::Error;
use crate::image::import::ImportOptions;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/images/json", get(images_list))
        .route("/images/load", post(images_load))
        .route("/images/create", post(images_create))
}

async fn images_list(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    no_filters(&q)?;
    blocking(move || {
        let store = e.root.load()?;
        Ok(serde_json::to_value(analyzers::usage::df::list_images(&store)).unwrap_or_default())
    })
    .await
    .map(Json)
}

async fn images_load(State(e): State<Shared>, body: Body) -> ApiResult<Response> {
    let reader = body_reader(body);
    let written =
        blocking(move || crate::image::load::load(&e.root, reader, "POST /images/load")).await?;
    let lines: Vec<Value> = crate::image::load::loaded_lines(&written)
        .into_iter()
        .map(|l| json!({"stream": format!("{l}\n")}))
        .collect();
    Ok(messages(&lines))
}

async fn images_create(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    if q.get("fromSrc").map(String::as_str) != Some("-") {
        return Err(ApiError(Error::Invalid(
            "strata's engine does not pull: only POST /images/create?fromSrc=- (import) \
             is supported"
                .to_owned(),
        )));
    }
    let reference = q.get("repo").filter(|r| !r.is_empty()).map(|repo| {
        match q.get("tag").filter(|t| !t.is_empty()) {
            Some(tag) => format!("{repo}:{tag}"),
            None => repo.clone(),
        }
    });
    let opts = ImportOptions {
        reference,
        source: "-".to_owned(),
        message: q.get("message").filter(|m| !m.is_empty()).cloned(),
    };
    let reader = body_reader(body);
    let written = blocking(move || crate::image::import::import(&e.root, reader, &opts)).await?;
    Ok(messages(&[json!({"status": written.id.to_string()})]))
}
