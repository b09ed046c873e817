//! Criterion benchmarks of the two halves of a scan: loading the metadata graph of a store,
//! and the parallel walk. Both run on synthetic trees made in a temp dir, so they need neither
//! root nor Docker; `benches/compare-df.sh` times a real dockerd-made store.

use std::fs;
use std::path::{Path, PathBuf};

use analyzers::fs::Jail;
use analyzers::graph::{LoadOptions, Store};
use analyzers::ids::{ChainId, DiffId, Digest};
use analyzers::root::DataRoot;
use analyzers::walk::{measure, WalkOptions};
use analyzers::watch::{Watch, WatchOptions};
use criterion::{criterion_group, criterion_main, Criterion};

/// A tree of `dirs` directories holding `files_per_dir` small files each.
fn plant_tree(base: &Path, dirs: usize, files_per_dir: usize) {
    for d in 0..dirs {
        let dir = base.join(format!("d{}/e{d}", d % 16));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..files_per_dir {
            fs::write(dir.join(format!("f{f}")), vec![b'x'; f % 300]).unwrap();
        }
    }
}

/// An overlay2 store of `images` images, each two layers on a shared base layer.
fn plant_store(root: &Path, images: usize) {
    let image_dir = root.join("image/overlay2");
    let layerdb = image_dir.join("layerdb/sha256");
    let content = image_dir.join("imagedb/content/sha256");
    fs::create_dir_all(&content).unwrap();
    let mut repos = serde_json::Map::new();
    let layer = |parent: Option<&ChainId>, n: usize| -> (DiffId, ChainId) {
        let diff = DiffId(Digest::of_bytes(format!("layer {n}").as_bytes()));
        let chain = ChainId::of(parent, &diff);
        let rec = layerdb.join(chain.digest().hex());
        fs::create_dir_all(&rec).unwrap();
        fs::write(rec.join("diff"), diff.to_string()).unwrap();
        fs::write(rec.join("cache-id"), format!("cache{n}")).unwrap();
        fs::write(rec.join("size"), (n * 1000).to_string()).unwrap();
        if let Some(p) = parent {
            fs::write(rec.join("parent"), p.to_string()).unwrap();
        }
        fs::create_dir_all(root.join(format!("overlay2/cache{n}/diff"))).unwrap();
        (diff, chain)
    };
    let (base_diff, base_chain) = layer(None, 0);
    for i in 0..images {
        let (d1, c1) = layer(Some(&base_chain), 2 * i + 1);
        let (d2, _) = layer(Some(&c1), 2 * i + 2);
        let config = serde_json::json!({
            "created": "2026-01-01T00:00:00Z",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [base_diff.to_string(), d1.to_string(), d2.to_string()]},
        })
        .to_string();
        let id = Digest::of_bytes(config.as_bytes());
        fs::write(content.join(id.hex()), config).unwrap();
        repos.insert(
            format!("app{i}"),
            serde_json::json!({ format!("app{i}:latest"): id.to_string() }),
        );
    }
    fs::write(
        image_dir.join("repositories.json"),
        serde_json::json!({ "Repositories": repos }).to_string(),
    )
    .unwrap();
}

fn bench_graph(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    plant_store(dir.path(), 1000);
    let root = DataRoot::open(dir.path()).unwrap();
    c.bench_function("graph load, 1000 images / 2001 layers", |b| {
        b.iter(|| Store::load(&root, &LoadOptions::default()).unwrap())
    });
}

fn bench_walk(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    plant_tree(dir.path(), 400, 100);
    let roots: Vec<PathBuf> = vec![dir.path().to_path_buf()];
    let jail = Jail::open(dir.path()).unwrap();
    let mut group = c.benchmark_group("walk 40k files");
    for threads in [1, 2, 4] {
        let opts = WalkOptions {
            threads: Some(threads),
            one_file_system: true,
            progress: None,
        };
        group.bench_function(format!("{threads} threads"), |b| {
            b.iter(|| measure(&jail, &roots, &opts))
        });
    }
    group.finish();
}

/// Adds a running container of the first image whose writable layer holds `files` files.
fn plant_running_container(root: &Path, files: usize) -> PathBuf {
    let id = "c".repeat(64);
    let mount = "m".repeat(64);
    let image_dir = root.join("image/overlay2");
    let config = fs::read_dir(image_dir.join("imagedb/content/sha256"))
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    let image_id = format!("sha256:{}", config.file_name().to_string_lossy());
    let rec = image_dir.join("layerdb/mounts").join(&id);
    fs::create_dir_all(&rec).unwrap();
    fs::write(rec.join("mount-id"), &mount).unwrap();
    let upper = root.join("overlay2").join(&mount).join("diff");
    plant_tree(&upper, files / 100, 100);
    let dir = root.join("containers").join(&id);
    fs::create_dir_all(&dir).unwrap();
    let cfg = serde_json::json!({
        "ID": id, "Name": "/bench", "Image": image_id, "Driver": "overlay2",
        "State": {"Running": true, "StartedAt": "2026-01-01T00:00:00Z"},
    });
    fs::write(dir.join("config.v2.json"), cfg.to_string()).unwrap();
    upper
}

fn bench_watch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    plant_store(dir.path(), 2);
    let upper = plant_running_container(dir.path(), 100_000);
    let root = DataRoot::open(dir.path()).unwrap();
    let jail = root.jail.clone();
    let mut watch = Watch::new(root, WatchOptions::default()).unwrap();
    assert!(!watch.is_empty());
    let mut group = c.benchmark_group("writable layer of 100k unchanged files");
    group.bench_function("watch tick", |b| b.iter(|| watch.tick()));
    let roots = vec![upper];
    group.bench_function("full walk", |b| {
        b.iter(|| measure(&jail, &roots, &WalkOptions::default()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_graph, bench_walk, bench_watch
}
criterion_main!(benches);
