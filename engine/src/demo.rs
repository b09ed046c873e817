//! `strata demo`: a sample store made by the engine itself, in a temporary root, for showing
//! `df` and `du` on a machine that may have no Docker at all.
//!
//! [`Demo::build`] makes a root filesystem (a static busybox and its applets when one is
//! found, else the host's `sh` and a few coreutils with the shared libraries `ldd` names),
//! imports it, and runs containers that write new files, copy up and change image files,
//! delete image files (whiteouts), fill a named volume, and one that keeps running.
//! [`Demo::clean`] stops and removes everything; dropping a `Demo` does it too. Nothing is
//! printed here: the binary renders what it returns and the reports of the store.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::backend::Backend;
use crate::container::create::CreateOptions;
use crate::container::remove::RemoveOptions;
use crate::error::{Error, IoContext, Result};
use crate::image::import::ImportOptions;
use crate::root::Root;

/// The image the demo imports.
pub const IMAGE: &str = "strata-demo/base:1";

/// What the root filesystem was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rootfs {
    /// A static busybox (the path) and its applets.
    Busybox(PathBuf),
    /// The host's programs (their names) with their shared libraries.
    HostPrograms(Vec<String>),
}

/// One container the demo ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// What it does to the store, in words.
    pub what: String,
    /// Its exit code (`None`: still running).
    pub exit_code: Option<i32>,
}

/// A demo store: its temporary directory (the data root is `<dir>/root`) and what was run.
#[derive(Debug)]
pub struct Demo {
    /// Held for its removal when the demo is dropped.
    _dir: tempfile::TempDir,
    backend: Backend,
    /// The data root.
    pub root: PathBuf,
    /// What the image was made of.
    pub rootfs: Rootfs,
    /// The containers run, in order.
    pub steps: Vec<Step>,
}

/// The host programs a root filesystem without busybox is made of.
const HOST_PROGRAMS: &[&str] = &["sh", "cat", "cp", "rm", "mkdir", "head", "sleep", "touch"];

/// (name, what it does, command, volume).
const SCENARIO: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "writer",
        "writes 2 MB of new files into its writable layer",
        "mkdir -p /work && head -c 2000000 /dev/urandom > /work/blob && echo hello > /work/greeting",
        None,
    ),
    (
        "copier",
        "changes image files: each is copied up whole into its layer",
        "echo changed >> /etc/passwd && cp /bin/sh /bin/sh.copy && touch /bin/sh",
        None,
    ),
    (
        "deleter",
        "deletes image files: whiteouts in its layer",
        "rm -f /bin/cat && rm -rf /usr/share/doc",
        None,
    ),
    (
        "filler",
        "writes 1 MB into the named volume demo-data",
        "head -c 1000000 /dev/urandom > /data/blob",
        Some("demo-data:/data"),
    ),
];

