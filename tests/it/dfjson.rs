//! Comparing strata's `df -v --format json` with dockerd's `GET /system/df`, field by field.
//!
//! Lists are matched by their key (`Id`, `Name`, `ID`), never by order. A field the API omits
//! is compared as `null`, except the sizes Docker leaves out when they are zero
//! (`SizeRw`/`SizeRootFs` are `omitempty`), which compare as `0`. `null` and `{}` (or `[]`)
//! differ: Docker writes both and strata must say the same.

use std::fmt::Write as _;

use serde_json::Value;

/// Top-level numbers. Each is compared when the daemon's answer has it: `BuilderSize` is in
/// API 1.41's answer (dockerd 20.10) and gone from 1.42 on (dockerd 26.1 answers 1.45 without
/// it), and strata's superset may keep it.
pub const TOP_FIELDS: &[&str] = &["LayersSize", "BuilderSize"];

/// One list of the answer and the fields compared in each of its entries (dotted paths go into
/// objects).
pub struct ListSpec {
    /// The list's name in the answer.
    pub list: &'static str,
    /// The field that identifies an entry.
    pub key: &'static str,
    /// The fields compared.
    pub fields: &'static [&'static str],
}

/// Every list of the answer (the same in API 1.41 and 1.45; containers' `SizeRootFs` is
/// compared although `docker system df -v` prints 0 for it). Beyond the fields issue #1 names, this compares the other
/// deterministic fields of the v1.41 objects (images' `VirtualSize` and `Labels`, containers'
/// `Command` and `Created`, volumes' `Driver`, `Mountpoint`, `Scope`, `Labels`, `Options`,
/// build cache timestamps); not compared: containers' `Status` ("Up 2 seconds" changes with the
/// clock), `Ports`, `HostConfig`, `NetworkSettings`, `Mounts`, and volumes' `CreatedAt`.
pub const LISTS: &[ListSpec] = &[
    ListSpec {
        list: "Images",
        key: "Id",
        fields: &[
            "ParentId",
            "RepoTags",
            "RepoDigests",
            "Created",
            "Size",
            "SharedSize",
            "VirtualSize",
            "Labels",
            "Containers",
        ],
    },
    ListSpec {
        list: "Containers",
        key: "Id",
        fields: &[
            "Names",
            "Image",
            "ImageID",
            "Command",
            "Created",
            "State",
            "SizeRw",
            "SizeRootFs",
        ],
    },
    ListSpec {
        list: "Volumes",
        key: "Name",
        fields: &[
            "Driver",
            "Mountpoint",
            "Scope",
            "Labels",
            "Options",
            "UsageData.Size",
            "UsageData.RefCount",
        ],
    },
    ListSpec {
        list: "BuildCache",
        key: "ID",
        fields: &[
            "Parent",
            " Parents",
            "Type",
            "Description",
            "InUse",
            "Shared",
            "Size",
            "CreatedAt",
            "LastUsedAt",
            "UsageCount",
        ],
    },
];

/// Fields Docker omits when zero (`omitempty`): absent compares as `0`.
const OMITTED_WHEN_ZERO: &[&str] = &["SizeRw", "SizeRootFs"];

/// The value at a dotted `path` of `v`, `null` when absent; `0` for an absent
/// [`OMITTED_WHEN_ZERO`] field.
fn field(v: &Value, path: &str) -> Value {
    let found = path.split('.').try_fold(v, |v, part| v.get(part));
    match found {
        Some(Value::Null) | None if OMITTED_WHEN_ZERO.contains(&path) => Value::from(0),
        Some(found) => found.clone(),
        None => Value::Null,
    }
}

/// Every difference between `docker`'s and `strata`'s answers, one line each (empty when they
/// agree on every compared field).
pub fn differences(docker: &Value, strata: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for name in TOP_FIELDS
        .iter()
        .filter(|name| docker.get(**name).is_some())
    {
        let (d, s) = (field(docker, name), field(strata, name));
        if d != s {
            out.push(format!("{name}: docker {d}, strata {s}"));
        }
    }
    for spec in LISTS {
        compare_list(spec, docker, strata, &mut out);
    }
    out
}

