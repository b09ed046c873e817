//! Tables for the inventories: `images`, `layers`, `containers`, `volumes`.

use std::io::{self, Write};

use analyzers::inventory::{
    ContainerEntry, ImageEntry, Inventory, LayerEntry, SnapshotEntry, VolumeEntry,
};

use super::{docker_table, name, write_table, SizeStyle};

/// First 12 characters of an id without its `sha256:`, as the Docker CLI prints ids.
pub fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// `REPOSITORY TAG IMAGE ID SIZE SHARED SIZE UNIQUE SIZE LAYERS CONTAINERS`.
pub fn images(out: &mut dyn Write, r: &Inventory<ImageEntry>, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "LAYERS",
        "CONTAINERS",
    ]);
    for img in &r.items {
        let tags = img.df.repo_tags.clone().unwrap_or_default();
        let first = tags.first().map_or("<none>:<none>", String::as_str);
        let (repo, tag) = first.rsplit_once(':').unwrap_or((first, "<none>"));
        t.add_row(vec![
            name(repo),
            name(tag),
            short(&img.df.id.to_string()).to_owned(),
            style.size(img.df.size),
            style.size(img.df.shared_size),
            style.size(img.df.unique_size),
            img.layers.len().to_string(),
            names(img.container_refs.iter().map(|c| c.name.as_str())),
        ]);
    }
    write_table(out, &t)
}

/// `LAYER CACHE ID SIZE IMAGES CONTAINERS`.
pub fn layers(out: &mut dyn Write, r: &Inventory<LayerEntry>, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["LAYER", "CACHE ID", "SIZE", "IMAGES", "CONTAINERS"]);
    for l in &r.items {
        t.add_row(vec![
            short(&l.chain_id.to_string()).to_owned(),
            short(l.cache_id.as_str()).to_owned(),
            style.size(l.size),
            names(l.images.iter().map(|i| short(i.digest().hex()))),
            names(l.container_refs.iter().map(|c| c.name.as_str())),
        ]);
    }
    write_table(out, &t)
}

/// `KEY SIZE INODES KIND PARENT`, as `ctr snapshots usage` and `ctr snapshots ls`.
pub fn snapshots(
    out: &mut dyn Write,
    r: &Inventory<SnapshotEntry>,
    style: SizeStyle,
) -> io::Result<()> {
    let mut t = docker_table(&["KEY", "SIZE", "INODES", "KIND", "PARENT"]);
    for s in &r.items {
        t.add_row(vec![
            name(&s.key),
            style.size(s.size),
            s.inodes.to_string(),
            s.kind.to_string(),
            s.parent.as_deref().map(name).unwrap_or_default(),
        ]);
    }
    write_table(out, &t)
}

/// `CONTAINER ID IMAGE STATE SIZE ROOTFS VOLUMES NAMES`.
pub fn containers(
    out: &mut dyn Write,
    r: &Inventory<ContainerEntry>,
    style: SizeStyle,
) -> io::Result<()> {
    let mut t = docker_table(&[
        "CONTAINER ID",
        "IMAGE",
        "STATE",
        "SIZE",
        "ROOTFS",
        "VOLUMES",
        "NAMES",
    ]);
    for c in &r.items {
        t.add_row(vec![
            short(&c.df.id).to_owned(),
            name(&c.df.image),
            name(&c.df.state),
            style.size(c.df.size_rw),
            style.size(c.df.size_root_fs),
            names(c.volumes.iter().map(|v| short(v))),
            names(c.df.names.iter().map(|n| n.trim_start_matches('/'))),
        ]);
    }
    write_table(out, &t)
}

/// `VOLUME NAME SIZE LINKS CONTAINERS`.
pub fn volumes(
    out: &mut dyn Write,
    r: &Inventory<VolumeEntry>,
    style: SizeStyle,
) -> io::Result<()> {
    let mut t = docker_table(&["VOLUME NAME", "SIZE", "LINKS", "CONTAINERS"]);
    for v in &r.items {
        t.add_row(vec![
            name(&v.df.name),
            style.size(v.df.usage_data.size),
            v.df.usage_data.ref_count.to_string(),
            names(v.container_refs.iter().map(|c| c.name.as_str())),
        ]);
    }
    write_table(out, &t)
}

/// Comma-separated names (escaped), `-` for none.
fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<String> = items.map(name).collect();
    if all.is_empty() {
        "-".to_owned()
    } else {
        all.join(",")
    }
}
