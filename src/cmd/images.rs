//! `strata images [IMAGE]`.

use std::io::Write;

use analyzers::inventory::{self, ImageEntry};
use analyzers::Problem;

use super::inventory::{run as run_inventory, Verb};
use super::Context;
use crate::cli::NameArgs;
use crate::render;

/// Lists the images, or the one `IMAGE` names.
pub fn run(ctx: &Context, args: &NameArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let verb = Verb::<ImageEntry> {
        name: "images",
        list: |store, df| Ok(inventory::images(store, df)),
        select: |store, name| Ok(store.find_image(name)?.id.to_string()),
        key: |row| row.df.id.to_string(),
        table: render::inventory::images,
    };
    run_inventory(ctx, &verb, args.name.as_deref(), out)
}
