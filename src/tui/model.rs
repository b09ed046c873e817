//! The browser's state, without a terminal: the tree (the catalog's groups and owners, then
//! directories read on descent), where the user is in it, the sort, the measure shown, and
//! what `advise` says of the selected item. Keys become [`Action`]s elsewhere
//! ([`super::terminal`]); drawing is [`super::view`]'s.
//!
//! Read-only: a descent lists a directory through the store's Jail
//! ([`analyzers::listing::children`]); nothing is ever run or deleted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use analyzers::advice::{AdviceReport, Risk};
use analyzers::fs::Jail;
use analyzers::listing;
use analyzers::usage::du::{Owner, OwnerKind, Sizes};
use analyzers::walk::{self, WalkOptions};

use super::advice::{AdviceIndex, Coverage};
use super::catalog::{Catalog, TopItem};
use crate::render::du::{owner_label, owner_note};
use crate::render::{self, SizeStyle};

/// A node of the tree, by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(usize);

/// What a node stands for.
#[derive(Debug, Clone)]
enum What {
    /// The data root: the top level.
    Store,
    /// A group of owners (a kind, an image, a container), by index into the owners.
    Group(Vec<usize>),
    /// An owner, by index.
    Owner(usize),
    /// A file or directory (absolute path).
    Path(PathBuf),
}

/// A node's children.
#[derive(Debug, Clone)]
enum Children {
    /// Not read yet: read on the first descent.
    Unread,
    /// Read (or known from the catalog).
    Read(Vec<NodeId>),
    /// Nothing to descend into (a file, a directory on another filesystem).
    Leaf,
    /// Reading failed: why.
    Failed(String),
}

/// One node of the tree.
#[derive(Debug, Clone)]
struct Node {
    what: What,
    /// Its name, escaped for the terminal.
    label: String,
    /// A note, escaped: who uses it, why it was not entered.
    note: String,
    sizes: Sizes,
    children: Children,
}

/// Which bytes are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `st_blocks * 512`, as `du`.
    Allocated,
    /// `st_size`, as `du --apparent-size`.
    Apparent,
}

impl Measure {
    /// The bytes of `sizes` in this measure.
    pub fn of(self, sizes: &Sizes) -> u64 {
        match self {
            Measure::Allocated => sizes.allocated,
            Measure::Apparent => sizes.apparent,
        }
    }

    /// Its name in the header.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Allocated => "allocated",
            Measure::Apparent => "apparent",
        }
    }
}

/// What rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Bytes in the current measure.
    Size,
    /// Name.
    Name,
    /// Entries (files, directories...) under the item.
    Count,
}

impl SortKey {
    /// Its name in the header.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Size => "size",
            SortKey::Name => "name",
            SortKey::Count => "count",
        }
    }
}

/// The order of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// What they are ordered by.
    pub key: SortKey,
    /// Largest (or last by name) first.
    pub descending: bool,
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The previous row.
    Up,
    /// The next row.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// The first row.
    Home,
    /// The last row.
    End,
    /// Into the selected row.
    Open,
    /// Back to the parent.
    Back,
    /// Order by this key (again: the other way).
    Sort(SortKey),
    /// Apparent instead of allocated, or back.
    ToggleMeasure,
    /// Show or hide the keys.
    Help,
    /// Leave.
    Quit,
}

/// Whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Draw again and wait for the next key.
    Continue,
    /// Leave the browser.
    Quit,
}

/// One level of the descent: the node shown and its selected row.
#[derive(Debug, Clone, Copy)]
struct Level {
    node: NodeId,
    selected: usize,
    /// The first row on screen.
    offset: usize,
}

/// One row as the view draws it.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// The name, escaped.
    pub label: &'a str,
    /// The note, escaped.
    pub note: &'a str,
    /// Its sizes.
    pub sizes: Sizes,
    /// True when it can be opened (or has not been read yet).
    pub openable: bool,
}

/// What advice says of the selected row, in lines for the panel (escaped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvicePanel {
    /// The lines, most bytes first.
    pub lines: Vec<String>,
}

/// Where the browser reads directories: the store's Jail and the walker's settings.
#[derive(Debug, Clone)]
pub struct Source {
    /// The store's root handle.
    pub jail: Jail,
    /// Threads and one-file-system, as the walk of the report used.
    pub walk: WalkOptions,
}

