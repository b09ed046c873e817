//! Engine, `strata build`: the classic builder's steps, cache and records, checked against a
//! real dockerd on the same store.
//!
//! - [`cached_builds_share_layers_and_run_under_dockerd`]: two Dockerfiles that differ only
//!   in the `COPY` of the app source; the second builds its first steps from the cache ("Using
//!   cache", and the same chain ids in both images), `strata df -v` counts those layers as
//!   shared (`SharedSize` equal to dockerd's own `/system/df` answer on the same root, and to
//!   the image size less its one unique layer); a changed context file rebuilds from its step
//!   on, `--no-cache` rebuilds all; then dockerd runs the images and `docker history` shows
//!   strata's steps with the `created_by` lines of a `DOCKER_BUILDKIT=0 docker build` of the
//!   same Dockerfile (source hashes aside); a Dockerfile of every metadata instruction (and a
//!   `COPY --chown`) gives the same history, author and image `Config` under both builders,
//!   and so does a multi-stage one with `COPY --from`, and an image built `FROM` one with
//!   `ONBUILD` triggers (which run, and are not inherited).
//! - [`copy_add_rules`]: globs, `.dockerignore`, `--chown`, a directory's contents, `ADD` of a
//!   gzip tar (unpacked), build arguments, `WORKDIR`-relative destinations, from inside a
//!   container of the built image.
//! - [`multi_stage_copy_from`]: `COPY --from` a named stage, a stage index and a stored
//!   image (globs, directories with symlinks, `..` clamped at the image's `/`); the result is
//!   the last stage's image, cached as a whole, and rebuilt from the `COPY --from` steps when
//!   the stage they copy from changes.
//! - [`scratch_and_global_args`]: a global `ARG` names the base, `FROM scratch` with a
//!   copied static binary runs, and its steps are cached like any other; `-q` prints the id.
//! - [`run_layers_record_deletions_and_run_as_user`]: a `RUN` that deletes files and replaces
//!   a directory makes a layer whose overlay2 content has the whiteout devices and the opaque
//!   xattr, `strata verify` rebuilds every layer tar to its diff id from the tar-split, dockerd
//!   runs the image without the deleted files, and `RUN` after `USER 1000:1000` runs as 1000
//!   (so does `strata run` of the image).
//! - [`cancelled_build_leaves_nothing`]: SIGINT during a `RUN` kills its container and removes
//!   the step; the build exits 1 at once.
//! - [`escapes_are_refused_and_failures_leave_nothing`]: `COPY ../x`, an absolute source, a
//!   symlink out of the context, a missing source and a failing `RUN` each exit 1 with an
//!   error naming the source (or Docker's `returned a non-zero code`), and leave no mount,
//!   cgroup, container, layer record, staged layer or overlay2 directory behind.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::fixture::busybox_rootfs_tar;
use crate::harness::{dockerd_usable, mount_points_under, strata_on, Dockerd, Driver, Run};

/// A store with the busybox image `bb:1`, in `dir/root`.
fn store_with_busybox(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let tar = busybox_rootfs_tar(dir);
    strata_on(&root, &["import", tar.to_str().unwrap(), "bb:1"]).assert_success();
    root
}

/// A store with `bb:1` in `dir/root`, and a context `dir/ctx` holding `dockerfile` as its
/// `Dockerfile`; `None` where the engine tests cannot run (the harness says why).
fn setup(dockerfile: &str) -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    if !dockerd_usable() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store_with_busybox(dir.path());
    let ctx = dir.path().join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    Some((dir, root, ctx))
}

