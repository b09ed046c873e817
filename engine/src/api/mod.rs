//! The engine's HTTP API: JSON over HTTP/1.1, with the Docker Engine API's paths and shapes
//! (API 1.41, versioned `/v1.41/...` and unversioned), so that the Docker CLI talks to it.
//!
//! - [`routes`]: Docker's paths mapped to the engine's verbs (one module per area).
//! - [`wire`]: Docker's JSON shapes that are not the store's own (create bodies, inspect,
//!   version, info) and the multiplexed stream framing of logs.
//! - [`filters`]: the `filters` parameter of list endpoints, parsed and checked.
//! - [`fields`]: which fields of a create body strata takes, at which values.
//! - [`machine`]: what `/info` says of the machine (memory, CPUs, cgroups, limits).
//! - [`client`]: the client the `strata` CLI uses with `-H`/`STRATA_HOST`.

pub mod client;
pub mod fields;
pub mod filters;
pub mod machine;
pub mod routes;
pub mod wire;

/// The API version strata speaks (the Docker CLI negotiates down to it).
pub const API_VERSION: &str = "1.41";
/// The oldest API version accepted.
pub const MIN_API_VERSION: &str = "1.12";
