//! Podman's side of `strata advise`: its commands, which containers its prune removes, and the
//! words that name it (podman 4.3 as read in its source: `cmd/podman/{images,containers,
//! volumes}/prune.go`, `pkg/domain/infra/abi/{images,volumes}.go`, libpod
//! `runtime_ctr.go PruneContainers`, `runtime_volume.go PruneVolumes`, containers/common
//! `libimage` `RemoveImages` and its `dangling` filter).
//!
//! - `podman image prune -f` removes the images libimage calls dangling (no name, no child
//!   image) that no containers.json entry uses (`containers=false`: Buildah's and CRI-O's
//!   containers count), again and again until none is left, and each removal takes its parent
//!   along once that is dangling in turn: the images [`crate::advice`] predicts from the
//!   parents [`super::load`] gives them (libimage's `layerTree.parent`).
//! - `podman container prune -f` removes libpod's containers that are `configured`,
//!   `created`, `stopped` or `exited` and not in a pod; their volumes stay.
//! - `podman volume prune -f` removes every volume no container uses, named and anonymous
//!   alike: where only some of them should go, `podman volume rm` names them.

use std::collections::BTreeSet;

use super::ContainersStorage;
use crate::advice::{tags_or_ids, Cleanup, OwnerWords};
use crate::format::libpod::{ContainerStatus, LibpodContainerId};
use crate::graph::{Container, Store};

/// How advice names podman.
pub const PODMAN_WORDS: OwnerWords = OwnerWords {
    cli: "podman",
    owner: "podman",
    stop_first: "every podman, buildah and CRI-O process using the store",
    unused_volume: "Links 0 in `podman system df -v`",
    volume_prune_note: "`podman volume prune` removes every volume no container uses, named and \
                        anonymous alike, so strata names the volumes when only some should go",
};

/// The states whose containers `podman container prune` removes.
const PRUNED_STATES: [ContainerStatus; 4] = [
    ContainerStatus::Configured,
    ContainerStatus::Created,
    ContainerStatus::Stopped,
    ContainerStatus::Exited,
];

/// Podman's command for `cleanup`.
pub fn command(backend: &ContainersStorage, store: &Store, cleanup: &Cleanup) -> String {
    match cleanup {
        Cleanup::ImagePrune(_) => "podman image prune -f".into(),
        Cleanup::RemoveImages(ids) => format!("podman rmi {}", tags_or_ids(store, ids).join(" ")),
        Cleanup::ContainerPrune(_) => "podman container prune -f".into(),
        Cleanup::RemoveVolumes { volumes, .. } => {
            let these: BTreeSet<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
            let unused: BTreeSet<&str> = backend
                .libpod
                .iter()
                .flat_map(|state| state.volumes.keys())
                .map(String::as_str)
                .filter(|name| store.volume_refs(name) == 0)
                .collect();
            if these == unused {
                "podman volume prune -f".into()
            } else {
                let names: Vec<&str> = these.into_iter().collect();
                format!("podman volume rm {}", names.join(" "))
            }
        }
    }
}

/// The containers `podman container prune` removes: libpod's, in a state of
/// [`PRUNED_STATES`], in no pod.
pub fn prunable_containers<'a>(
    backend: &ContainersStorage,
    store: &'a Store,
) -> Vec<&'a Container> {
    let Some(state) = &backend.libpod else {
        return Vec::new();
    };
    store
        .containers
        .iter()
        .filter(|c| {
            LibpodContainerId::parse(c.id.as_str())
                .and_then(|id| state.containers.get(&id))
                .is_some_and(|r| {
                    r.pod.is_none()
                        && r.state
                            .as_ref()
                            .is_some_and(|s| PRUNED_STATES.contains(&s.status))
                })
        })
        .collect()
}
