//! What the browser starts from: the `du` report's owners and how they group at its top
//! level (`--by`), read before any descent. Nothing here reads the store.

use std::collections::HashMap;
use std::path::PathBuf;

use analyzers::usage::du::{DuReport, Owner, Sizes};

use crate::cli::By;
use crate::render::du::top_level;
pub use crate::render::du::TopItem;

/// The report's facts the browser shows.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The data root (owners' paths are relative to it).
    pub root: PathBuf,
    /// The storage driver read.
    pub driver: String,
    /// Everything under the root.
    pub total: Sizes,
    /// Every owner of the report, largest (allocated) first.
    pub owners: Vec<Owner>,
    /// The top level, in the report's order.
    pub top: Vec<TopItem>,
    /// Each container's state (`running`, `exited`, `created`), by container id.
    pub states: HashMap<String, String>,
    /// How many problems the report has (printed when the browser ends).
    pub problems: usize,
}

/// The catalog of `report`, its top level grouped as `by` says (as `strata du --by` groups
/// its tree: [`top_level`]).
pub fn of_report(report: &DuReport, by: By) -> Catalog {
    Catalog {
        root: report.root.clone(),
        driver: report.driver.clone(),
        total: report.total,
        owners: report.owners.clone(),
        top: top_level(report, by),
        states: report
            .df
            .containers
            .iter()
            .map(|c| (c.id.clone(), c.state.clone()))
            .collect(),
        problems: report.problems.len(),
    }
}