/// The browser.
#[derive(Debug)]
pub struct Browser {
    nodes: Vec<Node>,
    owners: Vec<Owner>,
    /// Every owner's paths (absolute), with the owner.
    owner_of_path: HashMap<PathBuf, usize>,
    root: PathBuf,
    driver: String,
    states: HashMap<String, String>,
    problems: usize,
    source: Source,
    advice: AdviceIndex,
    stack: Vec<Level>,
    /// The order of the rows.
    pub sort: Sort,
    /// The bytes shown.
    pub measure: Measure,
    /// How sizes print.
    pub style: SizeStyle,
    /// Whether the help is shown.
    pub help: bool,
    /// A message for the footer (a directory that could not be read).
    pub message: Option<String>,
    /// Rows on screen (set by the view; pages are that long).
    page: usize,
    panel: AdvicePanel,
}

impl Browser {
    /// A browser of `catalog`, with `advice` for its items, reading directories from
    /// `source`, showing `measure` in `style`.
    pub fn new(
        catalog: Catalog,
        advice: AdviceReport,
        source: Source,
        measure: Measure,
        style: SizeStyle,
    ) -> Browser {
        let mut nodes = vec![Node {
            what: What::Store,
            label: render::path(&catalog.root),
            note: String::new(),
            sizes: catalog.total,
            children: Children::Read(Vec::new()),
        }];
        let owner_ids: Vec<NodeId> = catalog
            .owners
            .iter()
            .enumerate()
            .map(|(i, o)| {
                nodes.push(Node {
                    what: What::Owner(i),
                    label: render::name(&owner_label(o)),
                    note: render::name(&owner_note(o)),
                    sizes: o.sizes,
                    children: Children::Unread,
                });
                NodeId(nodes.len() - 1)
            })
            .collect();
        let mut top = Vec::with_capacity(catalog.top.len());
        for item in catalog.top {
            match item {
                TopItem::Owner(i) => top.push(owner_ids[i]),
                TopItem::Group {
                    label,
                    note,
                    owners,
                } => {
                    let sizes = owners
                        .iter()
                        .fold(Sizes::default(), |t, &i| t.plus(catalog.owners[i].sizes));
                    nodes.push(Node {
                        children: Children::Read(owners.iter().map(|&i| owner_ids[i]).collect()),
                        what: What::Group(owners),
                        label: render::name(&label),
                        note: render::name(&note),
                        sizes,
                    });
                    top.push(NodeId(nodes.len() - 1));
                }
            }
        }
        nodes[0].children = Children::Read(top);
        let root = &catalog.root;
        let owner_of_path = catalog
            .owners
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.paths.iter().map(move |p| (root.join(p), i)))
            .collect();
        let mut browser = Browser {
            nodes,
            owner_of_path,
            owners: catalog.owners,
            root: catalog.root,
            driver: catalog.driver,
            states: catalog.states,
            problems: catalog.problems,
            source,
            advice: AdviceIndex::new(advice),
            stack: vec![Level {
                node: NodeId(0),
                selected: 0,
                offset: 0,
            }],
            sort: Sort {
                key: SortKey::Size,
                descending: true,
            },
            measure,
            style,
            help: false,
            message: None,
            page: 1,
            panel: AdvicePanel::default(),
        };
        browser.resort(NodeId(0));
        browser.refresh_panel();
        browser
    }

    /// Applies `action`.
    pub fn apply(&mut self, action: Action) -> Outcome {
        if self.help && action != Action::Quit {
            self.help = false;
            if action == Action::Help {
                return Outcome::Continue;
            }
        }
        self.message = None;
        let last = self.rows_of(self.current()).len().saturating_sub(1);
        let (selected, page) = (self.selected(), self.page);
        let moved_to = match action {
            Action::Up => Some(selected.saturating_sub(1)),
            Action::Down => Some((selected + 1).min(last)),
            Action::PageUp => Some(selected.saturating_sub(page)),
            Action::PageDown => Some((selected + page).min(last)),
            Action::Home => Some(0),
            Action::End => Some(last),
            _ => None,
        };
        if let Some(row) = moved_to {
            self.level_mut().selected = row;
        }
        match action {
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::Sort(key) => self.sort_by(key),
            Action::ToggleMeasure => {
                self.measure = match self.measure {
                    Measure::Allocated => Measure::Apparent,
                    Measure::Apparent => Measure::Allocated,
                };
                if self.sort.key == SortKey::Size {
                    self.resort_keeping_selection();
                }
            }
            Action::Help => self.help = true,
            Action::Quit => return Outcome::Quit,
            // Moves, done above.
            _ => {}
        }
        self.refresh_panel();
        Outcome::Continue
    }

    /// The store's root and driver, for the header.
    pub fn store(&self) -> (&Path, &str) {
        (&self.root, &self.driver)
    }

    /// How many problems the report has.
    pub fn problems(&self) -> usize {
        self.problems
    }

    /// The store's total sizes.
    pub fn total(&self) -> Sizes {
        self.nodes[0].sizes
    }

    /// The names from the top down to the level shown (the top itself excluded).
    pub fn breadcrumb(&self) -> Vec<&str> {
        self.stack[1..]
            .iter()
            .map(|l| self.nodes[l.node.0].label.as_str())
            .collect()
    }

    /// The sizes of the level shown (what the rows' shares are of).
    pub fn shown_sizes(&self) -> Sizes {
        self.nodes[self.current().0].sizes
    }

    /// The rows of the level shown, in order.
    pub fn rows(&self) -> Vec<Row<'_>> {
        self.rows_of(self.current())
            .iter()
            .map(|&id| {
                let n = &self.nodes[id.0];
                Row {
                    label: &n.label,
                    note: &n.note,
                    sizes: n.sizes,
                    openable: matches!(n.children, Children::Unread | Children::Read(_)),
                }
            })
            .collect()
    }

    /// The selected row's index.
    pub fn selected(&self) -> usize {
        self.stack.last().map_or(0, |l| l.selected)
    }

    /// Says that `height` rows fit on screen; returns the first row to show so that the
    /// selected one is visible.
    pub fn set_page(&mut self, height: usize) -> usize {
        self.page = height.max(1);
        let page = self.page;
        let level = self.level_mut();
        if level.selected < level.offset {
            level.offset = level.selected;
        } else if level.selected >= level.offset + page {
            level.offset = level.selected + 1 - page;
        }
        level.offset
    }

    /// What advice says of the selected row.
    pub fn panel(&self) -> &AdvicePanel {
        &self.panel
    }

    /// When opening the selected row reads a directory: what is read (for a "reading" line
    /// drawn before the walk).
    pub fn pending_read(&self) -> Option<&str> {
        let id = self.selected_id()?;
        let n = &self.nodes[id.0];
        matches!(n.children, Children::Unread).then_some(n.label.as_str())
    }

    fn current(&self) -> NodeId {
        self.stack.last().map_or(NodeId(0), |l| l.node)
    }

    fn level_mut(&mut self) -> &mut Level {
        self.stack.last_mut().expect("the top level is never left")
    }

    fn rows_of(&self, id: NodeId) -> &[NodeId] {
        match &self.nodes[id.0].children {
            Children::Read(ids) => ids,
            _ => &[],
        }
    }

    fn selected_id(&self) -> Option<NodeId> {
        self.rows_of(self.current()).get(self.selected()).copied()
    }

    fn open(&mut self) {
        let Some(id) = self.selected_id() else {
            return;
        };
        if matches!(self.nodes[id.0].children, Children::Unread) {
            self.nodes[id.0].children = self.read(id);
        }
        // Read before, it may have been ordered by another sort or measure.
        self.resort(id);
        match &self.nodes[id.0].children {
            Children::Read(_) => self.stack.push(Level {
                node: id,
                selected: 0,
                offset: 0,
            }),
            Children::Failed(why) => {
                self.message = Some(format!("{}: {why}", self.nodes[id.0].label));
            }
            Children::Leaf | Children::Unread => {
                self.message = Some(format!("{}: nothing to open", self.nodes[id.0].label));
            }
        }
    }

    fn back(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
            // The sort or the measure may have changed below: the same row stays selected.
            self.resort_keeping_selection();
        }
    }

    /// Reads the children of `id`: an owner's paths, or a directory's entries.
    fn read(&mut self, id: NodeId) -> Children {
        let entries = match &self.nodes[id.0].what {
            What::Owner(i) => self.owner_paths(*i),
            What::Path(dir) => match self.dir_entries(dir) {
                Ok(entries) => entries,
                Err(e) => return Children::Failed(analyzers::fs::describe(&e)),
            },
            What::Store | What::Group(_) => return Children::Leaf,
        };
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            self.nodes.push(Node {
                what: What::Path(e.path),
                label: e.label,
                note: e.note,
                sizes: e.sizes,
                children: if e.is_dir {
                    Children::Unread
                } else {
                    Children::Leaf
                },
            });
            ids.push(NodeId(self.nodes.len() - 1));
        }
        Children::Read(ids)
    }

    /// Owner `i`'s paths (those not inside another of them), measured in one walk that
    /// leaves out the other owners' paths inside them, as `du`'s walk does: their sizes add up
    /// to the owner's.
    fn owner_paths(&self, i: usize) -> Vec<Entry> {
        let paths = top_paths(&self.root, &self.owners[i]);
        let mut roots = paths.clone();
        roots.extend(
            self.owner_of_path
                .iter()
                .filter(|&(p, &o)| o != i && paths.iter().any(|t| p != t && p.starts_with(t)))
                .map(|(p, _)| p.clone()),
        );
        let usages = walk::walk(&self.source.jail, &roots, &self.source.walk).owned;
        paths
            .into_iter()
            .zip(usages)
            .map(|(path, u)| Entry {
                label: render::path(path.strip_prefix(&self.root).unwrap_or(&path)),
                note: unreadable(&u),
                is_dir: u.dirs > 0,
                sizes: Sizes::of(&u),
                path,
            })
            .collect()
    }

    /// The entries of `dir`, each noted when another owner's path (counted there by `du`)
    /// or another filesystem.
    fn dir_entries(&self, dir: &Path) -> std::io::Result<Vec<Entry>> {
        let children = listing::children(&self.source.jail, dir, &self.source.walk)?;
        Ok(children
            .into_iter()
            .map(|c| {
                let counted_under = self.owner_of_path.get(&c.path).map(|&o| {
                    let owner = &self.owners[o];
                    render::name(&format!(
                        "counted under {} {}",
                        owner.kind.label(),
                        owner_label(owner)
                    ))
                });
                let note = if c.other_filesystem {
                    "another filesystem: not entered (du -x)".to_owned()
                } else {
                    [counted_under.unwrap_or_default(), unreadable(&c.usage)]
                        .into_iter()
                        .filter(|n| !n.is_empty())
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                Entry {
                    label: render::path(Path::new(&c.name)),
                    note,
                    is_dir: c.is_dir && !c.other_filesystem,
                    sizes: Sizes::of(&c.usage),
                    path: c.path,
                }
            })
            .collect())
    }

    fn sort_by(&mut self, key: SortKey) {
        self.sort = if self.sort.key == key {
            Sort {
                key,
                descending: !self.sort.descending,
            }
        } else {
            Sort {
                key,
                descending: key != SortKey::Name,
            }
        };
        self.resort_keeping_selection();
    }

    /// Sorts the level shown again, the same row staying selected.
    fn resort_keeping_selection(&mut self) {
        let kept = self.selected_id();
        let current = self.current();
        self.resort(current);
        if let Some(kept) = kept {
            let at = self.rows_of(current).iter().position(|&r| r == kept);
            self.level_mut().selected = at.unwrap_or(0);
        }
    }

    /// Orders the children of `id` by the sort (ties: the catalog's or the name's order).
    fn resort(&mut self, id: NodeId) {
        let Children::Read(mut ids) =
            std::mem::replace(&mut self.nodes[id.0].children, Children::Leaf)
        else {
            return;
        };
        let (sort, measure, nodes) = (self.sort, self.measure, &self.nodes);
        ids.sort_by(|a, b| {
            let (x, y) = (&nodes[a.0], &nodes[b.0]);
            let by_key = match sort.key {
                SortKey::Size => measure.of(&x.sizes).cmp(&measure.of(&y.sizes)),
                SortKey::Name => x.label.cmp(&y.label),
                SortKey::Count => x.sizes.entries.cmp(&y.sizes.entries),
            };
            let by_key = if sort.descending {
                by_key.reverse()
            } else {
                by_key
            };
            by_key.then(a.cmp(b))
        });
        self.nodes[id.0].children = Children::Read(ids);
    }

    fn refresh_panel(&mut self) {
        self.panel = match self.selected_id() {
            Some(id) => self.advise(id),
            None => AdvicePanel::default(),
        };
    }

    /// What advice says of node `id`.
    fn advise(&self, id: NodeId) -> AdvicePanel {
        let node = &self.nodes[id.0];
        let paths: Vec<PathBuf> = match &node.what {
            What::Store => vec![self.root.clone()],
            What::Group(owners) => owners
                .iter()
                .flat_map(|&i| top_paths(&self.root, &self.owners[i]))
                .collect(),
            What::Owner(i) => top_paths(&self.root, &self.owners[*i]),
            What::Path(p) => vec![p.clone()],
        };
        let found = self.advice.concerning(&paths);
        if found.is_empty() {
            return AdvicePanel {
                lines: vec![format!("no cleanup advised: {}", self.why_none(id))],
            };
        }
        let single = found.len() == 1;
        let mut lines = Vec::new();
        for (rec, coverage) in found {
            let part = match coverage {
                Coverage::Whole => "",
                Coverage::Part => " (part of it)",
            };
            let summary = format!(
                "{}{part}: reclaims {}, risk {}: {}",
                render::name(&rec.action),
                self.style.bytes(rec.bytes),
                risk_word(rec.risk),
                render::name(&rec.what),
            );
            let command = format!("$ {}", render::name(&rec.command));
            if single {
                lines.push(summary);
                lines.push(format!("  {command}"));
                lines.push(format!("  risk: {}", render::name(&rec.risk_note)));
            } else {
                // Several: one line each, so that most fit.
                lines.push(format!("{summary}   {command}"));
            }
        }
        AdvicePanel { lines }
    }

    /// Why nothing is advised for node `id`: who uses it, the container's state, its note.
    fn why_none(&self, id: NodeId) -> String {
        let owner = match &self.nodes[id.0].what {
            What::Owner(i) => Some(*i),
            // A file or directory: what its owner (up the descent) is in use by.
            What::Path(_) => {
                self.stack
                    .iter()
                    .rev()
                    .find_map(|l| match self.nodes[l.node.0].what {
                        What::Owner(i) => Some(i),
                        _ => None,
                    })
            }
            What::Store | What::Group(_) => None,
        };
        let Some(o) = owner.map(|i| &self.owners[i]) else {
            return "nothing `strata advise` recommends removes any of it".to_owned();
        };
        let state = self.states.get(&o.id).filter(|_| {
            matches!(
                o.kind,
                OwnerKind::ContainerLayer | OwnerKind::ContainerLog | OwnerKind::ContainerMeta
            )
        });
        let why = match (state, o.used_by.is_empty(), o.note.is_empty()) {
            (Some(state), _, _) => format!("container {} is {state}", o.name),
            (None, false, _) => format!("in use by {}", o.used_by.join(", ")),
            (None, true, false) => o.note.clone(),
            (None, true, true) => format!("{} is kept", o.kind.label()),
        };
        render::name(&why)
    }
}

