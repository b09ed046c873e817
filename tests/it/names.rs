//! Names are attacker-chosen bytes: a store from a compromised host may hold file names that
//! are not UTF-8 or that carry ESC, BEL and newlines. JSON must stay valid and lossless (the
//! `…Bytes` base64 sibling, README "Names"), tables must never pass a control byte to the
//! terminal nor split a row, and damaged records must reach every verb's exit code.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use crate::harness::strata_on;
use crate::synth::SynthStore;

/// A name that is not UTF-8.
const NOT_UTF8: &[u8] = b"bad\xffname";
/// How strata writes [`NOT_UTF8`] (JSON string and terminal alike).
const NOT_UTF8_TEXT: &str = "bad\\xffname";
/// A name that is UTF-8 but would drive a terminal and split a row.
const CONTROL: &[u8] = b"esc\x1b[31mred\x07bel\nnewline";
/// How a table shows [`CONTROL`].
const CONTROL_TEXT: &str = "esc\\x1b[31mred\\x07bel\\nnewline";

fn plant_file(dir: &Path, name: &[u8], content: &[u8]) {
    fs::write(dir.join(OsStr::from_bytes(name)), content).expect("planting an odd name");
}

/// The synthetic store with both names in the container's writable layer (`/app/…`) and, with
/// the same content, in both image layers (`/…`): duplicates, and files the upper layer
/// overwrites.
fn odd_store() -> SynthStore {
    let s = SynthStore::plant();
    let upper = s.path(&format!("overlay2/{}/diff/app", s.mount_id));
    for name in [NOT_UTF8, CONTROL] {
        plant_file(&upper, name, b"written by the container\n");
    }
    let cache1 = fs::read_to_string(s.path(&format!("{}/cache-id", s.layer_record(&s.chain1))))
        .expect("cache-id of layer 1");
    for cache in [cache1.as_str(), s.cache2.as_str()] {
        let diff = s.path(&format!("overlay2/{cache}/diff"));
        for name in [NOT_UTF8, CONTROL] {
            plant_file(&diff, name, &[b'z'; 4096]);
        }
    }
    s
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?} is not base64: {e}"))
}

/// The one object of `list` whose `key` is `text`.
fn by<'a>(list: &'a [Value], key: &str, text: &str) -> &'a Value {
    list.iter()
        .find(|v| v[key] == text)
        .unwrap_or_else(|| panic!("no {key} {text:?} in {list:?}"))
}

/// Asserts the table output passes no control byte on and keeps each odd name on one line.
fn assert_table_is_inert(out: &str, rows: &[&str]) {
    if let Some(c) = out.chars().find(|c| c.is_control() && *c != '\n') {
        panic!("raw control character {c:?} in the table:\n{out}");
    }
    for row in rows {
        assert!(
            out.lines().any(|l| l.contains(row)),
            "no line holds {row:?}:\n{out}"
        );
    }
}

#[test]
fn diff_json_is_valid_and_lossless_and_the_table_inert() {
    let s = odd_store();
    let run = strata_on(&s.root, &["--format", "json", "diff", "synth-ctr"]);
    assert_eq!(run.code, Some(0), "{run}");
    let report = run.json();
    let changes = report["Changes"].as_array().expect("Changes");
    let odd = by(changes, "Path", &format!("/app/{NOT_UTF8_TEXT}"));
    assert_eq!(odd["Kind"], "A");
    assert_eq!(b64(odd["PathBytes"].as_str().unwrap()), b"/app/bad\xffname");
    let control = by(
        changes,
        "Path",
        std::str::from_utf8(&[b"/app/", CONTROL].concat()).unwrap(),
    );
    assert_eq!(control["Kind"], "A");
    assert!(control.get("PathBytes").is_none(), "{control}");
    // Plain names do not change.
    let plain = by(changes, "Path", "/app/written.txt");
    assert!(plain.get("PathBytes").is_none(), "{plain}");
    // The totals carry no odd name here, but must not have gained a field either.
    assert!(report["Totals"][0].get("DirBytes").is_none(), "{report}");

    let table = strata_on(&s.root, &["diff", "synth-ctr"]);
    assert_eq!(table.code, Some(0), "{table}");
    assert_table_is_inert(
        &table.stdout,
        &[
            &format!("/app/{NOT_UTF8_TEXT}"),
            &format!("/app/{CONTROL_TEXT}"),
        ],
    );
}

