//! `/images/...`: list (filtered), inspect, history, tag, remove, prune, load, import.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{blocking, body_reader, flag, messages, ApiError, ApiResult, Shared};
use crate::api::filters::Filters;
use crate::error::Error;
use crate::image::import::ImportOptions;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/images/json", get(images_list))
        .route("/images/load", post(images_load))
        .route("/images/create", post(images_create))
        .route("/images/prune", post(images_prune))
        .route(
            "/images/{*name}",
            get(images_get).delete(images_delete).post(images_post),
        )
}

/// Refuses a query parameter outside `known`, naming it.
fn only(q: &HashMap<String, String>, known: &[&str]) -> ApiResult<()> {
    match q.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError(Error::Invalid(format!(
            "query parameter {k:?} is not supported by strata's engine"
        )))),
        None => Ok(()),
    }
}

async fn images_list(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    // `digests` asks for RepoDigests, always given; `shared-size` for SharedSize, always
    // computed; `only_ids` is the SDK's, which derives the ids itself.
    only(
        &q,
        &["filters", "all", "digests", "shared-size", "only_ids"],
    )?;
    let filters = Filters::parse(
        q.get("filters").map(String::as_str),
        crate::image::list::LIST_FILTERS,
    )
    .map_err(ApiError)?;
    let all = flag(&q, "all");
    blocking(move || {
        let rows = crate::image::list::list(&e.root, &filters, all)?;
        Ok(serde_json::to_value(rows).unwrap_or_default())
    })
    .await
    .map(Json)
}

/// `GET /images/{name}/json` and `/images/{name}/history` (names may hold `/`).
async fn images_get(
    State(e): State<Shared>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    only(&q, &[])?;
    let (name, what) = split_action(&path)?;
    blocking(move || match what.as_str() {
        "json" => Ok(
            serde_json::to_value(crate::image::inspect::inspect(&e.root, &name)?)
                .unwrap_or_default(),
        ),
        "history" => Ok(
            serde_json::to_value(crate::image::history::history(&e.root, &name)?)
                .unwrap_or_default(),
        ),
        _ => Err(Error::not_found("image endpoint", &path)),
    })
    .await
    .map(Json)
}

/// `POST /images/{name}/tag?repo=&tag=`.
async fn images_post(
    State(e): State<Shared>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (name, what) = split_action(&path)?;
    if what != "tag" {
        return Err(ApiError(Error::not_found("image endpoint", &path)));
    }
    only(&q, &["repo", "tag"])?;
    let repo = q.get("repo").cloned().unwrap_or_default();
    let target = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo,
    };
    blocking(move || crate::image::tag::tag(&e.root, &name, &target)).await?;
    Ok(StatusCode::CREATED.into_response())
}

/// `DELETE /images/{name}?force=&noprune=`.
async fn images_delete(
    State(e): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    only(&q, &["force", "noprune"])?;
    let opts = crate::image::remove::RemoveOptions {
        force: flag(&q, "force"),
        no_prune: flag(&q, "noprune"),
    };
    blocking(move || {
        let items = crate::image::remove::remove(&e.root, &name, opts)?;
        Ok(serde_json::to_value(items).unwrap_or_default())
    })
    .await
    .map(Json)
}

/// `POST /images/prune?filters=`.
async fn images_prune(
    State(e): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    only(&q, &["filters"])?;
    let filters = Filters::parse(
        q.get("filters").map(String::as_str),
        crate::image::prune::PRUNE_FILTERS,
    )
    .map_err(ApiError)?;
    blocking(move || {
        let report = crate::image::prune::prune(&e.root, &filters)?;
        Ok(serde_json::to_value(report).unwrap_or_default())
    })
    .await
    .map(Json)
}

/// `name/json` → (`name`, `json`): the image name may itself hold `/`.
fn split_action(path: &str) -> ApiResult<(String, String)> {
    path.rsplit_once('/')
        .map(|(name, what)| (name.to_owned(), what.to_owned()))
        .ok_or_else(|| ApiError(Error::not_found("image endpoint", path)))
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
