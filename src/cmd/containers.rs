//! `strata containers [CONTAINER]`.

use std::io::Write;

use analyzers::inventory::{self, ContainerEntry};
use analyzers::Problem;

use super::inventory::{run as run_inventory, Verb};
use super::Context;
use crate::cli::NameArgs;
use crate::render;

/// Lists the containers, or the one `CONTAINER` (name, id or id prefix) names.
pub fn run(ctx: &Context, args: &NameArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let verb = Verb::<ContainerEntry> {
        name: "containers",
        list: |store, df| Ok(inventory::containers(store, df)),
        select: |store, name| Ok(store.find_container(name)?.id.0.clone()),
        key: |row| row.df.id.clone(),
        table: render::inventory::containers,
    };
    run_inventory(ctx, &verb, args.name.as_deref(), out)
}
