//! Users and groups of a root filesystem: a `USER` or `--chown` spec (`user[:group]`, names
//! or numbers) resolved against the image's own `/etc/passwd` and `/etc/group`, as Docker
//! resolves them (never the host's: the files are found with [`crate::rootfs_path`], so an
//! image's `etc -> /etc` link stays inside the image).

use std::fs;
use std::path::Path;

/// The gid a spec without a group gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultGroup {
    /// The user part read as a group too (`COPY --chown=10` gives 10:10, `--chown=app` the
    /// group named `app`), as moby's `parseChownFlag` does.
    SameAsUser,
    /// The user's primary group from `/etc/passwd`, else 0 (`USER 10`, as runc's
    /// `GetExecUser` does).
    Primary,
}

/// The fields of each line of the image's `/etc/passwd` or `/etc/group` (none if missing).
fn lines(rootfs: &Path, file: &str) -> Vec<Vec<String>> {
    let text = crate::rootfs_path::host_path(rootfs, file)
        .ok()
        .and_then(|path| fs::read_to_string(path).ok())
        .unwrap_or_default();
    text.lines()
        .map(|line| line.split(':').map(str::to_owned).collect())
        .collect()
}

/// One `/etc/passwd` or `/etc/group` entry: name, id, and (passwd) primary gid.
fn entries(rootfs: &Path, file: &str) -> Vec<(String, u32, Option<u32>)> {
    lines(rootfs, file)
        .into_iter()
        .filter_map(|fields| {
            let id = fields.get(2)?.parse().ok()?;
            let gid = fields.get(3).and_then(|g| g.parse().ok());
            Some((fields[0].clone(), id, gid))
        })
        .collect()
}

/// The supplementary groups of the user `spec` names (its user part, a name or a uid of
/// the image's `/etc/passwd`): the gids of the image's `/etc/group` entries that list that
/// name as a member, as runc's `GetAdditionalGroups` finds them.
pub fn supplementary(spec: &str, rootfs: &Path) -> Vec<u32> {
    let user = spec.split_once(':').map_or(spec, |(u, _)| u);
    let name = match user.parse::<u32>() {
        Ok(uid) => entries(rootfs, "etc/passwd")
            .into_iter()
            .find(|(_, id, _)| *id == uid)
            .map(|e| e.0),
        Err(_) => Some(user.to_owned()),
    };
    let Some(name) = name else {
        return Vec::new();
    };
    let mut gids: Vec<u32> = lines(rootfs, "etc/group")
        .into_iter()
        .filter(|fields| {
            fields
                .get(3)
                .is_some_and(|members| members.split(',').any(|m| m == name))
        })
        .filter_map(|fields| fields.get(2)?.parse().ok())
        .collect();
    gids.sort_unstable();
    gids.dedup();
    gids
}

/// The gid of `group` (a number, or a name of the image's `/etc/group`); the error names
/// an unknown one.
pub fn group_id(group: &str, rootfs: &Path) -> Result<u32, String> {
    match group.parse::<u32>() {
        Ok(n) => Ok(n),
        Err(_) => entries(rootfs, "etc/group")
            .iter()
            .find(|(name, _, _)| name == group)
            .map(|e| e.1)
            .ok_or_else(|| {
                format!("unable to find group {group}: no matching entries in group file")
            }),
    }
}

/// The uid and gid `spec` names in `rootfs`; the error says which name is unknown.
pub fn resolve(spec: &str, rootfs: &Path, default: DefaultGroup) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = entries(rootfs, "etc/passwd");
    let entry = match user.parse::<u32>() {
        Ok(n) => passwd.iter().find(|(_, id, _)| *id == n),
        Err(_) => Some(
            passwd
                .iter()
                .find(|(name, _, _)| name == user)
                .ok_or_else(|| {
                    format!("unable to find user {user}: no matching entries in passwd file")
                })?,
        ),
    };
    let uid = user.parse::<u32>().ok().or(entry.map(|e| e.1)).unwrap_or(0);
    // moby's `--chown=NAME` looks NAME up as a group too; `USER NAME` takes its primary group.
    let group = group.or((default == DefaultGroup::SameAsUser).then_some(user));
    let gid = match group {
        None => entry.and_then(|e| e.2).unwrap_or(0),
        Some(g) => group_id(g, rootfs)?,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_resolve_in_the_image() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("etc/group"),
            "staff:x:50:\nwheel2:x:60:root,app\naudio:x:61:app\n",
        )
        .unwrap();
        assert_eq!(supplementary("app", dir.path()), vec![60, 61]);
        assert_eq!(supplementary("1000:5", dir.path()), vec![60, 61]);
        assert!(supplementary("10", dir.path()).is_empty());
        assert_eq!(group_id("audio", dir.path()), Ok(61));
        assert_eq!(group_id("12", dir.path()), Ok(12));
        assert!(group_id("video", dir.path()).unwrap_err().contains("video"));
        let r = |spec, d| resolve(spec, dir.path(), d);
        assert_eq!(r("10", DefaultGroup::SameAsUser).unwrap(), (10, 10));
        assert_eq!(r("10", DefaultGroup::Primary).unwrap(), (10, 0));
        assert_eq!(r("1000", DefaultGroup::Primary).unwrap(), (1000, 1001));
        assert_eq!(r("10:20", DefaultGroup::Primary).unwrap(), (10, 20));
        assert_eq!(r("app", DefaultGroup::Primary).unwrap(), (1000, 1001));
        assert!(r("app", DefaultGroup::SameAsUser)
            .unwrap_err()
            .contains("group app"));
        assert_eq!(r("app:staff", DefaultGroup::Primary).unwrap(), (1000, 50));
        assert!(r("nobody", DefaultGroup::Primary)
            .unwrap_err()
            .contains("nobody"));
        assert!(r("app:wheel", DefaultGroup::Primary)
            .unwrap_err()
            .contains("wheel"));
    }
}
