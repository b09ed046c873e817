//! Feeds the input as a layer tar to the engine's import path: `tarsplit::disassemble` reads
//! it (hashing it and writing its tar-split record) and hands every entry to an `Extractor`
//! applying it to an empty directory, exactly as `layer::register` stages a layer. The first
//! byte picks the whiteout style (odd: overlay2's character devices and xattrs, even: vfs's
//! deletions); the rest is the tar.
//!
//! Promises checked: no archive makes reading or extracting panic, hang or exhaust memory,
//! and nothing is ever written outside the layer directory: a canary directory next to it
//! keeps its exact listing and content, and the parent directory holds nothing new.

#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine::layer::extract::{remove_all, Extractor, Whiteouts};
use engine::layer::tarsplit::disassemble;
use libfuzzer_sys::fuzz_target;

/// The canary's one file, and what it holds.
const CANARY_FILE: &str = "passwd";
const CANARY_BYTES: &[u8] = b"root:x:0:0:root:/root:/bin/sh\n";

struct Scratch {
    _dir: tempfile::TempDir,
    parent: PathBuf,
    layer: PathBuf,
    canary: PathBuf,
}

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fn scratch() -> Scratch {
    let dir = strata_fuzz::scratch_dir("strata-fuzz-extract-");
    let parent = dir.path().to_path_buf();
    let canary = parent.join("canary");
    fs::create_dir(&canary).expect("creating the canary");
    fs::write(canary.join(CANARY_FILE), CANARY_BYTES).expect("writing the canary");
    Scratch {
        layer: parent.join("layer"),
        canary,
        parent,
        _dir: dir,
    }
}

fn names(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .expect("listing a scratch directory")
        .map(|e| e.expect("a directory entry").file_name())
        .collect();
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let s = SCRATCH.get_or_init(scratch);
    let Some((&mode, tar)) = data.split_first() else {
        return;
    };
    let whiteouts = if mode & 1 == 1 {
        Whiteouts::Overlay
    } else {
        Whiteouts::Delete
    };
    fs::create_dir(&s.layer).expect("creating the layer directory");
    let mut extractor = Extractor::new(&s.layer, "fuzz.tar", whiteouts);
    let read = disassemble(tar, std::io::sink(), |meta, content| {
        extractor.entry(meta, content)
    });
    if read.is_ok() {
        let _ = extractor.finish();
    }
    assert_eq!(
        names(&s.parent),
        ["canary", "layer"].map(std::ffi::OsString::from),
        "an entry was written next to the layer directory"
    );
    assert_eq!(
        names(&s.canary),
        [std::ffi::OsString::from(CANARY_FILE)],
        "the canary directory changed"
    );
    assert_eq!(
        fs::read(s.canary.join(CANARY_FILE)).ok().as_deref(),
        Some(CANARY_BYTES),
        "the canary file changed"
    );
    remove_all(&s.layer).expect("removing the layer directory");
});
