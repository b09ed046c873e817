//! `strata snapshots [KEY]`.

use std::io::Write;

use analyzers::inventory::{self, SnapshotEntry};
use analyzers::Problem;

use super::inventory::{run as run_inventory, Verb};
use super::Context;
use crate::cli::NameArgs;
use crate::render;

/// Lists the snapshots of a containerd store's namespace, or the one `KEY` names.
pub fn run(ctx: &Context, args: &NameArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let verb = Verb::<SnapshotEntry> {
        name: "snapshots",
        list: inventory::snapshots,
        select: |_, key| Ok(key.to_owned()),
        key: |row| row.key.clone(),
        table: render::inventory::snapshots,
    };
    run_inventory(ctx, &verb, args.name.as_deref(), out)
}
