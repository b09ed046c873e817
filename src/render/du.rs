//! `strata du` as a tree with size bars (terminal), a flat table, or Prometheus gauges.

use std::collections::BTreeMap;
use std::io::{self, Write};

use analyzers::usage::du::{DuReport, Owner, OwnerKind, Sizes};

use super::{docker_table, write_table, SizeStyle};
use crate::cli::By;

/// Width of a size bar, in characters.
const BAR_WIDTH: usize = 20;
/// Children shown per node before the rest is summed on one line.
const MAX_CHILDREN: usize = 25;

/// How to show the report.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// The grouping.
    pub by: By,
    /// Levels below the root to show.
    pub depth: usize,
    /// Apparent bytes instead of allocated.
    pub apparent: bool,
    /// Number format.
    pub style: SizeStyle,
}

impl View {
    fn bytes(&self, s: &Sizes) -> u64 {
        if self.apparent {
            s.apparent
        } else {
            s.allocated
        }
    }
}

/// One line of the tree.
struct Node {
    label: String,
    note: String,
    bytes: u64,
    /// A path of its parent owner, shown without a size of its own.
    is_path: bool,
    children: Vec<Node>,
}

impl Node {
    /// A node; `label` and `note` hold names from the store, so they are escaped here.
    fn new(label: impl AsRef<str>, note: impl AsRef<str>, bytes: u64) -> Node {
        Node {
            label: super::name(label.as_ref()),
            note: super::name(note.as_ref()),
            bytes,
            is_path: false,
            children: Vec::new(),
        }
    }

    fn with_children(mut self, mut children: Vec<Node>) -> Node {
        children.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.label.cmp(&b.label)));
        self.children = children;
        self
    }
}

/// A 64-hex id (with or without `sha256:`, or a `-init` layer) cut to 12 characters.
pub(crate) fn short(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    let (head, tail) = hex.split_at(hex.len().min(64));
    if head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("{}{tail}", &head[..12])
    } else {
        id.to_owned()
    }
}

/// An owner's label in a tree: its short id, then its name when that says more.
pub(crate) fn owner_label(o: &Owner) -> String {
    let label = short(&o.id);
    if !o.name.is_empty() && o.name != o.id && o.name != label {
        format!("{label} {}", o.name)
    } else {
        label
    }
}

/// An owner's note in a tree: its note, then who uses it.
pub(crate) fn owner_note(o: &Owner) -> String {
    let users = o.used_by.join(", ");
    match (o.note.is_empty(), users.is_empty()) {
        (_, true) => o.note.clone(),
        (true, false) => users,
        (false, false) => format!("{}; {users}", o.note),
    }
}

fn owner_node(o: &Owner, view: &View) -> Node {
    let (label, note) = (owner_label(o), owner_note(o));
    let paths = o
        .paths
        .iter()
        .map(|p| {
            let mut n = Node::new("", "", 0);
            n.label = super::path(p);
            n.is_path = true;
            n
        })
        .collect();
    let mut n = Node::new(label, note, view.bytes(&o.sizes));
    n.children = paths;
    n
}

/// One item of the top level of the tree `--by` asks for.
#[derive(Debug, Clone)]
pub enum TopItem {
    /// One owner (`--by layer`, `--by volume`), by index into the report's owners.
    Owner(usize),
    /// Several owners under one name: a kind, an image, a container.
    Group {
        /// Its name (unescaped).
        label: String,
        /// A note (unescaped): how many owners, an image's id.
        note: String,
        /// Its owners, by index into the report's owners; its bytes are theirs.
        owners: Vec<usize>,
    },
}

