//! `bolt_state.db`, libpod's BoltDB state (podman `libpod/boltdb_state.go`,
//! `libpod/boltdb_state_internal.go` as of v4.3), read with strata's read-only Bolt reader:
//! never opened for writing, never `flock`ed, so a running podman is neither blocked nor
//! disturbed.
//!
//! ```text
//! all-ctrs/<ctr id> = <name>               the containers podman lists
//! ctr/<ctr id>/config                      ContainerConfig JSON
//! ctr/<ctr id>/state                       ContainerState JSON
//! ctr/<ctr id>/{namespace, pod-id, netns}  when set
//! ctr/<ctr id>/{dependencies/, networks/, exec/}
//! allVolumes/<name> = <name>               the volumes podman lists
//! vol/<name>/config                        VolumeConfig JSON
//! vol/<name>/state                         VolumeState JSON (may be absent)
//! vol/<name>/vol-dependencies/<ctr id> = <ctr id>
//! pod/<pod id>/{config, state, namespace, containers/}, allPods/<pod id> = <name>
//! id-registry/<id> = <name>, name-registry/<name> = <id>, ns-registry/<id> = <namespace>
//! exec/<session id> = <ctr id>
//! exit-code/<ctr id> = <decimal>, exit-code-time-stamp/<ctr id> = <RFC 3339 text>
//! runtime-config/{os, static-dir, tmp-dir, run-root, graph-root, graph-driver-name, volume-path}
//! volume-ctrs/<storage id> = <volume name>
//! ```
//!
//! Like podman's `AllContainers` and `AllVolumes`, the listing buckets (`all-ctrs`,
//! `allVolumes`) say which records exist: a listed record without its bucket is a problem, and
//! a record bucket no listing names is a problem and is not read (podman does not show it).

use std::collections::BTreeSet;
use std::path::Path;

use super::{DatabaseKind, LibpodState, Records};
use crate::error::{Problem, ProblemKind};
use crate::format::bolt::{Bucket, Db};
use crate::fs::Jail;

/// The containers' records, by id.
pub const CTR_BUCKET: &str = "ctr";
/// The ids of every container, each bound to its name.
pub const ALL_CTRS_BUCKET: &str = "all-ctrs";
/// The volumes' records, by name.
pub const VOL_BUCKET: &str = "vol";
/// The names of every volume.
pub const ALL_VOLS_BUCKET: &str = "allVolumes";
/// The paths the database was made with (`os`, `graph-root`...).
pub const RUNTIME_CONFIG_BUCKET: &str = "runtime-config";
/// The key of a record's config JSON.
pub const CONFIG_KEY: &str = "config";
/// The key of a record's state JSON.
pub const STATE_KEY: &str = "state";

/// Every top-level bucket podman 4.3 creates (`NewBoltState` makes them all when it opens
/// the file); a file with none of them is not a libpod database.
pub const BUCKETS: [&str; 14] = [
    "id-registry",
    "name-registry",
    "ns-registry",
    CTR_BUCKET,
    ALL_CTRS_BUCKET,
    "pod",
    "allPods",
    VOL_BUCKET,
    ALL_VOLS_BUCKET,
    "exec",
    RUNTIME_CONFIG_BUCKET,
    "exit-code",
    "exit-code-time-stamp",
    "volume-ctrs",
];

