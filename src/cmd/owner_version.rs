//! The version of the program that writes a store, for the rules that changed between its
//! releases: dockerd's for the containerd image store (`--version` of the running dockerd
//! whose data root is the store, its `/proc/<pid>/exe`, else of the first dockerd on `PATH`,
//! then `/usr/bin`, `/usr/sbin`; versions before 24 had no containerd image store and say
//! nothing about one), podman's for a containers/storage store (the first podman on `PATH`).
//! Each runs with a deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use analyzers::backend::{DockerVersion, PodmanVersion, Release, VersionSource};

/// How long `--version` may take.
const DEADLINE: Duration = Duration::from_secs(5);
/// The first dockerd release with a containerd image store.
const FIRST_WITH_CONTAINERD_STORE: DockerVersion = DockerVersion::new(24, 0, 0);

/// The version of the host's dockerd, and where it came from; `None` when there is no dockerd,
/// it does not answer, or it predates the containerd image store.
pub fn detect(data_root: &Path) -> Option<(DockerVersion, VersionSource)> {
    let running = std::fs::canonicalize(data_root)
        .ok()
        .and_then(|root| engine::daemon::guard::dockerd_using(&root))
        .map(|d| (PathBuf::from(format!("/proc/{}/exe", d.pid)), d.pid));
    if let Some((exe, pid)) = running {
        if let Some(v) = version_of(&exe) {
            let source = format!("the running dockerd of this root (pid {pid})");
            return Some((v, VersionSource::Binary(source)));
        }
    }
    let binary = find("dockerd")?;
    let version = version_of(&binary)?;
    Some((version, VersionSource::Binary(binary.display().to_string())))
}

/// The version of the host's podman and where it came from; `None` when there is none or it
/// does not answer. (The graphroot does not say which podman wrote it.)
pub fn detect_podman(_graphroot: &Path) -> Option<(PodmanVersion, VersionSource)> {
    let binary = find("podman")?;
    let version = Release::from_banner(&banner(&binary)?, "podman version ")?;
    Some((version, VersionSource::Binary(binary.display().to_string())))
}

/// The version `binary --version` prints, if it has a containerd image store.
fn version_of(binary: &Path) -> Option<DockerVersion> {
    let version = Release::from_banner(&banner(binary)?, "Docker version ")?;
    (version >= FIRST_WITH_CONTAINERD_STORE).then_some(version)
}

/// The first `program` on `PATH`, then in `/usr/bin` and `/usr/sbin`.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(program))
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
