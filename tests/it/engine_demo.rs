//! Engine, demo: `strata demo` builds its sample store with the engine (busybox image, and
//! the host-programs image used where there is no busybox), shows `df -v` and `du` on it,
//! and leaves nothing behind: no directory, mount or cgroup.

use std::path::Path;

use crate::harness::{mount_points_under, root_usable, strata_on, Run};

fn demo(args: &[&str]) -> Run {
    // --root is ignored by the demo (it makes its own); any path keeps the helper happy.
    let mut full = vec!["demo"];
    full.extend_from_slice(args);
    strata_on(Path::new("/nonexistent-root"), &full)
}

fn check(run: &Run, made_of: &str) {
    run.assert_success();
    let out = &run.stdout;
    let root = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("strata demo: a sample store in "))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(out.contains(made_of), "{run}");
    for expected in [
        "container writer",
        "container sleeper  keeps running (running)",
        "Images space usage:",
        "strata-demo/base",
        "demo-data     1         1MB",
        "container layers / ",
        "volumes / demo-data",
        "Up ",
    ] {
        assert!(out.contains(expected), "{expected:?} missing:\n{run}");
    }
    assert!(
        out.ends_with(&format!("strata demo: removed {root}\n")),
        "{run}"
    );
    let dir = Path::new(root).parent().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(mount_points_under(dir).is_empty());
}

#[test]
fn the_demo_shows_a_store_it_made_and_removes_it() {
    // The demo needs root (namespaces, mounts), not Docker.
    if !root_usable() {
        return;
    }
    if std::path::Path::new("/bin/busybox").exists() {
        check(&demo(&[]), "(/bin/busybox and its applets)");
    }
    check(&demo(&["--busybox", "/nonexistent"]), "(the host's sh, ");
}
