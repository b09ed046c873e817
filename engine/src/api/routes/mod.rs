//! The routes: Docker Engine API paths mapped to the engine's verbs, one handler per
//! endpoint, each running the (blocking) verb on tokio's blocking pool; one module per area
//! ([`system`], [`containers`], [`logs`], [`images`], [`volumes`], [`build`]), each giving
//! its part of the router, and here what they share (the state, errors, bodies).
//!
//! | path | verb |
//! | --- | --- |
//! | `GET /_ping`, `GET /version`, `GET /info` | [`wire::version`], [`wire::info`] |
//! | `GET /containers/json` | `analyzers::usage::df::list_containers` |
//! | `POST /containers/create` | [`container::create`] |
//! | `GET /containers/{id}/json` | [`wire::inspect`] |
//! | `POST /containers/{id}/start`, `stop`, `kill`, `wait` | [`container::start`], [`container::stop`], [`container::wait`] |
//! | `GET /containers/{id}/logs` | [`container::logs`] (multiplexed frames) |
//! | `GET /containers/{id}/changes` | [`container::changes`] |
//! | `DELETE /containers/{id}` | [`container::remove`] |
//! | `GET /images/json` | `analyzers::usage::df::list_images` |
//! | `POST /images/load`, `POST /images/create?fromSrc=-` | [`crate::image::load`], [`crate::image::import`] |
//! | `GET /volumes`, `POST /volumes/create`, `GET`/`DELETE /volumes/{name}`, `POST /volumes/prune` | [`crate::volume`] |
//! | `GET /system/df` | `analyzers::usage::df::compute` |
//! | `POST /build` | [`crate::build::build`] (the classic builder; the context tar is the body) |
//!
//! Every path is also served under a version prefix (`/v1.41/...`), which is stripped before
//! routing. Errors are `{"message": ...}` with Docker's status codes: 404 for what does not
//! exist, 409 for a conflict, 400 for a bad request, 500 otherwise.

mod build;
mod containers;
mod images;
mod logs;
mod system;
mod volumes;

pub use volumes::VolumeBody;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde_json::{json, Value};

use crate::error::Error;
use crate::root::Root;

/// What every handler shares: the root and the strata binary (to start supervisors).
struct Engine {
    root: Root,
    program: PathBuf,
}

type Shared = Arc<Engine>;

/// The routed service, version prefixes stripped first.
pub type Service =
    axum::routing::IntoMakeService<tower::util::MapRequest<Router, fn(Request) -> Request>>;

/// The API over `root`; `program` is the strata binary.
pub fn service(root: Root, program: PathBuf) -> Service {
    let shared = Arc::new(Engine { root, program });
    let router = Router::new()
        .merge(system::routes())
        .merge(containers::routes())
        .merge(logs::routes())
        .merge(images::routes())
        .merge(volumes::routes())
        .merge(build::routes())
        .with_state(shared);
    let strip: fn(Request) -> Request = strip_version;
    axum::ServiceExt::<Request>::into_make_service(tower::ServiceExt::<Request>::map_request(
        router, strip,
    ))
}

/// `/v1.41/containers/json` → `/containers/json`.
fn strip_version(mut req: Request) -> Request {
    let path = req.uri().path();
    let versioned = path
        .strip_prefix("/v")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if let Some((_, rest)) = versioned {
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("/{rest}{query}").parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// An engine error as Docker's API reports one.
struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::Lookup { .. } => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Invalid(_) | Error::Refused { .. } | Error::Malformed { .. } => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"message": self.0.to_string()}))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs a blocking verb on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError),
        Err(e) => Err(ApiError(Error::Runtime {
            id: String::new(),
            action: "handling a request",
            detail: e.to_string(),
        })),
    }
}

/// Docker's boolean query values: `1`, `true`, `True`.
fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"))
}

/// Refuses a non-empty `filters` parameter: strata does not filter lists, and answering a
/// filtered question with the whole list would be a wrong answer.
fn no_filters(q: &HashMap<String, String>) -> ApiResult<()> {
    let filters = q.get("filters").map(String::as_str).unwrap_or_default();
    let empty = filters.is_empty()
        || serde_json::from_str::<serde_json::Map<String, Value>>(filters).is_ok_and(|m| {
            m.values().all(|v| {
                v.as_object().is_some_and(|o| o.is_empty())
                    || v.as_array().is_some_and(Vec::is_empty)
            })
        });
    if empty {
        Ok(())
    } else {
        Err(ApiError(Error::Invalid(format!(
            "filters are not supported by strata's engine: {filters}"
        ))))
    }
}

/// A body streamed from what a blocking task sends on `rx`.
fn channel_body(rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// The request body as a blocking reader (for the verbs that read a tar).
fn body_reader(body: Body) -> impl std::io::Read + Send + 'static {
    let stream = body
        .into_data_stream()
        .map(|chunk| chunk.map_err(std::io::Error::other));
    tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream))
}

/// A one-shot JSON-message stream (`application/json`, one object per line), as the image
/// endpoints answer.
fn messages(lines: &[Value]) -> Response {
    let mut body = String::new();
    for l in lines {
        body.push_str(&l.to_string());
        body.push('\n');
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_filters_are_accepted() {
        let q = |f: &str| HashMap::from([("filters".to_owned(), f.to_owned())]);
        assert!(no_filters(&HashMap::new()).is_ok());
        assert!(no_filters(&q("{}")).is_ok());
        assert!(no_filters(&q(r#"{"dangling":{}}"#)).is_ok());
        assert!(no_filters(&q(r#"{"name":{"web":true}}"#)).is_err());
    }

    #[test]
    fn version_prefixes_are_stripped() {
        let req = |uri: &str| {
            strip_version(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .uri()
                .to_string()
        };
        assert_eq!(
            req("/v1.41/containers/json?all=1"),
            "/containers/json?all=1"
        );
        assert_eq!(req("/containers/json"), "/containers/json");
        assert_eq!(req("/volumes/v1"), "/volumes/v1");
        assert_eq!(req("/v1.24/_ping"), "/_ping");
    }
}
