//! A step's changes as a layer: the overlay upper directory of its build container (or the
//! staging directory of a step on `scratch`) written as a layer tar the way moby's overlay2
//! driver exports a diff (names in lexical order, parents first; a 0/0 character device
//! becomes a `.wh.<name>` entry, a directory marked `trusted.overlay.opaque=y` gets a
//! `.wh..wh..opq` entry; hard links within the layer become link entries), then registered
//! through [`crate::layer::register`], exactly as an imported layer is: content, diff id,
//! chain id, tar-split and size. A directory with no changes makes no layer.
//!
//! A changed entry whose own name starts with `.wh.` (a file an `ADD`ed archive or a `RUN`
//! left) is refused, naming it: the layer format has no way to say it is not a whiteout, and
//! written as it is it would delete its namesake when the layer is applied (moby's overlay2
//! driver commits it so, deleting the image's `/etc` for an `ADD`ed `.wh.etc`).

use std::collections::HashMap;
use std::fs;
use std::io::{Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use analyzers::ids::ChainId;

use crate::error::{Error, IoContext, Result};
use crate::layer::{self, Layer};
use crate::root::Root;
use analyzers::format::whiteout::{
    is_device_whiteout, whiteout_name, OPAQUE_VALUE, OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE,
    WHITEOUT_PREFIX,
};

/// Registers the changes in `upper` as a layer on `parent`; `None` when there are none.
pub fn commit(root: &Root, upper: &Path, parent: Option<&ChainId>) -> Result<Option<Layer>> {
    if fs::read_dir(upper).at(upper)?.next().is_none() {
        return Ok(None);
    }
    let tmp = root.tmp_dir();
    let mut file = tempfile::tempfile_in(&tmp).at(&tmp)?;
    {
        let mut builder = tar::Builder::new(std::io::BufWriter::new(&mut file));
        builder.mode(tar::HeaderMode::Complete);
        builder.follow_symlinks(false);
        let mut links = HashMap::new();
        add_dir(&mut builder, upper, "", &mut links)?;
        builder.into_inner().and_then(|mut w| w.flush()).at(upper)?;
    }
    file.rewind().at(upper)?;
    let name = upper.display().to_string();
    Ok(Some(layer::register(root, &mut file, parent, None, &name)?))
}

/// The one extended attribute moby carries into layer tars (`ReadSecurityXattrToTarHeader`):
/// file capabilities, which a `RUN setcap` sets.
const CAPABILITY_XATTR: &str = "security.capability";

/// Appends a PAX extended header with `path`'s file capabilities, if it has any, for the
/// entry `name` that follows.
fn capabilities<W: Write>(builder: &mut tar::Builder<W>, path: &Path, name: &str) -> Result<()> {
    let Some(value) = xattr::get(path, CAPABILITY_XATTR).map_err(|e| Error::io(path, e))? else {
        return Ok(());
    };
    let key = format!("SCHILY.xattr.{CAPABILITY_XATTR}");
    // A record is "<length> <key>=<value>\n", its length counting its own digits.
    let body = key.len() + value.len() + 3;
    let mut length = body + 1;
    while body + length.to_string().len() != length {
        length = body + length.to_string().len();
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(&value);
    record.push(b'\n');
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_mode(0o644);
    header.set_size(record.len() as u64);
    let short: String = format!("PaxHeaders/{name}").chars().take(99).collect();
    header.set_path(&short).at(path)?;
    header.set_cksum();
    builder.append(&header, &record[..]).at(path)
}

/// Appends the entries under `dir` (tar names prefixed with `prefix`).
fn add_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
    links: &mut HashMap<(u64, u64), String>,
) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .at(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .at(dir)?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let base = name.to_string_lossy();
        let name = format!("{prefix}{base}");
        let meta = fs::symlink_metadata(&path).at(&path)?;
        let kind = meta.file_type();
        if base.starts_with(WHITEOUT_PREFIX) {
            return Err(Error::Refused {
                archive: dir.display().to_string(),
                entry: name,
                reason: "a name starting with `.wh.` cannot be stored in a layer, which would \
                         read it as a whiteout"
                    .to_owned(),
            });
        }
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        let append =
            |b: &mut tar::Builder<W>,
             h: &mut tar::Header,
             n: &str,
             data: &mut dyn std::io::Read| { b.append_data(h, n, data).at(&path) };
        if is_device_whiteout(meta.mode(), meta.rdev()) {
            let deleted = format!(
                "{prefix}{}",
                whiteout_name(std::ffi::OsStr::new(&*base)).to_string_lossy()
            );
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0);
            header.set_size(0);
            append(builder, &mut header, &deleted, &mut std::io::empty())?;
        } else if kind.is_dir() {
            append(
                builder,
                &mut header,
                &format!("{name}/"),
                &mut std::io::empty(),
            )?;
            let opaque = xattr::get(&path, OVERLAY_OPAQUE_XATTR)
                .map_err(|e| Error::io(&path, e))?
                .is_some_and(|v| v == OPAQUE_VALUE);
            if opaque {
                let mut marker = header.clone();
                marker.set_entry_type(tar::EntryType::Regular);
                marker.set_size(0);
                append(
                    builder,
                    &mut marker,
                    &format!("{name}/{WHITEOUT_OPAQUE}"),
                    &mut std::io::empty(),
                )?;
            }
            add_dir(builder, &path, &format!("{name}/"), links)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).at(&path)?;
            header.set_size(0);
            builder.append_link(&mut header, &name, &target).at(&path)?;
        } else if kind.is_file() {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                builder.append_link(&mut header, &name, first).at(&path)?;
            } else {
                if meta.nlink() > 1 {
                    links.insert(key, name.clone());
                }
                capabilities(builder, &path, &name)?;
                let mut file = fs::File::open(&path).at(&path)?;
                append(builder, &mut header, &name, &mut file)?;
            }
        } else {
            header.set_size(0);
            append(builder, &mut header, &name, &mut std::io::empty())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_whiteouts_become_aufs_entries() {
        let dir = tempfile::tempdir().unwrap();
        let upper = dir.path().join("upper");
        fs::create_dir_all(upper.join("etc/sub")).unwrap();
        fs::write(upper.join("etc/a"), "x").unwrap();
        fs::hard_link(upper.join("etc/a"), upper.join("etc/b")).unwrap();
        std::os::unix::fs::symlink("a", upper.join("etc/l")).unwrap();
        let is_root = nix::unistd::geteuid().is_root();
        if is_root {
            nix::sys::stat::mknod(
                &upper.join("etc/gone"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                0,
            )
            .unwrap();
        }
        if is_root {
            // cap_net_raw+ep, as `setcap` writes it (vfs_cap_data, revision 2).
            let mut cap = vec![0x01, 0x00, 0x00, 0x02];
            cap.extend_from_slice(&(1u32 << 13).to_le_bytes());
            cap.extend_from_slice(&[0; 12]);
            fs::write(upper.join("etc/ping"), "p").unwrap();
            xattr::set(upper.join("etc/ping"), CAPABILITY_XATTR, &cap).unwrap();
        }
        let mut out = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut out);
            builder.mode(tar::HeaderMode::Complete);
            add_dir(&mut builder, &upper, "", &mut HashMap::new()).unwrap();
            builder.finish().unwrap();
        }
        let mut archive = tar::Archive::new(&out[..]);
        let names: Vec<(String, tar::EntryType)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                if let Some(pax) = e.pax_extensions().unwrap() {
                    let records: Vec<_> = pax.map(Result::unwrap).collect();
                    assert_eq!(
                        records[0].key().unwrap(),
                        "SCHILY.xattr.security.capability"
                    );
                    assert_eq!(records[0].value_bytes().len(), 20);
                }
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                )
            })
            .collect();
        let mut want = vec![
            ("etc/".to_owned(), tar::EntryType::Directory),
            ("etc/a".to_owned(), tar::EntryType::Regular),
            ("etc/b".to_owned(), tar::EntryType::Link),
        ];
        if is_root {
            want.push(("etc/.wh.gone".to_owned(), tar::EntryType::Regular));
        }
        want.push(("etc/l".to_owned(), tar::EntryType::Symlink));
        if is_root {
            want.push(("etc/ping".to_owned(), tar::EntryType::Regular));
        }
        want.push(("etc/sub/".to_owned(), tar::EntryType::Directory));
        assert_eq!(names, want);
    }

    #[test]
    fn files_named_like_whiteouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/.wh.passwd"), "not a whiteout").unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let err = add_dir(&mut builder, dir.path(), "", &mut HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"etc/.wh.passwd\"") && err.contains("whiteout"),
            "{err}"
        );
    }
}
