//! Capabilities of a container's process: Docker's default set changed by `--cap-add` and
//! `--cap-drop` as moby's `caps.TweakCapabilities` does (names with or without `CAP_`, any
//! case, `ALL`).

use crate::error::{Error, Result};

/// Docker's default capabilities (moby `caps.DefaultCapabilities()`).
const DEFAULT: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every Linux capability, in kernel order (`capability.h`).
const KNOWN: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The word that stands for every capability.
const ALL: &str = "ALL";

/// `name` as the kernel spells it (`CAP_` and upper case), or `ALL`; an unknown name is
/// refused, naming the flag it came from.
fn normalize(name: &str, flag: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == ALL {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if KNOWN.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(Error::Invalid(format!(
            "HostConfig.{flag}: unknown capability {name:?}"
        )))
    }
}

/// The capability set of a process: Docker's default set with `drop` removed and `add`
/// added; `ALL` in `add` gives every capability but those dropped, `ALL` in `drop` keeps
/// only those added. Unknown names are refused.
pub fn effective(add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let add = add
        .iter()
        .map(|c| normalize(c, "CapAdd"))
        .collect::<Result<Vec<_>>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize(c, "CapDrop"))
        .collect::<Result<Vec<_>>>()?;
    let has = |list: &[String], c: &str| list.iter().any(|x| x == c);
    let mut caps: Vec<String> = if has(&add, ALL) {
        KNOWN
            .iter()
            .filter(|c| !has(&drop, c))
            .map(|c| (*c).to_owned())
            .collect()
    } else if has(&drop, ALL) {
        add
    } else {
        let mut kept: Vec<String> = DEFAULT
            .iter()
            .filter(|c| !has(&drop, c))
            .map(|c| (*c).to_owned())
            .collect();
        kept.extend(add);
        kept
    };
    caps.sort_unstable();
    caps.dedup();
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn adds_and_drops_change_the_default_set() {
        let none = effective(&[], &[]).unwrap();
        assert_eq!(none.len(), DEFAULT.len());
        let only = effective(&strings(&["sys_admin"]), &strings(&["ALL"])).unwrap();
        assert_eq!(only, strings(&["CAP_SYS_ADMIN"]));
        let fewer = effective(&[], &strings(&["CAP_CHOWN", "kill"])).unwrap();
        assert_eq!(fewer.len(), DEFAULT.len() - 2);
        let all = effective(&strings(&["all"]), &strings(&["NET_RAW"])).unwrap();
        assert_eq!(all.len(), KNOWN.len() - 1);
        let err = effective(&strings(&["FLY"]), &[]).unwrap_err().to_string();
        assert!(err.contains("CapAdd") && err.contains("FLY"), "{err}");
    }
}
