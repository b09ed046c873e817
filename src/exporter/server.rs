//! The HTTP side: `GET /metrics` (text format 0.0.4), `GET /` (a page linking it), 404
//! elsewhere; scans run on blocking threads, never on the async workers; SIGTERM and SIGINT
//! end it gracefully (exit 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::refresh::Exporter;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds `listen`, starts the background walks every `interval` and serves until SIGTERM or
/// SIGINT.
pub fn serve(exporter: Exporter, listen: SocketAddr, interval: Duration) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("--listen {listen}"))?;
        let exporter = Arc::new(exporter);
        let walker = Arc::clone(&exporter);
        std::thread::Builder::new()
            .name("strata-walk".to_owned())
            .spawn(move || walker.walk_every(interval))
            .context("starting the walk thread")?;
        let app = Router::new()
            .route("/", get(index))
            .route("/metrics", get(metrics))
            .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
            .with_state(exporter);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving")
    })
}

async fn index() -> Html<&'static str> {
    Html(
        "<html><head><title>strata exporter</title></head><body><h1>strata exporter</h1>\
         <p><a href=\"/metrics\">Metrics</a></p></body></html>\n",
    )
}

async fn metrics(State(exporter): State<Arc<Exporter>>) -> Response {
    match tokio::task::spawn_blocking(move || exporter.scrape()).await {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("scrape failed: {e}\n"),
        )
            .into_response(),
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without handlers the default dispositions apply (the process ends at once).
        _ => std::future::pending().await,
    }
}
