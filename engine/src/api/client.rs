//! The client the `strata` CLI uses when given a host (`-H`, `STRATA_HOST`): one HTTP/1.1
//! request per connection, over a unix socket or TCP, on a single-threaded tokio runtime of
//! its own (the CLI is synchronous). Requests and answers are the API's, as [`super::routes`]
//! serves them; a tar to import or load is streamed from its reader, not held in memory.

use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::wire::{self, CreateBody};
use crate::container::create::CreateOptions;
use crate::container::logs::LogLine;
use crate::container::remove::RemoveOptions;
use crate::error::{Error, Result};
use crate::image::import::ImportOptions;
use crate::volume::{CreateOptions as VolumeOptions, Pruned, Volume};

type RequestBody = BoxBody<Bytes, std::io::Error>;

/// Where the daemon listens.
#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

/// A connection-per-request client of one engine daemon.
#[derive(Debug)]
pub struct Client {
    host: String,
    endpoint: Endpoint,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client of the daemon at `host`: `unix:///path` or `tcp://HOST:PORT`.
    pub fn new(host: &str) -> Result<Client> {
        let endpoint = if let Some(path) = host.strip_prefix("unix://") {
            Endpoint::Unix(PathBuf::from(path))
        } else if let Some(addr) = host.strip_prefix("tcp://") {
            Endpoint::Tcp(addr.to_owned())
        } else {
            return Err(Error::Invalid(format!(
                "host {host:?}: expected unix:///path or tcp://HOST:PORT"
            )));
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Os {
                what: "starting the tokio runtime",
                source: e,
            })?;
        Ok(Client {
            host: host.to_owned(),
            endpoint,
            runtime,
        })
    }

    fn unreachable(&self, detail: impl ToString) -> Error {
        Error::Unreachable {
            host: self.host.clone(),
            detail: detail.to_string(),
        }
    }