fn compare_list(spec: &ListSpec, docker: &Value, strata: &Value, out: &mut Vec<String>) {
    let list = spec.list;
    let entries = |v: &Value, who: &str, out: &mut Vec<String>| -> Vec<Value> {
        match &v[list] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            other => {
                out.push(format!(
                    "{list}: {who} has a {} instead of a list",
                    kind(other)
                ));
                Vec::new()
            }
        }
    };
    let (d_items, s_items) = (
        entries(docker, "docker", out),
        entries(strata, "strata", out),
    );
    for d in &d_items {
        let id = &d[spec.key];
        let label = label(d, spec.key);
        let matches: Vec<&Value> = s_items.iter().filter(|s| &s[spec.key] == id).collect();
        match matches.as_slice() {
            [] => out.push(format!("{list}[{label}]: missing from strata")),
            [s] => {
                for f in spec.fields {
                    let (dv, sv) = (field(d, f), field(s, f));
                    if dv != sv {
                        out.push(format!("{list}[{label}].{f}: docker {dv}, strata {sv}"));
                    }
                }
            }
            more => out.push(format!("{list}[{label}]: {} entries in strata", more.len())),
        }
    }
    for s in &s_items {
        if !d_items.iter().any(|d| d[spec.key] == s[spec.key]) {
            out.push(format!(
                "{list}[{}]: in strata, not in docker",
                label(s, spec.key)
            ));
        }
    }
}

/// An entry's key plus a readable hint (first tag, name, description).
fn label(entry: &Value, key: &str) -> String {
    let id = entry[key]
        .as_str()
        .map_or_else(|| entry[key].to_string(), str::to_owned);
    let hint = entry["RepoTags"][0]
        .as_str()
        .or_else(|| entry["Names"][0].as_str())
        .or_else(|| entry["Description"].as_str());
    match hint {
        Some(hint) => format!("{id} {hint}"),
        None => id,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A report of `differences` for a failure message.
pub fn report(title: &str, differences: &[String]) -> String {
    let mut out = format!("{title}: {} difference(s)\n", differences.len());
    for d in differences {
        let _ = writeln!(out, "  {d}");
    }
    out
}

/// `df` with the `State` of the containers `ids` replaced by `state`.
pub fn with_state(df: &Value, ids: &[&str], state: &str) -> Value {
    let mut df = df.clone();
    if let Some(containers) = df["Containers"].as_array_mut() {
        for c in containers {
            if ids.iter().any(|id| c["Id"] == *id) {
                c["State"] = Value::from(state);
            }
        }
    }
    df
}

#[test]
fn lists_are_matched_by_key_and_fields_compared() {
    let docker = serde_json::json!({
        "LayersSize": 10,
        "Images": [{"Id": "a", "Size": 1}, {"Id": "b", "Size": 2}],
        "Containers": [{"Id": "c", "Names": ["/c"]}],
        "Volumes": null,
        "BuildCache": [],
        "BuilderSize": 0,
    });
    let strata = serde_json::json!({
        "LayersSize": 10,
        "Images": [{"Id": "b", "Size": 2}, {"Id": "a", "Size": 1}],
        "Containers": [{"Id": "c", "Names": ["/c"], "SizeRw": 0}],
        "Volumes": [],
        "BuildCache": [],
        "BuilderSize": 0,
        "Drivers": ["overlay2"],
    });
    assert_eq!(differences(&docker, &strata), Vec::<String>::new());
    let wrong = serde_json::json!({"LayersSize": 11, "Images": [{"Id": "a", "Size": 3}]});
    let found = differences(&docker, &wrong);
    assert!(
        found.contains(&"LayersSize: docker 10, strata 11".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"Images[a].Size: docker 1, strata 3".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"Images[b]: missing from strata".to_owned()),
        "{found:?}"
    );
}
