//! Finding the object a user names, as the Docker CLI does: a full id, a name or tag, or a
//! unique prefix of an id. A name that matches nothing, or more than one object, is an
//! [`Error::Lookup`] that says which (the binary exits 2 on it).

use super::{Container, Image, Layer, Store, Volume};
use crate::error::{Error, Result};
use crate::ids::{is_hex64, ImageId};
use crate::layout::CONTAINERS_DIR;

/// Picks the one candidate whose key starts with `prefix`; `kind` names what is looked for in
/// the error. Candidates are `(key, label, object)`: the label is what the error lists.
fn unique_prefix<'a, T>(
    kind: &'static str,
    prefix: &str,
    candidates: impl Iterator<Item = (&'a str, String, &'a T)>,
) -> Result<&'a T> {
    let hits: Vec<(String, &T)> = candidates
        .filter(|(key, _, _)| !prefix.is_empty() && key.starts_with(prefix))
        .map(|(_, label, obj)| (label, obj))
        .collect();
    match hits.as_slice() {
        [(_, one)] => Ok(one),
        [] => Err(Error::Lookup {
            kind,
            name: prefix.to_owned(),
            detail: format!("no such {kind}"),
        }),
        many => Err(Error::Lookup {
            kind,
            name: prefix.to_owned(),
            detail: format!(
                "ambiguous: the prefix matches {} {kind}s ({})",
                many.len(),
                many.iter()
                    .map(|(label, _)| label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

impl Store {
    /// The container `name` names, in dockerd's order (`daemon.GetContainer`): its full id,
    /// else its name (with or without the leading `/`), else a unique prefix of its id. So a
    /// container named like another's id prefix is found by its name.
    pub fn find_container(&self, name: &str) -> Result<&Container> {
        if let Some(c) = self.containers.iter().find(|c| c.id.0 == name) {
            return Ok(c);
        }
        let bare = name.trim_start_matches('/');
        if let Some(c) = self
            .containers
            .iter()
            .find(|c| c.name.trim_start_matches('/') == bare)
        {
            return Ok(c);
        }
        unique_prefix(
            "container",
            name,
            self.containers
                .iter()
                .map(|c| (c.id.as_str(), c.id.short().to_owned(), c)),
        )
        .map_err(|e| {
            let damaged = self.damaged_container_records(name);
            if damaged.is_empty() {
                return e;
            }
            Error::Lookup {
                kind: "container",
                name: name.to_owned(),
                detail: format!(
                    "its records are damaged, so it was not loaded: {}",
                    damaged
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }
        })
    }

    /// The problems met loading the records of a container whose id starts with `prefix`
    /// (its `containers/<id>/` or `layerdb/mounts/<id>/`): why a container on disk is not
    /// found.
    fn damaged_container_records(&self, prefix: &str) -> Vec<&crate::Problem> {
        if prefix.is_empty() {
            return Vec::new();
        }
        self.problems
            .iter()
            .filter(|p| {
                let mut parts = p.path.components().map(|c| c.as_os_str());
                let mut prev = None;
                parts.any(|part| {
                    let parent = prev.replace(part);
                    let is_record_dir = parent.is_some_and(|d| {
                        d == std::ffi::OsStr::new(CONTAINERS_DIR)
                            || d == std::ffi::OsStr::new("mounts")
                    });
                    is_record_dir
                        && part
                            .to_str()
                            .is_some_and(|id| is_hex64(id) && id.starts_with(prefix))
                })
            })
            .collect()
    }

    /// The image `reference` names: a tag or digest reference, a full id, or a unique prefix
    /// of an id (with or without `sha256:`).
    pub fn find_image(&self, reference: &str) -> Result<&Image> {
        if let Some(img) = ImageId::parse(reference).and_then(|id| self.images.get(&id)) {
            return Ok(img);
        }
        let tagged = super::references::with_default_tag(reference);
        if let Some(img) = self
            .images
            .values()
            .find(|i| i.repo_tags.contains(&tagged) || i.repo_digests.contains(&tagged))
        {
            return Ok(img);
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        unique_prefix(
            "image",
            hex,
            self.images
                .values()
                .map(|i| (i.id.0.hex(), i.id.digest().short().to_owned(), i)),
        )
    }

    /// The layer `name` names: a unique prefix of its chain id, or of its cache id (the
    /// driver's directory name), with or without `sha256:`.
    pub fn find_layer(&self, name: &str) -> Result<&Layer> {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if let Ok(l) = unique_prefix(
            "layer",
            hex,
            self.layers
                .values()
                .map(|l| (l.chain_id.0.hex(), l.chain_id.to_string(), l)),
        ) {
            return Ok(l);
        }
        unique_prefix(
            "layer",
            hex,
            self.layers
                .values()
                .map(|l| (l.cache_id.as_str(), l.cache_id.to_string(), l)),
        )
    }

    /// The volume `name` names: its exact name, or a unique prefix of it.
    pub fn find_volume(&self, name: &str) -> Result<&Volume> {
        if let Some(v) = self.volumes.iter().find(|v| v.name == name) {
            return Ok(v);
        }
        unique_prefix(
            "volume",
            name,
            self.volumes
                .iter()
                .map(|v| (v.name.as_str(), v.name.clone(), v)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_must_be_unique() {
        let items = [("abc1", 1), ("abc2", 2), ("def", 3)];
        let cands = || items.iter().map(|(k, v)| (*k, (*k).to_owned(), v));
        assert_eq!(*unique_prefix("thing", "d", cands()).unwrap(), 3);
        let err = unique_prefix("thing", "abc", cands())
            .unwrap_err()
            .to_string();
        assert!(err.contains("ambiguous") && err.contains("abc1"), "{err}");
        let err = unique_prefix("thing", "zz", cands())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such thing"), "{err}");
        assert!(unique_prefix("thing", "", cands()).is_err());
    }
}
