//! Docker's classic-builder progress text for build [`Event`]s: what `docker build` prints and
//! what `POST /build` streams as `{"stream": …}` lines, in one place.

use super::{Built, Event};

/// Where a progress line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error (what a `RUN` command wrote there).
    Err,
}

/// The first 12 hex digits of an id, as Docker shows ids.
pub fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The text Docker prints for `event`, newline included.
pub fn text(event: &Event) -> (String, Stream) {
    let out = |s: String| (s, Stream::Out);
    match event {
        Event::Step {
            number,
            total,
            instruction,
        } => out(format!("Step {number}/{total} : {instruction}\n")),
        Event::UsingCache => out(" ---> Using cache\n".to_owned()),
        Event::RunningIn { container } => out(format!(" ---> Running in {}\n", short(container))),
        Event::Output { line, stderr } => (
            line.clone(),
            if *stderr { Stream::Err } else { Stream::Out },
        ),
        Event::Removed { container } => out(format!(
            "Removing intermediate container {}\n",
            short(container)
        )),
        Event::Image { id } => out(format!(" ---> {}\n", short(id.0.as_str()))),
        Event::Triggers { count } => {
            let plural = if *count > 1 { "s" } else { "" };
            out(format!("# Executing {count} build trigger{plural}\n"))
        }
        Event::Warning(text) => out(format!("{text}\n")),
    }
}

/// `Successfully built …` and one `Successfully tagged …` per tag.
pub fn finished(built: &Built) -> Vec<String> {
    let mut lines = vec![format!(
        "Successfully built {}\n",
        short(built.id.0.as_str())
    )];
    lines.extend(
        built
            .tags
            .iter()
            .map(|t| format!("Successfully tagged {t}\n")),
    );
    lines
}
