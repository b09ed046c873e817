//! One module per on-disk format of the store, each the single home of its names, its
//! encoding and its parsing: the analyzers read with it, the engine writes with it, and a
//! round-trip test in each checks that what the writing side produces reads back the same.
//!
//! The writing sides here only encode (to bytes, or to a caller's `Write`): nothing in this
//! crate writes to the store.

pub mod bolt;
pub mod config_v2;
pub mod layerdb;
pub mod tarsplit;
pub mod whiteout;
