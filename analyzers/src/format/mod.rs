//! One module per on-disk format of the store, each the single home of its names, its
//! encoding and its parsing: the analyzers read with it, the engine writes with it, and a
//! round-trip test in each checks that what the writing side produces reads back the same.
//!
//! - [`bolt`]: BoltDB files (`volumes/metadata.db`, BuildKit's databases): the read-only,
//!   page-by-page reader with its limits, and the encoder.
//! - [`tarsplit`]: `tar-split.json.gz` entries and their CRC-64.
//! - [`config_v2`]: `containers/<id>/config.v2.json`, its `State` and the state word.
//! - [`layerdb`]: the layer store's records (`layerdb/sha256/<chain>/`, `layerdb/mounts/<id>/`).
//! - [`whiteout`]: how layers record deletions (`.wh.` names, opaque markers, 0/0 devices).
//! - [`containerd`]: containerd's `meta.db` and a snapshotter's `metadata.db` (read only:
//!   the engine does not write containerd stores).
//! - [`containers_storage`]: containers/storage's `layers.json`, `images.json`,
//!   `containers.json` and big data names (Podman, Buildah, CRI-O).
//! - [`oci`]: OCI and Docker distribution content: descriptors, indexes, manifests.
//! - [`libpod`]: podman's own state beside containers/storage, `libpod/bolt_state.db`
//!   (BoltDB) or `db.sql` (SQLite): containers' names, configs and states, and volumes (read
//!   only, from a private copy for SQLite).
//! - [`storage_conf`]: containers/storage's `storage.conf`, and [`passwd`]: the host's
//!   `/etc/passwd`, the two host files that say where the containers/storage stores are
//!   (read by [`crate::graphroot`]).
//! - [`mountinfo`]: the kernel's mount table, for what is mounted where.
//!
//! The writing sides here only encode (to bytes, or to a caller's `Write`): nothing in this
//! crate writes to the store.

pub mod aufs;
pub mod bolt;
pub mod config_v2;
pub mod containerd;
pub mod containers_storage;
pub mod devicemapper;
pub mod layerdb;
pub mod libpod;
pub mod mountinfo;
pub mod oci;
pub mod passwd;
pub mod storage_conf;
pub mod tarsplit;
pub mod whiteout;