impl Demo {
    /// Builds the demo store in a new temporary directory; `program` is the strata binary,
    /// `busybox` the static busybox to use when it exists.
    pub fn build(program: &Path, busybox: &Path) -> Result<Demo> {
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::Invalid(
                "strata demo needs root: it mounts layers and runs containers".to_owned(),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("strata-demo-")
            .tempdir()
            .at(std::env::temp_dir())?;
        let root_path = dir.path().join("root");
        let root = Root::open(&root_path, Some("overlay2"))?;
        let (tar, rootfs) = rootfs_tar(dir.path(), busybox)?;
        let backend = Backend::Local {
            root,
            program: program.to_owned(),
        };
        let mut demo = Demo {
            root: root_path,
            _dir: dir,
            backend,
            rootfs,
            steps: Vec::new(),
        };
        let file = fs::File::open(&tar).at(&tar)?;
        let opts = ImportOptions {
            reference: Some(IMAGE.to_owned()),
            source: tar.display().to_string(),
            message: None,
        };
        demo.backend.import(file, &opts)?;
        for (name, what, script, volume) in SCENARIO {
            let mut opts = container(name, &["sh", "-c", script]);
            if let Some(v) = volume {
                let mp = crate::volume::parse_bind(v)?;
                opts.mounts.insert(mp.destination.clone(), mp);
                opts.binds.push((*v).to_owned());
            }
            demo.run(name, what, &opts, true)?;
        }
        let sleeper = container("sleeper", &["sleep", "600"]);
        demo.run("sleeper", "keeps running", &sleeper, false)?;
        Ok(demo)
    }

    fn run(&mut self, name: &str, what: &str, opts: &CreateOptions, wait: bool) -> Result<()> {
        let id = self.backend.create(opts)?;
        self.backend.start(&id)?;
        let exit_code = if wait {
            let code = self.backend.wait(&id)?;
            if code != 0 {
                return Err(Error::Runtime {
                    id,
                    action: "demo",
                    detail: format!("{name} exited {code}"),
                });
            }
            Some(code)
        } else {
            None
        };
        self.steps.push(Step {
            name: name.to_owned(),
            id,
            what: what.to_owned(),
            exit_code,
        });
        Ok(())
    }

    /// Stops and removes every container and volume, and the temporary directory.
    pub fn clean(mut self) -> Result<()> {
        self.remove_all()
    }

    fn remove_all(&mut self) -> Result<()> {
        let opts = RemoveOptions {
            force: true,
            volumes: true,
        };
        for step in std::mem::take(&mut self.steps) {
            if step.exit_code.is_none() {
                self.backend.stop(&step.id, Some(Duration::from_secs(1)))?;
            }
            self.backend.remove(&step.id, &opts)?;
        }
        self.backend.volume_prune()?;
        if let Backend::Local { root, .. } = &self.backend {
            let _ = fs::remove_dir_all(crate::container::exec_root(root));
        }
        Ok(())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.remove_all();
    }
}

fn container(name: &str, cmd: &[&str]) -> CreateOptions {
    CreateOptions {
        image: IMAGE.to_owned(),
        name: Some(name.to_owned()),
        cmd: cmd.iter().map(|s| (*s).to_owned()).collect(),
        ..CreateOptions::default()
    }
}

/// Makes `<dir>/rootfs/` and its tar `<dir>/rootfs.tar`.
fn rootfs_tar(dir: &Path, busybox: &Path) -> Result<(PathBuf, Rootfs)> {
    let rootfs = dir.join("rootfs");
    let bin = rootfs.join("bin");
    for sub in [
        &bin,
        &rootfs.join("etc"),
        &rootfs.join("tmp"),
        &rootfs.join("usr/share/doc"),
    ] {
        fs::create_dir_all(sub).at(sub)?;
    }
    let passwd = rootfs.join("etc/passwd");
    fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh\n").at(&passwd)?;
    let readme = rootfs.join("usr/share/doc/README");
    fs::write(&readme, "strata demo image\n".repeat(1000)).at(&readme)?;
    let kind = if busybox.is_file() {
        fs::copy(busybox, bin.join("busybox")).at(busybox)?;
        let list = Command::new(busybox).arg("--list").output().at(busybox)?;
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let link = bin.join(applet);
            if !link.exists() {
                symlink("busybox", &link).at(&link)?;
            }
        }
        Rootfs::Busybox(busybox.to_owned())
    } else {
        let mut found = Vec::new();
        for name in HOST_PROGRAMS {
            let Some(path) = ["/bin", "/usr/bin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
            else {
                continue;
            };
            fs::copy(&path, bin.join(name)).at(&path)?;
            for lib in shared_libraries(&path)? {
                let target = rootfs.join(lib.strip_prefix("/").unwrap_or(&lib));
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).at(parent)?;
                }
                fs::copy(&lib, &target).at(&lib)?;
            }
            found.push((*name).to_owned());
        }
        if !found.iter().any(|n| n == "sh") {
            return Err(Error::Invalid(format!(
                "the demo needs {} or a shell in /bin or /usr/bin",
                busybox.display()
            )));
        }
        Rootfs::HostPrograms(found)
    };
    let tar = dir.join("rootfs.tar");
    let file = fs::File::create(&tar).at(&tar)?;
    let mut builder = tar::Builder::new(file);
    builder.follow_symlinks(false);
    builder.append_dir_all(".", &rootfs).at(&rootfs)?;
    builder.into_inner().at(&tar)?;
    Ok((tar, kind))
}

/// The shared libraries (and the loader) `ldd` lists for `program`.
fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(program).output().at("ldd")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(PathBuf::from)
        })
        .filter(|p| p.is_file())
        .collect())
}
