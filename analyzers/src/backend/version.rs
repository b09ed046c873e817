//! Store owners' versions (dockerd's, podman's): which one wrote a store, for the accounting
//! rules that changed between releases.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use serde::Serialize;

/// A release of a store's owner, `major.minor.patch` (suffixes like `+dfsg1` dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// Major (26 for 26.1.5).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

/// A dockerd release.
pub type DockerVersion = Release;
/// A podman release.
pub type PodmanVersion = Release;

impl Release {
    /// The version `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Release {
            major,
            minor,
            patch,
        }
    }

    /// The version in a `--version` banner that begins with `prefix` (dockerd's `Docker
    /// version 26.1.5+dfsg1, build …`, podman's `podman version 4.3.1`).
    pub fn from_banner(banner: &str, prefix: &str) -> Option<Self> {
        let rest = banner.trim().strip_prefix(prefix)?;
        let word = rest.split([',', ' ', '\n']).next()?;
        word.parse().ok()
    }
}

impl FromStr for Release {
    type Err = String;

    /// `26`, `26.1`, `26.1.5`, `v29.5.0`, `26.1.5+dfsg1`, `28.0.0-rc.1`.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a version (like 26.1.5)");
        let core = text
            .trim()
            .trim_start_matches('v')
            .split(['+', '-', '~'])
            .next()
            .unwrap_or_default();
        let mut parts = core.split('.');
        let mut next = |required: bool| -> Result<u32, String> {
            match parts.next() {
                Some(p) => p.parse().map_err(|_| bad()),
                None if required => Err(bad()),
                None => Ok(0),
            }
        };
        let version = Release::new(next(true)?, next(false)?, next(false)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(version)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Where the owner's version of a report came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "From", content = "Detail")]
pub enum VersionSource {
    /// A flag (`--docker-version`, `--podman-version`).
    Flag(&'static str),
    /// `--version` of the owner's binary on the host (its path).
    Binary(String),
    /// Nothing said: the newest rule strata knows, with why.
    Default(String),
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSource::Flag(flag) => f.write_str(flag),
            VersionSource::Binary(path) => write!(f, "{path} --version"),
            VersionSource::Default(why) => write!(f, "default ({why})"),
        }
    }
}

/// An owner's version and where it came from.
pub type Found = (Release, VersionSource);

/// The owner's version of a store, known or being found: asking a daemon binary takes tens of
/// milliseconds, so it runs beside the rest of the scan and is waited for at first use.
pub struct VersionProbe {
    found: OnceLock<Found>,
    pending: Mutex<Option<JoinHandle<Option<Found>>>>,
    fallback: Found,
}

impl VersionProbe {
    /// A version already known.
    pub fn known(found: Found) -> Arc<VersionProbe> {
        Arc::new(VersionProbe {
            found: OnceLock::from(found.clone()),
            pending: Mutex::new(None),
            fallback: found,
        })
    }

    /// Runs `detect` on another thread; `fallback` when it finds nothing.
    pub fn start(
        detect: impl FnOnce() -> Option<Found> + Send + 'static,
        fallback: Found,
    ) -> Arc<VersionProbe> {
        Arc::new(VersionProbe {
            found: OnceLock::new(),
            pending: Mutex::new(Some(std::thread::spawn(detect))),
            fallback,
        })
    }

    /// The version, waiting for the probe if it still runs.
    pub fn get(&self) -> &Found {
        self.found.get_or_init(|| {
            let handle = self.pending.lock().ok().and_then(|mut p| p.take());
            handle
                .and_then(|h| h.join().ok().flatten())
                .unwrap_or_else(|| self.fallback.clone())
        })
    }
}

impl fmt::Debug for VersionProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionProbe")
            .field("found", &self.found.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_docker_writes_them() {
        let v = |s: &str| s.parse::<DockerVersion>().unwrap();
        assert_eq!(v("26.1.5+dfsg1"), DockerVersion::new(26, 1, 5));
        assert_eq!(v("v29.5"), DockerVersion::new(29, 5, 0));
        assert_eq!(v("28.0.0-rc.1"), DockerVersion::new(28, 0, 0));
        assert!("x".parse::<DockerVersion>().is_err());
        assert!("1.2.3.4".parse::<DockerVersion>().is_err());
        assert_eq!(
            DockerVersion::from_banner(
                "Docker version 26.1.5+dfsg1, build 411e817",
                "Docker version "
            ),
            Some(DockerVersion::new(26, 1, 5))
        );
        assert_eq!(
            PodmanVersion::from_banner("podman version 4.3.1\n", "podman version "),
            Some(PodmanVersion::new(4, 3, 1))
        );
        assert!(DockerVersion::new(28, 0, 2) > DockerVersion::new(28, 0, 1));
    }
}
