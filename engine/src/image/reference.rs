//! Image references and `repositories.json`, write side: `REPO[:TAG]` parsing and tagging as
//! dockerd's reference store does (familiar names, one image per tag; re-tagging moves the
//! tag, which leaves the old image untagged).

use std::collections::BTreeMap;
use std::fs;

use analyzers::ids::ImageId;
use analyzers::layout::REPOSITORIES_JSON;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// A parsed `REPO:TAG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// Familiar repository name (`busybox`, `example.com/team/app`).
    pub repo: String,
    /// Tag (`latest` when none was given).
    pub tag: String,
}

impl Tagged {
    /// Parses `REPO[:TAG]`; a name with upper case, spaces or an empty part is refused as
    /// Docker refuses it. `docker.io/library/` is dropped, as Docker shows familiar names.
    pub fn parse(text: &str) -> Result<Tagged> {
        let bad = || Error::Invalid(format!("invalid reference format: {text:?}"));
        let (repo, tag) = match text.rfind(':') {
            Some(at) if !text[at..].contains('/') => (&text[..at], &text[at + 1..]),
            _ => (text, "latest"),
        };
        let repo = repo
            .strip_prefix("docker.io/library/")
            .or_else(|| repo.strip_prefix("docker.io/"))
            .unwrap_or(repo);
        let repo_ok = !repo.is_empty()
            && repo.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-:".contains(&b)
                    })
            });
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !tag.starts_with(['.', '-']);
        if !repo_ok || !tag_ok {
            return Err(bad());
        }
        Ok(Tagged {
            repo: repo.to_owned(),
            tag: tag.to_owned(),
        })
    }
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repo, self.tag)
    }
}

#[derive(Serialize, Deserialize, Default)]
struct RepositoriesJson {
    #[serde(rename = "Repositories")]
    repositories: BTreeMap<String, BTreeMap<String, String>>,
}

/// Points `tag` at `image` in `repositories.json` (written atomically, 0600 as dockerd does).
pub fn set_tag(root: &Root, tag: &Tagged, image: &ImageId) -> Result<()> {
    let path = root.image_dir().join(REPOSITORIES_JSON);
    let mut all = read_repositories(&path)?;
    all.repositories
        .entry(tag.repo.clone())
        .or_default()
        .insert(tag.to_string(), image.to_string());
    let bytes = serde_json::to_vec(&all).map_err(|e| Error::malformed(&path, e.to_string()))?;
    atomic_write(&path, &bytes, 0o600)?;
    touch_last_updated(root, image)
}

/// Records now as the image's `lastUpdated` (inspect's `Metadata.LastTagTime`), as dockerd's
/// `TagImageWithReference` does after every tag.
fn touch_last_updated(root: &Root, image: &ImageId) -> Result<()> {
    let dir = crate::image::metadata_dir(root, image);
    fs::create_dir_all(&dir).at(&dir)?;
    atomic_write(
        &dir.join("lastUpdated"),
        crate::ids::now().as_bytes(),
        0o600,
    )
}

/// Removes the one reference `tag`; whether it was there.
pub fn remove_tag(root: &Root, tag: &Tagged) -> Result<bool> {
    let path = root.image_dir().join(REPOSITORIES_JSON);
    let mut all = read_repositories(&path)?;
    let name = tag.to_string();
    let removed = all
        .repositories
        .get_mut(&tag.repo)
        .and_then(|refs| refs.remove(&name))
        .is_some();
    if removed {
        all.repositories.retain(|_, refs| !refs.is_empty());
        let bytes = serde_json::to_vec(&all).map_err(|e| Error::malformed(&path, e.to_string()))?;
        atomic_write(&path, &bytes, 0o600)?;
    }
    Ok(removed)
}

fn read_repositories(path: &std::path::Path) -> Result<RepositoriesJson> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(path, format!("invalid JSON: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepositoriesJson::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Removes every reference to `image`; the references removed.
pub fn untag_all(root: &Root, image: &ImageId) -> Result<Vec<String>> {
    let path = root.image_dir().join(REPOSITORIES_JSON);
    let Ok(bytes) = fs::read(&path) else {
        return Ok(Vec::new());
    };
    let mut all: RepositoriesJson = serde_json::from_slice(&bytes)
        .map_err(|e| Error::malformed(&path, format!("invalid JSON: {e}")))?;
    let mut removed = Vec::new();
    for refs in all.repositories.values_mut() {
        refs.retain(|name, id| {
            let keep = id != image.0.as_str();
            if !keep {
                removed.push(name.clone());
            }
            keep
        });
    }
    all.repositories.retain(|_, refs| !refs.is_empty());
    let bytes = serde_json::to_vec(&all).map_err(|e| Error::malformed(&path, e.to_string()))?;
    atomic_write(&path, &bytes, 0o600)?;
    Ok(removed)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
pub fn atomic_write(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .at(dir)?;
    std::io::Write::write_all(&mut tmp, bytes).at(tmp.path().to_owned())?;
    fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(mode),
    )
    .at(tmp.path().to_owned())?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_docker_does() {
        let t = Tagged::parse("busybox").unwrap();
        assert_eq!(t.to_string(), "busybox:latest");
        let t = Tagged::parse("localhost:5000/a/b:1.0").unwrap();
        assert_eq!(
            (t.repo.as_str(), t.tag.as_str()),
            ("localhost:5000/a/b", "1.0")
        );
        assert_eq!(Tagged::parse("docker.io/library/x:y").unwrap().repo, "x");
        assert!(Tagged::parse("Upper:x").is_err());
        assert!(Tagged::parse("a:").is_err());
    }
}
