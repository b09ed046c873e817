//! Forensics: what the files of a store say beyond Docker's own numbers.
//!
//! - [`diff`]: a container's copy-on-write changes, as `docker diff` lists them, with bytes and
//!   the kind of each modification.
//! - [`orphans`]: leftovers nothing references, with their bytes and why.
//! - [`verify`]: each layer's diff id recomputed from its content, and its size.
//! - [`union`]: the overlay2 view of a stack of layer directories (whiteouts, opaque
//!   directories), shared by the other modules.
//!
//! Nothing here writes, locks or prints; every file is opened through [`crate::fsread`].

pub mod diff;
pub mod orphans;
pub mod union;
pub mod verify;
