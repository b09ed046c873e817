//! The host's dockerd version, for the containerd image store's accounting rules: `dockerd
//! --version` of the first dockerd on `PATH` (then `/usr/bin`, `/usr/sbin`), with a deadline.
//! Versions before 24 had no containerd image store and say nothing about one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use analyzers::backend::{DockerVersion, VersionSource};

/// How long `dockerd --version` may take.
const DEADLINE: Duration = Duration::from_secs(5);
/// The first dockerd release with a containerd image store.
const FIRST_WITH_CONTAINERD_STORE: DockerVersion = DockerVersion::new(24, 0, 0);

/// The version of the host's dockerd, and where it came from; `None` when there is no dockerd,
/// it does not answer, or it predates the containerd image store.
pub fn detect() -> Option<(DockerVersion, VersionSource)> {
    let binary = find()?;
    let version = DockerVersion::from_banner(&banner(&binary)?)?;
    (version >= FIRST_WITH_CONTAINERD_STORE)
        .then(|| (version, VersionSource::Binary(binary.display().to_string())))
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("dockerd"))
        .find(|p| p.is_file())
}

fn banner(binary: &Path) -> Option<String> {
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    Some(out)
}
