//! Which podman release's `system df` rules apply.

use crate::backend::PodmanVersion;

/// Podman's `system df` rules, named by the releases that use them (podman
/// `pkg/domain/infra/abi/system.go`, `cmd/podman/system/df.go`, `libpod/container_internal.go`;
/// containers/common `libimage/disk_usage.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// Up to 4.3 (containers/common up to 0.50): what an image shares comes from the layer
    /// tree; no `ImagesSize`; the summary sums the rows; a container's `RWSize` is its
    /// writable layer's `DiffSize` and its `Size` the walked sizes of the image's layers.
    Podman43,
    /// 4.4 and 4.5: `ImagesSize` (each distinct image's `ImageSize` less the layers counted
    /// before it), and the summary's image figures from it.
    Podman44,
    /// 4.6 to 5.4: a container's `RWSize` is containers/storage's `ContainerSize` (its layer,
    /// its big data and both `userdata` directories) and its `Size` adds the image's
    /// `ImageSize`.
    Podman46,
    /// 5.5 and later (containers/common 0.63): an image shares the layers other images also
    /// reach; `ImagesSize` is every layer once plus every image's big data.
    Podman55,
}

impl Rule {
    /// The rules of podman `version`.
    pub fn of(version: PodmanVersion) -> Rule {
        let v = (version.major, version.minor);
        if v >= (5, 5) {
            Rule::Podman55
        } else if v >= (4, 6) {
            Rule::Podman46
        } else if v >= (4, 4) {
            Rule::Podman44
        } else {
            Rule::Podman43
        }
    }

    /// The releases using it, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Podman43 => "podman 4.3 and earlier",
            Rule::Podman44 => "podman 4.4-4.5",
            Rule::Podman46 => "podman 4.6-5.4",
            Rule::Podman55 => "podman 5.5 and later",
        }
    }

    /// True when the answer has `ImagesSize` and the summary's images line is drawn from it.
    pub fn has_images_size(self) -> bool {
        self >= Rule::Podman44
    }

    /// True when a container's sizes are containers/storage's `ContainerSize` (and, for
    /// `Size`, `ImageSize`) rather than walked layer sizes.
    pub fn sizes_whole_container(self) -> bool {
        self >= Rule::Podman46
    }

    /// True when an image shares each layer another image reaches, rather than what its
    /// parent or children in the layer tree hold.
    pub fn counts_layer_users(self) -> bool {
        self >= Rule::Podman55
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_their_rules() {
        let rule = |a, b, c| Rule::of(PodmanVersion::new(a, b, c));
        assert_eq!(rule(4, 3, 1), Rule::Podman43);
        assert_eq!(rule(3, 4, 0), Rule::Podman43);
        assert_eq!(rule(4, 4, 0), Rule::Podman44);
        assert_eq!(rule(4, 5, 1), Rule::Podman44);
        assert_eq!(rule(4, 6, 0), Rule::Podman46);
        assert_eq!(rule(5, 4, 2), Rule::Podman46);
        assert_eq!(rule(5, 5, 0), Rule::Podman55);
        assert_eq!(rule(6, 0, 0), Rule::Podman55);
    }
}
