//! The build context: the directory `COPY` and `ADD` read from, less what `.dockerignore`
//! excludes (or, for `COPY --from`, an image's mounted root filesystem). It resolves an instruction's sources (globs included) and refuses any that
//! would leave the context: absolute names, `..` climbing out, and paths that resolve
//! (through symlinks) outside it. It also computes the content hash that the layer cache
//! keys `COPY`/`ADD` steps on (`file:<sha256>`, `dir:<sha256>`, `multi:<sha256>`, as moby's
//! classic builder names them).

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::{BuildError, Result};
use super::pattern::{IgnoreRules, Pattern};
use crate::error::{Error, IoContext};
use crate::rootfs_path;

/// The file of ignore rules at the context's top.
pub const DOCKERIGNORE: &str = ".dockerignore";

/// An opened build context, or the root filesystem of an image that `COPY --from` reads.
#[derive(Debug, Clone)]
pub struct Context {
    /// The context directory (symlinks resolved), or the mounted root filesystem.
    pub dir: PathBuf,
    ignore: IgnoreRules,
    tree: Tree,
}

/// What a [`Context`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// The build context: sources relative to it, none may leave it.
    BuildContext,
    /// An image's root filesystem: sources are paths in the image, its symlinks followed
    /// as if it were `/` (so nothing outside it can be reached either).
    Image,
}

/// One resolved source of a `COPY`/`ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its path relative to the context (`/`-separated).
    pub name: String,
    /// Where its content is read (symlinks resolved, inside the context).
    pub path: PathBuf,
    /// Whether it is a directory (its contents are copied, not itself).
    pub is_dir: bool,
}

/// One file, directory or symlink under a source, for hashing and copying.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its path relative to the source (`""` for a file source itself).
    pub rel: String,
    /// Its path on the host.
    pub path: PathBuf,
    /// Its metadata (not following a symlink).
    pub meta: fs::Metadata,
}

impl Context {
    /// Opens the context `dir` and its `.dockerignore`.
    pub fn open(dir: &Path) -> Result<Context> {
        let dir = fs::canonicalize(dir).at(dir)?;
        let rules = dir.join(DOCKERIGNORE);
        let ignore = match fs::read_to_string(&rules) {
            Ok(text) => IgnoreRules::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::default(),
            Err(e) => return Err(Error::io(&rules, e).into()),
        };
        Ok(Context {
            dir,
            ignore,
            tree: Tree::BuildContext,
        })
    }

    /// The mounted root filesystem `rootfs` of an image, as a source of `COPY --from`.
    pub fn image(rootfs: &Path) -> Context {
        Context {
            dir: rootfs.to_owned(),
            ignore: IgnoreRules::default(),
            tree: Tree::Image,
        }
    }

