//! Finding containers/storage graphroots (Podman, Buildah, CRI-O) from the host's files, as
//! containers/storage 1.43 (what podman 4.3 vendors) finds them: root's store and each user's
//! rootless one. `types/options.go` (`loadDefaultStoreOptions`, `defaultStoreOptionsIsolated`,
//! `getRootlessStorageOpts`, `ReloadConfigurationFile`) and `types/utils.go`
//! (`DefaultConfigFile`, `getRootlessDirInfo`, `expandEnvPath`).
//!
//! # Root's store
//! One `storage.conf` is read: `$CONTAINERS_STORAGE_CONF` when set, else
//! `/etc/containers/storage.conf` when it exists, else `/usr/share/containers/storage.conf`.
//! The graphroot is its `graphroot`, else `/var/lib/containers/storage`.
//!
//! # A user's rootless store
//! 1. Defaults from root's file above: the graphroot is its `rootless_storage_path`, expanded
//!    for the user, else `$XDG_DATA_HOME/containers/storage`, i.e.
//!    `~/.local/share/containers/storage`; the driver is its `driver` when a rootless store
//!    can use it (`btrfs`, `overlay`, `vfs`). Nothing else of it carries over (not its
//!    `graphroot`, `runroot`, mount program or additional stores).
//! 2. `$XDG_CONFIG_HOME/containers/storage.conf`, i.e. `~/.config/containers/storage.conf`,
//!    when it exists, replaces those settings entirely: its `graphroot`, else its
//!    `rootless_storage_path`, else the default of 1; its `driver`, else none.
//!
//! With no driver set, containers/storage uses the one whose data the store holds (1.43
//! picks `vfs` for a rootless store whose system file names none; 1.48 and later look for
//! `<driver>-images`): strata's backend detects it the same way.
//!
//! Paths expand `$UID`, `$HOME`, `$USER` and `$LOGNAME` (`${...}` too) to the account's own;
//! any other variable comes from the environment of the user's podman, which strata cannot
//! see, and is an error naming the file. `$XDG_CONFIG_HOME` and `$XDG_DATA_HOME` are taken at
//! their defaults, and `STORAGE_DRIVER`/`STORAGE_OPTS` are not read, for the same reason.
//!
//! Every host path (the files above, the homes of the account database, the paths the files
//! name) is taken under the host's [`Sysroot`] (`--sysroot`: a mounted disk image).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::passwd::{self, Account};
use crate::format::storage_conf::{self, Storage};
use crate::host::Sysroot;

/// The host files that say where the stores are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Where the host's files are: every path below is under it, and so is every path read
    /// from them.
    pub sysroot: Sysroot,
    /// The account database (`/etc/passwd`).
    pub passwd: PathBuf,
    /// `$CONTAINERS_STORAGE_CONF` of the caller, when set: the only file read for root's
    /// store (not for a user's: it is the caller's environment, not theirs).
    pub storage_conf_env: Option<PathBuf>,
    /// The administrator's file (`/etc/containers/storage.conf`).
    pub etc_storage_conf: PathBuf,
    /// The distribution's file, read when the administrator's does not exist
    /// (`/usr/share/containers/storage.conf`).
    pub usr_storage_conf: PathBuf,
}

impl Default for HostConfig {
    /// The files of the machine strata runs on, without `$CONTAINERS_STORAGE_CONF`.
    fn default() -> Self {
        HostConfig::under(Sysroot::default())
    }
}

impl HostConfig {
    /// The host files under `sysroot`, without `$CONTAINERS_STORAGE_CONF`.
    pub fn under(sysroot: Sysroot) -> HostConfig {
        HostConfig {
            passwd: sysroot.path("/etc/passwd"),
            storage_conf_env: None,
            etc_storage_conf: sysroot.path("/etc/containers/storage.conf"),
            usr_storage_conf: sysroot.path("/usr/share/containers/storage.conf"),
            sysroot,
        }
    }
}

/// The rootful graphroot when no storage.conf names one.
pub const DEFAULT_GRAPHROOT: &str = "/var/lib/containers/storage";
/// A rootless graphroot under the user's home when no storage.conf names one
/// (`$XDG_DATA_HOME/containers/storage`).
pub const ROOTLESS_GRAPHROOT: &str = ".local/share/containers/storage";
/// A user's own storage.conf under their home (`$XDG_CONFIG_HOME/containers/storage.conf`).
pub const USER_STORAGE_CONF: &str = ".config/containers/storage.conf";
/// The least uid of the accounts `--all-users` looks at (below are system accounts).
pub const FIRST_USER_UID: u32 = 1000;
/// The drivers a rootless store may use (`isRootlessDriver`; `overlay2` is `overlay`).
const ROOTLESS_DRIVERS: &[&str] = &["btrfs", "overlay", "vfs"];

