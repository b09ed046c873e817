//! Engine, local image verbs through the Docker 20.10 CLI (and the 28 CLI where present):
//! `image inspect`, `inspect IMAGE`, `history`, `tag`, `images` filters, `rmi` (untag, then
//! delete with the layers nothing else uses, dockerd's conflict messages), `image prune`;
//! afterwards the store has no orphan layer (the analyzers' problems list is empty).

use std::path::Path;

use crate::engine_api::{imported_root, Engine};
use crate::harness::{engine_usable, strata_on, DOCKER_CLI};

const DOCKER_28: &str = "/usr/local/bin/docker";

fn clis() -> Vec<&'static str> {
    let mut clis = vec![DOCKER_CLI];
    if Path::new(DOCKER_28).exists() {
        clis.push(DOCKER_28);
    }
    clis
}

#[test]
fn image_verbs_behave_as_dockerds() {
    if !engine_usable() {
        return;
    }
    for cli in clis() {
        let dir = tempfile::tempdir().unwrap();
        let root = imported_root(dir.path());
        let engine = Engine::start(&root, dir.path());
        let run = |args: &[&str]| engine.cli_run(cli, args);
        let id = run(&["image", "inspect", "--format", "{{.Id}}", "bb:1"]);
        assert!(id.success(), "{id}");
        let id = id.stdout.trim().to_owned();
        let short = &id["sha256:".len().."sha256:".len() + 12];
        // Each command: arguments, exit status, what stdout (or stderr on failure) holds.
        let table: &[(&[&str], bool, &str)] = &[
            (
                &["image", "inspect", "--format", "{{.RepoTags}}", "bb:1"],
                true,
                "[bb:1]",
            ),
            (&["inspect", "--format", "{{.Id}}", "bb:1"], true, &id),
            (
                &["image", "inspect", "--format", "{{.Id}}", short],
                true,
                &id,
            ),
            (
                &[
                    "image",
                    "inspect",
                    "--format",
                    "{{.Id}}",
                    "docker.io/library/bb:1",
                ],
                true,
                &id,
            ),
            (
                &[
                    "image",
                    "inspect",
                    "--format",
                    "{{.GraphDriver.Name}} {{.RootFS.Type}}",
                    "bb:1",
                ],
                true,
                "overlay2 layers",
            ),
            (
                &[
                    "history",
                    "--format",
                    "{{.ID}} {{.Comment}}",
                    "--no-trunc",
                    "bb:1",
                ],
                true,
                &format!("{id} Imported from"),
            ),
            (&["image", "inspect", "nope:1"], false, "No such image"),
            (&["tag", "bb:1", "other/bb:2"], true, ""),
            (&["tag", "bb:1", "Bad:x"], false, "invalid reference format"),
            (
                &[
                    "images",
                    "--format",
                    "{{.Repository}}:{{.Tag}}",
                    "--filter",
                    "reference=other/*",
                ],
                true,
                "other/bb:2",
            ),
            (
                &[
                    "images",
                    "--format",
                    "{{.Repository}}:{{.Tag}}",
                    "--filter",
                    "reference=bb:*",
                ],
                true,
                "bb:1",
            ),
            (&["images", "-q", "--filter", "dangling=true"], true, ""),
            (
                &["images", "--filter", "colour=red"],
                false,
                "invalid filter 'colour'",
            ),
            (
                &["rmi", short],
                false,
                "image is referenced in multiple repositories",
            ),
            (&["rmi", "other/bb:2"], true, "Untagged: other/bb:2"),
            (&["create", "--name", "c1", "bb:1", "true"], true, ""),
            (&["rmi", "bb:1"], false, "(must force) - container"),
            (&["rm", "c1"], true, "c1"),
            (&["image", "prune", "-f"], true, "Total reclaimed space: 0B"),
            (&["rmi", "bb:1"], true, &format!("Deleted: {id}")),
            (&["images", "-q"], true, ""),
        ];
        for (args, ok, want) in table {
            let r = run(args);
            assert_eq!(r.success(), *ok, "{cli} {args:?}: {r}");
            let text = if *ok { &r.stdout } else { &r.stderr };
            assert!(text.contains(want), "{cli} {args:?}: want {want:?} in {r}");
        }
        drop(engine);
        // rmi removed the layer with its record and content: nothing orphaned.
        let df = strata_on(&root, &["--format", "json", "df"]);
        df.assert_success();
        let report = df.json();
        assert_eq!(report["LayersSize"], 0, "{report}");
        assert!(
            report["Problems"].as_array().is_none_or(|p| p.is_empty()),
            "{report}"
        );
        let layers = root.join("image/overlay2/layerdb/sha256");
        assert_eq!(std::fs::read_dir(&layers).unwrap().count(), 0);
    }
}
