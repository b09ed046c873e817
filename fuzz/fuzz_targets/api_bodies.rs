//! Feeds the input as the JSON bodies and JSON query values the engine's API accepts: the
//! body of `POST /containers/create` (`api::wire::CreateBody::parse`, the route's reader,
//! which checks every field against `api::fields`' tables, then `into_options`, which parses
//! its `-v` binds and `--mount`s), the body of `POST /volumes/create`
//! (`api::routes::VolumeBody`), and the `buildargs` and `filters` query values. Every input
//! is tried as each of them, as a client may send any bytes to any route.
//!
//! Promise checked: no request body makes decoding or option parsing panic, hang or exhaust
//! memory; it is an error (HTTP 400) or options.

#![no_main]

use std::collections::BTreeMap;

use engine::api::routes::VolumeBody;
use engine::api::wire::CreateBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = CreateBody::parse(data) {
        let _ = serde_json::to_vec(&body);
        let _ = body.into_options(Some("fuzzy".to_owned()));
    }
    let _ = serde_json::from_slice::<VolumeBody>(data);
    let _ = serde_json::from_slice::<BTreeMap<String, Option<String>>>(data);
    let _ = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data);
});