    /// Why a source is not there.
    fn missing(&self) -> &'static str {
        match self.tree {
            Tree::BuildContext => "file not found in build context or excluded by .dockerignore",
            Tree::Image => "no such file or directory in the image",
        }
    }

    /// Resolves the sources `names` of `instruction` (`COPY`/`ADD`).
    pub fn sources(&self, instruction: &str, names: &[String]) -> Result<Vec<Source>> {
        let mut out = Vec::new();
        for name in names {
            let refuse = |reason: &str| BuildError::source(instruction, name, reason);
            if name.starts_with('/') && self.tree == Tree::BuildContext {
                return Err(refuse(
                    "absolute paths are refused: sources are relative to the build context",
                ));
            }
            let rel = lexical_clean(name, self.tree == Tree::Image)
                .ok_or_else(|| refuse("forbidden path outside the build context"))?;
            let pattern = Pattern::new(&rel);
            if pattern.is_literal() {
                if rel.is_empty() || !self.ignore.excludes(&rel) {
                    out.push(self.resolve(instruction, name, &rel)?);
                    continue;
                }
                return Err(refuse(self.missing()));
            }
            let mut hits = Vec::new();
            let start = pattern.literal_prefix();
            if let Some(dir) = self.glob_start(&start)? {
                self.glob(&dir, &start, &pattern, &mut hits)?;
            }
            if hits.is_empty() {
                return Err(refuse("no source files were specified"));
            }
            for hit in hits {
                out.push(self.resolve(instruction, name, &hit)?);
            }
        }
        Ok(out)
    }

    /// Where a glob's literal prefix `start` is on the host: resolved inside an image, or
    /// checked to stay inside the context; `None` when it is not a directory there.
    fn glob_start(&self, start: &str) -> Result<Option<PathBuf>> {
        let dir = match self.tree {
            Tree::Image => rootfs_path::host_path(&self.dir, start)?,
            Tree::BuildContext => match fs::canonicalize(self.dir.join(start)) {
                Ok(real) if real.starts_with(&self.dir) => real,
                _ => return Ok(None),
            },
        };
        Ok(dir.is_dir().then_some(dir))
    }

    /// The source at context path `rel`, checked to stay inside the context (or, in an
    /// image, resolved inside it).
    fn resolve(&self, instruction: &str, name: &str, rel: &str) -> Result<Source> {
        if self.tree == Tree::Image {
            let path = rootfs_path::host_path(&self.dir, rel)?;
            let meta = fs::metadata(&path)
                .map_err(|_| BuildError::source(instruction, name, self.missing()))?;
            return Ok(Source {
                name: rel.to_owned(),
                path,
                is_dir: meta.is_dir(),
            });
        }
        let path = self.dir.join(rel);
        let real = match fs::canonicalize(&path) {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let reason = if fs::symlink_metadata(&path).is_ok() {
                    "is a symlink to a path that does not exist"
                } else {
                    self.missing()
                };
                return Err(BuildError::source(instruction, name, reason));
            }
            Err(e) => return Err(Error::io(&path, e).into()),
        };
        if !real.starts_with(&self.dir) {
            return Err(BuildError::source(
                instruction,
                name,
                format!(
                    "resolves to {} through a symlink, outside the build context",
                    real.display()
                ),
            ));
        }
        let is_dir = real.is_dir();
        Ok(Source {
            name: rel.to_owned(),
            path: real,
            is_dir,
        })
    }

    /// Every context path under `dir` (context path `prefix`) that `pattern` matches.
    fn glob(
        &self,
        dir: &Path,
        prefix: &str,
        pattern: &Pattern,
        hits: &mut Vec<String>,
    ) -> Result<()> {
        for (name, path, meta) in sorted_children(dir)? {
            let rel = join_rel(prefix, &name);
            let excluded = self.ignore.excludes(&rel);
            if !excluded && pattern.matches(&rel) {
                hits.push(rel);
            } else if meta.is_dir() && (!excluded || self.ignore.has_exceptions()) {
                self.glob(&path, &rel, pattern, hits)?;
            }
        }
        Ok(())
    }

    /// The entries of `source`, parents before children, names sorted: the source itself
    /// for a file; for a directory what it holds (not itself), less what is excluded.
    pub fn entries(&self, source: &Source) -> Result<Vec<Entry>> {
        let meta = fs::metadata(&source.path).at(&source.path)?;
        if !source.is_dir {
            return Ok(vec![Entry {
                rel: String::new(),
                path: source.path.clone(),
                meta,
            }]);
        }
        let mut out = Vec::new();
        self.walk(&source.path, &source.name, "", &mut out)?;
        Ok(out)
    }

    fn walk(&self, dir: &Path, context_rel: &str, rel: &str, out: &mut Vec<Entry>) -> Result<()> {
        for (name, path, meta) in sorted_children(dir)? {
            let inner = join_rel(rel, &name);
            let excluded = self.ignore.excludes(&join_rel(context_rel, &inner));
            let is_dir = meta.is_dir();
            if !excluded {
                out.push(Entry {
                    rel: inner.clone(),
                    path: path.clone(),
                    meta,
                });
            }
            // An excluded directory may still hold re-included (`!`) paths.
            if is_dir && (!excluded || self.ignore.has_exceptions()) {
                self.walk(&path, context_rel, &inner, out)?;
            }
        }
        Ok(())
    }

    /// The cache key of the sources' content: `file:`/`dir:` and a sha256 over every entry's
    /// relative name, type, permission bits, and content or link target (not owners or
    /// times, which a checkout changes); `multi:` over several sources' keys.
    pub fn hash(&self, sources: &[Source]) -> Result<String> {
        let mut keys = Vec::new();
        for source in sources {
            let mut sha = Sha256::new();
            for entry in self.entries(source)? {
                hash_entry(&mut sha, &entry)?;
            }
            let kind = if source.is_dir { "dir" } else { "file" };
            keys.push(format!(
                "{kind}:{}",
                analyzers::ids::hex_lower(&sha.finalize())
            ));
        }
        if keys.len() == 1 {
            return Ok(keys.remove(0));
        }
        let joined = keys.join(",");
        Ok(format!(
            "multi:{}",
            analyzers::ids::hex_lower(&Sha256::digest(joined.as_bytes()))
        ))
    }
}

