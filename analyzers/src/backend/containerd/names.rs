//! Image names as the containerd image store writes them and as Docker shows them
//! (distribution `reference.FamiliarString`, moby `daemon/containerd/soft_delete.go`).

use crate::ids::Digest;

/// The label the classic builder puts on an image naming its parent (moby
/// `imageLabelClassicBuilderParent`).
pub const CLASSIC_PARENT_LABEL: &str = "org.mobyproject.image.parent";
/// The name prefix of an image kept only because something still uses it.
const DANGLING_PREFIX: &str = "moby-dangling@";
/// Docker Hub's domain, left out of familiar names.
const DOCKER_HUB: &str = "docker.io/";
/// Docker Hub's repository for official images, left out of familiar names.
const OFFICIAL: &str = "library/";

/// True for a dangling image's name (`moby-dangling@sha256:…`).
pub fn is_dangling(name: &str) -> bool {
    name.starts_with(DANGLING_PREFIX)
}

/// `docker.io/library/app:1` as Docker shows it: `app:1`; other registries unchanged.
pub fn familiar(name: &str) -> String {
    match name.strip_prefix(DOCKER_HUB) {
        Some(rest) => rest.strip_prefix(OFFICIAL).unwrap_or(rest).to_owned(),
        None => name.to_owned(),
    }
}

/// The repository of a name: without its tag or digest.
fn repository(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    }
}

/// `RepoDigests` entry of the image named `name` with target `target` (`app@sha256:…`);
/// none for a dangling image or a name that is only a digest.
pub fn repo_digest(name: &str, target: &Digest) -> Option<String> {
    if is_dangling(name) || Digest::parse(name).is_some() || !name.contains('/') {
        return None;
    }
    Some(format!("{}@{target}", familiar(repository(name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_as_docker_shows_them() {
        assert_eq!(familiar("docker.io/library/app:1"), "app:1");
        assert_eq!(familiar("docker.io/me/app:1"), "me/app:1");
        assert_eq!(familiar("localhost:5000/app:1"), "localhost:5000/app:1");
        let d = Digest::of_bytes(b"x");
        assert_eq!(
            repo_digest("docker.io/library/app:1", &d),
            Some(format!("app@{d}"))
        );
        assert_eq!(
            repo_digest("localhost:5000/a/b:2", &d),
            Some(format!("localhost:5000/a/b@{d}"))
        );
        assert_eq!(repo_digest(&format!("moby-dangling@{d}"), &d), None);
        assert_eq!(repo_digest(d.as_str(), &d), None);
    }
}