fn build(root: &Path, context: &Path, dockerfile: &str, extra: &[&str]) -> Run {
    let file = context.join(dockerfile);
    let mut args = vec!["build", "-f", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(context.to_str().unwrap());
    strata_on(root, &args)
}

fn image_config(root: &Path, reference: &str) -> Value {
    let repos: Value =
        serde_json::from_slice(&fs::read(root.join("image/overlay2/repositories.json")).unwrap())
            .unwrap();
    let repo = reference.split(':').next().unwrap();
    let id = repos["Repositories"][repo][reference].as_str().unwrap();
    let hex = id.trim_start_matches("sha256:");
    serde_json::from_slice(
        &fs::read(root.join("image/overlay2/imagedb/content/sha256").join(hex)).unwrap(),
    )
    .unwrap()
}

/// The chain ids of an image's layers, bottom first.
fn chain_ids(config: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for diff in config["rootfs"]["diff_ids"].as_array().unwrap() {
        let diff = diff.as_str().unwrap();
        let next = match out.last() {
            None => diff.to_owned(),
            Some(parent) => {
                analyzers::ids::Digest::of_bytes(format!("{parent} {diff}").as_bytes()).to_string()
            }
        };
        out.push(next);
    }
    out
}

fn layer_size(root: &Path, chain: &str) -> u64 {
    let dir = root
        .join("image/overlay2/layerdb/sha256")
        .join(chain.trim_start_matches("sha256:"));
    fs::read_to_string(dir.join("size"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn created_by(config: &Value) -> Vec<String> {
    config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str().map(str::to_owned))
        .collect()
}

/// `created_by` with the content hashes of `COPY`/`ADD` sources blanked (moby hashes
/// tar headers, strata the files' names, modes and bytes: the same role, other digests).
fn without_hashes(line: &str) -> String {
    let mut out = line.to_owned();
    for kind in ["file:", "dir:", "multi:"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(kind).map(|p| p + from) {
            let hex_start = at + kind.len();
            let hex_end = hex_start + 64;
            let is_hash = out
                .get(hex_start..hex_end)
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
            if is_hash {
                out.replace_range(hex_start..hex_end, "<hash>");
            }
            from = hex_start;
        }
    }
    out
}

/// A classic-builder build by dockerd, without its cache, with `extra` options.
fn docker_build(daemon: &Dockerd, context: &Path, dockerfile: &str, tag: &str, extra: &[&str]) {
    let file = context.join(dockerfile);
    let mut args = vec![
        "build",
        "-q",
        "--no-cache",
        "--network",
        "none",
        "-f",
        file.to_str().unwrap(),
        "-t",
        tag,
    ];
    args.extend_from_slice(extra);
    args.push(context.to_str().unwrap());
    daemon.docker_env(&[("DOCKER_BUILDKIT", "0")], &args);
}

/// `docker history`'s `created_by` lines, source hashes blanked.
fn history(daemon: &Dockerd, image: &str) -> Vec<String> {
    daemon
        .docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", image])
        .lines()
        .map(without_hashes)
        .collect()
}

fn df_image<'a>(df: &'a Value, tag: &str) -> &'a Value {
    df["Images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["RepoTags"].as_array().unwrap().iter().any(|t| t == tag))
        .unwrap_or_else(|| panic!("{tag} not in df: {df}"))
}

const APP_DOCKERFILE: &str = "FROM bb:1\n\
ARG VERSION=1\n\
ENV APP_HOME=/app\n\
RUN mkdir -p /opt/deps && head -c 300000 /dev/zero > /opt/deps/lib.bin && echo $VERSION > /opt/version\n\
WORKDIR $APP_HOME\n\
COPY base.txt ./\n\
COPY SRC /app/src\n\
LABEL app=SRC\n\
CMD [\"cat\", \"/app/src/main.txt\"]\n";

const META_DOCKERFILE: &str = "FROM bb:1\n\
MAINTAINER me <me@example.com>\n\
ENV A=\"x y\" B=2\n\
LABEL \"k 1\"=v maintainer=me\n\
EXPOSE 80 443/udp\n\
VOLUME [\"/data\", \"/logs\"]\n\
STOPSIGNAL SIGINT\n\
SHELL [\"/bin/sh\", \"-c\"]\n\
USER 1000:1000\n\
ENTRYPOINT echo \"hi $B\"\n\
CMD [\"ignored\"]\n\
WORKDIR rel/dir\n\
COPY --chown=1000:1000 base.txt /owned/\n\
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- http://localhost/ || exit 1\n";

const ONBUILD_BASE: &str = "FROM bb:1\nONBUILD RUN echo triggered > /trig\nONBUILD ENV T=1\n";

const ONBUILD_CHILD: &str = "ARG BASE\nFROM $BASE\nCMD [\"cat\", \"/trig\"]\n";

const MULTI_DOCKERFILE: &str = "FROM bb:1 AS builder\n\
RUN mkdir /out && echo built > /out/app.txt\n\
FROM bb:1\n\
COPY --from=builder /out/app.txt /app/\n\
COPY --from=0 /out /copied\n";

#[test]
fn cached_builds_share_layers_and_run_under_dockerd() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store_with_busybox(dir.path());
    let ctx = dir.path().join("ctx");
    for app in ["app1", "app2"] {
        fs::create_dir_all(ctx.join(app)).unwrap();
        fs::write(ctx.join(app).join("main.txt"), format!("{app} source\n")).unwrap();
        fs::write(
            ctx.join(format!("Dockerfile.{app}")),
            APP_DOCKERFILE.replace("SRC", app),
        )
        .unwrap();
    }
    fs::write(ctx.join("base.txt"), "shared\n").unwrap();
    fs::write(ctx.join("Dockerfile.meta"), META_DOCKERFILE).unwrap();
    fs::write(ctx.join("Dockerfile.multi"), MULTI_DOCKERFILE).unwrap();
    fs::write(ctx.join("Dockerfile.onbase"), ONBUILD_BASE).unwrap();
    fs::write(ctx.join("Dockerfile.onchild"), ONBUILD_CHILD).unwrap();

    let first = build(&root, &ctx, "Dockerfile.app1", &["-t", "app:1"]);
    first.assert_success();
    assert!(!first.stdout.contains("Using cache"), "{}", first.stdout);
    assert!(
        first.stdout.contains("Step 4/9 : RUN mkdir -p /opt/deps"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(" ---> Running in "),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("Successfully tagged app:1"),
        "{}",
        first.stdout
    );

    let second = build(&root, &ctx, "Dockerfile.app2", &["-t", "app:2"]);
    second.assert_success();
    // ARG, ENV, RUN, WORKDIR and COPY base.txt come from the cache; COPY app2 does not.
    assert_eq!(
        second.stdout.matches("Using cache").count(),
        5,
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains("Running in"), "{}", second.stdout);
    let (one, two) = (image_config(&root, "app:1"), image_config(&root, "app:2"));
    let (chains1, chains2) = (chain_ids(&one), chain_ids(&two));
    assert_eq!(
        chains1.len(),
        5,
        "base, RUN, WORKDIR, COPY base.txt, COPY app"
    );
    assert_eq!(chains1[..4], chains2[..4]);
    assert_ne!(chains1[4], chains2[4]);
    let run_layer = layer_size(&root, &chains1[1]);
    assert!(
        run_layer >= 300_000,
        "the RUN layer holds lib.bin: {run_layer}"
    );

    // df: the four common layers are shared, the app layer is each image's own.
    let df = strata_on(&root, &["--format", "json", "df", "-v"]);
    df.assert_success();
    let df = df.json();
    for (tag, chains) in [("app:1", &chains1), ("app:2", &chains2)] {
        let image = df_image(&df, tag);
        let size: u64 = chains.iter().map(|c| layer_size(&root, c)).sum();
        assert_eq!(image["Size"], size, "{tag}");
        assert_eq!(
            image["SharedSize"],
            size - layer_size(&root, &chains[4]),
            "{tag}"
        );
    }

    // A changed source file rebuilds from its COPY on; --no-cache rebuilds everything.
    fs::write(ctx.join("app1/main.txt"), "app1 changed\n").unwrap();
    let changed = build(&root, &ctx, "Dockerfile.app1", &["-t", "app:1"]);
    changed.assert_success();
    assert_eq!(
        changed.stdout.matches("Using cache").count(),
        5,
        "{}",
        changed.stdout
    );
    let after_copy = changed
        .stdout
        .split("Step 7/9 : COPY app1 /app/src")
        .nth(1)
        .unwrap();
    assert!(!after_copy.contains("Using cache"), "{}", changed.stdout);
    assert_ne!(chain_ids(&image_config(&root, "app:1"))[4], chains1[4]);
    let cold = build(
        &root,
        &ctx,
        "Dockerfile.app2",
        &["--no-cache", "-t", "app:2-cold"],
    );
    cold.assert_success();
    assert!(!cold.stdout.contains("Using cache"), "{}", cold.stdout);
    assert!(cold.stdout.contains("Running in"), "{}", cold.stdout);
    // Rebuilt, not reused: new step images (the layers may be byte-identical, and then are
    // shared, as dockerd shares them).
    assert_ne!(image_config(&root, "app:2-cold")["created"], two["created"]);
    assert_eq!(
        cold.stdout.matches(" ---> Running in ").count(),
        1,
        "{}",
        cold.stdout
    );

    build(&root, &ctx, "Dockerfile.meta", &["-t", "meta:1"]).assert_success();
    build(&root, &ctx, "Dockerfile.multi", &["-t", "multi:1"]).assert_success();
    build(&root, &ctx, "Dockerfile.onbase", &["-t", "onbase:1"]).assert_success();
    let child = build(
        &root,
        &ctx,
        "Dockerfile.onchild",
        &["--build-arg", "BASE=onbase:1", "-t", "onchild:1"],
    );
    assert!(
        child
            .assert_success()
            .stdout
            .contains("# Executing 2 build triggers\n"),
        "{}",
        child.stdout
    );
    let strata_df = strata_on(&root, &["--format", "json", "df", "-v"]).json();
    let daemon = Dockerd::start_with_root(Driver::Overlay2, &root);
    let docker_df = daemon.system_df();
    for tag in ["app:1", "app:2", "app:2-cold", "bb:1"] {
        let (ours, theirs) = (df_image(&strata_df, tag), df_image(&docker_df, tag));
        assert_eq!(ours["Size"], theirs["Size"], "{tag}");
        assert_eq!(ours["SharedSize"], theirs["SharedSize"], "{tag}");
    }
    let out = daemon.docker(&["run", "--rm", "--network", "none", "app:1"]);
    assert_eq!(out.trim_end(), "app1 changed");
    let out = daemon.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "app:2",
        "cat",
        "/opt/version",
    ]);
    assert_eq!(out.trim_end(), "1");
    let ours = history(&daemon, "app:2");
    docker_build(&daemon, &ctx, "Dockerfile.app2", "docker-app:2", &[]);
    let theirs = history(&daemon, "docker-app:2");
    assert_eq!(ours, theirs);

    // Every metadata instruction: the same history lines and the same resulting config.
    docker_build(&daemon, &ctx, "Dockerfile.meta", "docker-meta:1", &[]);
    assert_eq!(
        history(&daemon, "meta:1"),
        history(&daemon, "docker-meta:1")
    );
    docker_build(&daemon, &ctx, "Dockerfile.onbase", "docker-onbase:1", &[]);
    docker_build(
        &daemon,
        &ctx,
        "Dockerfile.onchild",
        "docker-onchild:1",
        &["--build-arg", "BASE=docker-onbase:1"],
    );
    assert_eq!(
        history(&daemon, "onchild:1"),
        history(&daemon, "docker-onchild:1")
    );
    let out = daemon.docker(&["run", "--rm", "--network", "none", "onchild:1"]);
    assert_eq!(out.trim_end(), "triggered");
    docker_build(&daemon, &ctx, "Dockerfile.multi", "docker-multi:1", &[]);
    assert_eq!(
        history(&daemon, "multi:1"),
        history(&daemon, "docker-multi:1")
    );
    let config = |image: &str| -> Value {
        serde_json::from_str(&daemon.docker(&["image", "inspect", "-f", "{{json .Config}}", image]))
            .unwrap()
    };
    let author = |image: &str| daemon.docker(&["image", "inspect", "-f", "{{.Author}}", image]);
    assert_eq!(author("meta:1"), "me <me@example.com>");
    assert_eq!(author("meta:1"), author("docker-meta:1"));
    let (mine, dockers) = (config("meta:1"), config("docker-meta:1"));
    for key in [
        "Env",
        "Cmd",
        "Entrypoint",
        "ExposedPorts",
        "Volumes",
        "User",
        "Labels",
        "StopSignal",
        "Shell",
        "WorkingDir",
        "Healthcheck",
    ] {
        assert_eq!(mine[key], dockers[key], "Config.{key}");
    }
    assert!(
        ours[0].contains("CMD [\"cat\" \"/app/src/main.txt\"]"),
        "{ours:?}"
    );
    // Empty-layer flags as dockerd sets them: a layer for RUN, WORKDIR (a new directory)
    // and each COPY; none for ARG, ENV, LABEL, CMD.
    let empty: Vec<bool> = two["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["empty_layer"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(
        empty,
        [false, true, true, false, false, false, false, true, true]
    );
    assert_eq!(created_by(&two).len(), 8, "the import has no created_by");
}

