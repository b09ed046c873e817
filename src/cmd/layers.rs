//! `strata layers [LAYER]`.

use std::io::Write;

use analyzers::inventory::{self, LayerEntry};
use analyzers::Problem;

use super::inventory::{run as run_inventory, Verb};
use super::Context;
use crate::cli::NameArgs;
use crate::render;

/// Lists the read-only layers, or the one `LAYER` (chain id or cache id prefix) names.
pub fn run(ctx: &Context, args: &NameArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let verb = Verb::<LayerEntry> {
        name: "layers",
        list: |store, df| Ok(inventory::layers(store, df)),
        select: |store, name| Ok(store.find_layer(name)?.chain_id.to_string()),
        key: |row| row.chain_id.to_string(),
        table: render::inventory::layers,
    };
    run_inventory(ctx, &verb, args.name.as_deref(), out)
}
