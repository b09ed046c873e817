//! strata's engine: it writes images and containers into a Docker data root in exactly the
//! format dockerd writes, runs containers on that store, and serves a Docker-compatible API.
//!
//! - [`layer`]: the layer store's write side (tar-split, safe extraction, overlay2 and vfs).
//! - [`image`]: `import` and `load`, image configs and tags.
//! - [`container`]: create, start (a supervisor per container running it with libcontainer),
//!   stop, kill, wait, logs, remove.
//! - [`api`]: the Docker-compatible HTTP API (routes, wire shapes, the CLI's client), served
//!   by [`daemon`] (`strata engine serve`), which guards, repairs and listens.
//! - [`events`]: the event journal `GET /events` reports.
//! - [`demo`]: a sample store made and run by the engine in a temporary root.
//! - [`backend`]: the CLI's verbs, on a root or through a daemon.
//! - [`volume`]: named and anonymous volumes (recorded in `metadata.db`, encoded by
//!   `analyzers::format::bolt`),
//!   binds, tmpfs.
//! - [`build`]: `strata build`, the classic builder with its layer cache.
//! - [`rootfs_path`]: paths an image supplies, resolved inside its root filesystem.
//!
//! It reads the store with the `analyzers` crate, encodes each on-disk format with
//! `analyzers::format` (the module the analyzers read it with) and names every on-disk file
//! with `analyzers::layout`'s constants. Like the analyzers it never prints: every operation
//! returns a typed result for the binary to render.
#![deny(missing_docs)]

pub mod api;
pub mod backend;
pub mod build;
pub mod container;
pub mod daemon;
pub mod demo;
pub mod error;
pub mod events;
pub mod ids;
pub mod image;
pub mod layer;
pub mod root;
pub mod rootfs_path;
pub mod volume;

pub use error::{Error, Result};
pub use root::Root;