#[test]
fn copy_add_rules() {
    let Some((_dir, root, ctx)) = setup(
        "FROM bb:1\nARG DEST=/etc/app\nWORKDIR /work\n\
         COPY --chown=1000:1001 *.txt ./texts/\nCOPY conf ${DEST}/\nADD bundle.tgz /opt/\n\
         COPY a.txt renamed\n",
    ) else {
        return;
    };
    fs::create_dir_all(ctx.join("conf/sub")).unwrap();
    fs::create_dir_all(ctx.join("bundle/pkg")).unwrap();
    fs::write(ctx.join("a.txt"), "a\n").unwrap();
    fs::write(ctx.join("b.txt"), "b\n").unwrap();
    fs::write(ctx.join("secret.txt"), "no\n").unwrap();
    fs::write(ctx.join("conf/one.conf"), "1\n").unwrap();
    fs::write(ctx.join("conf/sub/two.conf"), "2\n").unwrap();
    fs::write(ctx.join("conf/debug.log"), "x\n").unwrap();
    fs::write(ctx.join("bundle/pkg/inside"), "tarred\n").unwrap();
    fs::write(ctx.join(".dockerignore"), "secret.txt\n**/*.log\n").unwrap();
    let status = Command::new("tar")
        .arg("-C")
        .arg(ctx.join("bundle"))
        .arg("-czf")
        .arg(ctx.join("bundle.tgz"))
        .arg("pkg")
        .status()
        .unwrap();
    assert!(status.success());
    build(
        &root,
        &ctx,
        "Dockerfile",
        &["--build-arg", "DEST=/srv/conf", "-t", "rules:1"],
    )
    .assert_success();
    let listing = strata_on(
        &root,
        &[
            "run",
            "--rm",
            "rules:1",
            "sh",
            "-c",
            "cd / && find work srv opt -type f | sort && stat -c '%u:%g %n' work/texts/a.txt \
             && cat opt/pkg/inside work/renamed",
        ],
    );
    listing.assert_success();
    assert_eq!(
        listing.stdout,
        "opt/pkg/inside\nsrv/conf/one.conf\nsrv/conf/sub/two.conf\nwork/renamed\n\
         work/texts/a.txt\nwork/texts/b.txt\n1000:1001 work/texts/a.txt\ntarred\na\n"
    );
}

