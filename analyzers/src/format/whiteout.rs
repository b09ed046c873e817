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
//! fuse-overlayfs (containers/storage's overlay driver with a `mount_program`, what rootless
//! podman uses where the kernel's overlay is not allowed) reads both forms (fuse-overlayfs
//! 1.10 `main.c` `load_dir`, `get_whiteout_name`, `is_directory_opaque`), and its stores hold
//! both: containers/storage applies image layers there with AUFS names kept as files
//! (`drivers/overlay` `getWhiteoutFormat`: "most likely running as an unprivileged user that
//! cannot use mknod"), while fuse-overlayfs itself deletes with a 0/0 device where `mknod`
//! works (Linux 5.8 allows it unprivileged) and a `.wh.<name>` file where it fails with
//! `EPERM`; it marks an opaque directory with `trusted.overlay.opaque` (as root) or
//! `user.fuseoverlayfs.opaque`, and always also with a `.wh..wh..opq` file. No name starting
//! with `.wh.` is ever shown in its view.
//!
//! aufs (moby's aufs driver, removed in Docker 24) keeps the tar's names as they are: a
//! `.wh.<name>` entry deletes `<name>`, `.wh..wh..opq` makes its directory opaque, the other
//! `.wh..wh.` names (`.wh..wh.plnk/`, the pseudo-links of hard-linked files copied up;
//! `.wh..wh.aufs`, the inode aufs hard-links its whiteouts to; `.wh..wh.orph/`) are its own
//! bookkeeping, and no `.wh.` name is shown in its view. Unlike fuse-overlayfs it knows
//! nothing of overlay's forms: a 0/0 character device there is a device, an opaque xattr an
//! xattr (aufs `whiteout.h`, `au_wh_test`, `au_diropq_test`). [`Whiteouts`] says which form a
//! layer directory follows.
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
/// The opaque xattr fuse-overlayfs sets when it may not set `trusted.*` (rootless).
pub const FUSE_OVERLAYFS_OPAQUE_XATTR: &str = "user.fuseoverlayfs.opaque";
/// Every xattr fuse-overlayfs reads as marking a directory opaque, in its order.
const FUSE_OPAQUE_XATTRS: [&str; 3] = [
    OVERLAY_OPAQUE_XATTR,
    "user.overlay.opaque",
    FUSE_OVERLAYFS_OPAQUE_XATTR,
];

/// How a layer directory records deletions and opaque directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// The kernel's overlayfs: a deletion is a 0/0 character device named as what it
    /// deletes, an opaque directory carries one of [`OPAQUE_XATTRS`].
    Kernel,
    /// fuse-overlayfs: the kernel's form, and AUFS names too: `.wh.<name>` (of any file type)
    /// deletes `<name>`, a `.wh..wh..opq` entry or [`FUSE_OVERLAYFS_OPAQUE_XATTR`] makes its
    /// directory opaque, and no `.wh.` name is itself part of the view.
    Fuse,
    /// aufs: AUFS names only. `.wh.<name>` (of any file type) deletes `<name>`, a
    /// `.wh..wh..opq` entry makes its directory opaque, `.wh..wh.*` entries are aufs'
    /// bookkeeping, and no `.wh.` name is itself part of the view; a 0/0 character device is
    /// an entry like any other, and no xattr makes a directory opaque.
    Aufs,
}

/// What one entry of a layer directory is to the union view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role<'a> {
    /// A file or directory of the view.
    Entry,
    /// A whiteout deleting the name it holds, from the layers below.
    Deletes(&'a OsStr),
    /// Bookkeeping that is neither (fuse-overlayfs: an opaque marker, an AUFS `.wh..wh.`
    /// entry, a whiteout of such a name).
    Hidden,
}

