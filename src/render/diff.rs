//! `strata diff`: `docker diff`'s lines with strata's columns, then totals per top-level
//! directory.

use std::io::{self, Write};

use analyzers::forensics::diff::{Alteration, DiffReport};

use super::{docker_table, path, write_table, SizeStyle};

/// One line per change (`C /app/notes.txt  content  31B`), then the totals.
pub fn table(out: &mut dyn Write, r: &DiffReport, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["", "PATH", "WHAT", "BYTES"]);
    for c in &r.changes {
        let what = match (c.alteration, c.is_dir) {
            (Some(Alteration::Content), _) => "content",
            (Some(Alteration::Metadata), _) => "metadata",
            (None, true) => "dir",
            (None, false) => "",
        };
        t.add_row(vec![
            format!("{:?}", c.kind),
            path(&c.path),
            what.to_owned(),
            style.bytes(c.bytes),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out)?;
    let mut t = docker_table(&["TOP-LEVEL", "ADDED", "CHANGED", "DELETED", "BYTES"]);
    for d in &r.totals {
        t.add_row(vec![
            path(&d.dir),
            d.added.to_string(),
            d.changed.to_string(),
            d.deleted.to_string(),
            style.bytes(d.bytes),
        ]);
    }
    write_table(out, &t)?;
    writeln!(
        out,
        "\n{} changes, {} in the writable layer ({})",
        r.changes.len(),
        style.bytes(r.bytes),
        r.driver
    )
}