#[test]
fn scratch_and_global_args() {
    let Some((_dir, root, ctx)) = setup(
        "ARG BASE=scratch\nFROM ${BASE}\nCOPY busybox /bin/busybox\nWORKDIR /work\n\
         ENTRYPOINT [\"/bin/busybox\"]\nCMD [\"echo\", \"from scratch\"]\n",
    ) else {
        return;
    };
    fs::copy(crate::harness::BUSYBOX, ctx.join("busybox")).unwrap();
    let first = build(&root, &ctx, "Dockerfile", &["-t", "tiny:1"]);
    first.assert_success();
    assert!(
        first
            .stdout
            .starts_with("Step 1/6 : ARG BASE=scratch\nStep 2/6 : FROM ${BASE}\n"),
        "{}",
        first.stdout
    );
    let config = image_config(&root, "tiny:1");
    assert_eq!(
        chain_ids(&config).len(),
        2,
        "COPY and WORKDIR, nothing below"
    );
    let shown = strata_on(&root, &["run", "--rm", "tiny:1"]);
    assert_eq!(shown.assert_success().stdout, "from scratch\n");
    // Steps on scratch are cached too (their parent is no image); -q prints the id alone.
    let quiet = build(&root, &ctx, "Dockerfile", &["-q"]);
    let repos = fs::read_to_string(root.join("image/overlay2/repositories.json")).unwrap();
    assert!(
        quiet.assert_success().stdout.starts_with("sha256:"),
        "{}",
        quiet.stdout
    );
    assert!(repos.contains(quiet.stdout.trim()), "{}", quiet.stdout);
    let again = build(&root, &ctx, "Dockerfile", &["-t", "tiny:1"]);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        4,
        "{}",
        again.stdout
    );
    assert_eq!(image_config(&root, "tiny:1")["created"], config["created"]);
}