/// The top level of the tree grouped `by`, in the report's order: kinds, images (their
/// layers and big data; a shared layer under each), containers (their layers, logs and
/// files), or the layers or volumes themselves.
pub fn top_level(r: &DuReport, by: By) -> Vec<TopItem> {
    let owners = &r.owners;
    let indices_of = |kind: OwnerKind| -> Vec<usize> {
        (0..owners.len())
            .filter(|&i| owners[i].kind == kind)
            .collect()
    };
    match by {
        By::Kind => r
            .kinds
            .iter()
            .map(|k| TopItem::Group {
                label: k.kind.label().to_owned(),
                note: format!("{} owners", k.owners),
                owners: indices_of(k.kind),
            })
            .collect(),
        By::Layer => indices_of(OwnerKind::ImageLayer)
            .into_iter()
            .map(TopItem::Owner)
            .collect(),
        By::Volume => indices_of(OwnerKind::Volume)
            .into_iter()
            .map(TopItem::Owner)
            .collect(),
        By::Image => {
            let by_id = |kind: OwnerKind| -> BTreeMap<&str, usize> {
                indices_of(kind)
                    .into_iter()
                    .map(|i| (owners[i].id.as_str(), i))
                    .collect()
            };
            // containers/storage keeps each image's config and manifests apart, by image id.
            let (layers, big_data) = (by_id(OwnerKind::ImageLayer), by_id(OwnerKind::ImageBigData));
            r.images
                .iter()
                .map(|img| TopItem::Group {
                    label: img
                        .tags
                        .first()
                        .cloned()
                        .unwrap_or_else(|| format!("<none> {}", short(&img.id))),
                    note: short(&img.id),
                    owners: img
                        .layers
                        .iter()
                        .filter_map(|c| layers.get(c.as_str()))
                        .chain(big_data.get(img.id.as_str()))
                        .copied()
                        .collect(),
                })
                .collect()
        }
        By::Container => {
            let mut by_container: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, o) in owners.iter().enumerate() {
                if matches!(
                    o.kind,
                    OwnerKind::ContainerLayer | OwnerKind::ContainerLog | OwnerKind::ContainerMeta
                ) {
                    by_container.entry(o.id.as_str()).or_default().push(i);
                }
            }
            by_container
                .into_iter()
                .map(|(id, members)| {
                    let name = members
                        .iter()
                        .map(|&i| owners[i].name.as_str())
                        .find(|n| !n.is_empty())
                        .unwrap_or("");
                    TopItem::Group {
                        label: format!("{} {name}", short(id)).trim_end().to_owned(),
                        note: String::new(),
                        owners: members,
                    }
                })
                .collect()
        }
    }
}

/// Builds the tree the view asks for.
fn build(r: &DuReport, view: &View) -> Node {
    let mut root = Node::new("", "", view.bytes(&r.total));
    root.label = format!("{} ({})", super::path(&r.root), r.driver);
    let part = |o: &Owner| match view.by {
        // A container's parts are named by what they are.
        By::Container => Node::new(o.kind.label(), o.note.clone(), view.bytes(&o.sizes)),
        _ => owner_node(o, view),
    };
    let children = top_level(r, view.by)
        .into_iter()
        .map(|item| match item {
            TopItem::Owner(i) => owner_node(&r.owners[i], view),
            TopItem::Group {
                label,
                note,
                owners,
            } => {
                let parts: Vec<Node> = owners.iter().map(|&i| part(&r.owners[i])).collect();
                let bytes = parts.iter().map(|p| p.bytes).sum();
                Node::new(label, note, bytes).with_children(parts)
            }
        })
        .collect();
    let mut root = root.with_children(children);
    if view.by == By::Image {
        root.note = "a shared layer is listed under each image that uses it".to_owned();
    }
    root
}

/// The tree with size bars and percentages of the root's total, like dust.
pub fn tree(out: &mut dyn Write, r: &DuReport, view: &View) -> io::Result<()> {
    let root = build(r, view);
    let total = root.bytes.max(1);
    let unit = if view.apparent {
        "apparent"
    } else {
        "allocated"
    };
    writeln!(
        out,
        "{:>9}        {}  ({unit}; {} entries, hard links saved {})",
        view.style.size(to_i64(root.bytes)),
        root.label,
        r.total.entries,
        view.style.size(to_i64(r.total.hardlink_saved)),
    )?;
    if !root.note.is_empty() {
        writeln!(out, "{:>9}        ({})", "", root.note)?;
    }
    write_children(out, &root, total, "", 1, view)?;
    shared_extents_note(out, r, view)
}

fn write_children(
    out: &mut dyn Write,
    node: &Node,
    total: u64,
    prefix: &str,
    level: usize,
    view: &View,
) -> io::Result<()> {
    if level > view.depth {
        return Ok(());
    }
    let shown = node.children.len().min(MAX_CHILDREN);
    for (i, child) in node.children.iter().take(shown).enumerate() {
        let last = i + 1 == shown && node.children.len() <= MAX_CHILDREN;
        let branch = if last { "└─ " } else { "├─ " };
        let pct = child.bytes as f64 * 100.0 / total as f64;
        let note = if child.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", child.note)
        };
        if child.is_path {
            writeln!(
                out,
                "{:>9} {:>w$} {prefix}{branch}{}",
                "",
                "",
                child.label,
                w = BAR_WIDTH + 6
            )?;
            continue;
        }
        writeln!(
            out,
            "{:>9} {} {pct:>5.1}% {prefix}{branch}{}{note}",
            view.style.size(to_i64(child.bytes)),
            bar(child.bytes, total),
            child.label
        )?;
        let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
        write_children(out, child, total, &deeper, level + 1, view)?;
    }
    if node.children.len() > shown {
        let rest: u64 = node.children[shown..].iter().map(|c| c.bytes).sum();
        writeln!(
            out,
            "{:>9} {} {:>5.1}% {prefix}└─ … {} more",
            view.style.size(to_i64(rest)),
            bar(rest, total),
            rest as f64 * 100.0 / total as f64,
            node.children.len() - shown
        )?;
    }
    Ok(())
}

