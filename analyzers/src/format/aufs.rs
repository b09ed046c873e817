//! moby's aufs driver's bookkeeping (`daemon/graphdriver/aufs`, removed in Docker 24):
//!
//! | path under `aufs/` | holds |
//! | --- | --- |
//! | `diff/<id>/` | the layer's own files, deletions and opaque markers as AUFS names ([`crate::format::whiteout`]) |
//! | `layers/<id>` | the layer's ancestors, one id a line, nearest first (empty for a base layer) |
//! | `mnt/<id>/` | the mount point of the union while the layer is in use |
//!
//! `layers/<id>` is written by `Create` (`fmt.Fprintln` of the parent, then of each line of
//! the parent's own file) and read by `getParentIDs` with a `bufio.Scanner`: lines split at
//! `\n`, a `\r` before it dropped, empty lines skipped. dockerd joins each line to `diff/`
//! as it is; here each must be one directory name, or the file is damaged.

use crate::ids::CacheId;

/// `aufs/diff/<id>/`: a layer's own files.
pub const AUFS_DIFF: &str = "diff";
/// `aufs/layers/<id>`: a layer's ancestors, nearest first.
pub const AUFS_LAYERS: &str = "layers";
/// `aufs/mnt/<id>/`: a layer's mount point.
pub const AUFS_MNT: &str = "mnt";

/// The ancestors a `layers/<id>` file lists, nearest first; `Err` with what is wrong when a
/// line is not a layer id (one directory name) or the file is not text.
pub fn parse_layers(bytes: &[u8]) -> Result<Vec<CacheId>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(n, line)| {
            CacheId::parse(line)
                .ok_or_else(|| format!("line {}: {line:?} is not a layer id", n + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Create` writes reads back, nearest first; a scanner's empty lines and `\r`s
    /// are dropped as Go drops them.
    #[test]
    fn ancestors_read_as_dockerd_reads_them() {
        let ids = |list: &[&str]| -> Vec<CacheId> {
            list.iter().map(|s| CacheId((*s).to_owned())).collect()
        };
        assert_eq!(parse_layers(b""), Ok(vec![]));
        assert_eq!(parse_layers(b"p\ng\n"), Ok(ids(&["p", "g"])));
        assert_eq!(parse_layers(b"p\r\n\ng"), Ok(ids(&["p", "g"])));
        for bad in [&b"p\n../etc\n"[..], b"a/b\n", b"..\n", b"\xff\n"] {
            assert!(parse_layers(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_layers(b"p\n.\n"),
            Err("line 2: \".\" is not a layer id".to_owned())
        );
    }
}