#[test]
fn run_layers_record_deletions_and_run_as_user() {
    let Some((_dir, root, ctx)) = setup(
        "FROM bb:1\nRUN mkdir -p /opq && touch /opq/old /keep\n\
         RUN rm /bin/ls /keep && rm -rf /opq && mkdir /opq && echo new > /opq/new\n\
         USER 1000:1000\nRUN id -u && id -g\n",
    ) else {
        return;
    };
    let built = build(&root, &ctx, "Dockerfile", &["-t", "del:1"]);
    built.assert_success();
    assert!(built.stdout.contains("\n1000\n1000\n"), "{}", built.stdout);
    let config = image_config(&root, "del:1");
    let chains = chain_ids(&config);
    assert_eq!(
        chains.len(),
        3,
        "base and two RUN layers (id -u writes no file)"
    );
    let cache_id = fs::read_to_string(
        root.join("image/overlay2/layerdb/sha256")
            .join(chains[2].trim_start_matches("sha256:"))
            .join("cache-id"),
    )
    .unwrap();
    let diff = root.join("overlay2").join(cache_id.trim()).join("diff");
    for deleted in ["bin/ls", "keep"] {
        let meta = fs::symlink_metadata(diff.join(deleted)).unwrap();
        assert!(
            std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type()),
            "{deleted} is a whiteout"
        );
    }
    let opaque = xattr::get(diff.join("opq"), "trusted.overlay.opaque").unwrap();
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]), "/opq is opaque");
    strata_on(&root, &["verify", "del:1"]).assert_success();
    let as_user = strata_on(&root, &["run", "--rm", "del:1", "id", "-u"]);
    assert_eq!(
        as_user.assert_success().stdout,
        "1000\n",
        "strata run takes the image's USER"
    );

    let daemon = Dockerd::start_with_root(Driver::Overlay2, &root);
    let seen = daemon.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "del:1",
        "sh",
        "-c",
        "test ! -e /bin/ls && test ! -e /keep && ls /opq && id -u",
    ]);
    assert_eq!(seen, "new\n1000");
}

