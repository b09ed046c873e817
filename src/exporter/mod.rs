//! `strata exporter`: the store's figures as Prometheus metrics, served over HTTP
//! ([`server`]) or written once for node_exporter's textfile collector ([`textfile`]).
//!
//! - [`catalog`]: every family served (names, labels, help, which scan refreshes it);
//! - [`families`]: the samples built from the reports, bounded by `--top`;
//! - [`scan`]: the analyzers' calls of each phase (metadata on each scrape, the walk in the
//!   background);
//! - [`refresh`]: when each phase runs, and how concurrent scrapes share one metadata scan.

pub mod catalog;
pub mod families;
pub mod refresh;
pub mod scan;
pub mod server;
pub mod textfile;

use analyzers::graph::{LoadOptions, Store};
use analyzers::root::DataRoot;

/// The store an exporter reads, and how to load it (as `strata df` would).
pub struct Source {
    root: DataRoot,
    options: LoadOptions,
    label: String,
}

impl Source {
    /// The store at `root` loaded with `options`; loads it once to refuse a store strata
    /// cannot read before serving anything.
    pub fn open(root: DataRoot, options: LoadOptions) -> anyhow::Result<Source> {
        let store = Store::load(&root, &options)?;
        Ok(Source {
            label: scan::store_label(&store),
            root,
            options,
        })
    }

    /// The `store` label: the data root's path as read.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The data root's directory.
    pub fn root_path(&self) -> &std::path::Path {
        &self.root.path
    }

    /// Loads the store's metadata now.
    pub fn load(&self) -> anyhow::Result<Store> {
        Ok(Store::load(&self.root, &self.options)?)
    }
}