/// A bar of [`BAR_WIDTH`] characters, `bytes` of `total` filled.
pub(crate) fn bar(bytes: u64, total: u64) -> String {
    let filled = usize::try_from(bytes.saturating_mul(BAR_WIDTH as u64) / total.max(1))
        .unwrap_or(BAR_WIDTH)
        .min(BAR_WIDTH);
    format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A flat table, one row per node down to the depth asked, like `du`'s lines.
pub fn flat(out: &mut dyn Write, r: &DuReport, view: &View) -> io::Result<()> {
    let root = build(r, view);
    let total = root.bytes.max(1);
    let mut t = docker_table(&["SIZE", "SHARE", "ITEM", "NOTE"]);
    let mut rows = Vec::new();
    collect_rows(&root, "", 0, view.depth, &mut rows);
    for (path, node) in rows {
        t.add_row(vec![
            view.style.size(to_i64(node.bytes)),
            format!("{:.1}%", node.bytes as f64 * 100.0 / total as f64),
            path,
            node.note.clone(),
        ]);
    }
    write_table(out, &t)?;
    shared_extents_note(out, r, view)
}

/// Under a driver whose layers share extents, what the allocated figures mean.
fn shared_extents_note(out: &mut dyn Write, r: &DuReport, view: &View) -> io::Result<()> {
    if r.shared_extents && !view.apparent {
        writeln!(
            out,
            "note: {} layers are snapshots sharing extents: allocated sizes count a shared \
             extent once per layer, as du does, so they add up to more than the disk holds \
             (apparent sizes, --apparent-size, are what dockerd counts; `btrfs filesystem du` \
             splits exclusive from shared)",
            r.driver
        )?;
    }
    Ok(())
}

fn collect_rows<'a>(
    node: &'a Node,
    parent: &str,
    level: usize,
    depth: usize,
    rows: &mut Vec<(String, &'a Node)>,
) {
    let path = if parent.is_empty() {
        node.label.clone()
    } else {
        format!("{parent} / {}", node.label)
    };
    rows.push((path.clone(), node));
    if level < depth {
        let base = if level == 0 { String::new() } else { path };
        for c in &node.children {
            collect_rows(c, &base, level + 1, depth, rows);
        }
    }
}

/// Prometheus gauges: the total, one family per owner kind labelled by owner.
pub fn prometheus(out: &mut dyn Write, r: &DuReport, view: &View) -> io::Result<()> {
    use super::prometheus::Gauge;
    let measure = if view.apparent {
        "apparent"
    } else {
        "allocated"
    };
    let root = r.root.display().to_string();
    Gauge::new(
        out,
        "strata_du_total_bytes",
        "Bytes under the Docker data root.",
    )?
    .sample(
        &[("root", &root), ("measure", measure)],
        to_i64(view.bytes(&r.total)),
    )?;
    let mut by_kind: BTreeMap<OwnerKind, Vec<&Owner>> = BTreeMap::new();
    for o in &r.owners {
        by_kind.entry(o.kind).or_default().push(o);
    }
    for (kind, owners) in by_kind {
        let family = format!("strata_du_{}_bytes", kind_slug(kind));
        let help = format!(
            "Bytes owned by {} under the Docker data root.",
            kind.label()
        );
        let mut g = Gauge::new(out, &family, &help)?;
        for o in owners {
            let users = o.used_by.join(",");
            g.sample(
                &[
                    ("id", &o.id),
                    ("name", &o.name),
                    ("used_by", &users),
                    ("note", &o.note),
                    ("measure", measure),
                ],
                to_i64(view.bytes(&o.sizes)),
            )?;
        }
    }
    Ok(())
}

/// The slug of an owner kind in metric names and labels (`image_layer`, `container_log`...).
pub fn kind_slug(kind: OwnerKind) -> &'static str {
    match kind {
        OwnerKind::ImageLayer => "image_layer",
        OwnerKind::ImageContent => "image_content",
        OwnerKind::ImageBigData => "image_big_data",
        OwnerKind::ContainerLayer => "container_layer",
        OwnerKind::ContainerLog => "container_log",
        OwnerKind::ContainerMeta => "container_meta",
        OwnerKind::Volume => "volume",
        OwnerKind::BuildCache => "build_cache",
        OwnerKind::ImageMetadata => "image_metadata",
        OwnerKind::LayerLinks => "layer_links",
        OwnerKind::LayerWork => "layer_work",
        OwnerKind::Tmp => "tmp",
        OwnerKind::LeakedLayer => "leaked_layer",
        OwnerKind::Daemon => "daemon",
        OwnerKind::LibpodState => "libpod_state",
        OwnerKind::OtherDriver => "other_driver",
        OwnerKind::RemappedRoot => "remapped_root",
        OwnerKind::StoragePool => "storage_pool",
        OwnerKind::Unknown => "unknown",
    }
}
