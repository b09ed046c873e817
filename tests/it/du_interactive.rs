//! `strata du -i` driven as a person drives it: the real binary in a tmux pane (120x40) on
//! the dockerd-made overlay2 store, keys sent with `send-keys`, the screen read with
//! `capture-pane` and compared with what `strata --format json du` and `advise` say of the
//! same store: open the image layers, descend into the largest layer and its directories,
//! toggle apparent sizes, read the advice of a stopped container, quit with the terminal
//! restored, and the store untouched (atimes included); the same from `--by image
//! --apparent-size`, reading a dangling image's layer's advice. Every wait polls the screen;
//! nothing sleeps to assert. And without a terminal, or with `--all-users`, a one-line error
//! and exit 2.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::du::owners_of;
use crate::fixture;
use crate::harness::{strata, strata_on, tmux_usable, Driver, STRATA_BIN, TMUX};
use crate::readonly;
use crate::tree::{list_dir, TreeState};

/// How long the screen may take to show what a key asked for (the first frame walks the
/// whole store) on a loaded machine.
const SCREEN_DEADLINE: Duration = Duration::from_secs(120);

/// A tmux server of its own (its socket in a temporary directory, no configuration read)
/// running one program in a detached 120x40 session; killed when dropped, whatever the test's
/// outcome.
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Runs `program` (a shell command line), then has the shell print `strata exited
    /// <status>` and wait for a line that never comes: the pane stays, with what the program
    /// left on the screen. (`remain-on-exit` would keep a dead pane, but tmux 3.3a may lose
    /// the last output of a process that exits at once, and leave `#{pane_dead_status}`
    /// empty.)
    fn start(program: &str) -> Tmux {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tmux = Tmux {
            socket: dir.path().join("socket"),
            _dir: dir,
        };
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "strata",
            "-x",
            "120",
            "-y",
            "40",
            &format!("{program}; echo \"strata exited $?\"; read -r _"),
        ]);
        tmux
    }

    /// `tmux -S <socket> <args>`'s output; panics when it fails. The server (started by the
    /// first) runs strata without the caller's `STRATA_*` variables, as the harness does.
    fn run(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(TMUX);
        cmd.arg("-S").arg(&self.socket).args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("STRATA_") {
                cmd.env_remove(name);
            }
        }
        let out = cmd.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "strata"];
        args.extend(keys);
        self.run(&args);
    }

    fn screen(&self) -> Vec<String> {
        self.run(&["capture-pane", "-p", "-t", "strata"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The screen once `done` holds for it; panics with the last screen at the deadline.
    fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < SCREEN_DEADLINE,
                "the screen never showed {what}:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `key` and waits until the program has exited 0 (the line [`Tmux::start`] has
    /// the shell print after it, on the screen the program restored).
    fn quit_with(&self, key: &str) {
        self.keys(&[key]);
        self.wait_for(&format!("strata exiting 0 on {key}"), |s| {
            s.iter().any(|l| l == "strata exited 0")
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new(TMUX)
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The selected row (the view marks it `>`).
fn selected(screen: &[String]) -> &str {
    screen
        .iter()
        .find(|l| l.starts_with('>'))
        .map_or("", String::as_str)
}

/// The way down shown under the header.
fn breadcrumb(screen: &[String]) -> &str {
    screen.get(1).map_or("", String::as_str)
}

/// Moves the selection to the row containing `text` (all rows of the fixture's levels fit on
/// the screen) and returns the screen.
fn select(t: &Tmux, text: &str) -> Vec<String> {
    let screen = t.screen();
    let from = screen
        .iter()
        .position(|l| l.starts_with('>'))
        .unwrap_or_else(|| panic!("no selected row:\n{}", screen.join("\n")));
    let to = screen
        .iter()
        .skip(3)
        .position(|l| l.contains(text))
        .map(|i| i + 3)
        .unwrap_or_else(|| panic!("no row with {text:?}:\n{}", screen.join("\n")));
    let key = if to > from { "j" } else { "k" };
    let presses = vec![key; to.abs_diff(from)];
    if !presses.is_empty() {
        t.keys(&presses);
    }
    t.wait_for(&format!("{text:?} selected"), |s| {
        selected(s).contains(text)
    })
}

/// Asserts that the advice panel on `screen` gives `advise`'s `action`: its bytes, its risk
/// and its exact command.
fn assert_advice(screen: &[String], advise: &Value, action: &str, risk: &str) {
    let rec = advise["Recommendations"]
        .as_array()
        .expect("Recommendations")
        .iter()
        .find(|r| r["Action"] == action)
        .unwrap_or_else(|| panic!("advise recommends no {action}: {advise}"));
    let summary = format!("{action}: reclaims {}, risk {risk}", bytes(&rec["Bytes"]));
    let command = format!("$ {}", rec["Command"].as_str().expect("Command"));
    for line in [&summary, &command] {
        assert!(
            screen.iter().any(|l| l.contains(line.as_str())),
            "the advice panel says {line:?}:\n{}",
            screen.join("\n")
        );
    }
}

/// The first 12 hex digits of a `sha256:` id, as the browser labels a layer.
fn short(id: &str) -> &str {
    &id.trim_start_matches("sha256:")[..12]
}

fn bytes(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a byte count: {v}"))
}

/// The row of `bytes` as the browser draws it with `--bytes`: the mark, then the size
/// right-aligned in 12 columns.
fn row_start(bytes: u64) -> String {
    format!("> {bytes:>12} ")
}

/// The overlay2 fixture with what `strata --format json du` and `advise` say of it, when it
/// and tmux can be had here.
fn store_and_reports() -> Option<(&'static fixture::Stopped, Value, Value)> {
    let stopped = fixture::stopped(Driver::Overlay2)?;
    if !tmux_usable() {
        return None;
    }
    let json = |verb: &str| {
        strata_on(&stopped.data_root, &["--format", "json", verb])
            .assert_success()
            .json()
    };
    Some((stopped, json("du"), json("advise")))
}

#[test]
fn du_interactive_browses_the_owner_tree_toggles_sizes_and_shows_advice() {
    let Some((stopped, du, advise)) = store_and_reports() else {
        return;
    };
    let root = &stopped.data_root;
    let largest = owners_of(&du, "image-layer")
        .next()
        .expect("an image layer");
    let layer = short(largest["Id"].as_str().expect("Id"));
    let layer_path = largest["Paths"][0]
        .as_str()
        .expect("a layer path")
        .to_owned();

    // Browsing reads, never writes, not even an atime: the tree is compared at the end.
    let _alone = fixture::atime_checker();
    let before = readonly::baseline(root);
    let program = format!("'{STRATA_BIN}' --bytes --root '{}' du -i", root.display());
    let t = Tmux::start(&program);
    let total = &du["Total"];
    let header = format!("total {} allocated", bytes(&total["Allocated"]));
    t.wait_for("the owner tree", |s| {
        s[0].contains(&header) && s.iter().any(|l| l.contains("image layers/"))
    });

    select(&t, "image layers/");
    t.keys(&["Enter"]);
    let s = t.wait_for("the image layers", |s| breadcrumb(s) == "/ image layers");
    assert!(
        selected(&s).starts_with(&row_start(bytes(&largest["Sizes"]["Allocated"]))),
        "the largest layer first, with du's allocated bytes:\n{}",
        s.join("\n")
    );
    assert!(selected(&s).contains(layer), "{}", s.join("\n"));

    t.keys(&["a"]);
    let apparent_header = format!("total {} apparent", bytes(&total["Apparent"]));
    let s = t.wait_for("apparent sizes", |s| s[0].contains(&apparent_header));
    assert!(
        selected(&s).starts_with(&row_start(bytes(&largest["Sizes"]["Apparent"]))),
        "the same layer, with du's apparent bytes:\n{}",
        s.join("\n")
    );
    assert!(selected(&s).contains(layer), "{}", s.join("\n"));
    assert!(s[2].contains("APPARENT"), "{}", s[2]);

    t.keys(&["Enter"]);
    let crumb = format!("/ image layers / {layer}");
    // The path is cut at the pane's edge.
    let s = t.wait_for("the layer's path", |s| {
        breadcrumb(s) == crumb && selected(s).contains(&layer_path[..40])
    });
    assert!(
        selected(&s).starts_with(&row_start(bytes(&largest["Sizes"]["Apparent"]))),
        "its one path holds all of its bytes, as du counted them:\n{}",
        s.join("\n")
    );
    t.keys(&["Enter"]);
    let crumb = format!("{crumb} / {layer_path}");
    t.wait_for("the layer directory", |s| breadcrumb(s) == crumb);
    select(&t, "  diff/");
    t.keys(&["Enter"]);
    let crumb = format!("{crumb} / diff");
    let s = t.wait_for("the layer's files", |s| breadcrumb(s) == crumb);
    let names = list(&root.join(&layer_path).join("diff"));
    assert!(!names.is_empty());
    for name in names.iter().take(25) {
        assert!(
            s.iter().any(|l| l.contains(&format!("  {name}"))),
            "{name} listed:\n{}",
            s.join("\n")
        );
    }

    t.keys(&["h", "h", "h", "h", "h"]);
    t.wait_for("the top", |s| breadcrumb(s) == "/");
    select(&t, "container layers/");
    t.keys(&["Enter"]);
    t.wait_for("the container layers", |s| {
        breadcrumb(s) == "/ container layers"
    });
    assert_advice(
        &select(&t, "strata-failed"),
        &advise,
        "container-prune",
        "medium",
    );

    t.quit_with("q");
    let s = t.screen();
    assert!(
        !s.iter().any(|l| l.contains("strata du -i")),
        "the alternate screen was left:\n{}",
        s.join("\n")
    );
    let changes = TreeState::capture(root).changes_since(&before, 50);
    assert!(
        changes.is_empty(),
        "the store changed under du -i:\n{}",
        changes.join("\n")
    );
}

/// `--by image --apparent-size` as the starting state: the dangling image's own layer says
/// what `advise` says of it, image-prune's bytes and command.
#[test]
fn du_interactive_by_image_shows_a_dangling_images_advice() {
    let Some((stopped, du, advise)) = store_and_reports() else {
        return;
    };
    let root = &stopped.data_root;
    let dangling = &stopped.fixture.images.dangling;
    let image = du["Images"]
        .as_array()
        .expect("Images")
        .iter()
        .find(|i| i["Id"] == dangling.as_str())
        .expect("the dangling image in du's Images");
    let top_layer = image["Layers"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(Value::as_str)
        .expect("its top layer");

    let program = format!(
        "'{STRATA_BIN}' --bytes --root '{}' du -i --by image --apparent-size",
        root.display()
    );
    let t = Tmux::start(&program);
    let header = format!("total {} apparent", bytes(&du["Total"]["Apparent"]));
    let image_row = format!("<none> {}", short(dangling));
    t.wait_for("the images", |s| {
        s[0].contains(&header) && s.iter().any(|l| l.contains(&image_row))
    });
    select(&t, &image_row);
    t.keys(&["Enter"]);
    let crumb = format!("/ {image_row}");
    t.wait_for("the dangling image's layers", |s| breadcrumb(s) == crumb);
    assert_advice(&select(&t, short(top_layer)), &advise, "image-prune", "low");
    t.quit_with("Escape");
}

/// The names in `dir` on the host, read without moving its atime.
fn list(dir: &Path) -> Vec<String> {
    list_dir(dir)
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn du_interactive_without_a_terminal_is_a_usage_error() {
    // Said before the store is read: any directory will do.
    let dir = tempfile::tempdir().expect("a temp dir");
    let run = strata_on(dir.path(), &["du", "-i"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("du -i needs a terminal"), "{run}");
    let run = strata(&["--all-users", "du", "-i"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("du -i browses one store"), "{run}");
}
