//! Feeds the input (as UTF-8; other inputs are skipped, as `strata build` refuses them) as a
//! Dockerfile to the engine's parser, `build::dockerfile::parse`, then runs every
//! instruction's arguments through what the build steps apply to them: `words::split`,
//! `words::expand_all` and `words::pairs` with ARG/ENV values, `Health::parse` for
//! `HEALTHCHECK`, and `words::go_quoted` for the history line.
//!
//! Promise checked: no Dockerfile, however odd its escapes, quotes, continuations, flags or
//! `${VAR:-…}` forms, makes parsing or word expansion panic, hang or exhaust memory.

#![no_main]

use engine::build::dockerfile::{parse, Args};
use engine::build::health::Health;
use engine::build::words;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = parse(text, "Dockerfile") else {
        return;
    };
    let vars = |name: &str| match name {
        "VERSION" => Some("1.36".to_owned()),
        "EMPTY" => Some(String::new()),
        "HOME" => Some("/root".to_owned()),
        _ => None,
    };
    for ins in &file.instructions {
        let _ = ins.flag("from");
        match &ins.args {
            Args::Shell(rest) => {
                let split = words::split(rest, file.escape);
                let _ = words::go_quoted(&split);
                let _ = words::expand_all(rest, &vars, file.escape);
                let _ = words::pairs(rest, &vars, file.escape);
                if ins.keyword == "HEALTHCHECK" {
                    let _ = Health::parse(&ins.flags, rest).map(|h| (h.to_json(), h.comment()));
                }
            }
            Args::Exec(items) => {
                let _ = words::go_quoted(items);
                for item in items {
                    let _ = words::expand(item, &vars, file.escape);
                }
            }
        }
    }
});