#[test]
fn multi_stage_copy_from() {
    let Some((_dir, root, ctx)) = setup(
        "FROM bb:1 AS builder\nARG FLAVOR=plain\n\
         RUN mkdir -p /out/sub && echo built-$FLAVOR > /out/app.txt && ln -s /out/app.txt /out/link \
         && echo deep > /out/sub/deep.txt\n\
         FROM bb:1\nCOPY --from=bb:1 /bin/../etc/passwd /passwd-copy\n\
         COPY --from=builder /out/app.txt /app/\nCOPY --from=0 /out /copied\n\
         COPY --from=builder /out/*.txt /glob/\n\
         CMD [\"cat\", \"/app/app.txt\"]\n",
    ) else {
        return;
    };
    let first = build(&root, &ctx, "Dockerfile", &["-t", "multi:1"]);
    first.assert_success();
    let shown = strata_on(
        &root,
        &[
            "run",
            "--rm",
            "multi:1",
            "sh",
            "-c",
            "cat /app/app.txt /copied/sub/deep.txt /glob/app.txt; readlink /copied/link; \
             cat /passwd-copy; test ! -e /out && echo no-builder-files",
        ],
    );
    shown.assert_success();
    assert_eq!(
        shown.stdout,
        "built-plain\ndeep\nbuilt-plain\n/out/app.txt\nroot:x:0:0:root:/root:/bin/sh\nno-builder-files\n"
    );
    // The final image is the last stage's: bb:1's layer and one per COPY.
    let config = image_config(&root, "multi:1");
    assert_eq!(chain_ids(&config).len(), 5);
    assert!(created_by(&config).iter().all(|c| !c.contains("mkdir")));
    // Fully cached. A changed builder stage misses there and at the first COPY of its files;
    // the cache starts afresh with each stage (moby resets its prober), so the COPY from bb:1
    // before it still hits.
    let again = build(&root, &ctx, "Dockerfile", &["-t", "multi:1"]);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        7,
        "{}",
        again.stdout
    );
    let changed = build(
        &root,
        &ctx,
        "Dockerfile",
        &["--build-arg", "FLAVOR=spicy", "-t", "multi:2"],
    );
    changed.assert_success();
    let second_stage = changed.stdout.split("Step 4/9 : FROM bb:1").nth(1).unwrap();
    assert_eq!(
        second_stage.matches("Using cache").count(),
        1,
        "{}",
        changed.stdout
    );
    let shown = strata_on(&root, &["run", "--rm", "multi:2"]);
    assert_eq!(shown.assert_success().stdout, "built-spicy\n");
}

