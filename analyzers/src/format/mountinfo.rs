//! The kernel's `/proc/self/mountinfo` (proc(5)): one mount a line,
//! `id parent major:minor root mount-point options [optional...] - fstype source super-options`,
//! with space, tab, newline and backslash in paths written as `\040`, `\011`, `\012`, `\134`.
//! Read on a live host to name what is mounted where strata finds a mount point (the zfs
//! dataset on `zfs/graph/<id>`); malformed lines are skipped.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// Where the host's mount table is read from.
pub const SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mounted filesystem's device number, `(major, minor)`: what `st_dev` of every file
    /// in it says.
    pub dev: (u64, u64),
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type (`zfs`, `ext4`, `tmpfs`).
    pub fstype: String,
    /// What is mounted (`pool/docker/<id>` for a zfs dataset, a device for a disk).
    pub source: String,
}

/// The `(major, minor)` of the device number `st_dev`, as [`Mount::dev`] holds it.
pub fn device_number(st_dev: u64) -> (u64, u64) {
    (nix::sys::stat::major(st_dev), nix::sys::stat::minor(st_dev))
}

/// The mounts of the mountinfo text `text`, in file order.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    let head: Vec<&str> = head.split(' ').collect();
    let [_id, _parent, dev, _root, mount_point, ..] = head[..] else {
        return None;
    };
    let (major, minor) = dev.split_once(':')?;
    let mut tail = tail.split(' ');
    let fstype = tail.next()?;
    let source = tail.next()?;
    Some(Mount {
        dev: (major.parse().ok()?, minor.parse().ok()?),
        mount_point: PathBuf::from(OsString::from_vec(unescape(mount_point))),
        fstype: String::from_utf8_lossy(&unescape(fstype)).into_owned(),
        source: String::from_utf8_lossy(&unescape(source)).into_owned(),
    })
}

/// A field with its `\NNN` octal escapes replaced by the bytes they stand for.
fn unescape(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_read_with_their_escapes() {
        let text = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    90 29 0:52 / /var/lib/docker/zfs/graph/ab\\040c rw shared:40 master:1 - zfs \
                    tank/docker/abc rw,xattr\n\
                    garbage line\n";
        let mounts = parse(text);
        assert_eq!(mounts.len(), 2);
        assert_eq!(
            mounts[1],
            Mount {
                dev: (0, 52),
                mount_point: PathBuf::from("/var/lib/docker/zfs/graph/ab c"),
                fstype: "zfs".into(),
                source: "tank/docker/abc".into(),
            }
        );
        assert_eq!(unescape("a\\134b\\9"), b"a\\b\\9");
    }
}