/// What the storage.conf that applies to a graphroot says about reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The storage.conf these come from; `None` when none exists (built-in defaults).
    pub source: Option<PathBuf>,
    /// The driver containers/storage uses for the store; `None`: the one with data.
    pub driver: Option<String>,
    /// The overlay driver's mount program (fuse-overlayfs), when set.
    pub mount_program: Option<PathBuf>,
    /// The runroot, when set (where a transient store keeps its container records).
    pub runroot: Option<PathBuf>,
    /// `imagestore`: where the images and their layers are kept instead of the graphroot.
    pub image_store: Option<PathBuf>,
    /// `additionalimagestores`: read-only stores whose images containers may use.
    pub additional_image_stores: Vec<PathBuf>,
    /// `transient_store`: container records live under the runroot.
    pub transient_store: bool,
}

/// A graphroot found from the host's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphroot {
    /// The account whose store it is (uid 0: the rootful store).
    pub user: Account,
    /// The graphroot's path (it may not exist).
    pub path: PathBuf,
    /// What its storage.conf says.
    pub settings: Settings,
    /// Where the host's files are (the runroot is under it too).
    pub sysroot: Sysroot,
}

impl Graphroot {
    /// The runroot its podman uses, when it exists on this host: storage.conf's, else
    /// containers/storage's default (`/run/containers/storage` for root,
    /// `/run/user/<uid>/containers` for a user: `$XDG_RUNTIME_DIR/containers`).
    pub fn runroot(&self) -> Option<PathBuf> {
        let path = self.settings.runroot.clone().unwrap_or_else(|| {
            self.sysroot.path(if self.user.uid == 0 {
                PathBuf::from(ROOTFUL_RUNROOT)
            } else {
                PathBuf::from(format!("/run/user/{}/containers", self.user.uid))
            })
        });
        self.sysroot.is_dir(&path).then_some(path)
    }
}

/// Root's default runroot (containers/storage `types/options.go`).
pub const ROOTFUL_RUNROOT: &str = "/run/containers/storage";

/// One account's store, as [`all`] lists them: its graphroot, or why it could not be found.
#[derive(Debug)]
pub struct Listed {
    /// The account.
    pub user: Account,
    /// Its graphroot (which exists), or the error finding it (a malformed storage.conf).
    pub found: Result<Graphroot>,
}

impl HostConfig {
    /// The accounts of the host's passwd file, in file order.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let bytes = self
            .sysroot
            .read(&self.passwd)
            .map_err(|e| Error::io(&self.passwd, e))?;
        Ok(passwd::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// The account `name`, from the passwd file.
    pub fn account(&self, name: &str) -> Result<Account> {
        self.accounts()?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::Lookup {
                kind: "user",
                name: name.to_owned(),
                detail: format!("no such account in {}", self.passwd.display()),
            })
    }

    /// The system's storage.conf: the file read, and what it holds (`None` when none
    /// exists). `$CONTAINERS_STORAGE_CONF` counts only `for_root`: it is the caller's.
    fn system_conf(&self, for_root: bool) -> Result<(PathBuf, Option<Storage>)> {
        let path = match &self.storage_conf_env {
            Some(p) if for_root => p.clone(),
            _ if self.etc_storage_conf.exists() => self.etc_storage_conf.clone(),
            _ => self.usr_storage_conf.clone(),
        };
        let conf = storage_conf::read(&path, &self.sysroot)?.map(|c| c.storage);
        Ok((path, conf))
    }

    /// root's graphroot (`user` is root's account, from the passwd file when it has one).
    pub fn rootful(&self) -> Result<Graphroot> {
        let user = passwd::superuser(&self.accounts().unwrap_or_default());
        self.rootful_for(user)
    }

    fn rootful_for(&self, user: Account) -> Result<Graphroot> {
        let (path, conf) = self.system_conf(true)?;
        let sysroot = &self.sysroot;
        let Some(conf) = conf else {
            return Ok(Graphroot {
                user,
                path: sysroot.path(DEFAULT_GRAPHROOT),
                settings: Settings::default(),
                sysroot: sysroot.clone(),
            });
        };
        let graphroot = match conf.graphroot.as_deref().filter(|g| !g.is_empty()) {
            Some(g) => sysroot.path(expand(g, &user, &path, "graphroot")?),
            None => sysroot.path(DEFAULT_GRAPHROOT),
        };
        let settings = settings_of(&conf, &path, &user, sysroot)?;
        Ok(Graphroot {
            user,
            path: graphroot,
            settings,
            sysroot: sysroot.clone(),
        })
    }

