//! Finding every container store of a host from its files, each where its owner keeps it:
//!
//! - Docker: the system root ([`crate::root::locate`]: `data-root` of `/etc/docker/daemon.json`,
//!   else `/var/lib/docker`); each user's rootless root ([`crate::root::rootless`]: `data-root`
//!   of `~/.config/docker/daemon.json`, else `~/.local/share/docker`, for the accounts with a
//!   uid of at least [`FIRST_USER_UID`]); and the userns-remap sub-roots `<uid>.<gid>/` of each.
//! - containerd: the one each dockerd starts itself (`<data-root>/containerd/daemon`: Docker
//!   20.10 keeps only its containers' runtime records there, Docker 26+ with the containerd
//!   image store its images too), and the system's (`root` of `/etc/containerd/config.toml`,
//!   else `/var/lib/containerd`), each when it holds a `meta.db`.
//! - containers/storage: root's and each user's graphroot, as their podman finds them
//!   ([`HostConfig::all`]).
//!
//! Every path is the host's, under its [`crate::host::Sysroot`]; one that resolves outside it is
//! refused (a problem), and one found twice is listed once. Nothing is loaded here: only
//! configuration files and directory listings are read.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::containerd::locate;
use crate::error::{Problem, ProblemKind};
use crate::format::passwd::{self, Account};
use crate::fs::Jail;
use crate::graphroot::{Graphroot, HostConfig, FIRST_USER_UID};

/// What kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// A Docker data root.
    Docker,
    /// A containerd root.
    Containerd,
    /// A containers/storage graphroot (Podman, Buildah, CRI-O).
    ContainersStorage,
}

impl StoreKind {
    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            StoreKind::Docker => "docker",
            StoreKind::Containerd => "containerd",
            StoreKind::ContainersStorage => "containers-storage",
        }
    }
}

/// Why a store is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The host's own: dockerd's configured data root, the system containerd's root, root's
    /// podman store.
    System,
    /// A user's rootless daemon's.
    Rootless,
    /// A userns-remap sub-root of a Docker data root (a data root of its own).
    UsernsRemap,
    /// The containerd a dockerd starts itself, `<data-root>/containerd/daemon`.
    DockerContainerd,
    /// Another storage driver's data in a root (a driver switch): part of that root, and
    /// counted apart from it.
    InactiveDriver,
}

impl Role {
    /// The role in words.
    pub fn label(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Rootless => "rootless",
            Role::UsernsRemap => "userns-remap",
            Role::DockerContainerd => "dockerd's own",
            Role::InactiveDriver => "inactive driver",
        }
    }
}

/// A store found on the host, not read yet.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What kind of store.
    pub kind: StoreKind,
    /// Why it is there.
    pub role: Role,
    /// Its root directory (under the sysroot).
    pub path: PathBuf,
    /// The account whose store it is.
    pub owner: Account,
    /// For a containers/storage store: how the host's configuration found it (its
    /// storage.conf's settings, its runroot).
    pub graphroot: Option<Graphroot>,
}

/// Every store found, and what kept some from being looked for.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The stores, each once: every Docker root followed by its sub-roots and its own
    /// containerd, then the system containerd, then the containers/storage stores.
    pub candidates: Vec<Candidate>,
    /// Files that could not be read (an account database, a daemon.json, a storage.conf).
    pub problems: Vec<Problem>,
}

impl Discovered {
    /// Adds `c` unless a store at the same place is listed already, or its path leads out of
    /// the sysroot (a problem).
    fn add(&mut self, config: &HostConfig, c: Candidate) {
        if let Err(e) = config.sysroot.contained(&c.path) {
            self.problems.push(Problem::new(
                &c.path,
                ProblemKind::Unreadable,
                e.to_string(),
            ));
            return;
        }
        let same = |p: &Path| match (std::fs::canonicalize(p), std::fs::canonicalize(&c.path)) {
            (Ok(a), Ok(b)) => a == b,
            _ => p == c.path,
        };
        if !self.candidates.iter().any(|known| same(&known.path)) {
            self.candidates.push(c);
        }
    }
}

/// Finds every store of the host `config` describes.
pub fn discover(config: &HostConfig) -> Discovered {
    let mut found = Discovered::default();
    let sysroot = &config.sysroot;
    let accounts = config.accounts().unwrap_or_else(|e| {
        found.problems.push(Problem::new(
            &config.passwd,
            ProblemKind::Unreadable,
            format!("{e}: only root's stores are looked for"),
        ));
        Vec::new()
    });
    let root = passwd::superuser(&accounts);
    let mut docker: Vec<(PathBuf, Role, Account)> = Vec::new();
    match crate::root::locate(None, sysroot) {
        Ok(path) => docker.push((path, Role::System, root.clone())),
        Err(e) => found
            .problems
            .push(error_problem(&sysroot.path(crate::root::DAEMON_JSON), &e)),
    }
    for user in accounts.iter().filter(|a| a.uid >= FIRST_USER_UID) {
        match crate::root::rootless(Path::new(&user.home), sysroot) {
            Ok(path) => docker.push((path, Role::Rootless, user.clone())),
            Err(e) => found.problems.push(error_problem(
                &sysroot
                    .path(&user.home)
                    .join(crate::root::ROOTLESS_DAEMON_JSON),
                &e,
            )),
        }
    }
    for (path, role, owner) in docker {
        if let Err(e) = sysroot.contained(&path) {
            found
                .problems
                .push(Problem::new(&path, ProblemKind::Unreadable, e.to_string()));
            continue;
        }
        if !path.is_dir() {
            continue;
        }
        let subroots = Jail::open(&path)
            .map(|jail| crate::root::remapped(&jail, &path))
            .unwrap_or_default();
        let own = path.join(locate::DOCKER_MANAGED_ROOT);
        found.add(config, docker_candidate(path, role, &owner));
        for sub in subroots {
            let sub_own = sub.join(locate::DOCKER_MANAGED_ROOT);
            found.add(config, docker_candidate(sub, Role::UsernsRemap, &owner));
            add_containerd(&mut found, config, sub_own, Role::DockerContainerd, &owner);
        }
        add_containerd(&mut found, config, own, Role::DockerContainerd, &owner);
    }
    add_containerd(
        &mut found,
        config,
        locate::system_root(sysroot),
        Role::System,
        &root,
    );
    match config.all() {
        Ok(listed) => {
            for l in listed {
                match l.found {
                    Ok(g) => {
                        let role = if g.user.uid == 0 {
                            Role::System
                        } else {
                            Role::Rootless
                        };
                        found.add(
                            config,
                            Candidate {
                                kind: StoreKind::ContainersStorage,
                                role,
                                path: g.path.clone(),
                                owner: g.user.clone(),
                                graphroot: Some(g),
                            },
                        );
                    }
                    Err(e) => found
                        .problems
                        .push(error_problem(&sysroot.path(&l.user.home), &e)),
                }
            }
        }
        Err(e) => found.problems.push(error_problem(&config.passwd, &e)),
    }
    found
}

