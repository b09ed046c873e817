//! What the four inventory verbs share: load the store, size it once (the df report), build
//! the list, keep the one object a name selects, print it.

use std::io::Write;

use analyzers::graph::Store;
use analyzers::inventory::Inventory;
use analyzers::usage::df::{self, DfOptions, DfReport};
use analyzers::Problem;
use serde::Serialize;

use super::Context;
use crate::cli::Format;
use crate::render;

/// How one inventory verb builds, filters and prints its list.
pub struct Verb<T> {
    /// The verb's name, for messages.
    pub name: &'static str,
    /// Builds the list (an error when the store cannot have one).
    pub list: fn(&Store, &DfReport) -> analyzers::Result<Inventory<T>>,
    /// Given the user's name, whether a row is the object it names (resolved through the
    /// store's Docker-style lookup, which fails on unknown or ambiguous names).
    pub select: fn(&Store, &str) -> analyzers::Result<String>,
    /// The key of a row, compared with what `select` returned.
    pub key: fn(&T) -> String,
    /// The table renderer.
    pub table: fn(&mut dyn Write, &Inventory<T>, render::SizeStyle) -> std::io::Result<()>,
}

/// Runs `verb` for the optional `name`.
pub fn run<T: Serialize>(
    ctx: &Context,
    verb: &Verb<T>,
    name: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let wanted = name.map(|n| (verb.select)(&store, n)).transpose()?;
    let report = df::compute(
        &store,
        &DfOptions {
            walk: ctx.walk.clone(),
            now: None,
        },
    );
    let mut list = (verb.list)(&store, &report)?;
    if let Some(key) = wanted {
        list.items.retain(|row| (verb.key)(row) == key);
    }
    match ctx.format {
        Format::Json => render::write_json(out, &list)?,
        Format::Table => (verb.table)(out, &list, ctx.style)?,
        Format::Prometheus => anyhow::bail!(
            "--format prometheus is not available for `{}` (use df or advise)",
            verb.name
        ),
    }
    Ok(list.problems)
}
