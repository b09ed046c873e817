//! Size accounting: Docker's figures and strata's own, computed from a loaded
//! [`Store`](crate::graph::Store) and one walk of exactly the directories a report needs.

pub mod containerd;
pub mod df;
pub mod du;
pub mod leftovers;
pub mod libpod;
pub mod summary;
