//! containers/storage's `storage.conf` (TOML): the keys that say where a store is and how
//! its layers are kept (containers/storage 1.43 `types/options.go` `TomlConfig`,
//! `pkg/config/config.go` `OptionsConfig`; `imagestore` is 1.48's, `transient_store` 1.45's).
//!
//! Only parsing lives here; which files are read, in what order and with what defaults is
//! [`crate::graphroot`]'s. As containers/storage does, keys strata does not know are ignored
//! (it only warns about them), but a file that is not TOML, or a known key of the wrong type,
//! is an error naming the file: podman refuses to start on such a file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole file: only its `[storage]` table matters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StorageConf {
    /// `[storage]`.
    #[serde(default)]
    pub storage: Storage,
}

/// `[storage]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Storage {
    /// `driver`: the graph driver (`overlay`; `overlay2` is read as `overlay`).
    pub driver: Option<String>,
    /// `graphroot`: the store's directory (may hold `$HOME`, `$UID`, `$USER`).
    pub graphroot: Option<String>,
    /// `runroot`: its run-time directory (a tmpfs: locks, mounts, volatile records).
    pub runroot: Option<String>,
    /// `rootless_storage_path`: the graphroot of every rootless user, with `$HOME`, `$UID`
    /// and `$USER` expanded per user.
    pub rootless_storage_path: Option<String>,
    /// `imagestore` (containers/storage 1.48+): a separate directory for images and their
    /// layers; the graphroot then keeps containers only.
    pub imagestore: Option<String>,
    /// `transient_store` (containers/storage 1.45+): container records and their layers'
    /// records are kept under the runroot, lost at reboot.
    #[serde(default)]
    pub transient_store: bool,
    /// `[storage.options]`.
    #[serde(default)]
    pub options: Options,
}

/// `[storage.options]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Options {
    /// `additionalimagestores`: read-only stores whose images containers may use.
    #[serde(default)]
    pub additionalimagestores: Vec<String>,
    /// `mount_program`: the FUSE program mounting overlay layers (fuse-overlayfs).
    pub mount_program: Option<String>,
    /// `[storage.options.overlay]`.
    #[serde(default)]
    pub overlay: OverlayOptions,
}

/// `[storage.options.overlay]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OverlayOptions {
    /// `mount_program`: wins over `[storage.options]`'s (`GetGraphDriverOptions`).
    pub mount_program: Option<String>,
}

/// The driver name containers/storage normalises `overlay2` to.
pub const OVERLAY: &str = "overlay";

impl Storage {
    /// The driver, with `overlay2` read as `overlay` as containers/storage does; `None` when
    /// unset or empty.
    pub fn driver(&self) -> Option<&str> {
        match self.driver.as_deref() {
            None | Some("") => None,
            Some("overlay2") => Some(OVERLAY),
            Some(d) => Some(d),
        }
    }

    /// The overlay driver's mount program: `[storage.options.overlay]`'s, else
    /// `[storage.options]`'s; `None` when neither is set (or both are empty).
    pub fn mount_program(&self) -> Option<&str> {
        let overlay = self.options.overlay.mount_program.as_deref();
        let general = self.options.mount_program.as_deref();
        overlay
            .filter(|p| !p.is_empty())
            .or(general.filter(|p| !p.is_empty()))
    }
}

/// Parses the text of `path`; an error names the file, the line and column, and the problem,
/// on one line.
pub fn parse(text: &[u8], path: &Path) -> Result<StorageConf> {
    let malformed = |detail: String| Error::Malformed {
        path: path.to_path_buf(),
        detail,
    };
    let text = std::str::from_utf8(text).map_err(|e| malformed(format!("not UTF-8 ({e})")))?;
    toml::from_str(text).map_err(|e| {
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                malformed(format!(
                    "invalid storage.conf at line {line}, column {column}: {message}"
                ))
            }
            None => malformed(format!("invalid storage.conf: {message}")),
        }
    })
}

/// Reads and parses the host file `path` (a path under `sysroot`, which must contain it);
/// `Ok(None)` when it does not exist.
pub fn read(path: &Path, sysroot: &crate::host::Sysroot) -> Result<Option<StorageConf>> {
    match sysroot.read(path) {
        Ok(bytes) => parse(&bytes, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(PathBuf::from(path), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fedora's shipped file, abridged: every key strata reads, and keys it ignores.
    const FEDORA: &str = r#"
# This file is the configuration file for all tools
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
rootless_storage_path = "$HOME/.local/share/containers/storage"
transient_store = true
imagestore = "/srv/images"

[storage.options]
additionalimagestores = [
  "/usr/lib/containers/storage",
]
pull_options = {enable_partial_images = "false", use_hard_links = "false"}
mount_program = "/usr/bin/general"

[storage.options.overlay]
mountopt = "nodev,metacopy=on"
mount_program = "/usr/bin/fuse-overlayfs"

[storage.options.thinpool]
"#;

    #[test]
    fn every_key_strata_reads_is_parsed() {
        let conf = parse(FEDORA.as_bytes(), Path::new("/etc/containers/storage.conf")).unwrap();
        let s = &conf.storage;
        assert_eq!(s.driver(), Some("overlay"));
        assert_eq!(s.graphroot.as_deref(), Some("/var/lib/containers/storage"));
        assert_eq!(s.runroot.as_deref(), Some("/run/containers/storage"));
        assert_eq!(
            s.rootless_storage_path.as_deref(),
            Some("$HOME/.local/share/containers/storage")
        );
        assert!(s.transient_store);
        assert_eq!(s.imagestore.as_deref(), Some("/srv/images"));
        assert_eq!(
            s.options.additionalimagestores,
            ["/usr/lib/containers/storage"]
        );
        // The overlay table's mount program wins.
        assert_eq!(s.mount_program(), Some("/usr/bin/fuse-overlayfs"));
    }

    #[test]
    fn defaults_and_normalisation() {
        let path = Path::new("storage.conf");
        assert_eq!(parse(b"", path).unwrap(), StorageConf::default());
        let conf = parse(
            b"[storage]\ndriver = \"overlay2\"\n[storage.options]\nmount_program = \"/x\"\n",
            path,
        )
        .unwrap();
        assert_eq!(conf.storage.driver(), Some("overlay"));
        assert_eq!(conf.storage.mount_program(), Some("/x"));
        let conf = parse(b"[storage]\ndriver = \"\"\n", path).unwrap();
        assert_eq!(conf.storage.driver(), None);
        assert!(!conf.storage.transient_store);
    }

    #[test]
    fn a_malformed_file_is_one_line_naming_it() {
        let path = Path::new("/etc/containers/storage.conf");
        for (text, want) in [
            (&b"[storage]\ndriver = \"overlay\n"[..], "line 2"),
            (b"[storage]\ndriver = 5\n", "line 2, column 10"),
            (b"[storage]\ntransient_store = \"yes\"\n", "line 2"),
            (b"[storage\n", "line 1"),
            (b"\xff", "not UTF-8"),
        ] {
            let err = parse(text, path).unwrap_err().to_string();
            assert!(err.starts_with("/etc/containers/storage.conf: "), "{err}");
            assert!(err.contains(want), "{want}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(
                &dir.path().join("storage.conf"),
                &crate::host::Sysroot::default()
            )
            .unwrap(),
            None
        );
        std::fs::write(
            dir.path().join("storage.conf"),
            "[storage]\ngraphroot = \"/g\"\n",
        )
        .unwrap();
        let conf = read(
            &dir.path().join("storage.conf"),
            &crate::host::Sysroot::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(conf.storage.graphroot.as_deref(), Some("/g"));
    }
}
