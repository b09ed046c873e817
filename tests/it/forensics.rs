//! The forensic verbs on real dockerd stores: inventories, `diff`, `verify`, `orphans`, `dupes`
//! and `advise`. Read-only checks use the shared stopped fixture; tests that damage or prune a
//! store make their own daemon and fixture.

use serde_json::Value;

use crate::fixture;
use crate::harness::{strata_on, Driver};

/// The rows of an inventory's JSON.
fn items(v: &Value) -> &Vec<Value> {
    v["Items"].as_array().expect("Items is an array")
}

#[test]
fn inventories_list_sizes_and_references_both_ways() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    let root = &store.data_root;
    let f = &store.fixture;

    let images = strata_on(root, &["--format", "json", "images"]).json();
    let classic = items(&images)
        .iter()
        .find(|i| i["Id"] == f.images.classic.as_str())
        .expect("strata/app:classic is listed");
    let names: Vec<&str> = classic["ContainerRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"strata-running") && names.contains(&"strata-volumes"));
    let df_row = fixture::df_entry(&store.daemon_df, "Images", "Id", &f.images.classic)
        .expect("dockerd lists the image");
    assert_eq!(classic["Size"], df_row["Size"]);
    assert_eq!(classic["SharedSize"], df_row["SharedSize"]);

    // The base layer is used by every image and every container.
    let layers = strata_on(root, &["--format", "json", "layers"]).json();
    let base_layer = classic["Layers"][0].as_str().unwrap();
    let row = items(&layers)
        .iter()
        .find(|l| l["ChainId"] == base_layer)
        .expect("the base layer is listed");
    assert!(row["Images"].as_array().unwrap().len() >= 5, "{row}");
    assert_eq!(row["ContainerRefs"].as_array().unwrap().len(), 5, "{row}");

    // A unique id prefix and a name select one container; the volume it mounts is listed.
    let by_prefix = strata_on(
        root,
        &["--format", "json", "containers", &f.containers.volumes[..8]],
    )
    .json();
    let by_name = strata_on(root, &["--format", "json", "containers", "strata-volumes"]).json();
    assert_eq!(by_prefix, by_name);
    assert_eq!(items(&by_name).len(), 1);
    let vols = &items(&by_name)[0]["Volumes"];
    assert!(vols
        .as_array()
        .unwrap()
        .contains(&Value::from("strata-named")));

    let orphaned = strata_on(root, &["--format", "json", "volumes", "--orphaned"]).json();
    let names: Vec<&str> = items(&orphaned)
        .iter()
        .map(|v| v["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![f.volumes.dangling.as_str()]);
    let named = strata_on(root, &["--format", "json", "volumes", "strata-named"]).json();
    assert_eq!(
        items(&named)[0]["ContainerRefs"][0]["Name"],
        "strata-volumes"
    );
}

#[test]
fn unknown_and_ambiguous_names_exit_2_with_one_clear_line() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    let root = &store.data_root;
    let unknown = strata_on(root, &["containers", "no-such-container"]);
    assert_eq!(unknown.code, Some(2), "{unknown}");
    assert!(unknown.stderr.contains("no such container"), "{unknown}");
    // `strata` prefixes every volume name of the fixture but the anonymous one.
    let ambiguous = strata_on(root, &["volumes", "strata-"]);
    assert_eq!(ambiguous.code, Some(2), "{ambiguous}");
    assert!(ambiguous.stderr.contains("ambiguous"), "{ambiguous}");
    assert_eq!(ambiguous.stderr.lines().count(), 1, "{ambiguous}");
}
