//! The routes: Docker Engine API paths mapped to the engine's verbs, one handler per
//! endpoint, each running the (blocking) verb on tokio's blocking pool.
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

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::wire::{self, CreateBody};
use crate::container::{self, remove::RemoveOptions};
use crate::error::Error;
use crate::image::import::ImportOptions;
use crate::root::Root;
use crate::volume;

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
        .route("/_ping", get(ping))
        .route("/version", get(|| async { Json(wire::version()) }))
        .route("/info", get(info))
        .route("/containers/json", get(containers_list))
        .route("/containers/create", post(container_create))
        .route("/containers/{id}/json", get(container_inspect))
        .route("/containers/{id}/start", post(container_start))
        .route("/containers/{id}/stop", post(container_stop))
        .route("/containers/{id}/kill", post(container_kill))
        .route("/containers/{id}/wait", post(container_wait))
        .route("/containers/{id}/logs", get(container_logs))
        .route("/containers/{id}/changes", get(container_changes))
        .route("/containers/{id}", axum::routing::delete(container_remove))
        .route("/images/json", get(images_list))
        .route("/images/load", post(images_load))
        .route("/images/create", post(images_create))
        .route("/volumes", get(volumes_list))
        .route("/volumes/create", post(volume_create))
        .route("/volumes/prune", post(volumes_prune))
        .route("/volumes/{name}", get(volume_inspect).delete(volume_remove))
        .route("/system/df", get(system_df))
        .route("/build", post(build_image))
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

async fn ping() -> Response {
    (
        [
            ("Api-Version", super::API_VERSION),
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
    let opts = super::fields::check_query(&q)
        .and_then(|()| CreateBody::parse(&body))
        .and_then(|b| b.into_options(q.get("name").cloned()))
        .map_err(ApiError)?;
    let id = blocking(move || container::create::create(&e.root, &opts)).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warnings": []}))).into_response())
}

/// Resolves the `{id}` of a path (full id, prefix or name).
fn resolve(e: &Engine, name: &str) -> crate::Result<String> {
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

/// A body streamed from what a blocking task sends on `rx`.
fn channel_body(rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
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

/// `POST /build`: the classic builder (what `DOCKER_BUILDKIT=0 docker build` asks for). The
/// body is the context as a tar (gzip accepted); it is unpacked into a directory under the
/// root's `tmp/` (the tar crate refuses entries that would land outside it), built with
/// `dockerfile` (a path inside the context, `Dockerfile` by default), `t` (repeatable),
/// `buildargs` (JSON), `nocache` and `q`, and removed. Progress streams as Docker's
/// `{"stream": …}` lines while the build runs; the image id comes as `{"aux": {"ID": …}}`, a
/// failure as `{"error": …, "errorDetail": {"message": …}}`.
async fn build_image(
    State(e): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> ApiResult<Response> {
    let param = |key: &str| {
        q.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let dockerfile = param("dockerfile").unwrap_or_else(|| "Dockerfile".to_owned());
    if std::path::Path::new(&dockerfile)
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(ApiError(Error::Invalid(format!(
            "dockerfile {dockerfile:?} must be a relative path inside the context"
        ))));
    }
    let build_args: std::collections::BTreeMap<String, Option<String>> = match param("buildargs") {
        Some(text) if !text.is_empty() => serde_json::from_str(&text)
            .map_err(|err| ApiError(Error::Invalid(format!("buildargs {text:?}: {err}"))))?,
        _ => std::collections::BTreeMap::new(),
    };
    let tags: Vec<String> = q
        .iter()
        .filter(|(k, v)| k == "t" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let no_cache = param("nocache").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"));
    let quiet = param("q").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let reader = body_reader(body);
    tokio::task::spawn_blocking(move || {
        let send = |v: Value| {
            let _ = tx.send(Bytes::from(format!("{v}\n")));
        };
        let result = (|| -> crate::build::Result<crate::build::Built> {
            let tmp = e.root.tmp_dir();
            std::fs::create_dir_all(&tmp).map_err(|err| Error::io(&tmp, err))?;
            let dir = tempfile::Builder::new()
                .prefix("build-context-")
                .tempdir_in(&tmp)
                .map_err(|err| Error::io(&tmp, err))?;
            unpack_context(reader, dir.path())?;
            let opts = crate::build::BuildOptions {
                dockerfile: dir.path().join(&dockerfile),
                context: dir.path().to_path_buf(),
                tags,
                build_args: build_args
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect(),
                no_cache,
                program: e.program.clone(),
                cancel: Arc::default(),
            };
            crate::build::build(&e.root, &opts, &mut |event| {
                if quiet {
                    return;
                }
                let (text, _) = crate::build::progress::text(&event);
                send(json!({ "stream": text }));
            })
        })();
        match result {
            Ok(built) => {
                send(json!({"aux": {"ID": built.id.to_string()}}));
                if quiet {
                    send(json!({ "stream": format!("{}\n", built.id) }));
                } else {
                    for line in crate::build::progress::finished(&built) {
                        send(json!({ "stream": line }));
                    }
                }
            }
            Err(err) => {
                let message = err.to_string();
                send(json!({"error": message, "errorDetail": {"message": message}}));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<Bytes, std::convert::Infallible>(chunk), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Unpacks a build context tar (plain or gzip) into `dir`; entries that would land outside it
/// are refused by the tar crate.
fn unpack_context(reader: impl std::io::Read, dir: &std::path::Path) -> crate::Result<()> {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(reader);
    let gzip = reader
        .fill_buf()
        .map_err(|err| Error::io(dir, err))?
        .starts_with(&[0x1f, 0x8b]);
    let unpacked = if gzip {
        tar::Archive::new(flate2::read::GzDecoder::new(reader)).unpack(dir)
    } else {
        tar::Archive::new(reader).unpack(dir)
    };
    unpacked.map_err(|err| Error::io(dir, err))
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
