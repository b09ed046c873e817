//! `strata watch` samples: JSON lines, or a table redrawn in place.

use std::io::{self, Write};
use std::path::Path;

use analyzers::watch::Sample;

use super::{docker_table, name, path, write_table, SizeStyle};

/// One JSON object per sample, one per line.
pub fn json_lines(out: &mut dyn Write, samples: &[Sample]) -> io::Result<()> {
    for s in samples {
        serde_json::to_writer(&mut *out, s)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Clears the terminal and draws the containers and their growing paths.
pub fn table(
    out: &mut dyn Write,
    samples: &[Sample],
    style: SizeStyle,
    root: &Path,
) -> io::Result<()> {
    write!(out, "\x1b[2J\x1b[H")?;
    let time = samples.first().map_or("", |s| s.time.as_str());
    writeln!(out, "strata watch {}  {time}\n", path(root))?;
    if samples.is_empty() {
        return writeln!(out, "no running container");
    }
    let mut t = docker_table(&[
        "CONTAINER ID",
        "NAME",
        "WRITABLE",
        "GROWTH",
        "RATE/S",
        "ADDED",
        "COPIED UP",
        "WHITEOUTS",
        "VOLUMES",
    ]);
    let size = |b: u64| style.size(i64::try_from(b).unwrap_or(i64::MAX));
    let signed = |b: i64| {
        if b < 0 {
            format!("-{}", style.size(-b))
        } else {
            style.size(b)
        }
    };
    for s in samples {
        let volumes: Vec<String> = s
            .volumes
            .iter()
            .map(|v| format!("{}={}", name(&v.name), size(v.bytes)))
            .collect();
        t.add_row(vec![
            s.id[..12.min(s.id.len())].to_owned(),
            name(&s.name),
            size(s.size_rw),
            signed(s.growth),
            signed(s.rate_avg_bytes_per_sec as i64),
            format!("{} ({})", size(s.added_bytes), s.added_files),
            format!("{} ({})", size(s.copied_up_bytes), s.copied_up_files),
            s.whiteouts.to_string(),
            volumes.join(" "),
        ]);
    }
    write_table(out, &t)?;
    for s in samples.iter().filter(|s| !s.top_paths.is_empty()) {
        writeln!(out, "\n{} growing paths:", name(&s.name))?;
        for p in &s.top_paths {
            writeln!(
                out,
                "  {:>10}  {:>10}  {:<9}  {}",
                signed(p.growth),
                size(p.bytes),
                p.kind,
                path(&p.path)
            )?;
        }
    }
    Ok(())
}
