//! `strata volumes [--orphaned] [VOLUME]`.

use std::io::Write;

use analyzers::inventory::{self, VolumeEntry};
use analyzers::Problem;

use super::inventory::{run as run_inventory, Verb};
use super::Context;
use crate::cli::VolumesArgs;
use crate::render;

/// Lists the local volumes (only the dangling ones with `--orphaned`), or the one named.
pub fn run(ctx: &Context, args: &VolumesArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let verb = Verb::<VolumeEntry> {
        name: "volumes",
        list: if args.orphaned {
            |store, df| Ok(inventory::volumes(store, df, true))
        } else {
            |store, df| Ok(inventory::volumes(store, df, false))
        },
        select: |store, name| Ok(store.find_volume(name)?.name.clone()),
        key: |row| row.df.name.clone(),
        table: render::inventory::volumes,
    };
    run_inventory(ctx, &verb, args.name.as_deref(), out)
}
