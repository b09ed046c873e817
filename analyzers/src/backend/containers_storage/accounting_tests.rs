//! Podman's figures by release, on one small hand-made graphroot (the backend's own test:
//! it looks inside the backend it loads).

use crate::backend::containers_storage::ContainersStorage;
use crate::backend::Trees;
use crate::backend::{AnyBackend, Found, PodmanVersion, VersionSource};
use crate::format::containers_storage::big_data_file_name;
use crate::graph::LoadOptions;
use crate::root::DataRoot;
use crate::usage::libpod::{measured_dirs, Accountant};

/// A graphroot: base layer B (diff-size 1000, 100 bytes of files), image `base` on it,
/// child layer C (diff-size 500, 50 bytes) with image `app` built on `base` (one more
/// history step), and a container of `app` whose writable layer holds 7 bytes and whose
/// userdata holds 3. Each image has 10 bytes of recorded big data.
fn store(dir: &std::path::Path) {
    let hex = |c: char| c.to_string().repeat(64);
    let (b, c, w) = (hex('b'), hex('c'), hex('d'));
    let write = |rel: &str, bytes: &[u8]| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(&format!("overlay/{b}/diff/f"), &[0; 100]);
    write(&format!("overlay/{c}/diff/g"), &[0; 50]);
    write(&format!("overlay/{w}/diff/h"), &[0; 7]);
    let layers = format!(
        r#"[{{"id":"{b}","diff-digest":"sha256:{b}","diff-size":1000}},
            {{"id":"{c}","parent":"{b}","diff-digest":"sha256:{c}","diff-size":500}},
            {{"id":"{w}","parent":"{c}"}}]"#
    );
    write("overlay-layers/layers.json", layers.as_bytes());
    let history = |n: usize| {
        (0..n)
            .map(|i| {
                format!(
                    r#"{{"created":"2026-01-0{}T00:00:00Z","created_by":"step {i}"}}"#,
                    i + 1
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut images = Vec::new();
    for (name, top, diffs, steps) in [
        ("base", &b, vec![b.clone()], 1),
        ("app", &c, vec![b.clone(), c.clone()], 2),
    ] {
        let config = format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":[{}]}},"history":[{}]}}"#,
            diffs
                .iter()
                .map(|d| format!("\"sha256:{d}\""))
                .collect::<Vec<_>>()
                .join(","),
            history(steps)
        );
        let id = crate::ids::Digest::of_bytes(config.as_bytes());
        write(
            &format!(
                "overlay-images/{}/{}",
                id.hex(),
                big_data_file_name(id.as_str())
            ),
            config.as_bytes(),
        );
        images.push(format!(
            r#"{{"id":"{}","names":["localhost/{name}:1"],"layer":"{top}",
                "big-data-names":["{}"],"big-data-sizes":{{"{}":10}}}}"#,
            id.hex(),
            id.as_str(),
            id.as_str()
        ));
    }
    write(
        "overlay-images/images.json",
        format!("[{}]", images.join(",")).as_bytes(),
    );
    let app = images[1].split('"').nth(3).unwrap().to_owned();
    write(
        "overlay-containers/containers.json",
        format!(r#"[{{"id":"{}","image":"{app}","layer":"{w}"}}]"#, hex('e')).as_bytes(),
    );
    write(
        &format!("overlay-containers/{}/userdata/x", hex('e')),
        &[0; 3],
    );
}

fn with_rule(version: (u32, u32, u32), check: impl FnOnce(&Accountant, &ContainersStorage)) {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let found: Found = (
        PodmanVersion::new(version.0, version.1, version.2),
        VersionSource::Flag("--podman-version"),
    );
    let opts = LoadOptions {
        podman_version: Some(found),
        ..LoadOptions::default()
    };
    let root = DataRoot::open(dir.path()).unwrap();
    let store = crate::graph::Store::load(&root, &opts).unwrap();
    assert!(store.problems.is_empty(), "{:?}", store.problems);
    let AnyBackend::ContainersStorage(backend) = &store.backend else {
        panic!("not read as containers/storage");
    };
    let roots = measured_dirs(backend, &store);
    let trees: Trees = roots
        .iter()
        .cloned()
        .zip(crate::walk::measure(
            &store.jail,
            &roots,
            &Default::default(),
        ))
        .collect();
    let rule = backend.rule();
    check(&Accountant::new(backend, &store, &trees, rule), backend);
}

#[test]
fn each_release_sizes_images_and_containers_its_way() {
    let base_size = 1000 + 10;
    let app_size = 1000 + 500 + 10;
    with_rule((4, 3, 1), |a, s| {
        let (base, app) = (&s.images[0], &s.images[1]);
        // The layer tree: base has a child (shares all), app's parent is base.
        assert_eq!(a.image(base).size, base_size);
        assert_eq!(a.image(base).shared, base_size);
        assert_eq!(a.image(app).size, app_size);
        assert_eq!(a.image(app).shared, base_size);
        assert_eq!(a.images_size(), None);
        // RWSize is the writable layer's diff/, Size the walked image layers.
        assert_eq!(a.container(&s.containers[0].id), (7, 100 + 50));
    });
    with_rule((4, 4, 0), |a, _| {
        // Distinct images' ImageSize less the layers already counted: 1010 + (1510 - 1000).
        assert_eq!(a.images_size(), Some(base_size + app_size - 1000));
    });
    with_rule((4, 6, 0), |a, s| {
        // ContainerSize: layer 7 + userdata 3 (no runroot given); Size adds ImageSize.
        assert_eq!(a.container(&s.containers[0].id), (10, app_size + 10));
    });
    with_rule((5, 5, 0), |a, s| {
        let (base, app) = (&s.images[0], &s.images[1]);
        // Layer B is reached by both images: shared; C by app alone; big data unique.
        assert_eq!(a.image(base).shared, 1000);
        assert_eq!(a.image(base).size, base_size);
        assert_eq!(a.image(app).shared, 1000);
        assert_eq!(a.image(app).size, app_size);
        // Every layer once (the writable one records 0) plus every image's big data.
        assert_eq!(a.images_size(), Some(1000 + 500 + 20));
    });
}
