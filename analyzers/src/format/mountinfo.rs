//! The kernel's mount table, `/proc/self/mountinfo` (proc(5)): one mount a line,
//! `ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS`,
//! with space, tab, newline and backslash in the paths written as `\ooo` octal escapes. The
//! engine reads it to find what a daemon left mounted; `strata host` to name the filesystem
//! each store lives on.

use std::path::PathBuf;

/// The kernel's mount table of the caller's mount namespace.
pub const SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The device's major number (`st_dev` of what the mount holds).
    pub major: u64,
    /// The device's minor number.
    pub minor: u64,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type (`ext4`, `overlay`, `btrfs`...).
    pub fs_type: String,
    /// The mount source (`/dev/sda1`, `overlay`, `tmpfs`...), as the kernel writes it.
    pub source: String,
}

/// The caller's own mount table ([`SELF_MOUNTINFO`]), read as a host file.
pub fn read_own() -> std::io::Result<Vec<Mount>> {
    let bytes = crate::fs::read_host_file(std::path::Path::new(SELF_MOUNTINFO))?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}

/// The mounts of the table `text`, in its order; lines that do not have the fields are
/// skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let (major, minor) = fields.get(2)?.split_once(':')?;
    let mount_point = fields.get(4)?;
    let dash = fields.iter().skip(6).position(|f| *f == "-")? + 6;
    Some(Mount {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        mount_point: PathBuf::from(unescape(mount_point)),
        fs_type: unescape(fields.get(dash + 1)?),
        source: unescape(fields.get(dash + 2)?),
    })
}

/// A mountinfo field with its `\ooo` octal escapes decoded.
pub fn unescape(field: &str) -> String {
    let mut out = Vec::with_capacity(field.len());
    let mut rest = field.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let octal = tail
            .get(..3)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|s| u8::from_str_radix(s, 8).ok());
        match (b, octal) {
            (b'\\', Some(c)) => {
                out.push(c);
                rest = &tail[3..];
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_and_escapes_decoded() {
        let text = "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                    22 1 0:21 / /proc rw - proc proc rw\n\
                    broken line\n";
        let mounts = parse(text);
        assert_eq!(
            mounts,
            [
                Mount {
                    major: 98,
                    minor: 0,
                    mount_point: PathBuf::from("/mnt/a b"),
                    fs_type: "ext3".into(),
                    source: "/dev/root".into(),
                },
                Mount {
                    major: 0,
                    minor: 21,
                    mount_point: PathBuf::from("/proc"),
                    fs_type: "proc".into(),
                    source: "proc".into(),
                },
            ]
        );
        assert_eq!(unescape(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
