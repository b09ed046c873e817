//! `strata engine serve`: the daemon. It refuses a root a running dockerd uses ([`guard`]),
//! repairs what a crash left ([`reconcile`]), then serves the API ([`crate::api`]) on unix
//! sockets and TCP ports until SIGINT or SIGTERM.
//!
//! The daemon is a tokio process; it never clones a container itself: starting one spawns
//! the container's supervisor (`strata engine-shim`, a process of its own), where
//! libcontainer runs, so no `clone` ever happens in a multi-threaded runtime.

pub mod guard;
pub mod reconcile;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// What `engine serve` takes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data root.
    pub root: PathBuf,
    /// The storage driver (as [`Root::open`] chooses when `None`).
    pub driver: Option<String>,
    /// Where to listen: `unix:///path` or `tcp://HOST:PORT`.
    pub hosts: Vec<String>,
    /// Accept a TCP address that is not loopback.
    pub allow_remote: bool,
    /// Serve a root that a running dockerd uses.
    pub force: bool,
    /// The strata binary (what runs the supervisors).
    pub program: PathBuf,
}

/// The default socket, as dockerd's is `/run/docker.sock`.
pub const DEFAULT_HOST: &str = "unix:///run/strata.sock";

/// Where the daemon listens.
#[derive(Debug)]
pub enum Listener {
    /// A unix socket (created 0660).
    Unix(tokio::net::UnixListener, PathBuf),
    /// A TCP port.
    Tcp(tokio::net::TcpListener, SocketAddr),
}

/// A daemon ready to serve: root opened and repaired, sockets bound.
#[derive(Debug)]
pub struct Prepared {
    /// The data root.
    pub root: Root,
    /// What the start repaired.
    pub reconciled: reconcile::Reconciled,
    /// The listeners.
    pub listeners: Vec<Listener>,
    /// Things the operator must hear (a TCP port open beyond loopback).
    pub warnings: Vec<String>,
    /// The exclusive lock that keeps a second strata daemon off this root.
    _lock: Flock<std::fs::File>,
}

/// Opens the root (refusing one a dockerd uses unless `force`), takes the root's daemon
/// lock, reconciles, and binds every host. Must run inside a tokio runtime.
pub fn prepare(opts: &ServeOptions) -> Result<Prepared> {
    // Before anything is written to it.
    let existing = std::fs::canonicalize(&opts.root).ok();
    if let (Some(path), false) = (&existing, opts.force) {
        if let Some(d) = guard::dockerd_using(path) {
            return Err(Error::Conflict(format!(
                "{}: in use by dockerd (pid {}: {}); stop it, or pass --force",
                path.display(),
                d.pid,
                d.cmdline
            )));
        }
    }
    let root = Root::open(&opts.root, opts.driver.as_deref())?;
    let exec = crate::container::exec_root(&root);
    std::fs::create_dir_all(&exec).at(&exec)?;
    let lock_path = exec.join("engine.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .at(&lock_path)?;
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| {
        Error::Conflict(format!(
            "{}: another strata engine serves this root (lock {})",
            root.path.display(),
            lock_path.display()
        ))
    })?;
    let reconciled = reconcile::reconcile(&root)?;
    let mut listeners = Vec::new();
    let mut warnings = Vec::new();
    let hosts = if opts.hosts.is_empty() {
        vec![DEFAULT_HOST.to_owned()]
    } else {
        opts.hosts.clone()
    };
    for host in &hosts {
        listeners.push(bind(host, opts.allow_remote, &mut warnings)?);
    }
    Ok(Prepared {
        root,
        reconciled,
        listeners,
        warnings,
        _lock: lock,
    })
}

fn bind(host: &str, allow_remote: bool, warnings: &mut Vec<String>) -> Result<Listener> {
    if let Some(path) = host.strip_prefix("unix://") {
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).at(parent)?;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
            _ => {}
        }
        let listener = tokio::net::UnixListener::bind(&path).at(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).at(&path)?;
        return Ok(Listener::Unix(listener, path));
    }
    let Some(addr) = host.strip_prefix("tcp://") else {
        return Err(Error::Invalid(format!(
            "-H {host}: expected unix:///path or tcp://HOST:PORT"
        )));
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| Error::Invalid(format!("-H {host}: {e}")))?;
    if !addr.ip().is_loopback() {
        if !allow_remote {
            return Err(Error::Invalid(format!(
                "-H {host}: not a loopback address; an unauthenticated engine port is a root \
                 shell for whoever reaches it (pass --allow-remote to listen anyway)"
            )));
        }
        warnings.push(format!(
            "listening on {addr} without TLS or authentication: anyone who reaches this port \
             controls this host as root"
        ));
    }
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| Error::Invalid(format!("-H {host}: cannot listen: {e}")))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| Error::Invalid(format!("-H {host}: {e}")))?;
    let listener = tokio::net::TcpListener::from_std(std_listener)
        .map_err(|e| Error::Invalid(format!("-H {host}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    Ok(Listener::Tcp(listener, local))
}

impl Prepared {
    /// Serves the API on every listener until SIGINT or SIGTERM; then removes the unix
    /// sockets. Running containers keep running (their supervisors own them).
    pub async fn serve(self, program: PathBuf) -> Result<()> {
        let app = crate::api::routes::service(self.root.clone(), program);
        let mut tasks = tokio::task::JoinSet::new();
        let mut sockets = Vec::new();
        for listener in self.listeners {
            let app = app.clone();
            match listener {
                Listener::Unix(l, path) => {
                    sockets.push(path);
                    tasks.spawn(async move { axum::serve(l, app).await });
                }
                Listener::Tcp(l, _) => {
                    tasks.spawn(async move { axum::serve(l, app).await });
                }
            }
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Error::Os {
                what: "installing the SIGTERM handler",
                source: e,
            })?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            Some(done) = tasks.join_next() => {
                if let Ok(Err(e)) = done {
                    return Err(Error::Os { what: "serving a listener", source: e });
                }
            }
        }
        for path in sockets {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}

/// Runs the daemon on a runtime of its own: [`prepare`], `announce` (the binary reports
/// warnings and what was repaired), then [`Prepared::serve`] until SIGINT or SIGTERM.
pub fn run(opts: &ServeOptions, announce: impl FnOnce(&Prepared)) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::Os {
        what: "starting the tokio runtime",
        source: e,
    })?;
    runtime.block_on(async {
        let prepared = prepare(opts)?;
        announce(&prepared);
        prepared.serve(opts.program.clone()).await
    })
}