/// Reads the BoltDB libpod state at `path` through `jail`. Damaged records are `problems`.
///
/// # Errors
///
/// A [`Problem`] naming `path` when it is not a readable Bolt file, or holds none of
/// libpod's buckets.
pub fn read(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> Result<LibpodState, Problem> {
    let db = Db::open(jail, path)?;
    let root = db.root();
    if !BUCKETS.iter().any(|b| root.bucket(b).is_some()) {
        return Err(Problem::new(
            path,
            ProblemKind::InvalidDatabase,
            "none of libpod's buckets (ctr, all-ctrs, vol, runtime-config...): not a libpod database",
        ));
    }
    let mut records = Records {
        database: path,
        problems,
    };
    let mut state = LibpodState {
        database: path.to_path_buf(),
        kind: DatabaseKind::BoltDb,
        containers: Default::default(),
        volumes: Default::default(),
        ignored: None,
    };
    for (key, record, bucket) in listed(&mut records, root, ALL_CTRS_BUCKET, CTR_BUCKET) {
        let Some(config) = bucket.get(CONFIG_KEY) else {
            records.problem(ProblemKind::Missing, &record, "no config: not read");
            continue;
        };
        if let Some(ctr) = records.container(&record, &key, config, bucket.get(STATE_KEY)) {
            state.containers.insert(ctr.id.clone(), ctr);
        }
    }
    for (key, record, bucket) in listed(&mut records, root, ALL_VOLS_BUCKET, VOL_BUCKET) {
        let Some(config) = bucket.get(CONFIG_KEY) else {
            records.problem(ProblemKind::Missing, &record, "no config: not read");
            continue;
        };
        if let Some(vol) = records.volume(&record, &key, config, bucket.get(STATE_KEY)) {
            state.volumes.insert(vol.name.clone(), vol);
        }
    }
    Ok(state)
}

/// The records of `records_bucket` that `listing` names, as `(key, "bucket/key", bucket)`.
/// A listed key without its record bucket, a record no listing names, and a record that is a
/// value, not a bucket, are problems.
fn listed<'a>(
    ctx: &mut Records<'_>,
    root: &'a Bucket,
    listing: &str,
    records_bucket: &str,
) -> Vec<(String, String, &'a Bucket)> {
    let list = root.bucket(listing);
    let recs = root.bucket(records_bucket);
    let names: BTreeSet<&[u8]> = list
        .map(|l| l.iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for key in &names {
        let text = String::from_utf8_lossy(key).into_owned();
        let record = format!("{records_bucket}/{text}");
        match recs.and_then(|r| r.entry(key)) {
            Some(entry) => match entry.as_bucket() {
                Some(bucket) => out.push((text, record, bucket)),
                None => ctx.problem(
                    ProblemKind::InvalidDatabase,
                    &record,
                    "a value, not a bucket: not read",
                ),
            },
            None => ctx.problem(
                ProblemKind::DanglingReference,
                &format!("{listing}/{text}"),
                format!("listed, but {records_bucket}/ has no record of it"),
            ),
        }
    }
    for (key, _) in recs.into_iter().flat_map(Bucket::iter) {
        if !names.contains(key) {
            ctx.problem(
                ProblemKind::DanglingReference,
                &format!("{records_bucket}/{}", String::from_utf8_lossy(key)),
                format!("not listed in {listing}/ (podman does not show it): not read"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, CTR_A, CTR_B, CTR_C, IMAGE};
    use super::super::{ContainerStatus, LibpodContainerId};
    use super::*;
    use crate::format::bolt::{write, Layout, NewBucket};

    /// A container's bucket as podman's `addContainer` makes it.
    fn ctr_bucket(config: &str, state: &str) -> NewBucket {
        NewBucket::new()
            .value(CONFIG_KEY, config)
            .value(STATE_KEY, state)
            .bucket("dependencies", NewBucket::inline())
    }

    fn vol_bucket(config: &str, state: &str, users: &[&str]) -> NewBucket {
        let deps = users
            .iter()
            .fold(NewBucket::inline(), |b, id| b.value(id, id));
        NewBucket::new()
            .value(CONFIG_KEY, config)
            .value(STATE_KEY, state)
            .bucket("vol-dependencies", deps)
    }

    /// A bolt_state.db as podman 4.3 leaves it after `volume create v1`, `create --name made
    /// -v v1:/data -v /host:/bind:ro`, `run --name ran ... exit 3` and `run -d --name live`,
    /// with `ctr_c_config` as the third container's config.
    fn podman_db(ctr_c_config: &str) -> Vec<u8> {
        let root = "/var/lib/containers/storage";
        let mut ctrs = NewBucket::new()
            .bucket(
                CTR_A,
                ctr_bucket(
                    &fixtures::container_config(CTR_A, "made", root),
                    &fixtures::container_state(1, 0, false),
                ),
            )
            .bucket(
                CTR_B,
                ctr_bucket(
                    &fixtures::container_config(CTR_B, "ran", root),
                    &fixtures::container_state(6, 3, false),
                ),
            )
            .bucket(
                CTR_C,
                ctr_bucket(ctr_c_config, &fixtures::container_state(3, 0, true)),
            );
        let mut all = NewBucket::new();
        let mut ids = NewBucket::new();
        let mut names = NewBucket::new();
        for (id, name) in [(CTR_A, "made"), (CTR_B, "ran"), (CTR_C, "live")] {
            all = all.value(id, name);
            ids = ids.value(id, name);
            names = names.value(name, id);
        }
        // A record podman's listing does not name.
        ctrs = ctrs.bucket(
            "f".repeat(64),
            ctr_bucket(
                &fixtures::container_config(&"f".repeat(64), "ghost", root),
                &fixtures::container_state(1, 0, false),
            ),
        );
        let runtime_config = NewBucket::new()
            .value("graph-driver-name", "overlay")
            .value("graph-root", root)
            .value("os", "linux")
            .value("run-root", "/run/containers/storage")
            .value("static-dir", format!("{root}/libpod"))
            .value("tmp-dir", "/run/libpod")
            .value("volume-path", format!("{root}/volumes"));
        let top = NewBucket::new()
            .bucket(ALL_CTRS_BUCKET, all)
            .bucket("allPods", NewBucket::new())
            .bucket(
                ALL_VOLS_BUCKET,
                NewBucket::new().value("v1", "v1").value("gone", "gone"),
            )
            .bucket(CTR_BUCKET, ctrs)
            .bucket("exec", NewBucket::new())
            .bucket("exit-code", NewBucket::new().value(CTR_B, "3"))
            .bucket(
                "exit-code-time-stamp",
                NewBucket::new().value(CTR_B, "2024-05-01T10:00:02.5Z"),
            )
            .bucket("id-registry", ids)
            .bucket("name-registry", names)
            .bucket("ns-registry", NewBucket::new())
            .bucket("pod", NewBucket::new())
            .bucket(RUNTIME_CONFIG_BUCKET, runtime_config)
            .bucket(
                VOL_BUCKET,
                NewBucket::new().bucket(
                    "v1",
                    vol_bucket(
                        &fixtures::volume_config("v1", root),
                        fixtures::VOLUME_STATE,
                        &[CTR_A],
                    ),
                ),
            )
            .bucket("volume-ctrs", NewBucket::new());
        write(
            &top,
            &Layout {
                page_size: 4096,
                fanout: 4,
                txid: 9,
            },
        )
    }

    fn read_db(bytes: &[u8]) -> (Result<LibpodState, Problem>, Vec<Problem>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libpod")).unwrap();
        std::fs::write(dir.path().join(super::super::BOLT_STATE), bytes).unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let mut problems = Vec::new();
        let state =
            super::super::read(&jail, dir.path(), &mut problems).map(|s| s.expect("a database"));
        (state, problems)
    }

    #[test]
    fn reads_podman_4_3_buckets() {
        let root = "/var/lib/containers/storage";
        let (state, problems) =
            read_db(&podman_db(&fixtures::container_config(CTR_C, "live", root)));
        let state = state.unwrap();
        assert_eq!(state.kind, DatabaseKind::BoltDb);
        assert_eq!(state.ignored, None);
        let ids: Vec<_> = state.containers.keys().map(|k| k.as_str()).collect();
        assert_eq!(ids, [CTR_B, CTR_C, CTR_A], "sorted by id");
        let made = &state.containers[&LibpodContainerId::parse(CTR_A).unwrap()];
        fixtures::check_made(made, root);
        let ran = &state.containers[&LibpodContainerId::parse(CTR_B).unwrap()];
        let run = ran.state.as_ref().unwrap();
        assert_eq!(run.status, ContainerStatus::Exited);
        assert_eq!((run.exit_code, run.exited), (3, true));
        assert_eq!(run.status.as_str(), "exited");
        let live = &state.containers[&LibpodContainerId::parse(CTR_C).unwrap()];
        let run = live.state.as_ref().unwrap();
        assert_eq!(run.status, ContainerStatus::Running);
        assert_eq!(run.pid, 4242);
        assert!(run.mount_point.as_ref().unwrap().ends_with("merged"));
        assert_eq!(live.image_id.as_ref().unwrap().as_str(), IMAGE);
        fixtures::check_v1(&state.volumes["v1"], root);
        assert_eq!(state.volumes.len(), 1);
        // The ghost record no listing names, and the listed volume with no record.
        let details: Vec<_> = problems.iter().map(|p| p.detail.as_str()).collect();
        assert_eq!(problems.len(), 2, "{details:?}");
        assert!(details
            .iter()
            .any(|d| d.starts_with("allVolumes/gone: listed")));
        assert!(details
            .iter()
            .any(|d| d.starts_with(&format!("ctr/{}: not listed", "f".repeat(64)))));
        assert!(problems
            .iter()
            .all(|p| p.kind == ProblemKind::DanglingReference));
    }

    #[test]
    fn a_damaged_container_is_a_problem_and_the_rest_still_read() {
        let (state, problems) = read_db(&podman_db(r#"{"id": "19834b92", "name": "live", "#));
        let state = state.unwrap();
        assert_eq!(state.containers.len(), 2);
        assert_eq!(state.volumes.len(), 1);
        let damaged: Vec<_> = problems
            .iter()
            .filter(|p| p.kind == ProblemKind::InvalidJson)
            .collect();
        assert_eq!(damaged.len(), 1, "{problems:?}");
        assert!(damaged[0].path.ends_with("libpod/bolt_state.db"));
        assert!(
            damaged[0]
                .detail
                .starts_with(&format!("ctr/{CTR_C}: config:")),
            "{}",
            damaged[0].detail
        );
    }

    #[test]
    fn a_file_without_libpod_buckets_is_refused() {
        let bytes = write(
            &NewBucket::new().bucket("v1", NewBucket::new()),
            &Layout::default(),
        );
        let (state, _) = read_db(&bytes);
        let err = state.unwrap_err();
        assert_eq!(err.kind, ProblemKind::InvalidDatabase);
        assert!(err.detail.contains("not a libpod database"));
    }
}
