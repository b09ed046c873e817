//! `strata du -i`: the owner tree of a `du` report in a full-screen terminal browser, as
//! ncdu, dua and gdu show a disk: kinds, their owners, an owner's paths, then directories
//! read on descent; sizes in either measure, sorts, and what `strata advise` says of the
//! selected item. Read-only like every analyzer verb: it shows commands, never runs them, and
//! has no delete key.
//!
//! One job per module: [`catalog`] groups the report's owners for the top level, [`advice`]
//! finds the recommendations concerning an item, [`model`] holds the state and applies the
//! keys' actions (testable without a terminal), [`view`] draws it, [`terminal`] runs the
//! event loop.

pub mod advice;
pub mod catalog;
pub mod model;
pub mod terminal;
pub mod view;