impl Whiteouts {
    /// The role of the entry `name` whose `st_mode` (type bits included) and `st_rdev` are
    /// `mode` and `rdev`.
    pub fn role(self, name: &OsStr, mode: u32, rdev: u64) -> Role<'_> {
        use std::os::unix::ffi::OsStrExt;
        let prefixed = name.as_bytes().strip_prefix(WHITEOUT_PREFIX.as_bytes());
        match (self, prefixed) {
            // fuse-overlayfs' `get_whiteout_name`, aufs' `au_wh_test`: what follows the
            // prefix, whatever it is; a name that can never be in a directory, or one that is
            // itself a `.wh.` name (aufs' bookkeeping, the opaque marker; never shown anyway),
            // hides nothing.
            (Whiteouts::Fuse | Whiteouts::Aufs, Some(target)) => match target {
                b"" | b"." | b".." => Role::Hidden,
                t if t.contains(&b'/') || t.starts_with(WHITEOUT_PREFIX.as_bytes()) => Role::Hidden,
                t => Role::Deletes(OsStr::from_bytes(t)),
            },
            (Whiteouts::Aufs, None) => Role::Entry,
            _ if is_device_whiteout(mode, rdev) => Role::Deletes(name),
            _ => Role::Entry,
        }
    }

    /// The xattrs that mark a directory opaque when set to [`OPAQUE_VALUE`].
    pub fn opaque_xattrs(self) -> &'static [&'static str] {
        match self {
            Whiteouts::Kernel => &OPAQUE_XATTRS,
            Whiteouts::Fuse => &FUSE_OPAQUE_XATTRS,
            Whiteouts::Aufs => &[],
        }
    }

    /// True when `.wh.<name>` entries delete `<name>` (fuse-overlayfs, aufs).
    pub fn reads_aufs_names(self) -> bool {
        !matches!(self, Whiteouts::Kernel)
    }

    /// The entry whose presence in a directory makes it opaque, if this form has one.
    pub fn opaque_marker(self) -> Option<&'static str> {
        match self {
            Whiteouts::Kernel => None,
            Whiteouts::Fuse | Whiteouts::Aufs => Some(WHITEOUT_OPAQUE),
        }
    }
}

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
    fn fuse_overlayfs_reads_aufs_names_too() {
        use nix::libc::{S_IFCHR, S_IFDIR, S_IFREG};
        fn role(w: Whiteouts, name: &str, mode: u32) -> Role<'_> {
            w.role(OsStr::new(name), mode, 0)
        }
        for w in [Whiteouts::Kernel, Whiteouts::Fuse] {
            assert_eq!(role(w, "motd", S_IFCHR), Role::Deletes(OsStr::new("motd")));
            assert_eq!(role(w, "motd", S_IFREG), Role::Entry);
            assert_eq!(role(w, "etc", S_IFDIR), Role::Entry);
        }
        // The kernel's overlay shows a `.wh.` file as the file it is.
        assert_eq!(role(Whiteouts::Kernel, ".wh.motd", S_IFREG), Role::Entry);
        let fuse = Whiteouts::Fuse;
        assert_eq!(
            role(fuse, ".wh.motd", S_IFREG),
            Role::Deletes(OsStr::new("motd"))
        );
        assert_eq!(
            role(fuse, ".wh..hidden", S_IFREG),
            Role::Deletes(OsStr::new(".hidden"))
        );
        // The opaque marker, AUFS bookkeeping and fuse-overlayfs' whiteouts of such names.
        for name in [WHITEOUT_OPAQUE, ".wh..wh.plnk", ".wh.", ".wh..", ".wh..."] {
            assert_eq!(role(fuse, name, S_IFREG), Role::Hidden, "{name}");
        }
        // The 0/0 device fuse-overlayfs leaves beside `.wh..wh..opq` is read by its name.
        assert_eq!(
            role(fuse, ".wh..opq", S_IFCHR),
            Role::Deletes(OsStr::new(".opq"))
        );
        assert_eq!(fuse.opaque_marker(), Some(WHITEOUT_OPAQUE));
        assert_eq!(Whiteouts::Kernel.opaque_marker(), None);
        assert!(fuse.opaque_xattrs().contains(&FUSE_OVERLAYFS_OPAQUE_XATTR));
        assert!(!Whiteouts::Kernel
            .opaque_xattrs()
            .contains(&FUSE_OVERLAYFS_OPAQUE_XATTR));
    }

    /// aufs reads AUFS names only: its bookkeeping and the opaque marker are hidden, a 0/0
    /// device is a device, and no xattr makes a directory opaque.
    #[test]
    fn aufs_reads_aufs_names_only() {
        use nix::libc::{S_IFCHR, S_IFDIR, S_IFREG};
        let aufs = Whiteouts::Aufs;
        let role = |name: &'static str, mode: u32| aufs.role(OsStr::new(name), mode, 0);
        assert_eq!(role(".wh.motd", S_IFREG), Role::Deletes(OsStr::new("motd")));
        assert_eq!(role(".wh.dir", S_IFDIR), Role::Deletes(OsStr::new("dir")));
        for name in [
            WHITEOUT_OPAQUE,
            ".wh..wh.plnk",
            ".wh..wh.aufs",
            ".wh..wh.orph",
        ] {
            assert_eq!(role(name, S_IFREG), Role::Hidden, "{name}");
        }
        assert_eq!(role("motd", S_IFCHR), Role::Entry);
        assert_eq!(role("motd", S_IFREG), Role::Entry);
        assert_eq!(aufs.opaque_marker(), Some(WHITEOUT_OPAQUE));
        assert!(aufs.opaque_xattrs().is_empty());
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
