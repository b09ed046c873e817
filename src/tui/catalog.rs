//! What the browser starts from: the `du` report's owners and how they group at its top
//! level (`--by`), read before any descent. Nothing here reads the store.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use analyzers::usage::du::{DuReport, Owner, OwnerKind, Sizes};

use crate::cli::By;
use crate::render::du::short;

/// One item of the top level.
#[derive(Debug, Clone)]
pub enum TopItem {
    /// One owner (`--by layer`, `--by volume`), by index into [`Catalog::owners`].
    Owner(usize),
    /// Several owners under one name: a kind, an image, a container.
    Group {
        /// Its name (unescaped).
        label: String,
        /// A note (unescaped): how many owners, an image's id.
        note: String,
        /// Its bytes: the kind's total, or its owners' sum.
        sizes: Sizes,
        /// Its owners, by index into [`Catalog::owners`].
        owners: Vec<usize>,
    },
}

/// The report's facts the browser shows.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The data root (owners' paths are relative to it).
    pub root: PathBuf,
    /// The storage driver read.
    pub driver: String,
    /// Everything under the root.
    pub total: Sizes,
    /// Every owner of the report, largest (allocated) first.
    pub owners: Vec<Owner>,
    /// The top level, in the report's order.
    pub top: Vec<TopItem>,
    /// Each container's state (`running`, `exited`, `created`), by container id.
    pub states: HashMap<String, String>,
}

/// The catalog of `report`, its top level grouped as `by` says (as `strata du --by` groups
/// its tree).
pub fn of_report(report: &DuReport, by: By) -> Catalog {
    let owners = &report.owners;
    let indices_of = |kind: OwnerKind| -> Vec<usize> {
        (0..owners.len())
            .filter(|&i| owners[i].kind == kind)
            .collect()
    };
    let sum = |members: &[usize]| {
        members
            .iter()
            .fold(Sizes::default(), |t, &i| t.plus(owners[i].sizes))
    };
    let top = match by {
        By::Kind => report
            .kinds
            .iter()
            .map(|k| TopItem::Group {
                label: k.kind.label().to_owned(),
                note: match k.owners {
                    1 => "1 owner".to_owned(),
                    n => format!("{n} owners"),
                },
                sizes: k.sizes,
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
            let by_id = |kind: OwnerKind| -> HashMap<&str, usize> {
                indices_of(kind)
                    .into_iter()
                    .map(|i| (owners[i].id.as_str(), i))
                    .collect()
            };
            let (layers, big_data) = (by_id(OwnerKind::ImageLayer), by_id(OwnerKind::ImageBigData));
            report
                .images
                .iter()
                .map(|img| {
                    let members: Vec<usize> = img
                        .layers
                        .iter()
                        .filter_map(|c| layers.get(c.as_str()))
                        .chain(big_data.get(img.id.as_str()))
                        .copied()
                        .collect();
                    TopItem::Group {
                        label: img
                            .tags
                            .first()
                            .cloned()
                            .unwrap_or_else(|| format!("<none> {}", short(&img.id))),
                        note: short(&img.id),
                        sizes: sum(&members),
                        owners: members,
                    }
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
                        sizes: sum(&members),
                        owners: members,
                    }
                })
                .collect()
        }
    };
    Catalog {
        root: report.root.clone(),
        driver: report.driver.clone(),
        total: report.total,
        owners: owners.clone(),
        top,
        states: report
            .df
            .containers
            .iter()
            .map(|c| (c.id.clone(), c.state.clone()))
            .collect(),
    }
}