fn docker_candidate(path: PathBuf, role: Role, owner: &Account) -> Candidate {
    Candidate {
        kind: StoreKind::Docker,
        role,
        path,
        owner: owner.clone(),
        graphroot: None,
    }
}

/// Adds the containerd root at `path` when it holds a `meta.db`.
fn add_containerd(
    found: &mut Discovered,
    config: &HostConfig,
    path: PathBuf,
    role: Role,
    owner: &Account,
) {
    if config.sysroot.contained(&path).is_ok() && locate::is_containerd_root(&path) {
        found.add(
            config,
            Candidate {
                kind: StoreKind::Containerd,
                role,
                path,
                owner: owner.clone(),
                graphroot: None,
            },
        );
    }
}

/// The error `e` met reading `path`'s configuration, as a problem naming it.
fn error_problem(path: &Path, e: &crate::Error) -> Problem {
    Problem::new(path, ProblemKind::Unreadable, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Sysroot;
    use std::fs;

    /// A disk image with root's Docker root (holding a userns-remap sub-root and dockerd's
    /// own containerd), alice's rootless Docker root moved by her daemon.json, bob's rootless
    /// podman store, and a system containerd.
    #[test]
    fn every_store_is_found_under_the_sysroot_once() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = Sysroot::new(dir.path()).unwrap();
        let s = |p: &str| sysroot.path(p);
        let mkdirs = |p: PathBuf| fs::create_dir_all(p).unwrap();
        fs::create_dir_all(s("/etc")).unwrap();
        fs::write(
            s("/etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nsys:x:5:5::/home/sys:/bin/sh\n\
             alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
        )
        .unwrap();
        mkdirs(s("/var/lib/docker/image/overlay2"));
        mkdirs(s("/var/lib/docker/100000.100000/image/overlay2"));
        let meta = |root: &str| {
            let db = s(root).join(crate::format::containerd::META_DB);
            mkdirs(db.parent().unwrap().to_path_buf());
            fs::write(db, b"").unwrap();
        };
        meta("/var/lib/docker/containerd/daemon");
        meta("/var/lib/containerd");
        mkdirs(s("/home/alice/.config/docker"));
        fs::write(
            s("/home/alice/.config/docker/daemon.json"),
            r#"{"data-root": "/srv/alice"}"#,
        )
        .unwrap();
        mkdirs(s("/srv/alice/overlay2"));
        mkdirs(s(
            "/home/bob/.local/share/containers/storage/overlay-layers",
        ));
        // A system account's rootless root is not looked for.
        mkdirs(s("/home/sys/.local/share/docker/overlay2"));
        let found = discover(&HostConfig::under(sysroot.clone()));
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        let listed: Vec<(StoreKind, Role, PathBuf, &str)> = found
            .candidates
            .iter()
            .map(|c| (c.kind, c.role, c.path.clone(), c.owner.name.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    StoreKind::Docker,
                    Role::System,
                    s("/var/lib/docker"),
                    "root"
                ),
                (
                    StoreKind::Docker,
                    Role::UsernsRemap,
                    s("/var/lib/docker/100000.100000"),
                    "root"
                ),
                (
                    StoreKind::Containerd,
                    Role::DockerContainerd,
                    s("/var/lib/docker/containerd/daemon"),
                    "root"
                ),
                (StoreKind::Docker, Role::Rootless, s("/srv/alice"), "alice"),
                (
                    StoreKind::Containerd,
                    Role::System,
                    s("/var/lib/containerd"),
                    "root"
                ),
                (
                    StoreKind::ContainersStorage,
                    Role::Rootless,
                    s("/home/bob/.local/share/containers/storage"),
                    "bob"
                ),
            ]
        );
    }

    #[test]
    fn a_store_reached_through_a_link_out_of_the_sysroot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir_all(outside.path().join("overlay2")).unwrap();
        let sysroot = Sysroot::new(dir.path()).unwrap();
        fs::create_dir_all(sysroot.path("/etc")).unwrap();
        fs::write(sysroot.path("/etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        fs::create_dir_all(sysroot.path("/var/lib")).unwrap();
        std::os::unix::fs::symlink(outside.path(), sysroot.path("/var/lib/docker")).unwrap();
        let found = discover(&HostConfig::under(sysroot));
        assert!(found.candidates.is_empty(), "{:?}", found.candidates);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert!(
            found.problems[0].detail.contains("outside the sysroot"),
            "{}",
            found.problems[0]
        );
    }
}
