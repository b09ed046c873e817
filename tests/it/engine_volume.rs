//! Engine, volumes: `strata volume create|ls|inspect|rm|prune`, the anonymous volume an
//! image's `VOLUME` gives a container (created at `create`, filled from the image at first
//! start, kept until `rm -v`), and `volumes/metadata.db` written so that a real dockerd on
//! strata's root lists every volume with its labels.

use std::fs;

use serde_json::Value;

use crate::fixture::busybox_rootfs_tar;
use crate::harness::{dockerd_usable, strata_on, Dockerd, Driver};

fn names(ls: &str) -> Vec<String> {
    ls.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_owned)
        .collect()
}

#[test]
fn volumes_are_made_used_pruned_and_recorded_as_dockerd_records_them() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let tar = busybox_rootfs_tar(dir.path());
    // An image with a `VOLUME /seed` over content: made by docker import --change, saved.
    let saved = dir.path().join("vol.tar");
    {
        let daemon = Dockerd::start(Driver::Overlay2);
        let seeded = dir.path().join("seeded");
        fs::create_dir_all(seeded.join("seed")).unwrap();
        fs::write(seeded.join("seed/f"), "from the image\n").unwrap();
        let seeded_tar = dir.path().join("seeded.tar");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cp {tar} {out} && tar -C {seeded} -rf {out} ./seed",
                tar = tar.display(),
                out = seeded_tar.display(),
                seeded = seeded.display()
            ))
            .status()
            .unwrap();
        assert!(status.success());
        daemon.docker(&[
            "import",
            "--change",
            "VOLUME /seed",
            seeded_tar.to_str().unwrap(),
            "vol:1",
        ]);
        daemon.docker(&["save", "-o", saved.to_str().unwrap(), "vol:1"]);
    }
    strata_on(&root, &["load", "-i", saved.to_str().unwrap()]).assert_success();

    let made = strata_on(&root, &["volume", "create", "--label", "team=db", "named"]);
    assert_eq!(made.assert_success().stdout, "named\n");
    let inspect = strata_on(&root, &["volume", "inspect", "named"]).json();
    assert_eq!(inspect[0]["Name"], "named");
    assert_eq!(inspect[0]["Labels"]["team"], "db");
    assert_eq!(inspect[0]["Driver"], "local");
    assert!(inspect[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with("/volumes/named/_data"));
    assert!(!inspect[0]["CreatedAt"].as_str().unwrap().is_empty());
    strata_on(&root, &["volume", "create", "spare"]).assert_success();
    assert!(!strata_on(&root, &["volume", "inspect", "nothing"]).success());
    assert!(!strata_on(&root, &["volume", "create", "/bad"]).success());

    // The image's VOLUME: an anonymous volume, created at create, filled at first start.
    let created = strata_on(
        &root,
        &["create", "--name", "user", "vol:1", "cat", "/seed/f"],
    );
    let id = created.assert_success().stdout.trim().to_owned();
    let listed = names(&strata_on(&root, &["volume", "ls"]).assert_success().stdout);
    let anonymous: Vec<&String> = listed
        .iter()
        .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(anonymous.len(), 1, "{listed:?}");
    let anon = anonymous[0].clone();
    let config: Value = serde_json::from_slice(
        &fs::read(root.join("containers").join(&id).join("config.v2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["MountPoints"]["/seed"]["Name"], anon.as_str());
    let data = root.join("volumes").join(&anon).join("_data");
    assert_eq!(fs::read_dir(&data).unwrap().count(), 0, "empty until start");
    strata_on(&root, &["start", "user"]).assert_success();
    assert_eq!(strata_on(&root, &["wait", "user"]).stdout.trim(), "0");
    assert_eq!(
        strata_on(&root, &["logs", "user"]).stdout,
        "from the image\n"
    );
    assert_eq!(
        fs::read_to_string(data.join("f")).unwrap(),
        "from the image\n"
    );
    // In use: neither rm nor prune touch it.
    assert!(!strata_on(&root, &["volume", "rm", &anon]).success());
    let pruned = strata_on(&root, &["volume", "prune"]);
    pruned.assert_success();
    assert!(pruned.stdout.contains("named\n") && pruned.stdout.contains("spare\n"));
    assert!(!pruned.stdout.contains(&anon));
    strata_on(&root, &["volume", "create", "--label", "team=db", "named"]).assert_success();

    // dockerd lists strata's volumes, with the labels metadata.db records.
    {
        let daemon = Dockerd::start_with_root(Driver::Overlay2, &root);
        let mut docker_names: Vec<String> = daemon
            .docker(&["volume", "ls", "--format", "{{.Name}}"])
            .lines()
            .map(str::to_owned)
            .collect();
        docker_names.sort();
        let mut expected = vec![anon.clone(), "named".to_owned()];
        expected.sort();
        assert_eq!(docker_names, expected);
        let labels = daemon.docker(&["volume", "inspect", "-f", "{{json .Labels}}", "named"]);
        assert_eq!(labels, r#"{"team":"db"}"#);
        let used = daemon.docker(&["ps", "-a", "--filter", &format!("volume={anon}"), "-q"]);
        assert_eq!(used, &id[..12]);
    }
    strata_on(&root, &["rm", "-v", "user"]).assert_success();
    assert!(!root.join("volumes").join(&anon).exists());
    strata_on(&root, &["volume", "rm", "named"]).assert_success();
    assert_eq!(
        names(&strata_on(&root, &["volume", "ls"]).stdout),
        Vec::<String>::new()
    );
}