/// The cgroup directories under the engine's cgroup parent, in every hierarchy, of the
/// build containers a build's output names (` ---> Running in <short id>`): other tests run
/// containers of their own meanwhile.
fn step_cgroups(output: &str) -> Vec<PathBuf> {
    let shorts: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix(" ---> Running in "))
        .collect();
    let base = Path::new("/sys/fs/cgroup");
    let mut parents = vec![base.join("strata")];
    if let Ok(entries) = fs::read_dir(base) {
        parents.extend(entries.flatten().map(|e| e.path().join("strata")));
    }
    parents
        .iter()
        .filter_map(|p| fs::read_dir(p).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            shorts.iter().any(|s| name.starts_with(s))
        })
        .collect()
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What a build may add to a store: driver directories, layer records, images, containers,
/// mounts, staged layers and scratch files.
fn store_state(root: &Path) -> Vec<BTreeSet<String>> {
    [
        "overlay2",
        "image/overlay2/layerdb/sha256",
        "image/overlay2/imagedb/content/sha256",
        "containers",
        "image/overlay2/layerdb/mounts",
        "image/overlay2/layerdb/tmp",
        "tmp",
    ]
    .iter()
    .map(|d| names(&root.join(d)))
    .collect()
}

#[test]
fn cancelled_build_leaves_nothing() {
    let Some((_dir, root, ctx)) =
        setup("FROM bb:1\nRUN echo started && echo data > /f && sleep 60\nRUN true\n")
    else {
        return;
    };
    let before = store_state(&root);
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(&root)
        .args(["build", "-t", "cancelled:1"])
        .arg(&ctx)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut seen = String::new();
    while !seen.ends_with("started\n") {
        let Some(line) = lines.next() else {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
            panic!("the build ended before its RUN step started: {seen}{err}");
        };
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
    }
    let started = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{seen}{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        started.elapsed().as_secs() < 20,
        "the sleep was killed, not waited for"
    );
    assert_eq!(
        store_state(&root),
        before,
        "the cancelled step left something"
    );
    assert!(seen.contains(" ---> Running in "), "{seen}");
    let left: Vec<PathBuf> = step_cgroups(&seen);
    assert!(left.is_empty(), "the cancelled step left cgroups {left:?}");
    assert!(
        mount_points_under(&root).is_empty(),
        "the cancelled step left a mount"
    );
}