fn hash_entry(sha: &mut Sha256, entry: &Entry) -> Result<()> {
    let kind = entry.meta.file_type();
    sha.update(entry.rel.as_bytes());
    sha.update([0]);
    sha.update(format!("{:o}\0", entry.meta.permissions().mode()).as_bytes());
    if kind.is_symlink() {
        let target = fs::read_link(&entry.path).at(&entry.path)?;
        sha.update(b"l");
        sha.update(target.as_os_str().as_encoded_bytes());
    } else if kind.is_file() {
        sha.update(format!("f{}\0", entry.meta.size()).as_bytes());
        let mut file = fs::File::open(&entry.path).at(&entry.path)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).at(&entry.path)?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
        }
    } else {
        sha.update(b"d");
    }
    sha.update([0]);
    Ok(())
}

/// `dir`'s children (name, path, metadata not following symlinks), sorted by name.
fn sorted_children(dir: &Path) -> Result<Vec<(String, PathBuf, fs::Metadata)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).at(&path)?;
        out.push((entry.file_name().to_string_lossy().into_owned(), path, meta));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn join_rel(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// `name` with `.` and `..` applied, relative; `None` when it climbs above its start,
/// unless `clamp` (in an image, `/..` is `/`).
fn lexical_clean(name: &str, clamp: bool) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                if parts.pop().is_none() && !clamp {
                    return None;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let ctx_dir = dir.path();
        fs::create_dir_all(ctx_dir.join("src/sub")).unwrap();
        fs::write(ctx_dir.join("src/a.txt"), "a").unwrap();
        fs::write(ctx_dir.join("src/sub/b.txt"), "b").unwrap();
        fs::write(ctx_dir.join("src/skip.log"), "x").unwrap();
        fs::create_dir_all(ctx_dir.join("src/build")).unwrap();
        fs::write(ctx_dir.join("src/build/keep"), "k").unwrap();
        fs::write(ctx_dir.join("src/build/drop"), "d").unwrap();
        fs::write(
            ctx_dir.join(DOCKERIGNORE),
            "**/*.log\nsrc/build\n!src/build/keep\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), ctx_dir.join("out")).unwrap();
        std::os::unix::fs::symlink("src/a.txt", ctx_dir.join("in")).unwrap();
        let ctx = Context::open(ctx_dir).unwrap();
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

        let got = ctx.sources("COPY", &names(&["src/*.txt", "in"])).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[1].path.ends_with("src/a.txt"));
        let src = ctx.sources("COPY", &names(&["src"])).unwrap();
        let rels: Vec<_> = ctx
            .entries(&src[0])
            .unwrap()
            .into_iter()
            .map(|e| e.rel)
            .collect();
        assert_eq!(rels, ["a.txt", "build/keep", "sub", "sub/b.txt"]);

        for (bad, says) in [
            ("../x", "outside the build context"),
            ("/etc/passwd", "absolute"),
            ("out", "through a symlink"),
            ("src/skip.log", "excluded by .dockerignore"),
            ("nope", "not found"),
        ] {
            let err = ctx.sources("COPY", &names(&[bad])).unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn hash_follows_content() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "1").unwrap();
        let ctx = Context::open(dir.path()).unwrap();
        let src = ctx.sources("COPY", &["f".to_owned()]).unwrap();
        let first = ctx.hash(&src).unwrap();
        assert!(first.starts_with("file:"));
        fs::write(dir.path().join("f"), "2").unwrap();
        assert_ne!(ctx.hash(&src).unwrap(), first);
        let both = ctx
            .sources("COPY", &["f".to_owned(), ".".to_owned()])
            .unwrap();
        assert!(ctx.hash(&both).unwrap().starts_with("multi:"));
    }
}
