//! The test harness: a real `dockerd` ([`Dockerd`]: Debian's 20.10 with a graphdriver, or
//! trixie's 26.1 with the containerd image store), a plain containerd ([`Containerd`]) and
//! `ctr` ([`Ctr`]), a rootful podman on a temporary store ([`Podman`]), a rootless podman of a
//! throwaway user ([`Rootless`]), a host's disk image holding stores of every kind
//! ([`HostImage`], with a [`RemapUser`] for `dockerd --userns-remap`), the strata binary
//! ([`strata_on`]), commands with a deadline ([`Run`]), a loop-mounted btrfs for the btrfs
//! graphdriver ([`btrfs`]), cleanup, and the skip policy ([`dockerd_usable`],
//! [`driver_usable`], [`containerd_usable`], [`podman_usable`]).
//!
//! Everything made here lives in unique temporary directories; nothing uses a fixed `/tmp` path,
//! so tests run in parallel without `--test-threads=1`.

pub mod btrfs;
mod cleanup;
mod dockerd;
mod host;
mod podman;
mod rootless;
mod run;
pub mod trixie;

use std::path::Path;

pub use cleanup::{mount_points_under, remove_at_exit};
pub use dockerd::{Dockerd, Driver, CONTAINERD_ROOT_IN_DATA_ROOT};
pub use host::{move_into, HostImage, RemapUser};
pub use podman::Podman;
pub use rootless::{Rootless, Store as RootlessStore};
pub use run::{
    root_args, run_with_timeout, strata, strata_command, strata_on, strata_on_with_path,
    strata_on_within, strata_unprivileged, Run, STRATA_BIN,
};
pub use trixie::{Containerd, Ctr};

/// Debian's daemon (package `docker.io`, 20.10). Never `/usr/local/bin`'s Docker.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// Debian's Docker CLI, which speaks BuildKit natively (`DOCKER_BUILDKIT=1`).
pub const DOCKER_CLI: &str = "/usr/bin/docker";
/// The static busybox (package `busybox-static`) the fixture images are made of.
pub const BUSYBOX: &str = "/bin/busybox";

/// Debian's fuse-overlayfs (package `fuse-overlayfs`), which dockerd's fuse-overlayfs driver
/// runs for every mount.
pub const FUSE_OVERLAYFS: &str = "/usr/bin/fuse-overlayfs";

/// Debian's podman (package `podman`, 4.3.1).
pub const PODMAN: &str = "/usr/bin/podman";
/// Debian's runc, the OCI runtime podman runs here (through a wrapper naming its state dir).
pub const RUNC: &str = "/usr/sbin/runc";

/// Debian's Chromium (package `chromium`), run headless on the HTML report.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How the tests run [`CHROMIUM`]: headless as root (no sandbox), no GPU, and with most of
/// its own network traffic turned off (what remains, its updater's and sign-in's requests,
/// names no page as initiator in its net log); each run also gives a `--user-data-dir` of its
/// own.
pub const CHROMIUM_HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Debian's Prometheus server (package `prometheus`, 2.42).
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Debian's promtool (package `prometheus`).
pub const PROMTOOL: &str = "/usr/bin/promtool";
/// Debian's node exporter (package `prometheus-node-exporter`).
pub const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

/// Debian's tmux (package `tmux`, 3.3a): the terminal `du -i` is driven in.
pub const TMUX: &str = "/usr/bin/tmux";

/// Set to `1` (CI does) to turn every skip into a failure.
pub const NO_SKIP_ENV: &str = "STRATA_TEST_NO_SKIP";

/// Whether this process is root (uid 0).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether the tests that need a real daemon can run here: root, Debian's `dockerd` and CLI,
/// and a static busybox. When they cannot, prints why and returns `false` (the caller returns:
/// the test is skipped), unless `STRATA_TEST_NO_SKIP=1`, in which case it panics.
pub fn dockerd_usable() -> bool {
    usable(
        "root and Debian's docker.io (dockerd)",
        &[DOCKERD, DOCKER_CLI, BUSYBOX],
    )
}

/// Whether the tests that run dockerd with `driver` can run here: what [`dockerd_usable`] needs,
/// plus the driver's own: for `overlay`, the kernel's overlayfs; for `fuse-overlayfs`, Debian's
/// fuse-overlayfs, `/dev/fuse` and the kernel's fuse; for `btrfs`, btrfs-progs' mkfs, loop
/// devices and the kernel's btrfs ([`btrfs::missing`]). Skips or panics as [`dockerd_usable`]
/// does, saying which of them is missing.
pub fn driver_usable(driver: Driver) -> bool {
    let (needs, own) = match driver {
        Driver::Overlay2 | Driver::Vfs => return dockerd_usable(),
        Driver::Overlay => (
            "root, Debian's docker.io and overlayfs in the kernel",
            kernel_lacks("overlay"),
        ),
        Driver::FuseOverlayfs => (
            "root, Debian's docker.io, fuse-overlayfs (apt-get install fuse-overlayfs) and fuse",
            file_missing(&[FUSE_OVERLAYFS, "/dev/fuse"]).or_else(|| kernel_lacks("fuse")),
        ),
        Driver::Btrfs => (
            "root, Debian's docker.io, btrfs-progs (apt-get install btrfs-progs), loop devices \
             and btrfs in the kernel",
            btrfs::missing(),
        ),
    };
    let missing = root_or_files_missing(&[DOCKERD, DOCKER_CLI, BUSYBOX]).or(own);
    usable_or_skip(missing, needs)
}

