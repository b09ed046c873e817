//! Renderers: turn the analyzers' reports into tables and JSON. Nothing here computes a size.

pub mod advise;
pub mod df;
pub mod diff;
pub mod du;
pub mod dupes;
pub mod host;
pub mod html;
pub mod inventory;
pub mod libpod;
pub mod orphans;
pub mod prometheus;
pub mod verify;
pub mod watch;

use std::io::{self, Write};
use std::path::Path;

use analyzers::units::human_size_with_precision;
use comfy_table::{presets, Cell, ContentArrangement, Table};
use serde::Serialize;

/// How sizes are printed.
#[derive(Debug, Clone, Copy)]
pub struct SizeStyle {
    /// Exact integers instead of Docker's decimal units.
    pub bytes: bool,
}

impl SizeStyle {
    /// `1.982MB`, or `1982326` with `--bytes`; negative sizes (unknown) print as `N/A`.
    pub fn size(self, bytes: i64) -> String {
        self.size_with_precision(bytes, 4)
    }

    /// [`SizeStyle::size`] for an unsigned byte count.
    pub fn bytes(self, bytes: u64) -> String {
        self.size(i64::try_from(bytes).unwrap_or(i64::MAX))
    }

    /// Like [`SizeStyle::size`] with `digits` significant digits (Docker prints container
    /// sizes with 3).
    pub fn size_with_precision(self, bytes: i64, digits: usize) -> String {
        if bytes < 0 {
            "N/A".to_owned()
        } else if self.bytes {
            bytes.to_string()
        } else {
            human_size_with_precision(bytes as f64, digits)
        }
    }
}

/// A name from the store (container name, image tag, volume name, command, problem detail)
/// as a table or tree shows it: escaped by [`analyzers::text::escape`], so a name can neither
/// drive the terminal (ESC, BEL) nor break a row (newline), and reads unambiguously.
pub fn name(text: &str) -> String {
    analyzers::text::escape(text.as_bytes()).into_owned()
}

/// [`name`] for a path (its bytes: invalid UTF-8 shows as `\xNN`).
pub fn path(path: &Path) -> String {
    analyzers::text::display(path).into_owned()
}

/// The Docker CLI's tabwriter: cells of at least 10 columns including 3 of padding.
const MIN_CELL: u16 = 10;
/// Spaces after each cell.
const PADDING: u16 = 3;

/// A table laid out as the Docker CLI's tabwriter does: no borders, three spaces between
/// columns, each at least ten wide, left-aligned.
pub fn docker_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| {
            Cell::new(format!(
                "{h:<width$}",
                width = usize::from(MIN_CELL - PADDING)
            ))
        }));
    for col in t.column_iter_mut() {
        col.set_padding((0, PADDING));
    }
    t
}

/// Writes `table` without the trailing padding comfy-table leaves on each line.
pub fn write_table(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