#[test]
fn escapes_are_refused_and_failures_leave_nothing() {
    // A cached first step, so that the failures happen on a step that has a parent image.
    let Some((dir, root, ctx)) = setup("FROM bb:1\nENV A=1\n") else {
        return;
    };
    build(&root, &ctx, "Dockerfile", &[]).assert_success();
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), "s\n").unwrap();
    fs::write(ctx.join("ok.txt"), "ok\n").unwrap();
    std::os::unix::fs::symlink(&outside, ctx.join("out")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ctx.join("passwd")).unwrap();

    let state = || store_state(&root);
    let before = state();
    // A BuildKit-only option is refused, not ignored.
    fs::write(
        ctx.join("Dockerfile.mount"),
        "FROM bb:1\nRUN --mount=type=cache,target=/c true\n",
    )
    .unwrap();
    let refused = build(&root, &ctx, "Dockerfile.mount", &[]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--mount needs BuildKit"),
        "{}",
        refused.stderr
    );
    let cases = [
        ("COPY ../outside/secret /x", "../outside/secret", "outside the build context"),
        ("COPY /etc/passwd /x", "/etc/passwd", "absolute paths are refused"),
        ("COPY out/secret /x", "out/secret", "outside the build context"),
        ("COPY passwd /x", "passwd", "outside the build context"),
        ("COPY missing.txt /x", "missing.txt", "file not found in build context"),
        ("ADD out /x", "out", "outside the build context"),
        (
            "RUN echo partial > /partial && exit 3",
            "The command '/bin/sh -c echo partial > /partial && exit 3' returned a non-zero code: 3",
            "",
        ),
    ];
    for (i, (step, names_it, says)) in cases.iter().enumerate() {
        let file = format!("Dockerfile.bad{i}");
        fs::write(
            ctx.join(&file),
            format!("FROM bb:1\nENV A=1\n{step}\nCOPY ok.txt /\n"),
        )
        .unwrap();
        let run = build(&root, &ctx, &file, &["-t", "bad:1"]);
        assert_eq!(run.code, Some(1), "{step}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(names_it) && run.stderr.contains(says),
            "{step}: {}",
            run.stderr
        );
        assert!(run.stdout.contains("Step 3/4"), "{}", run.stdout);
        assert!(!run.stdout.contains("Step 4/4"), "{}", run.stdout);
        assert_eq!(state(), before, "{step} left something behind");
        if step.starts_with("RUN") {
            assert!(run.stdout.contains(" ---> Running in "), "{}", run.stdout);
        }
        let left = step_cgroups(&run.stdout);
        assert!(left.is_empty(), "{step} left cgroups {left:?}");
        assert!(mount_points_under(&root).is_empty(), "{step} left a mount");
        assert!(
            mount_points_under(dir.path()).is_empty(),
            "{step} left a mount"
        );
    }
    assert!(
        !root.join("image/overlay2/repositories.json").exists()
            || !fs::read_to_string(root.join("image/overlay2/repositories.json"))
                .unwrap()
                .contains("bad")
    );
}
