//! `strata host`: the stores, the filesystems they live on, the total, then what to run in
//! each store to free what is reclaimable; Prometheus gauges.

use std::io::{self, Write};

use analyzers::host::{HostReport, StoreEntry};

use super::prometheus::Gauge;
use super::{docker_table, name, path, write_table, SizeStyle};

/// The stores (allocated and apparent bytes, reclaimable bytes, filesystem), the containerd
/// roots' namespaces, the filesystems, the total, and each store's recommendations.
pub fn table(out: &mut dyn Write, r: &HostReport, style: SizeStyle) -> io::Result<()> {
    if !r.sysroot.as_os_str().is_empty() && r.sysroot != std::path::Path::new("/") {
        writeln!(out, "Host files read under {}\n", path(&r.sysroot))?;
    }
    let mut t = docker_table(&[
        "KIND",
        "ROLE",
        "OWNER",
        "DRIVER",
        "SIZE",
        "APPARENT",
        "RECLAIMABLE",
        "DEVICE",
        "PATH",
    ]);
    for s in &r.stores {
        t.add_row(vec![
            s.kind.label().to_owned(),
            s.role.label().to_owned(),
            name(&s.owner.user),
            name(&s.driver),
            style.bytes(s.sizes.allocated),
            style.bytes(s.sizes.apparent),
            style.bytes(s.reclaimable_bytes),
            s.filesystem.clone(),
            path(&s.path),
        ]);
    }
    write_table(out, &t)?;
    for s in r.stores.iter().filter(|s| !s.namespaces.is_empty()) {
        writeln!(out, "\nNamespaces of {}:", path(&s.path))?;
        let mut t = docker_table(&[
            "NAMESPACE",
            "IMAGES",
            "CONTAINERS",
            "SNAPSHOTS",
            "BLOBS",
            "RECLAIMABLE",
            "NOTE",
        ]);
        for n in &s.namespaces {
            let note = match (&n.docker_root, &n.error) {
                (Some(root), _) => format!("dockerd's: see {}", name(root)),
                (None, Some(e)) => name(e),
                (None, None) => String::new(),
            };
            t.add_row(vec![
                name(&n.name),
                n.images.to_string(),
                n.containers.to_string(),
                n.snapshots.to_string(),
                n.blobs.to_string(),
                style.bytes(n.reclaimable_bytes),
                note,
            ]);
        }
        write_table(out, &t)?;
    }
    writeln!(out)?;
    let mut t = docker_table(&[
        "DEVICE",
        "SOURCE",
        "TYPE",
        "SIZE",
        "USED",
        "AVAIL",
        "USE%",
        "MOUNTED ON",
    ]);
    for f in &r.filesystems {
        t.add_row(vec![
            f.device.clone(),
            name(&f.source),
            name(&f.fs_type),
            style.bytes(f.size),
            style.bytes(f.used),
            style.bytes(f.available),
            format!("{}%", f.use_percent),
            path(&f.mount_point),
        ]);
    }
    write_table(out, &t)?;
    writeln!(
        out,
        "\nTotal: {} ({} apparent) in {} stores, each byte once; reclaimable: {}",
        style.bytes(r.total.allocated),
        style.bytes(r.total.apparent),
        r.stores.len(),
        style.bytes(r.reclaimable_bytes)
    )?;
    for s in &r.stores {
        recommendations(out, s, style)?;
    }
    Ok(())
}

/// A store's error and recommendations (its namespaces' for a containerd root), under a
/// heading naming it; nothing when it has neither.
fn recommendations(out: &mut dyn Write, s: &StoreEntry, style: SizeStyle) -> io::Result<()> {
    let namespaced = s
        .namespaces
        .iter()
        .flat_map(|n| n.recommendations.iter().map(move |r| (Some(&n.name), r)));
    let all: Vec<_> = s
        .recommendations
        .iter()
        .map(|r| (None, r))
        .chain(namespaced)
        .collect();
    if all.is_empty() && s.error.is_none() {
        return Ok(());
    }
    writeln!(
        out,
        "\n== {} {} {} ({}) ==",
        s.kind.label(),
        s.role.label(),
        path(&s.path),
        name(&s.owner.user)
    )?;
    if let Some(e) = &s.error {
        writeln!(out, "not read: {}", name(e))?;
    }
    for (namespace, rec) in all {
        let ns = namespace.map_or_else(String::new, |n| format!(" [namespace {}]", name(n)));
        super::advise::block(out, rec, &ns, style)?;
    }
    Ok(())
}

/// `strata_host_store_bytes`, `strata_host_store_reclaimable_bytes`, the filesystems' size,
/// used and available bytes, the total and the problems.
pub fn prometheus(out: &mut dyn Write, r: &HostReport) -> io::Result<()> {
    let as_i64 = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
    let mut g = Gauge::new(
        out,
        "strata_host_store_bytes",
        "Bytes of a container store (minus the stores nested in it), allocated or apparent.",
    )?;
    for s in &r.stores {
        for (measure, bytes) in [
            ("allocated", s.sizes.allocated),
            ("apparent", s.sizes.apparent),
        ] {
            let mut l = labels(s);
            l.push(("measure", measure.to_owned()));
            g.sample(&borrowed(&l), as_i64(bytes))?;
        }
    }
    let mut g = Gauge::new(
        out,
        "strata_host_store_reclaimable_bytes",
        "Bytes the recommended cleanup commands of a store free, each counted on its own.",
    )?;
    for s in &r.stores {
        g.sample(&borrowed(&labels(s)), as_i64(s.reclaimable_bytes))?;
    }
    for (family, help, value) in [
        (
            "strata_host_filesystem_size_bytes",
            "Bytes of a filesystem holding container stores.",
            (|f: &analyzers::host::filesystem::Filesystem| f.size) as fn(&_) -> u64,
        ),
        (
            "strata_host_filesystem_used_bytes",
            "Bytes in use on a filesystem holding container stores.",
            |f| f.used,
        ),
        (
            "strata_host_filesystem_available_bytes",
            "Bytes still available to unprivileged users on a filesystem holding container \
             stores.",
            |f| f.available,
        ),
    ] {
        let mut g = Gauge::new(out, family, help)?;
        for f in &r.filesystems {
            let mount = f.mount_point.display().to_string();
            g.sample(
                &[
                    ("device", &f.device),
                    ("source", &f.source),
                    ("fstype", &f.fs_type),
                    ("mountpoint", &mount),
                ],
                as_i64(value(f)),
            )?;
        }
    }
    let mut g = Gauge::new(
        out,
        "strata_host_total_bytes",
        "Bytes of every container store of the host together, each byte once.",
    )?;
    g.sample(&[("measure", "allocated")], as_i64(r.total.allocated))?;
    g.sample(&[("measure", "apparent")], as_i64(r.total.apparent))?;
    Gauge::new(
        out,
        "strata_host_problems",
        "Damaged or unreadable records and files found on the host.",
    )?
    .sample(&[], i64::try_from(r.problems.len()).unwrap_or(i64::MAX))
}

/// A store's labels: what it is, whose, where.
fn labels(s: &StoreEntry) -> Vec<(&'static str, String)> {
    vec![
        ("kind", s.kind.label().to_owned()),
        ("role", s.role.label().to_owned()),
        ("owner", s.owner.user.clone()),
        ("driver", s.driver.clone()),
        ("path", s.path.display().to_string()),
        ("device", s.filesystem.clone()),
    ]
}

/// `labels` as [`Gauge::sample`] takes them.
fn borrowed<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
