//! A host's disk image holding every kind of container store at once, for `strata host
//! --sysroot` (`tests/it/host.rs`).
//!
//! - [`HostImage`]: a unique temporary directory standing for the image's `/`, with its own
//!   `etc/passwd` ([`HostImage::accounts`]) and host paths under it ([`HostImage::path`]). It
//!   is 0755: a `dockerd --userns-remap` checks that the remapped ids can reach its data
//!   root. The stores are made in place by daemons given data roots under it, or made by a
//!   daemon in its own directory and moved in once it stopped ([`move_into`]: a stopped
//!   store's files do not depend on where they are).
//! - [`RemapUser`]: a throwaway account for `dockerd --userns-remap NAME`, made with `useradd`
//!   (which gives it the next free `/etc/subuid` and `/etc/subgid` ranges, as for
//!   [`super::Rootless`]); dropping it deletes it with `userdel`, which drops the ranges.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::rootless::{subordinate_ranges, unique_suffix, SUBGID, SUBUID, USERADD, USERDEL};

/// A host's disk image: a directory standing for its `/`.
pub struct HostImage {
    dir: TempDir,
}

impl HostImage {
    /// A new, empty image (with `etc/`), readable and traversable by every id.
    pub fn new() -> HostImage {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-host-")
            .tempdir()
            .expect("creating the host image's directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(dir.path().join("etc")).expect("creating etc/");
        HostImage { dir }
    }

    /// The image's `/`, as `--sysroot` takes it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The host path `host_path` (`/var/lib/docker`) in the image.
    pub fn path(&self, host_path: &str) -> PathBuf {
        self.dir.path().join(host_path.trim_start_matches('/'))
    }

    /// Writes the image's `etc/passwd`: one line per `(name, uid, home)`.
    pub fn accounts(&self, accounts: &[(&str, u32, &str)]) {
        let text: String = accounts
            .iter()
            .map(|(name, uid, home)| format!("{name}:x:{uid}:{uid}::{home}:/bin/sh\n"))
            .collect();
        fs::write(self.path("/etc/passwd"), text).expect("writing etc/passwd");
    }
}

/// Moves the directory `from` (a stopped daemon's store) to `to`, making `to`'s parents.
pub fn move_into(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().expect("a parent")).expect("creating the parents");
    fs::rename(from, to)
        .unwrap_or_else(|e| panic!("moving {} to {}: {e}", from.display(), to.display()));
}

/// A throwaway account whose subordinate ids a `dockerd --userns-remap` maps containers to.
pub struct RemapUser {
    name: String,
    subuid: u64,
    subgid: u64,
}

impl RemapUser {
    /// Makes the account, named after the unique directory `unique` (no home, no shell).
    pub fn create(unique: &Path) -> RemapUser {
        let name = format!("strm{}", unique_suffix(unique));
        let status = Command::new(USERADD)
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin"])
            .arg(&name)
            .status()
            .expect("running useradd");
        assert!(status.success(), "useradd {name} failed");
        // Deleted on drop from here on, whatever fails next.
        let mut user = RemapUser {
            name,
            subuid: 0,
            subgid: 0,
        };
        let first = |file: &str| {
            subordinate_ranges(file, &user.name)
                .first()
                .map(|(first, _)| *first)
                .unwrap_or_else(|| panic!("useradd gave {} no range in {file}", user.name))
        };
        let (subuid, subgid) = (first(SUBUID), first(SUBGID));
        user.subuid = subuid;
        user.subgid = subgid;
        user
    }

    /// The account's name (what `--userns-remap` takes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sub-root `dockerd --userns-remap` keeps its store in: `<subuid>.<subgid>`.
    pub fn subroot(&self) -> String {
        format!("{}.{}", self.subuid, self.subgid)
    }
}

impl Drop for RemapUser {
    fn drop(&mut self) {
        let _ = Command::new(USERDEL)
            .arg(&self.name)
            .stderr(Stdio::null())
            .status();
    }
}