    /// Sends one request; the answer's head, and its body still to read. An error status
    /// becomes [`Error::Api`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: RequestBody,
        content_type: &str,
    ) -> Result<Response<Incoming>> {
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("/v{}{path}", super::API_VERSION))
            .header(hyper::header::HOST, "strata")
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(body)
            .map_err(|e| Error::Invalid(format!("{method} {path}: {e}")))?;
        let response = match &self.endpoint {
            Endpoint::Unix(socket) => {
                let stream = tokio::net::UnixStream::connect(socket)
                    .await
                    .map_err(|e| self.unreachable(e))?;
                self.exchange(TokioIo::new(stream), request).await?
            }
            Endpoint::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| self.unreachable(e))?;
                self.exchange(TokioIo::new(stream), request).await?
            }
        };
        if response.status().is_client_error() || response.status().is_server_error() {
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(Error::Api {
                method: method.to_string(),
                path: path.to_owned(),
                status,
                message,
            });
        }
        Ok(response)
    }

    async fn exchange<S>(
        &self,
        io: TokioIo<S>,
        request: Request<RequestBody>,
    ) -> Result<Response<Incoming>>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| self.unreachable(e))?;
        tokio::spawn(connection);
        sender
            .send_request(request)
            .await
            .map_err(|e| self.unreachable(e))
    }

    /// Sends one request and reads the whole answer.
    fn whole(
        &self,
        method: Method,
        path: &str,
        body: RequestBody,
        content_type: &str,
    ) -> Result<Bytes> {
        self.runtime.block_on(async {
            let response = self.send(method, path, body, content_type).await?;
            response
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .map_err(|e| self.unreachable(e))
        })
    }

    /// A request with a JSON body (or none); the whole answer.
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Bytes> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let full: RequestBody = Full::new(bytes).map_err(|never| match never {}).boxed();
        self.whole(method, path, full, "application/json")
    }

    fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let bytes = self.call(method, path, body)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{path}: unexpected answer: {e}")))
    }

    /// Uploads `input` (a tar) to `path`; the JSON messages of the answer.
    fn upload(&self, path: &str, mut input: impl Read + Send + 'static) -> Result<Vec<Value>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Frame<Bytes>>>(8);
        std::thread::spawn(move || {
            let mut chunk = vec![0u8; 256 * 1024];
            loop {
                match input.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => {
                        let frame = Frame::data(Bytes::copy_from_slice(&chunk[..n]));
                        if tx.blocking_send(Ok(frame)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let body: RequestBody = StreamBody::new(stream).boxed();
        let bytes = self.whole(Method::POST, path, body, "application/x-tar")?;
        let messages: Vec<Value> = String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        match messages.iter().find_map(|m| m["error"].as_str()) {
            Some(error) => Err(Error::Api {
                method: "POST".to_owned(),
                path: path.to_owned(),
                status: 200,
                message: error.to_owned(),
            }),
            None => Ok(messages),
        }
    }

    /// `POST /containers/create`; the new container's id. A name is checked here as the
    /// engine checks it: the API reads an empty `?name=` as no name, as dockerd does.
    pub fn create(&self, opts: &CreateOptions) -> Result<String> {
        let name = opts
            .name
            .as_deref()
            .map(crate::container::validate_name)
            .transpose()?
            .map(|n| format!("?name={}", encode(n.trim_start_matches('/'))))
            .unwrap_or_default();
        let body = serde_json::to_value(CreateBody::from_options(opts))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let answer: Value = self.call_json(
            Method::POST,
            &format!("/containers/create{name}"),
            Some(body),
        )?;
        Ok(answer["Id"].as_str().unwrap_or_default().to_owned())
    }

    /// `POST /containers/{name}/start`.
    pub fn start(&self, name: &str) -> Result<()> {
        let path = format!("/containers/{}/start", encode(name));
        self.call(Method::POST, &path, None).map(drop)
    }

    /// `POST /containers/{name}/stop?t=`.
    pub fn stop(&self, name: &str, seconds: Option<u64>) -> Result<()> {
        let t = seconds.map(|s| format!("?t={s}")).unwrap_or_default();
        let path = format!("/containers/{}/stop{t}", encode(name));
        self.call(Method::POST, &path, None).map(drop)
    }

    /// `POST /containers/{name}/kill?signal=`.
    pub fn kill(&self, name: &str, signal: &str) -> Result<()> {
        let path = format!(
            "/containers/{}/kill?signal={}",
            encode(name),
            encode(signal)
        );
        self.call(Method::POST, &path, None).map(drop)
    }

    /// `POST /containers/{name}/wait`; the exit code.
    pub fn wait(&self, name: &str) -> Result<i32> {
        let path = format!("/containers/{}/wait", encode(name));
        let answer: Value = self.call_json(Method::POST, &path, None)?;
        Ok(answer["StatusCode"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(-1))
    }

    /// `DELETE /containers/{name}?force=&v=`.
    pub fn remove(&self, name: &str, opts: &RemoveOptions) -> Result<()> {
        let path = format!(
            "/containers/{}?force={}&v={}",
            encode(name),
            u8::from(opts.force),
            u8::from(opts.volumes)
        );
        self.call(Method::DELETE, &path, None).map(drop)
    }

    /// `GET /containers/{name}/logs`: every line (and, with `follow`, every line to come
    /// until the container stops) handed to `sink`. Lines carry no time (the API sends it
    /// only with `timestamps`).
    pub fn logs(&self, name: &str, follow: bool, sink: &mut dyn FnMut(LogLine)) -> Result<()> {
        let path = format!(
            "/containers/{}/logs?stdout=1&stderr=1&follow={}",
            encode(name),
            u8::from(follow)
        );
        let empty: RequestBody = Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed();
        self.runtime.block_on(async {
            let response = self.send(Method::GET, &path, empty, "text/plain").await?;
            let mut body = response.into_body();
            let mut buf: Vec<u8> = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| self.unreachable(e))?;
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
                while let Some((stream, payload, used)) = wire::unframe(&buf) {
                    sink(LogLine {
                        log: String::from_utf8_lossy(payload).into_owned(),
                        stream: stream.to_owned(),
                        time: String::new(),
                    });
                    buf.drain(..used);
                }
            }
            Ok(())
        })
    }

    /// `POST /volumes/create`.
    pub fn volume_create(&self, opts: &VolumeOptions) -> Result<Volume> {
        let body = json!({"Name": opts.name.clone().unwrap_or_default(),
                          "Driver": "local", "Labels": opts.labels});
        self.call_json(Method::POST, "/volumes/create", Some(body))
    }

    /// `GET /volumes`.
    pub fn volume_list(&self) -> Result<Vec<Volume>> {
        let answer: Value = self.call_json(Method::GET, "/volumes", None)?;
        serde_json::from_value(answer["Volumes"].clone())
            .map_err(|e| Error::Invalid(format!("/volumes: unexpected answer: {e}")))
    }

    /// `GET /volumes/{name}`.
    pub fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.call_json(Method::GET, &format!("/volumes/{}", encode(name)), None)
    }

    /// `DELETE /volumes/{name}`.
    pub fn volume_remove(&self, name: &str) -> Result<()> {
        let path = format!("/volumes/{}", encode(name));
        self.call(Method::DELETE, &path, None).map(drop)
    }

    /// `POST /volumes/prune`.
    pub fn volume_prune(&self) -> Result<Pruned> {
        self.call_json(Method::POST, "/volumes/prune", None)
    }

    /// `POST /images/create?fromSrc=-`: imports the tar `input`; the image id.
    pub fn import(
        &self,
        input: impl Read + Send + 'static,
        opts: &ImportOptions,
    ) -> Result<String> {
        let (repo, tag) = match opts.reference.as_deref() {
            Some(r) => match r.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                Some((repo, tag)) => (repo.to_owned(), tag.to_owned()),
                None => (r.to_owned(), String::new()),
            },
            None => (String::new(), String::new()),
        };
        let path = format!(
            "/images/create?fromSrc=-&repo={}&tag={}&message={}",
            encode(&repo),
            encode(&tag),
            encode(opts.message.as_deref().unwrap_or_default())
        );
        let messages = self.upload(&path, input)?;
        Ok(messages
            .iter()
            .find_map(|m| m["status"].as_str())
            .unwrap_or_default()
            .to_owned())
    }

    /// `POST /images/load`: loads the archive `input`; the daemon's lines
    /// (`Loaded image: …`).
    pub fn load(&self, input: impl Read + Send + 'static) -> Result<Vec<String>> {
        let messages = self.upload("/images/load", input)?;
        Ok(messages
            .iter()
            .filter_map(|m| m["stream"].as_str())
            .map(|s| s.trim_end().to_owned())
            .collect())
    }
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
