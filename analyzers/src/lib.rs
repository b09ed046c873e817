//! Read-only analysis of a Docker data root.
//!
//! The pipeline is one-way: [`root`] finds and validates the data root (and [`graphroot`]
//! finds containers/storage's, root's and each user's), [`driver`] identifies
//! the storage drivers present, [`graph`] rebuilds images, layers, containers and volumes from
//! the metadata files alone (no walking), [`walk`] measures exactly the directories a report
//! needs in one parallel pass, and [`usage`] turns that into Docker's figures. [`host`] does
//! it for every store of a host at once (its files under a [`host::Sysroot`]).
//!
//! Nothing in this crate writes to the store, takes a lock in it, or prints: every entry point
//! takes the data root and returns a typed report with the [`Problem`]s it met on the way.
#![deny(missing_docs, unsafe_code)]

pub mod advice;
pub mod backend;
pub mod buildcache;
pub mod changes;
pub mod driver;
pub mod error;
pub mod forensics;
pub mod format;
pub mod fs;
pub mod graph;
pub mod graphroot;
pub mod host;
pub mod ids;
pub mod inventory;
pub mod layout;
pub mod listing;
pub mod root;
pub mod text;
pub mod units;
pub mod usage;
pub mod walk;
pub mod watch;

pub use error::{Error, Problem, ProblemKind, Result};
