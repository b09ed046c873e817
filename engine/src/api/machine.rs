//! What `GET /info` says of the machine: its memory and CPUs, the cgroup version, and which
//! of Docker's resource limits a container of this engine can get here. A limit is said to be
//! supported only when the kernel's cgroups have it and the engine sets it (`--memory`,
//! `--cpus`, `--pids-limit`); the ones the engine refuses on create (`--memory-swap`,
//! `--cpu-shares`, `--cpuset-cpus`, `--oom-kill-disable`, `--kernel-memory`) are `false`
//! whatever the kernel has, so a client never counts on them.

use std::fs;
use std::path::Path;

/// The cgroup filesystem the engine puts its containers under.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The machine's facts `GET /info` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Bytes of memory (`/proc/meminfo` `MemTotal`); 0 when unreadable.
    pub mem_total: u64,
    /// CPUs this process may run on.
    pub ncpu: usize,
    /// 2 on a unified hierarchy (`cgroup.controllers` at the root), else 1.
    pub cgroup_version: u8,
    /// The limits a container can be given.
    pub limits: Limits,
}

/// Which of Docker's resource limits a container of this engine gets here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `--memory`.
    pub memory: bool,
    /// `--cpus` (a CFS quota over the default period).
    pub cpu_cfs: bool,
    /// `--pids-limit`.
    pub pids: bool,
}

impl Machine {
    /// Reads them now.
    pub fn read() -> Machine {
        let root = Path::new(CGROUP_ROOT);
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let unified = fs::read_to_string(root.join("cgroup.controllers")).ok();
        let cgroup_version = if unified.is_some() { 2 } else { 1 };
        // v2: the root's controllers; v1: the controllers the kernel has enabled on a
        // hierarchy (`/proc/cgroups`) that is mounted where the engine looks for it.
        let v1 = fs::read_to_string("/proc/cgroups").unwrap_or_default();
        let has = |controller: &str| match &unified {
            Some(list) => list.split_whitespace().any(|c| c == controller),
            None => v1_enabled(&v1, controller) && root.join(controller).is_dir(),
        };
        Machine {
            mem_total: mem_total(&meminfo),
            ncpu: std::thread::available_parallelism().map_or(1, usize::from),
            cgroup_version,
            limits: Limits {
                memory: has("memory"),
                cpu_cfs: has("cpu"),
                pids: has("pids"),
            },
        }
    }
}

impl Limits {
    /// dockerd's warnings (`daemon/info.go`) for the limits a container cannot get here.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if !self.memory {
            warnings.push("WARNING: No memory limit support");
        }
        // Never set by this engine: refused on create.
        warnings.extend([
            "WARNING: No swap limit support",
            "WARNING: No kernel memory TCP limit support",
            "WARNING: No oom kill disable support",
        ]);
        if !self.cpu_cfs {
            warnings.push("WARNING: No cpu cfs quota support");
            warnings.push("WARNING: No cpu cfs period support");
        }
        warnings.extend([
            "WARNING: No cpu shares support",
            "WARNING: No cpuset support",
        ]);
        if !self.pids {
            warnings.push("WARNING: No pids limit support");
        }
        warnings
    }
}

/// Whether `/proc/cgroups` (`subsys_name hierarchy num_cgroups enabled`) lists `controller`
/// enabled on a mounted hierarchy (not 0).
fn v1_enabled(proc_cgroups: &str, controller: &str) -> bool {
    proc_cgroups.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        matches!(fields.as_slice(), [name, hierarchy, _, "1"] if *name == controller && *hierarchy != "0")
    })
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes (the file says kB, meaning KiB).
fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib.saturating_mul(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memtotal_is_read_in_kib() {
        let text = "MemFree:  10 kB\nMemTotal:       24576000 kB\n";
        assert_eq!(mem_total(text), 24_576_000 * 1024);
        assert_eq!(mem_total("nothing\n"), 0);
    }

    #[test]
    fn v1_controllers_need_a_hierarchy_and_enabled() {
        let text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\npids\t8\t7\t1\n\
                    memory\t4\t64\t0\nnet_cls\t0\t5\t1\n";
        assert!(v1_enabled(text, "pids"));
        assert!(!v1_enabled(text, "memory"));
        assert!(!v1_enabled(text, "net_cls"));
        assert!(!v1_enabled(text, "cpu"));
    }

    #[test]
    fn this_machine_has_memory_and_a_cpu() {
        let m = Machine::read();
        assert!(m.mem_total > 0 && m.ncpu >= 1, "{m:?}");
        assert!(m.cgroup_version == 1 || m.cgroup_version == 2);
    }
}
