//! On-disk formats, one module each: what a store's files hold and how their bytes decode.
//!
//! Backends read through these modules; nothing else spells out a format's encoding.

pub mod containerd;
pub mod oci;
