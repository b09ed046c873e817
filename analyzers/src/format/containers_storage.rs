//! containers/storage's own records (Podman, Buildah, CRI-O): `<driver>-layers/layers.json`,
//! `<driver>-images/images.json` with each image's big data files, and
//! `<driver>-containers/containers.json` (containers/storage `layers.go`, `images.go`,
//! `containers.go`, `store.go`).
//!
//! Each file is a JSON array of records; a `volatile-*.json` beside it holds the records of
//! volatile or transient objects in the same shape. Ids are validated as 64 lowercase hex
//! digits where they are parsed (a record naming anything else is a problem and is left
//! out), so a record never names a path outside its directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Problem, ProblemKind};
use crate::fs::Jail;
use crate::ids::{is_hex64, Digest};

/// `layers.json`: the layer store's records.
pub const LAYERS_JSON: &str = "layers.json";
/// `volatile-layers.json`: records of layers that need not survive a crash.
pub const VOLATILE_LAYERS_JSON: &str = "volatile-layers.json";
/// `images.json`: the image store's records.
pub const IMAGES_JSON: &str = "images.json";
/// `containers.json`: the container store's records.
pub const CONTAINERS_JSON: &str = "containers.json";
/// `volatile-containers.json`: records of containers created with `--rm` or in a transient
/// store.
pub const VOLATILE_CONTAINERS_JSON: &str = "volatile-containers.json";
/// `<layer id>.tar-split.gz` beside `layers.json`: the layer tar's headers and padding.
pub const TAR_SPLIT_SUFFIX: &str = ".tar-split.gz";
/// `<driver>-containers/<id>/userdata`: a container's own files (`config.json`, `ctr.log`).
pub const USERDATA_DIR: &str = "userdata";
/// The flag a layer carries while it is being written (or after a crash part way).
pub const INCOMPLETE_FLAG: &str = "incomplete";
/// The overlay driver's record of whether it mounts through a mount program (fuse-overlayfs),
/// `<graphroot>/overlay/.has-mount-program`: `true` or `false` (containers/storage 1.28+;
/// once `true`, the store keeps using one: `SupportsNativeOverlay`).
pub const MOUNT_PROGRAM_FLAG: &str = ".has-mount-program";
/// The overlay driver's `staging/` in its home: layers of partial (`zstd:chunked`) pulls not
/// committed yet.
pub const OVERLAY_STAGING_DIR: &str = "staging";

/// The directory holding the layer records of `driver`: `<driver>-layers`.
pub fn layers_dir(driver: &str) -> String {
    format!("{driver}-layers")
}

/// The directory holding the image records of `driver`: `<driver>-images`.
pub fn images_dir(driver: &str) -> String {
    format!("{driver}-images")
}

/// The directory holding the container records of `driver`: `<driver>-containers`.
pub fn containers_dir(driver: &str) -> String {
    format!("{driver}-containers")
}

/// The driver whose metadata directory `name` is (`overlay-layers` is overlay's).
pub fn driver_of_layers_dir(name: &str) -> Option<&str> {
    name.strip_suffix("-layers").filter(|d| !d.is_empty())
}

/// One layer record (containers/storage `Layer`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LayerRecord {
    /// The layer id (64 hex): also its directory name under the driver's home.
    pub id: String,
    /// Names given to it (a container's layer is `<container name>-layer`).
    #[serde(default)]
    pub names: Vec<String>,
    /// The id of the layer below, or `""` for a base layer.
    #[serde(default)]
    pub parent: String,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// The digest of the compressed blob it was applied from.
    #[serde(default)]
    pub compressed_diff_digest: String,
    /// Bytes of that blob.
    #[serde(default)]
    pub compressed_size: i64,
    /// The digest of the uncompressed layer tar (its diff id); empty for a container's
    /// writable layer.
    #[serde(default)]
    pub diff_digest: String,
    /// Bytes of the uncompressed layer tar, headers and padding included; valid only with a
    /// `diff-digest`.
    #[serde(default)]
    pub diff_size: i64,
    /// Flags (`incomplete` while the layer is being written).
    #[serde(default)]
    pub flags: BTreeMap<String, serde_json::Value>,
}

