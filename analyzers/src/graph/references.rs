//! `image/<driver>/repositories.json`: the reference store, names to image ids.
//!
//! The file maps repository to reference to image id:
//! `{"Repositories": {"bb": {"bb:1": "sha256:…", "bb@sha256:…": "sha256:…"}}}`. A reference
//! with `@` is a digest (a `RepoDigests` entry), any other a tag (`RepoTags`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Problem, ProblemKind};
use crate::fs::Jail;
use crate::ids::ImageId;

/// The tags and digests that name one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// `repo:tag` references, as the Docker CLI prints them.
    pub tags: Vec<String>,
    /// `repo@sha256:…` references.
    pub digests: Vec<String>,
}

#[derive(Deserialize)]
struct RepositoriesJson {
    #[serde(rename = "Repositories")]
    repositories: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// Every reference in the store, grouped by image id. A missing file means no references
/// (dockerd starts that way); a damaged one is reported and treated as empty.
pub fn load(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> BTreeMap<ImageId, Names> {
    let mut out: BTreeMap<ImageId, Names> = BTreeMap::new();
    let parsed: RepositoriesJson = match jail.read_json(path) {
        Ok(p) => p,
        Err(p) if p.kind == ProblemKind::Missing => return out,
        Err(p) => {
            problems.push(p);
            return out;
        }
    };
    for refs in parsed.repositories.unwrap_or_default().into_values() {
        for (reference, id) in refs {
            let Some(id) = ImageId::parse(&id) else {
                problems.push(Problem::new(
                    path,
                    ProblemKind::InvalidValue,
                    format!("reference {reference:?} points at {id:?}, not an image id"),
                ));
                continue;
            };
            let names = out.entry(id).or_default();
            let familiar = familiar(&reference);
            if familiar.contains('@') {
                names.digests.push(familiar);
            } else {
                names.tags.push(familiar);
            }
        }
    }
    for names in out.values_mut() {
        names.tags.sort();
        names.digests.sort();
    }
    out
}

/// The short form the Docker CLI prints: `docker.io/library/busybox:1` becomes `busybox:1`.
pub fn familiar(reference: &str) -> String {
    let rest = reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"))
        .unwrap_or(reference);
    rest.to_owned()
}

/// Normalises a user's image reference for lookup: adds `:latest` to a bare repository name.
pub fn with_default_tag(reference: &str) -> String {
    let name_part = reference.rsplit('/').next().unwrap_or(reference);
    if reference.contains('@') || name_part.contains(':') {
        familiar(reference)
    } else {
        format!("{}:latest", familiar(reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_are_split_and_familiar() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("repositories.json");
        let id = format!("sha256:{}", "c".repeat(64));
        std::fs::write(
            &p,
            format!(
                r#"{{"Repositories":{{"docker.io/library/bb":{{"docker.io/library/bb:1":"{id}","bb@sha256:{d}":"{id}"}}}}}}"#,
                d = "d".repeat(64)
            ),
        )
        .unwrap();
        let mut problems = vec![];
        let jail = Jail::open(p.parent().unwrap()).unwrap();
        let names = load(&jail, &p, &mut problems);
        let n = &names[&ImageId::parse(&id).unwrap()];
        assert_eq!(n.tags, vec!["bb:1"]);
        assert_eq!(n.digests.len(), 1);
        assert!(problems.is_empty());
    }

    #[test]
    fn default_tag() {
        assert_eq!(with_default_tag("bb"), "bb:latest");
        assert_eq!(
            with_default_tag("localhost:5000/bb"),
            "localhost:5000/bb:latest"
        );
        assert_eq!(with_default_tag("bb:1"), "bb:1");
    }
}
