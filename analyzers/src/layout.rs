//! On-disk names of the Docker data root, in one place.
//!
//! Paths are relative to the data root unless said otherwise. These are moby's names
//! (`layer/filestore.go`, `daemon/graphdriver/overlay2`, `volume/local`); nothing else in the
//! analyzers spells them out. The names of a format's own files live with that format in
//! [`crate::format`] and are re-exported here.

pub use crate::format::aufs::{AUFS_DIFF, AUFS_LAYERS, AUFS_MNT};
pub use crate::format::devicemapper::{
    DM_BASE_DEVICE, DM_DATA_FILE, DM_DEVICESET_METADATA, DM_LOOPBACK_DIR, DM_METADATA_DIR,
    DM_METADATA_FILE, DM_MNT, DM_ROOTFS, DM_SETUP_CONFIG, DM_TRANSACTION_METADATA,
};
pub use crate::format::layerdb::{
    INIT_SUFFIX, LAYERDB_MOUNTS, LAYERDB_SHA256, LAYERDB_TMP, LAYER_CACHE_ID, LAYER_DIFF,
    LAYER_PARENT, LAYER_SIZE, LAYER_TAR_SPLIT, MOUNT_ID, MOUNT_INIT_ID,
};

/// `image/<driver>/`: the per-driver image and layer metadata.
pub const IMAGE_DIR: &str = "image";
/// `image/<driver>/repositories.json`: tags and digests to image ids.
pub const REPOSITORIES_JSON: &str = "repositories.json";
/// `image/<driver>/imagedb/content/sha256/<id>`: image configs.
pub const IMAGEDB_CONTENT: &str = "imagedb/content/sha256";
/// `image/<driver>/imagedb/metadata/sha256/<id>/`: per-image metadata (`parent`, `lastUpdated`).
pub const IMAGEDB_METADATA: &str = "imagedb/metadata/sha256";
/// `containers/<id>/`: per-container state.
pub const CONTAINERS_DIR: &str = "containers";
/// `containers/<id>/config.v2.json`.
pub const CONTAINER_CONFIG: &str = "config.v2.json";
/// `containers/<id>/hostconfig.json`.
pub const CONTAINER_HOSTCONFIG: &str = "hostconfig.json";

/// `volumes/`: the local volume driver's root.
pub const VOLUMES_DIR: &str = "volumes";
/// `volumes/<name>/_data`: a local volume's content.
pub const VOLUME_DATA: &str = "_data";
/// `volumes/<name>/opts.json`: options a local volume was created with.
pub const VOLUME_OPTS: &str = "opts.json";
/// `volumes/metadata.db`: the volume store's BoltDB.
pub const VOLUMES_METADATA_DB: &str = "metadata.db";

/// `buildkit/`: BuildKit's state.
pub const BUILDKIT_DIR: &str = "buildkit";

/// `overlay2/`: the overlay2 driver's home.
pub const OVERLAY2_DIR: &str = "overlay2";
/// `overlay2/l/`: short symlinks to layer `diff/` directories.
pub const OVERLAY2_LINK_DIR: &str = "l";
/// `overlay2/<id>/diff`: a layer's files.
pub const OVERLAY2_DIFF: &str = "diff";
/// `overlay2/<id>/link`: the layer's short name under `l/`.
pub const OVERLAY2_LINK: &str = "link";
/// `overlay2/<id>/lower`: the lower layers' short names, top first, `:`-separated.
pub const OVERLAY2_LOWER: &str = "lower";
/// `overlay2/<id>/work`: overlayfs's work directory.
pub const OVERLAY2_WORK: &str = "work";
/// `overlay2/<id>/merged`: the mount point while a container runs.
pub const OVERLAY2_MERGED: &str = "merged";

/// `vfs/`: the vfs driver's home.
pub const VFS_DIR: &str = "vfs";
/// `vfs/dir/<id>`: a layer's full copy of its filesystem.
pub const VFS_LAYER_DIR: &str = "dir";

/// `btrfs/`: the btrfs driver's home.
pub const BTRFS_DIR: &str = "btrfs";
/// `btrfs/subvolumes/<id>`: a layer's subvolume, a snapshot of its parent's.
pub const BTRFS_SUBVOLUMES_DIR: &str = "subvolumes";

/// `fuse-overlayfs/`: the fuse-overlayfs driver's home (overlay2's layout).
pub const FUSE_OVERLAYFS_DIR: &str = "fuse-overlayfs";

/// `overlay/`: the legacy overlay driver's home.
pub const OVERLAY_DIR: &str = "overlay";
/// `overlay/<id>/root`: a base (image) layer's full filesystem.
pub const OVERLAY_ROOT: &str = "root";
/// `overlay/<id>/upper`: a layer's changes over the base layer `lower-id` names.
pub const OVERLAY_UPPER: &str = "upper";
/// `overlay/<id>/lower-id`: the id of the base layer under `upper`.
pub const OVERLAY_LOWER_ID: &str = "lower-id";
/// `overlay/<id>/work`: overlayfs's work directory.
pub const OVERLAY_WORK: &str = "work";

/// `aufs/`: the aufs driver's home (`diff/`, `layers/`, `mnt/`: [`crate::format::aufs`]).
pub const AUFS_DIR: &str = "aufs";

/// `zfs/`: the zfs driver's home.
pub const ZFS_DIR: &str = "zfs";
/// `zfs/graph/<id>`: where a layer's dataset is mounted while it is in use.
pub const ZFS_GRAPH_DIR: &str = "graph";

/// `devicemapper/`: the devicemapper driver's home ([`crate::format::devicemapper`]).
pub const DEVICEMAPPER_DIR: &str = "devicemapper";