impl LayerRecord {
    /// True when the layer was never finished (containers/storage deletes such layers the
    /// next time it loads the store for writing).
    pub fn incomplete(&self) -> bool {
        self.flags
            .get(INCOMPLETE_FLAG)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    /// The parent's id, if any.
    pub fn parent(&self) -> Option<&str> {
        (!self.parent.is_empty()).then_some(self.parent.as_str())
    }

    /// The diff id, when recorded.
    pub fn diff_id(&self) -> Option<Digest> {
        Digest::parse(&self.diff_digest)
    }
}

/// One image record (containers/storage `Image`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageRecord {
    /// The image id (64 hex; the config's digest for pulled and built images).
    pub id: String,
    /// The manifest digest.
    #[serde(default)]
    pub digest: String,
    /// Its names (`localhost/app:1`, `docker.io/library/x:y`).
    #[serde(default)]
    pub names: Vec<String>,
    /// The id of its top layer, `""` for an image without layers.
    #[serde(default)]
    pub layer: String,
    /// Top layers of the same image mapped to other id ranges.
    #[serde(default)]
    pub mapped_layers: Vec<String>,
    /// The keys of its big data items (config, manifests, signatures).
    #[serde(default)]
    pub big_data_names: Vec<String>,
    /// Bytes of each big data item, as recorded.
    #[serde(default)]
    pub big_data_sizes: BTreeMap<String, i64>,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created: String,
}

/// One container record (containers/storage `Container`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContainerRecord {
    /// The container id (64 hex).
    pub id: String,
    /// Its names.
    #[serde(default)]
    pub names: Vec<String>,
    /// The id of the image it was made from (`""` for one made from a root filesystem).
    #[serde(default)]
    pub image: String,
    /// The id of its writable layer.
    #[serde(default)]
    pub layer: String,
    /// Free-form metadata (libpod and Buildah keep JSON in it).
    #[serde(default)]
    pub metadata: String,
    /// The keys of its big data items.
    #[serde(default)]
    pub big_data_names: Vec<String>,
    /// Bytes of each big data item, as recorded.
    #[serde(default)]
    pub big_data_sizes: BTreeMap<String, i64>,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created: String,
}

/// A record type with a validated id.
pub trait Record: DeserializeOwned {
    /// What a record of this kind is called in problems (`layer`, `image`, `container`).
    const KIND: &'static str;
    /// The record's id.
    fn id(&self) -> &str;
    /// The other ids the record names, each with what it is (checked as ids too).
    fn references(&self) -> Vec<(&'static str, &str)>;
}

impl Record for LayerRecord {
    const KIND: &'static str = "layer";
    fn id(&self) -> &str {
        &self.id
    }
    fn references(&self) -> Vec<(&'static str, &str)> {
        self.parent().map(|p| ("parent", p)).into_iter().collect()
    }
}

impl Record for ImageRecord {
    const KIND: &'static str = "image";
    fn id(&self) -> &str {
        &self.id
    }
    fn references(&self) -> Vec<(&'static str, &str)> {
        let top = (!self.layer.is_empty()).then_some(("layer", self.layer.as_str()));
        top.into_iter()
            .chain(
                self.mapped_layers
                    .iter()
                    .map(|l| ("mapped layer", l.as_str())),
            )
            .collect()
    }
}

impl Record for ContainerRecord {
    const KIND: &'static str = "container";
    fn id(&self) -> &str {
        &self.id
    }
    fn references(&self) -> Vec<(&'static str, &str)> {
        let image = (!self.image.is_empty()).then_some(("image", self.image.as_str()));
        image
            .into_iter()
            .chain(std::iter::once(("layer", self.layer.as_str())))
            .collect()
    }
}

/// Reads the records of `path` (a JSON array), leaving out (as problems) those that do not
/// parse or name an id that is not 64 hex digits. A missing file is an empty store; a file
/// that is not a JSON array is an error naming it (containers/storage refuses to load it).
pub fn read_records<R: Record>(
    jail: &Jail,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Vec<R>, Problem> {
    if !jail.exists(path) {
        return Ok(Vec::new());
    }
    let values: Vec<serde_json::Value> = jail.read_json(path)?;
    let mut out = Vec::with_capacity(values.len());
    for (n, value) in values.into_iter().enumerate() {
        let record: R = match serde_json::from_value(value) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(
                    path,
                    ProblemKind::InvalidJson,
                    format!("{} record {n}: {e}; left out", R::KIND),
                ));
                continue;
            }
        };
        let bad = std::iter::once(("id", record.id()))
            .chain(record.references())
            .find(|(_, id)| !is_hex64(id));
        if let Some((what, id)) = bad {
            problems.push(Problem::new(
                path,
                ProblemKind::InvalidValue,
                format!(
                    "{} record {n} ({}): {what} {id:?} is not 64 hex digits; left out",
                    R::KIND,
                    crate::text::escape(record.id().as_bytes())
                ),
            ));
            continue;
        }
        out.push(record);
    }
    Ok(out)
}

