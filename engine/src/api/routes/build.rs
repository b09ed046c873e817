//! `POST /build`: the classic builder.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::{body_reader, ApiError, ApiResult, Shared};
use crate::error::Error;

/// This module's part of the router.
pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/build", post(build_image))
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
