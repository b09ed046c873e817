//! `strata host`: every container store of a host in one report. Each Docker data root (the
//! system's, each user's rootless one, their userns-remap sub-roots, and the data other drivers
//! left in them), each containerd root with its namespaces, and each containers/storage
//! graphroot, found where its owner keeps it ([`discover`]), read with the backend its files
//! call for, and measured in one walk so that no byte is counted twice ([`report`]), with the
//! filesystem each lives on and how full that is ([`filesystem`]).
//!
//! The host's files are read under its [`Sysroot`] (`--sysroot`: a mounted disk image), every
//! store through its own [`crate::fs::Jail`]. Nothing here writes or prints.

pub mod discover;
pub mod filesystem;
pub mod report;
pub mod sysroot;

pub use discover::{Role, StoreKind};
pub use report::{report, HostOptions, HostReport, StoreEntry};
pub use sysroot::Sysroot;
