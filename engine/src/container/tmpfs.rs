//! `--tmpfs PATH[:OPTIONS]` (`HostConfig.Tmpfs`): checked at create, mounted at start with
//! Docker's defaults (`noexec,nosuid,nodev`) followed by the options given, later ones
//! winning as the kernel's mount flags do.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// Option words without a value that a tmpfs mount takes.
const FLAGS: &[&str] = &[
    "ro",
    "rw",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "sync",
    "async",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
];

/// Docker's options before the user's.
const DEFAULTS: &[&str] = &["noexec", "nosuid", "nodev"];

/// Checks every `path: options` entry: an absolute path other than `/`, and options that are
/// tmpfs flags or `size=` (bytes with a unit or a percentage), `mode=` (octal), `uid=`,
/// `gid=`, `nr_inodes=`, `nr_blocks=` (numbers with an optional unit).
pub fn validate(tmpfs: &BTreeMap<String, String>) -> Result<()> {
    for (path, options) in tmpfs {
        let bad = |what: String| Error::Invalid(format!("HostConfig.Tmpfs {path:?}: {what}"));
        if !path.starts_with('/') || path.trim_end_matches('/').is_empty() {
            return Err(bad("the path must be absolute and not /".to_owned()));
        }
        for opt in options.split(',').filter(|o| !o.is_empty()) {
            let ok = match opt.split_once('=') {
                None => FLAGS.contains(&opt),
                Some(("mode", v)) => u32::from_str_radix(v, 8).is_ok(),
                Some(("uid" | "gid", v)) => v.parse::<u32>().is_ok(),
                Some(("size", v)) => v.strip_suffix('%').map_or_else(
                    || analyzers::units::ram_in_bytes(v).is_ok(),
                    |pct| pct.parse::<u8>().is_ok_and(|p| p <= 100),
                ),
                Some(("nr_inodes" | "nr_blocks", v)) => analyzers::units::ram_in_bytes(v).is_ok(),
                Some(_) => false,
            };
            if !ok {
                return Err(bad(format!("invalid tmpfs option {opt:?}")));
            }
        }
    }
    Ok(())
}

/// The OCI mounts of the checked `tmpfs` entries.
pub fn mounts(tmpfs: &BTreeMap<String, String>) -> Vec<Value> {
    tmpfs
        .iter()
        .map(|(path, options)| {
            let mut all: Vec<&str> = DEFAULTS.to_vec();
            all.extend(options.split(',').filter(|o| !o.is_empty()));
            json!({"destination": path, "type": "tmpfs", "source": "tmpfs", "options": all})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let one = |p: &str, o: &str| validate(&BTreeMap::from([(p.to_owned(), o.to_owned())]));
        assert!(one("/t", "").is_ok());
        assert!(one("/t", "size=64m,mode=1777,exec").is_ok());
        assert!(one("/t", "size=50%").is_ok());
        assert!(one("t", "").is_err());
        assert!(one("/", "").is_err());
        let err = one("/t", "size=64m,bogus=1").unwrap_err().to_string();
        assert!(err.contains("bogus=1") && err.contains("/t"), "{err}");
        assert!(one("/t", "mode=9").is_err());
    }
}
