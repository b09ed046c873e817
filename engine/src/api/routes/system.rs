//! `/_ping`, `/version`, `/info` and `/system/df`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::{blocking, ApiResult, Shared};
use crate::api::wire;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/_ping", get(ping))
        .route("/version", get(|| async { Json(wire::version()) }))
        .route("/info", get(info))
        .route("/system/df", get(system_df))
}

async fn ping() -> Response {
    (
        [
            ("Api-Version", crate::api::API_VERSION),
            ("Ostype", "linux"),
            ("Docker-Experimental", "false"),
            (
                header::CACHE_CONTROL.as_str(),
                "no-cache, no-store, must-revalidate",
            ),
        ],
        "OK",
    )
        .into_response()
}

async fn info(State(e): State<Shared>) -> ApiResult<Json<Value>> {
    blocking(move || wire::info(&e.root)).await.map(Json)
}

async fn system_df(State(e): State<Shared>) -> ApiResult<Json<analyzers::usage::df::DfReport>> {
    blocking(move || {
        let store = e.root.load()?;
        Ok(analyzers::usage::df::compute(
            &store,
            &analyzers::usage::df::DfOptions::default(),
        ))
    })
    .await
    .map(Json)
}
