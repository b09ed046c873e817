//! Forensics: what the files of a store say beyond Docker's own numbers.
//!
//! - [`diff`]: a container's copy-on-write changes, as `docker diff` lists them, with bytes and
//!   the kind of each modification.
//! - [`dupes`]: identical files stored in several layers, per-image efficiency.
//! - [`orphans`]: leftovers nothing references, with their bytes and why.
//! - [`verify`]: each layer's diff id recomputed from its content, and its size; [`blobs`]
//!   does it from the layer's blob on a containerd store.
//! - [`union`]: the overlay2 view of a stack of layer directories (whiteouts, opaque
//!   directories), shared by the other modules.
//!
//! Nothing here writes, locks or prints; every file is opened through the store's
//! [`crate::fs::Jail`].

pub mod blobs;
pub mod diff;
pub mod dupes;
mod layer_changes;
pub mod orphans;
pub mod union;
pub mod verify;

/// Bytes read from a file at a time when it is streamed through a hash.
pub(crate) const CHUNK: usize = 1 << 20;

/// Streams the file `path` (opened without moving its access time) through `sink`,
/// [`CHUNK`] bytes at a time; the number of bytes read.
pub(crate) fn stream_file(
    jail: &crate::fs::Jail,
    path: &std::path::Path,
    mut sink: impl FnMut(&[u8]),
) -> std::io::Result<u64> {
    let mut f = jail.file(path)?;
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = diff::read_full(&mut f, &mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        sink(&buf[..n]);
        total += n as u64;
    }
}

/// Image layer `layer`'s view against its parent layer, the driver's answer
/// ([`crate::driver::Driver::layer_view`]): its own changes, or its full copy to compare with
/// the parent's.
pub(crate) fn layer_view(
    store: &crate::graph::Store,
    layer: &crate::graph::Layer,
) -> crate::driver::DiffMeasure {
    use crate::driver::Driver as _;
    let parent: Vec<crate::ids::CacheId> = layer
        .parent
        .as_ref()
        .and_then(|p| store.layers.get(p))
        .map(|p| p.cache_id.clone())
        .into_iter()
        .collect();
    store
        .driver
        .layer_view(&store.jail, &layer.cache_id, &parent)
}