/// The file name containers/storage stores big data item `key` under (`store.go`
/// `makeBigDataBaseName`): the key itself when it holds only `[a-z0-9.]`, else `=` and the
/// key in standard base64.
pub fn big_data_file_name(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase());
    if plain && key != "." && key != ".." {
        key.to_owned()
    } else {
        format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
    }
}

/// The directory of an image's (or a container's) big data items: `<records dir>/<id>`.
pub fn big_data_dir(records_dir: &Path, id: &str) -> PathBuf {
    records_dir.join(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_data_names_follow_containers_storage() {
        assert_eq!(big_data_file_name("manifest"), "manifest");
        assert_eq!(
            big_data_file_name("manifest-sha256:a7b5"),
            format!(
                "={}",
                base64::engine::general_purpose::STANDARD.encode("manifest-sha256:a7b5")
            )
        );
        // A real one from podman 4.3.1's store.
        assert_eq!(
            big_data_file_name(
                "sha256:e629253a9f1e24adbf4cd0e74b7c35fcdd461dfda061198c9a8b9a3a7d9e5664"
            ),
            "=c2hhMjU2OmU2MjkyNTNhOWYxZTI0YWRiZjRjZDBlNzRiN2MzNWZjZGQ0NjFkZmRhMDYxMTk4YzlhOGI5YTNhN2Q5ZTU2NjQ="
        );
        assert!(big_data_file_name("..").starts_with('='));
        assert!(big_data_file_name("a/b").starts_with('='));
    }

    #[test]
    fn records_with_bad_ids_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "a".repeat(64);
        let text = format!(
            r#"[{{"id":"{hex}","diff-digest":"sha256:{hex}","diff-size":10,"flags":{{"incomplete":true}}}},
               {{"id":"../../etc"}}, {{"id":"{hex}","parent":"zz"}}, 7]"#
        );
        std::fs::write(dir.path().join(LAYERS_JSON), text).unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let mut problems = Vec::new();
        let layers: Vec<LayerRecord> =
            read_records(&jail, &dir.path().join(LAYERS_JSON), &mut problems).unwrap();
        assert_eq!(layers.len(), 1);
        assert!(layers[0].incomplete());
        assert_eq!(layers[0].diff_size, 10);
        assert_eq!(problems.len(), 3, "{problems:?}");
        std::fs::write(dir.path().join(LAYERS_JSON), "[{").unwrap();
        let err = read_records::<LayerRecord>(&jail, &dir.path().join(LAYERS_JSON), &mut problems)
            .unwrap_err();
        assert_eq!(err.kind, ProblemKind::InvalidJson);
    }
}