/// A file or directory read on descent, before it becomes a node.
struct Entry {
    path: PathBuf,
    label: String,
    note: String,
    is_dir: bool,
    sizes: Sizes,
}

/// "N unreadable: why", when the walk of a tree met entries it could not read.
fn unreadable(u: &walk::TreeUsage) -> String {
    u.errors.first().map_or_else(String::new, |e| {
        render::name(&format!("{} unreadable: {}", u.errors.len(), e.detail))
    })
}

/// `o`'s paths, absolute, without those inside another of them (a volume's `_data`).
fn top_paths(root: &Path, o: &Owner) -> Vec<PathBuf> {
    let all: Vec<PathBuf> = o.paths.iter().map(|p| root.join(p)).collect();
    all.iter()
        .filter(|p| !all.iter().any(|q| q != *p && p.starts_with(q)))
        .cloned()
        .collect()
}

/// A risk as advise's table prints it.
fn risk_word(risk: Risk) -> &'static str {
    match risk {
        Risk::Low => "low",
        Risk::Medium => "medium",
        Risk::High => "high",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tui::advice::tests::{rec, report};
    use std::fs;

    /// An owner of `kind` named `name` holding `paths` (relative to the root).
    fn owner(kind: OwnerKind, id: &str, name: &str, paths: &[&str], sizes: (u64, u64)) -> Owner {
        Owner {
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
            used_by: Vec::new(),
            note: String::new(),
            paths: paths.iter().map(PathBuf::from).collect(),
            sizes: Sizes {
                apparent: sizes.0,
                allocated: sizes.1,
                entries: 1,
                hardlink_saved: 0,
            },
        }
    }

    /// A store on disk with two image layers (one used by an image) and a stopped container,
    /// and the browser of it grouped by kind; advice prunes the container and the unused
    /// layer.
    pub(crate) fn sample() -> (tempfile::TempDir, Browser) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for d in [
            "overlay2/big/diff/bin",
            "overlay2/small/diff",
            "overlay2/rw/diff",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(
            root.join("overlay2/big/diff/bin/busybox"),
            vec![7u8; 20_000],
        )
        .unwrap();
        fs::write(root.join("overlay2/big/diff/notes"), vec![1u8; 10]).unwrap();
        fs::write(root.join("overlay2/small/diff/f"), vec![1u8; 100]).unwrap();
        fs::write(root.join("overlay2/rw/diff/new"), vec![1u8; 3000]).unwrap();
        fs::create_dir(root.join("overlay2/big/work")).unwrap();
        fs::write(root.join("overlay2/big/work/w"), vec![1u8; 5000]).unwrap();
        let mut big = owner(
            OwnerKind::ImageLayer,
            "big",
            "big",
            &["overlay2/big"],
            (30_000, 40_960),
        );
        big.used_by = vec!["app:1".to_owned()];
        let small = owner(
            OwnerKind::ImageLayer,
            "small",
            "small",
            &["overlay2/small"],
            (50_000, 8_192),
        );
        let rw = owner(
            OwnerKind::ContainerLayer,
            "c1",
            "stopped-one",
            &["overlay2/rw"],
            (7_000, 12_288),
        );
        let work = owner(
            OwnerKind::LayerWork,
            "big",
            "big",
            &["overlay2/big/work"],
            (0, 0),
        );
        let owners = vec![big, rw, small, work];
        let sum = |members: &[usize]| {
            members
                .iter()
                .fold(Sizes::default(), |t, &i| t.plus(owners[i].sizes))
        };
        let catalog = Catalog {
            root: root.clone(),
            driver: "overlay2".to_owned(),
            total: sum(&[0, 1, 2]),
            top: vec![
                TopItem::Group {
                    label: "image layers".to_owned(),
                    note: "2 owners".to_owned(),
                    owners: vec![0, 2],
                },
                TopItem::Group {
                    label: "container layers".to_owned(),
                    note: "1 owner".to_owned(),
                    owners: vec![1],
                },
            ],
            owners,
            states: [("c1".to_owned(), "exited".to_owned())].into(),
            problems: 1,
        };
        let root_path = |p: &str| root.join(p).display().to_string();
        let advice = report(vec![
            rec("container-prune", 12_288, &[&root_path("overlay2/rw")]),
            rec("rmi", 8_192, &[&root_path("overlay2/small")]),
        ]);
        let source = Source {
            jail: Jail::open(&root).unwrap(),
            walk: WalkOptions::default(),
        };
        let browser = Browser::new(
            catalog,
            advice,
            source,
            Measure::Allocated,
            SizeStyle { bytes: true },
        );
        (dir, browser)
    }

    fn labels(b: &Browser) -> Vec<String> {
        b.rows().iter().map(|r| r.label.to_owned()).collect()
    }

    #[test]
    fn descends_from_kinds_to_owners_to_paths_to_directories_and_back() {
        let (dir, mut b) = sample();
        assert_eq!(labels(&b), ["image layers", "container layers"]);
        b.apply(Action::Open);
        assert_eq!(b.breadcrumb(), ["image layers"]);
        assert_eq!(labels(&b), ["big", "small"], "largest first");
        b.apply(Action::Open);
        assert_eq!(labels(&b), ["overlay2/big"]);
        let jail = Jail::open(dir.path()).unwrap();
        let layer = dir.path().join("overlay2/big");
        let du_walk = walk::walk(
            &jail,
            &[layer.clone(), layer.join("work")],
            &WalkOptions::default(),
        );
        assert_eq!(
            b.rows()[0].sizes,
            Sizes::of(&du_walk.owned[0]),
            "without the work dir, another owner's, as du counts it"
        );
        b.apply(Action::Open);
        assert_eq!(labels(&b), ["diff", "work"]);
        assert_eq!(b.rows()[1].note, "counted under layer work dirs big");
        b.apply(Action::Open);
        assert_eq!(labels(&b), ["bin", "notes"]);
        let bin = b.rows()[0].sizes;
        let walked = walk::measure(&jail, &[layer.join("diff/bin")], &WalkOptions::default());
        assert_eq!(bin, Sizes::of(&walked[0]), "the walker's sizes");
        b.apply(Action::Down);
        b.apply(Action::Open);
        assert_eq!(b.message.as_deref(), Some("notes: nothing to open"));
        assert_eq!(
            b.breadcrumb(),
            ["image layers", "big", "overlay2/big", "diff"]
        );
        for _ in 0..3 {
            b.apply(Action::Back);
        }
        assert_eq!(b.breadcrumb(), ["image layers"]);
        b.apply(Action::Back);
        b.apply(Action::Back);
        assert!(b.breadcrumb().is_empty(), "the top is never left");
    }

    #[test]
    fn sorts_toggle_and_the_measure_reorders_by_size() {
        let (_dir, mut b) = sample();
        b.apply(Action::Open);
        assert_eq!(labels(&b), ["big", "small"]);
        b.apply(Action::Sort(SortKey::Name));
        assert_eq!(labels(&b), ["big", "small"]);
        b.apply(Action::Sort(SortKey::Name));
        assert_eq!(labels(&b), ["small", "big"], "again: the other way");
        b.apply(Action::Sort(SortKey::Size));
        b.apply(Action::Sort(SortKey::Size));
        assert_eq!(labels(&b), ["small", "big"], "smallest first");
        assert_eq!(b.selected(), 1, "big stays selected");
        b.apply(Action::Sort(SortKey::Size));
        b.apply(Action::ToggleMeasure);
        assert_eq!(b.measure, Measure::Apparent);
        assert_eq!(
            labels(&b),
            ["small", "big"],
            "small's sparse file is larger apparently"
        );
        let sizes: Vec<u64> = b.rows().iter().map(|r| b.measure.of(&r.sizes)).collect();
        assert_eq!(sizes, [50_000, 30_000]);
        b.apply(Action::Sort(SortKey::Count));
        assert_eq!(
            b.sort,
            Sort {
                key: SortKey::Count,
                descending: true
            }
        );
        // A sort chosen below orders the levels above on the way back, the same row selected.
        b.apply(Action::Back);
        b.apply(Action::Down);
        b.apply(Action::Open);
        b.apply(Action::Sort(SortKey::Name));
        b.apply(Action::Back);
        assert_eq!(labels(&b), ["container layers", "image layers"]);
        assert_eq!(b.selected(), 0, "container layers stays selected");
        b.apply(Action::Down);
        b.apply(Action::Open);
        assert_eq!(labels(&b), ["big", "small"], "by name, opened again");
    }

    #[test]
    fn keys_move_within_the_rows() {
        let (_dir, mut b) = sample();
        b.apply(Action::End);
        assert_eq!(b.selected(), 1);
        b.apply(Action::Down);
        assert_eq!(b.selected(), 1);
        b.apply(Action::Home);
        b.apply(Action::Up);
        assert_eq!(b.selected(), 0);
        b.set_page(1);
        b.apply(Action::PageDown);
        assert_eq!(b.selected(), 1);
        assert_eq!(b.set_page(1), 1, "the selected row scrolls into view");
        b.apply(Action::Help);
        assert!(b.help);
        b.apply(Action::Down);
        assert!(!b.help, "any key closes the help");
        assert_eq!(b.apply(Action::Quit), Outcome::Quit);
    }

    #[test]
    fn the_panel_says_what_advise_says_or_why_not() {
        let (_dir, mut b) = sample();
        b.apply(Action::Down);
        b.apply(Action::Open);
        assert_eq!(
            b.panel().lines,
            [
                "container-prune: reclaims 12288, risk medium: what container-prune removes",
                "  $ docker container-prune -f",
                "  risk: files written inside them are lost",
            ]
        );
        b.apply(Action::Back);
        b.apply(Action::Up);
        assert!(
            b.panel().lines[0].starts_with("rmi: reclaims 8192"),
            "{:?}",
            b.panel()
        );
        b.apply(Action::Open);
        assert_eq!(b.panel().lines, ["no cleanup advised: in use by app:1"]);
        b.apply(Action::Open);
        b.apply(Action::Open);
        assert_eq!(
            b.panel().lines,
            ["no cleanup advised: in use by app:1"],
            "a directory of the layer: its owner's reason"
        );
        b.apply(Action::Back);
        b.apply(Action::Back);
        b.apply(Action::Down);
        assert!(b.panel().lines[0].starts_with("rmi: reclaims 8192"));
    }
}