    /// The graphroot of `name`'s podman: their rootless store, or root's for uid 0.
    pub fn of_user(&self, name: &str) -> Result<Graphroot> {
        let user = self.account(name)?;
        self.of_account(user)
    }

    fn of_account(&self, user: Account) -> Result<Graphroot> {
        if user.uid == 0 {
            return self.rootful_for(user);
        }
        let sysroot = &self.sysroot;
        let home = sysroot.path(&user.home);
        let (system_path, system) = self.system_conf(false)?;
        let mut graphroot = home.join(ROOTLESS_GRAPHROOT);
        let mut settings = Settings::default();
        if let Some(system) = &system {
            if let Some(p) = system
                .rootless_storage_path
                .as_deref()
                .filter(|p| !p.is_empty())
            {
                graphroot = sysroot.path(expand(p, &user, &system_path, "rootless_storage_path")?);
            }
            settings.driver = system
                .driver()
                .filter(|d| ROOTLESS_DRIVERS.contains(d))
                .map(str::to_owned);
            settings.source = Some(system_path);
        }
        let own_path = home.join(USER_STORAGE_CONF);
        if let Some(own) = storage_conf::read(&own_path, sysroot)?.map(|c| c.storage) {
            let configured = own
                .graphroot
                .as_deref()
                .filter(|g| !g.is_empty())
                .map(|g| (g, "graphroot"))
                .or(own
                    .rootless_storage_path
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .map(|p| (p, "rootless_storage_path")));
            if let Some((text, key)) = configured {
                graphroot = sysroot.path(expand(text, &user, &own_path, key)?);
            }
            settings = settings_of(&own, &own_path, &user, sysroot)?;
        }
        Ok(Graphroot {
            user,
            path: graphroot,
            settings,
            sysroot: sysroot.clone(),
        })
    }

    /// Every store on the host that exists: root's, then those of the accounts with a uid of
    /// at least [`FIRST_USER_UID`], in passwd order. An account whose storage.conf cannot be
    /// read is listed with the error (its podman would fail the same way).
    pub fn all(&self) -> Result<Vec<Listed>> {
        let accounts = self.accounts()?;
        let root = passwd::superuser(&accounts);
        let users = accounts.into_iter().filter(|a| a.uid >= FIRST_USER_UID);
        let mut out = Vec::new();
        for user in std::iter::once(root).chain(users) {
            let found = self.of_account(user.clone());
            if found.as_ref().is_ok_and(|g| !self.sysroot.is_dir(&g.path)) {
                continue;
            }
            out.push(Listed { user, found });
        }
        Ok(out)
    }
}

/// The settings of the storage.conf `conf` read from `path`, expanded for `user`, their paths
/// under `sysroot`.
fn settings_of(conf: &Storage, path: &Path, user: &Account, sysroot: &Sysroot) -> Result<Settings> {
    let expand_opt = |text: Option<&str>, key: &str| -> Result<Option<PathBuf>> {
        text.filter(|t| !t.is_empty())
            .map(|t| expand(t, user, path, key).map(|p| sysroot.path(p)))
            .transpose()
    };
    Ok(Settings {
        source: Some(path.to_path_buf()),
        driver: conf.driver().map(str::to_owned),
        mount_program: conf.mount_program().map(PathBuf::from),
        runroot: expand_opt(conf.runroot.as_deref(), "runroot")?,
        image_store: expand_opt(conf.imagestore.as_deref(), "imagestore")?,
        additional_image_stores: conf
            .options
            .additionalimagestores
            .iter()
            .map(|s| expand(s, user, path, "additionalimagestores").map(|p| sysroot.path(p)))
            .collect::<Result<_>>()?,
        transient_store: conf.transient_store,
    })
}