/// Whether the containerd-store tests can run here: what [`dockerd_usable`] needs (Debian's
/// 20.10 CLI drives both dockerds) plus trixie's dockerd 26.1, containerd 1.7, its shim and
/// `ctr`, unpacked by `scripts/trixie-daemons.sh`; skips or panics as [`dockerd_usable`] does.
pub fn containerd_usable() -> bool {
    let trixie = trixie::binaries();
    let mut files: Vec<&str> = vec![DOCKERD, DOCKER_CLI, BUSYBOX];
    files.extend(trixie.iter().filter_map(|p| p.to_str()));
    usable(
        "root, Debian's docker.io, and trixie's dockerd 26.1 and containerd 1.7 unpacked by \
         scripts/trixie-daemons.sh",
        &files,
    )
}

/// Whether the podman tests can run here: root, Debian's podman and runc, and a static
/// busybox; skips or panics as [`dockerd_usable`] does.
pub fn podman_usable() -> bool {
    usable(
        "root and Debian's podman (apt-get install podman)",
        &[PODMAN, RUNC, BUSYBOX],
    )
}

/// Whether the tests that open the HTML report in a headless Chromium can run here: root
/// (Chromium runs with `--no-sandbox`, as root must) and Debian's chromium; skips or panics as
/// [`dockerd_usable`] does.
pub fn chromium_usable() -> bool {
    usable(
        "root and Debian's chromium (apt-get install chromium)",
        &[CHROMIUM],
    )
}

/// Whether the tests that need root but no Docker (the demo, mknod, mounts) can run here;
/// skips or panics as [`dockerd_usable`] does.
pub fn root_usable() -> bool {
    usable("root", &[])
}

/// Whether the engine tests that run containers but need no Docker can run here: root and a
/// static busybox (for the image); skips or panics as [`dockerd_usable`] does.
pub fn engine_usable() -> bool {
    usable("root and a static busybox", &[BUSYBOX])
}

/// Whether the tests that drive a terminal program in tmux can run here: root (for the
/// dockerd-made store they browse) and Debian's tmux; skips or panics as [`dockerd_usable`]
/// does.
pub fn tmux_usable() -> bool {
    usable("root and Debian's tmux (apt-get install tmux)", &[TMUX])
}

/// Whether the tests that run the Debian programs `files` (and nothing needing root) can run
/// here; skips or panics as [`dockerd_usable`] does.
pub fn programs_usable(needs: &str, files: &[&str]) -> bool {
    usable_or_skip(file_missing(files), needs)
}

/// Whether a test needing root and `files` (the tools it runs) can run here; skips or panics as
/// [`dockerd_usable`] does, saying it `needs` them.
pub fn usable(needs: &str, files: &[&str]) -> bool {
    usable_or_skip(root_or_files_missing(files), needs)
}

/// Why a test needing root and `files` cannot run, or `None` when it can.
fn root_or_files_missing(files: &[&str]) -> Option<String> {
    if is_root() {
        file_missing(files)
    } else {
        Some("not running as root".to_owned())
    }
}

/// The first of `files` that does not exist, said as a reason to skip.
fn file_missing(files: &[&str]) -> Option<String> {
    files
        .iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is missing"))
}

/// Why the kernel cannot mount a `filesystem` (as `/proc/filesystems` names it), or `None`
/// when it is listed there (built in, or a module already loaded).
fn kernel_lacks(filesystem: &str) -> Option<String> {
    let listed = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let known = listed
        .lines()
        .any(|line| line.split_whitespace().last() == Some(filesystem));
    (!known).then(|| format!("the kernel has no {filesystem} (not in /proc/filesystems)"))
}

/// The skip policy: `None` means usable; otherwise print why and return `false`, or panic
/// when `STRATA_TEST_NO_SKIP=1`.
fn usable_or_skip(missing: Option<String>, needs: &str) -> bool {
    let Some(why) = missing else {
        return true;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if std::env::var(NO_SKIP_ENV).as_deref() == Ok("1") {
        panic!("{test}: {NO_SKIP_ENV}=1 but the test cannot run: {why}");
    }
    eprintln!("{test}: skipped: needs {needs} ({why})");
    false
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}
