//! Whiteouts: how a layer records that a path of a lower layer is deleted.
//!
//! In a layer tar (and so in `tar-split.json.gz`) deletions have AUFS names: a file
//! `.wh.<name>` deletes `<name>` of its directory, and a file `.wh..wh..opq` makes its
//! directory opaque (nothing below shows through). Other `.wh..wh.*` entries at the top of a
//! layer are AUFS bookkeeping. On disk, overlayfs (moby's overlay2 driver) keeps a deletion
//! as a character device 0/0 named `<name>`, and an opaque directory as the xattr
//! `trusted.overlay.opaque=y` (`user.overlay.opaque=y` for rootless overlay); full-copy
//! drivers (vfs) keep no whiteout at all. moby: `pkg/archive/whiteouts.go`.
//!
//! The analyzers read these names (verify, dupes, diff, the union view), the engine writes
//! them (extracting a layer, committing a build step's diff).

use std::ffi::{OsStr, OsString};

/// Prefix of a whiteout's name: `.wh.<name>` deletes `<name>`.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Prefix of AUFS metadata entries (`.wh..wh.plnk`, `.wh..wh.aufs`), not deletions.
pub const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
/// The opaque-directory marker: the entry `<dir>/.wh..wh..opq`.
pub const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";
/// The xattr overlayfs reads to hide a lower directory (the one the engine writes).
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Every xattr that marks an overlay directory opaque (root, then rootless overlay), set to
/// [`OPAQUE_VALUE`].
pub const OPAQUE_XATTRS: [&str; 2] = [OVERLAY_OPAQUE_XATTR, "user.overlay.opaque"];
/// The value of an opaque xattr.
pub const OPAQUE_VALUE: &[u8] = b"y";

/// True for an overlay whiteout on disk: a character device with device number 0/0, from
/// its `st_mode` (type bits included) and `st_rdev`.
pub fn is_device_whiteout(mode: u32, rdev: u64) -> bool {
    mode & nix::libc::S_IFMT == nix::libc::S_IFCHR && rdev == 0
}

/// The tar name of the whiteout deleting `name` (a base name): `.wh.<name>`.
pub fn whiteout_name(name: &OsStr) -> OsString {
    let mut out = OsString::from(WHITEOUT_PREFIX);
    out.push(name);
    out
}

/// The name a whiteout's base name `.wh.<name>` deletes, or `None` when `base` is not a
/// whiteout (the opaque marker is not one either). `Err` when what follows the prefix is not
/// exactly one name of the directory (empty, `.`, `..`, or holding a `/`), which would make
/// the deletion hit the directory itself or its parent.
pub fn whiteout_target(base: &str) -> Result<Option<&str>, &'static str> {
    if base == WHITEOUT_OPAQUE {
        return Ok(None);
    }
    match base.strip_prefix(WHITEOUT_PREFIX) {
        None => Ok(None),
        Some("") => Err("a whiteout must name the entry it deletes"),
        Some(".") | Some("..") => Err("a whiteout of `.` or `..` would delete a directory above"),
        Some(name) if name.contains('/') => Err("a whiteout must name one entry, not a path"),
        Some(name) => Ok(Some(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name made into a whiteout reads back as the name it deletes.
    #[test]
    fn whiteout_names_round_trip() {
        for name in ["old", ".hidden", "..x", "with space"] {
            let wh = whiteout_name(OsStr::new(name));
            assert_eq!(whiteout_target(wh.to_str().unwrap()), Ok(Some(name)));
        }
        assert_eq!(whiteout_target(".wh..wh.x"), Ok(Some(".wh.x")));
        assert_eq!(whiteout_target(".wh...x"), Ok(Some("..x")));
        assert_eq!(whiteout_target(WHITEOUT_OPAQUE), Ok(None));
        assert_eq!(whiteout_target("plain"), Ok(None));
        for bad in [".wh.", ".wh..", ".wh...", ".wh.a/b"] {
            assert!(whiteout_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_0_0_character_device_is_a_whiteout() {
        use nix::libc::{S_IFBLK, S_IFCHR, S_IFREG};
        assert!(is_device_whiteout(S_IFCHR | 0o644, 0));
        assert!(!is_device_whiteout(S_IFCHR | 0o644, 0x0103));
        assert!(!is_device_whiteout(S_IFBLK, 0));
        assert!(!is_device_whiteout(S_IFREG, 0));
    }
}