/// `text` (the value of `key` in `conf`) with `$UID`, `$HOME`, `$USER` and `$LOGNAME` (and
/// their `${...}` forms) replaced by `user`'s; any other variable is an error.
fn expand(text: &str, user: &Account, conf: &Path, key: &str) -> Result<PathBuf> {
    let value = |name: &str| match name {
        "UID" => Some(user.uid.to_string()),
        "HOME" => Some(user.home.clone()),
        "USER" | "LOGNAME" => Some(user.name.clone()),
        _ => None,
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.split_once('}') {
                Some((name, tail)) => (name, tail),
                None => (braced, ""),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            after.split_at(end)
        };
        match value(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(Error::Malformed {
                    path: conf.to_path_buf(),
                    detail: format!(
                        "{key} {text:?} uses ${name}, which comes from the environment of \
                         {}'s podman: strata cannot know it; give --root",
                        user.name
                    ),
                })
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(PathBuf::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Host {
        dir: tempfile::TempDir,
        config: HostConfig,
    }

    /// A host with root, alice (uid 1000, home under the temp dir) and a system account.
    fn host() -> Host {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home/alice");
        fs::create_dir_all(&home).unwrap();
        let passwd = dir.path().join("passwd");
        fs::write(
            &passwd,
            format!(
                "root:x:0:0:root:/root:/bin/bash\n\
                 daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n\
                 alice:x:1000:1000::{}:/bin/bash\n",
                home.display()
            ),
        )
        .unwrap();
        let config = HostConfig {
            sysroot: Sysroot::default(),
            passwd,
            storage_conf_env: None,
            etc_storage_conf: dir.path().join("etc.conf"),
            usr_storage_conf: dir.path().join("usr.conf"),
        };
        Host { dir, config }
    }

    impl Host {
        fn home(&self) -> PathBuf {
            self.dir.path().join("home/alice")
        }
        fn user_conf(&self, text: &str) {
            let path = self.home().join(USER_STORAGE_CONF);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    }

    #[test]
    fn without_any_file_the_defaults_apply() {
        let h = host();
        let root = h.config.rootful().unwrap();
        assert_eq!(root.user.name, "root");
        assert_eq!(root.path, Path::new(DEFAULT_GRAPHROOT));
        assert_eq!(root.settings, Settings::default());
        let alice = h.config.of_user("alice").unwrap();
        assert_eq!(alice.path, h.home().join(ROOTLESS_GRAPHROOT));
        assert_eq!(alice.settings, Settings::default());
        assert_eq!(h.config.of_user("root").unwrap(), root);
        let err = h.config.of_user("mallory").unwrap_err().to_string();
        assert!(err.contains("mallory") && err.contains("passwd"), "{err}");
    }

    #[test]
    fn etc_wins_over_usr_and_the_environment_over_both() {
        let mut h = host();
        fs::write(
            &h.config.usr_storage_conf,
            "[storage]\ngraphroot = \"/usr-g\"\n",
        )
        .unwrap();
        assert_eq!(h.config.rootful().unwrap().path, Path::new("/usr-g"));
        fs::write(
            &h.config.etc_storage_conf,
            "[storage]\ndriver = \"overlay2\"\ngraphroot = \"/etc-g\"\n\
             [storage.options]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n",
        )
        .unwrap();
        let root = h.config.rootful().unwrap();
        assert_eq!(root.path, Path::new("/etc-g"));
        assert_eq!(root.settings.driver.as_deref(), Some("overlay"));
        assert_eq!(
            root.settings.mount_program.as_deref(),
            Some(Path::new("/usr/bin/fuse-overlayfs"))
        );
        assert_eq!(
            root.settings.source.as_deref(),
            Some(&*h.config.etc_storage_conf)
        );
        let env = h.dir.path().join("env.conf");
        fs::write(&env, "[storage]\ngraphroot = \"$HOME/env-g\"\n").unwrap();
        h.config.storage_conf_env = Some(env);
        assert_eq!(h.config.rootful().unwrap().path, Path::new("/root/env-g"));
        // Not a user's: the variable is the caller's environment, not theirs.
        assert_eq!(
            h.config
                .of_user("alice")
                .unwrap()
                .settings
                .source
                .as_deref(),
            Some(&*h.config.etc_storage_conf)
        );
    }

    #[test]
    fn a_user_gets_the_system_rootless_path_and_driver_only() {
        let h = host();
        fs::write(
            &h.config.etc_storage_conf,
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n\
             rootless_storage_path = \"/srv/$USER/${UID}/s\"\ntransient_store = true\n\
             [storage.options.overlay]\nmount_program = \"/m\"\n",
        )
        .unwrap();
        let alice = h.config.of_user("alice").unwrap();
        assert_eq!(alice.path, Path::new("/srv/alice/1000/s"));
        assert_eq!(
            alice.settings,
            Settings {
                source: Some(h.config.etc_storage_conf.clone()),
                driver: Some("overlay".into()),
                ..Settings::default()
            }
        );
        // A driver a rootless store cannot use is not taken.
        fs::write(&h.config.etc_storage_conf, "[storage]\ndriver = \"zfs\"\n").unwrap();
        assert_eq!(h.config.of_user("alice").unwrap().settings.driver, None);
    }

    #[test]
    fn a_users_own_file_replaces_the_system_settings() {
        let h = host();
        fs::write(
            &h.config.etc_storage_conf,
            "[storage]\ndriver = \"vfs\"\nrootless_storage_path = \"/srv/$USER\"\n",
        )
        .unwrap();
        // A file without a graphroot: the defaults of step 1, and no driver.
        h.user_conf("[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n");
        let alice = h.config.of_user("alice").unwrap();
        assert_eq!(alice.path, Path::new("/srv/alice"));
        assert_eq!(alice.settings.driver, None);
        assert_eq!(
            alice.settings.mount_program.as_deref(),
            Some(Path::new("/usr/bin/fuse-overlayfs"))
        );
        assert_eq!(
            alice.settings.source,
            Some(h.home().join(USER_STORAGE_CONF))
        );
        h.user_conf("[storage]\nrootless_storage_path = \"$HOME/rsp\"\n");
        assert_eq!(
            h.config.of_user("alice").unwrap().path,
            h.home().join("rsp")
        );
        h.user_conf(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"$HOME/g\"\n\
             rootless_storage_path = \"/ignored\"\nimagestore = \"$HOME/images\"\n\
             [storage.options]\nadditionalimagestores = [\"/ro\"]\n",
        );
        let alice = h.config.of_user("alice").unwrap();
        assert_eq!(alice.path, h.home().join("g"));
        assert_eq!(alice.settings.driver.as_deref(), Some("overlay"));
        assert_eq!(alice.settings.image_store, Some(h.home().join("images")));
        assert_eq!(
            alice.settings.additional_image_stores,
            [PathBuf::from("/ro")]
        );
    }

    #[test]
    fn an_unknown_variable_or_a_malformed_file_names_the_file() {
        let h = host();
        h.user_conf("[storage]\ngraphroot = \"$XDG_DATA_HOME/s\"\n");
        let err = h.config.of_user("alice").unwrap_err().to_string();
        assert!(
            err.contains(USER_STORAGE_CONF) && err.contains("$XDG_DATA_HOME"),
            "{err}"
        );
        h.user_conf("[storage\n");
        let err = h.config.of_user("alice").unwrap_err().to_string();
        assert!(
            err.contains(USER_STORAGE_CONF) && err.contains("line 1"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn under_a_sysroot_every_path_is_the_images() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = Sysroot::new(dir.path()).unwrap();
        let base = sysroot.dir().to_path_buf();
        fs::create_dir_all(base.join("etc/containers")).unwrap();
        fs::write(
            base.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        let config = HostConfig::under(sysroot);
        assert_eq!(config.passwd, base.join("etc/passwd"));
        let root = config.rootful().unwrap();
        assert_eq!(root.path, base.join("var/lib/containers/storage"));
        let alice = config.of_user("alice").unwrap();
        assert_eq!(alice.path, base.join("home/alice").join(ROOTLESS_GRAPHROOT));
        fs::write(
            base.join("etc/containers/storage.conf"),
            "[storage]\ngraphroot = \"/srv/g\"\nrunroot = \"/run/r\"\n\
             rootless_storage_path = \"$HOME/s\"\n",
        )
        .unwrap();
        let root = config.rootful().unwrap();
        assert_eq!(root.path, base.join("srv/g"));
        assert_eq!(root.settings.runroot, Some(base.join("run/r")));
        assert_eq!(root.runroot(), None, "no runroot in the image");
        let alice = config.of_user("alice").unwrap();
        assert_eq!(alice.path, base.join("home/alice/s"));
    }

    #[test]
    fn all_lists_the_stores_that_exist() {
        let h = host();
        assert!(h.config.all().unwrap().is_empty() || Path::new(DEFAULT_GRAPHROOT).is_dir());
        let root_store = h.dir.path().join("root-store");
        fs::create_dir(&root_store).unwrap();
        fs::write(
            &h.config.etc_storage_conf,
            format!("[storage]\ngraphroot = {root_store:?}\n"),
        )
        .unwrap();
        fs::create_dir_all(h.home().join(ROOTLESS_GRAPHROOT)).unwrap();
        let all = h.config.all().unwrap();
        let found: Vec<(&str, PathBuf)> = all
            .iter()
            .map(|l| (l.user.name.as_str(), l.found.as_ref().unwrap().path.clone()))
            .collect();
        assert_eq!(
            found,
            [
                ("root", root_store),
                ("alice", h.home().join(ROOTLESS_GRAPHROOT))
            ]
        );
        // A broken file is listed with its error.
        h.user_conf("[storage\n");
        let all = h.config.all().unwrap();
        assert!(all[1].found.is_err());
    }
}
