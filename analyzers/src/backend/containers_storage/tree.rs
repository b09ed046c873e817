//! libimage's layer tree (containers/common `libimage/layer_tree.go`, podman 4.3): which
//! image is the parent or a child of which, the way `podman system df` decides what an image
//! shares.
//!
//! An image's parent is an image whose top layer is the same as, or the parent of, its own,
//! whose diff ids begin its diff ids, and whose history is its history less the last step
//! (`areParentAndChild`). Images without layers are compared among themselves.

use std::collections::BTreeMap;

use super::ContainersStorage;
use crate::format::containers_storage::ImageRecord;
use crate::graph::{HistoryEntry, Image};
use crate::ids::{Digest, ImageId};

/// The layer tree of one store.
pub struct LayerTree<'a> {
    /// The images whose configs loaded, by id.
    images: &'a BTreeMap<ImageId, Image>,
    /// The images standing on each layer (their top layer), in the store's order.
    on_layer: BTreeMap<&'a str, Vec<&'a ImageRecord>>,
    /// The images without layers.
    empty: Vec<&'a ImageRecord>,
    /// Each layer's children, by id.
    children: BTreeMap<&'a str, Vec<&'a str>>,
    backend: &'a ContainersStorage,
}

impl<'a> LayerTree<'a> {
    /// Builds the tree of `backend`'s layers and images (`images` holds their configs: the
    /// store's images).
    pub fn new(backend: &'a ContainersStorage, images: &'a BTreeMap<ImageId, Image>) -> Self {
        let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for l in backend.layers.values() {
            if let Some(p) = l.parent() {
                children.entry(p).or_default().push(l.id.as_str());
            }
        }
        let mut on_layer: BTreeMap<&str, Vec<&ImageRecord>> = BTreeMap::new();
        let mut empty = Vec::new();
        for i in &backend.images {
            if i.layer.is_empty() {
                empty.push(i);
            } else if backend.layers.contains_key(&i.layer) {
                on_layer.entry(i.layer.as_str()).or_default().push(i);
            }
        }
        LayerTree {
            images,
            on_layer,
            empty,
            children,
            backend,
        }
    }

    /// True when `a` is `b`'s parent image (`areParentAndChild`): `b` uses all of `a`'s diff
    /// ids first and has `a`'s history plus one step. An image whose config did not load is
    /// no one's parent or child.
    fn parent_and_child(&self, a: &ImageRecord, b: &ImageRecord) -> bool {
        let (Some(pa), Some(pb)) = (self.config(a), self.config(b)) else {
            return false;
        };
        pa.diff_ids.len() <= pb.diff_ids.len()
            && pa.diff_ids.iter().zip(&pb.diff_ids).all(|(x, y)| x == y)
            && pa.history.len() + 1 == pb.history.len()
            && pa
                .history
                .iter()
                .zip(&pb.history)
                .all(|(x, y)| same_step(x, y))
    }

    fn config(&self, image: &ImageRecord) -> Option<&'a Image> {
        let id = Digest::from_hex(&image.id).map(ImageId)?;
        self.images.get(&id)
    }

    /// True when an image is a manifest list (its `manifest` big data is an index): libimage
    /// gives those neither parent nor children.
    fn is_manifest_list(&self, image: &ImageRecord) -> bool {
        image.layer.is_empty() && self.config(image).is_none()
    }

    /// The images built on `image` (`layerTree.children`), in the store's order.
    pub fn children(&self, image: &ImageRecord) -> Vec<&'a ImageRecord> {
        if self.is_manifest_list(image) {
            return Vec::new();
        }
        let is_child = |c: &&&ImageRecord| c.id != image.id && self.parent_and_child(image, c);
        if image.layer.is_empty() {
            return self.empty.iter().filter(is_child).copied().collect();
        }
        let Some(top) = self.backend.layers.get(&image.layer) else {
            return Vec::new();
        };
        let child_layers = self.children.get(top.id.as_str()).into_iter().flatten();
        child_layers
            .chain(std::iter::once(&top.id.as_str()))
            .flat_map(|l| self.on_layer.get(l).into_iter().flatten())
            .filter(is_child)
            .copied()
            .collect()
    }

    /// The image `image` was built on (`layerTree.parent`), if any.
    pub fn parent(&self, image: &ImageRecord) -> Option<&'a ImageRecord> {
        if self.is_manifest_list(image) {
            return None;
        }
        let is_parent = |p: &&&ImageRecord| p.id != image.id && self.parent_and_child(p, image);
        if image.layer.is_empty() {
            return self.empty.iter().find(is_parent).copied();
        }
        let top = self.backend.layers.get(&image.layer)?;
        let here = self.on_layer.get(top.id.as_str()).into_iter().flatten();
        let below = top
            .parent()
            .and_then(|p| self.on_layer.get(p))
            .into_iter()
            .flatten();
        here.chain(below).find(is_parent).copied()
    }
}

/// Two history steps are the same step (libimage `historiesMatch`): the same time (as an
/// instant), instruction, author, comment and emptiness.
fn same_step(a: &HistoryEntry, b: &HistoryEntry) -> bool {
    let instant = |t: &Option<String>| {
        t.as_deref()
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    instant(&a.created) == instant(&b.created)
        && a.created_by == b.created_by
        && a.author == b.author
        && a.comment == b.comment
        && a.empty_layer == b.empty_layer
}

/// The repository of an image name (`localhost/app:1` → `localhost/app`): the name without
/// its tag or digest.
pub fn repository(name: &str) -> &str {
    split_name(name).0
}

/// A name's repository and tag (`<none>` when it has none), as `podman system df` shows
/// them (libimage `ToNameTagPairs`).
pub fn split_name(name: &str) -> (&str, &str) {
    let name_part = name.split_once('@').map_or(name, |(n, _)| n);
    let last_slash = name_part.rfind('/').map_or(0, |i| i + 1);
    match name_part[last_slash..].rfind(':') {
        Some(i) => (
            &name_part[..last_slash + i],
            &name_part[last_slash + i + 1..],
        ),
        None => (name_part, "<none>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_podman_shows_them() {
        assert_eq!(split_name("localhost/base:1"), ("localhost/base", "1"));
        assert_eq!(
            split_name("registry:5000/team/app:v2"),
            ("registry:5000/team/app", "v2")
        );
        assert_eq!(
            split_name("localhost/app@sha256:abc"),
            ("localhost/app", "<none>")
        );
        assert_eq!(
            split_name("localhost/app:1@sha256:abc"),
            ("localhost/app", "1")
        );
        assert_eq!(
            split_name("registry:5000/app"),
            ("registry:5000/app", "<none>")
        );
    }
}