#[test]
fn dupes_json_is_valid_and_lossless_and_the_table_inert() {
    let s = odd_store();
    let run = strata_on(&s.root, &["--format", "json", "dupes"]);
    assert_eq!(run.code, Some(0), "{run}");
    let report = run.json();
    let copies: Vec<Value> = report["Groups"]
        .as_array()
        .expect("Groups")
        .iter()
        .flat_map(|g| g["Copies"].as_array().unwrap().clone())
        .collect();
    let odd: Vec<&Value> = copies
        .iter()
        .filter(|c| c["Path"] == format!("/{NOT_UTF8_TEXT}"))
        .collect();
    assert_eq!(odd.len(), 2, "one copy per image layer: {report}");
    for c in &odd {
        assert_eq!(b64(c["PathBytes"].as_str().unwrap()), b"/bad\xffname");
    }
    let control_path = std::str::from_utf8(&[b"/", CONTROL].concat())
        .unwrap()
        .to_owned();
    assert_eq!(
        copies.iter().filter(|c| c["Path"] == control_path).count(),
        2,
        "{report}"
    );
    let image_b = by(report["Images"].as_array().unwrap(), "Id", &s.image_b);
    let shadowed = image_b["Shadowed"].as_array().expect("Shadowed");
    let hidden = by(shadowed, "Path", &format!("/{NOT_UTF8_TEXT}"));
    assert_eq!(hidden["How"], "overwritten");
    assert_eq!(b64(hidden["PathBytes"].as_str().unwrap()), b"/bad\xffname");

    let table = strata_on(&s.root, &["dupes"]);
    assert_eq!(table.code, Some(0), "{table}");
    assert_table_is_inert(&table.stdout, &[NOT_UTF8_TEXT, CONTROL_TEXT]);
}

/// A problem line names the odd path escaped, on one line.
#[test]
fn problem_lines_are_escaped() {
    if !crate::harness::root_usable() {
        return;
    }
    let s = SynthStore::plant();
    let upper = s.path(&format!("overlay2/{}/diff/app", s.mount_id));
    // A whiteout (0/0 character device) over nothing: a problem naming its path.
    let ghost = upper.join(OsStr::from_bytes(b"ghost\x1b]0;pwned\x07\n"));
    nix::sys::stat::mknod(
        &ghost,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .expect("mknod a whiteout");
    let run = strata_on(&s.root, &["diff", "synth-ctr"]);
    assert_eq!(run.code, Some(1), "{run}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(
        lines[0].contains("app/ghost\\x1b]0;pwned\\x07\\n: "),
        "{run}"
    );
    assert!(!run.stderr.contains(['\x1b', '\x07']), "{run}");
}

/// Damaged records decide the exit code of every verb that reads the store, and its JSON
/// lists them.
#[test]
fn damaged_records_fail_every_verb() {
    let s = SynthStore::plant();
    let rel = s.image_config(&s.image_b);
    // The healthy store: dupes and diff exit 0 (verify cannot: no tar-split was planted).
    for verb in [&["dupes"][..], &["diff", "synth-ctr"]] {
        let run = strata_on(&s.root, verb);
        assert_eq!(run.code, Some(0), "{run}");
    }
    let path = s.path(&rel);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    for verb in [
        &["verify"][..],
        &["dupes"],
        &["diff", "synth-ctr"],
        &["images"],
        &["layers"],
        &["containers"],
        &["volumes"],
        &["orphans"],
        &["advise"],
    ] {
        let json = strata_on(&s.root, &[&["--format", "json"][..], verb].concat());
        assert_eq!(json.code, Some(1), "{json}");
        let report = json.json();
        let problems = report["Problems"].as_array().expect("Problems");
        let named: Vec<&Value> = problems
            .iter()
            .filter(|p| p["Path"].as_str().is_some_and(|p| p.ends_with(&rel)))
            .collect();
        assert_eq!(named.len(), 1, "listed once: {report}");
        let table = strata_on(&s.root, verb);
        assert_eq!(table.code, Some(1), "{table}");
        assert!(
            table
                .stderr
                .lines()
                .any(|l| l.starts_with("strata: problem: ") && l.contains(&rel)),
            "{table}"
        );
    }
}
