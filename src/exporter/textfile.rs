//! `--textfile DIR`: one full scan written to `DIR/strata.prom` for node_exporter's textfile
//! collector, atomically: a temporary file in `DIR` (a name the collector ignores), written,
//! fsynced, made 0644 and renamed over the old file, then `DIR` fsynced, so the collector
//! reads the old file or the new one, never a part.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::refresh::Exporter;

/// The file written in the directory.
pub const FILE_NAME: &str = "strata.prom";

/// Walks the store, scans its metadata and writes `dir/strata.prom`; returns its path.
pub fn write(exporter: &Exporter, dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.is_dir() {
        anyhow::bail!("--textfile {}: not a directory", dir.display());
    }
    let root = exporter.source().root_path();
    if let (Ok(d), Ok(r)) = (fs::canonicalize(dir), fs::canonicalize(root)) {
        if d.starts_with(&r) {
            anyhow::bail!(
                "--textfile {}: inside the store {} (strata never writes into a store)",
                dir.display(),
                root.display()
            );
        }
    }
    exporter.walk_once()?;
    let body = exporter.scrape().map_err(anyhow::Error::msg)?;
    let target = dir.join(FILE_NAME);
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = write_synced(&temp, &body).and_then(|()| {
        fs::rename(&temp, &target)
            .with_context(|| format!("renaming {} to {}", temp.display(), target.display()))
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync of {}", dir.display()))?;
    Ok(target)
}

/// Creates `path` (it must not exist), writes `body`, fsyncs it and sets mode 0644 (whatever
/// the umask).
fn write_synced(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_permissions(fs::Permissions::from_mode(0o644))
        .and_then(|()| file.write_all(body))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}
