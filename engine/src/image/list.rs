//! `GET /images/json` with dockerd's filters (`dangling`, `label`, `before`, `since`,
//! `reference`) and `all`: the analyzers' image rows (`analyzers::usage::df`), filtered as
//! dockerd's `Images` filters them. A `reference` pattern is a Go `path.Match` glob matched
//! against each familiar `repo:tag` and its repository; only the matching names are shown.

use analyzers::usage::df::{list_images_with, ImageDf};

use crate::api::filters::Filters;
use crate::error::Result;
use crate::root::Root;

/// The filter keys `GET /images/json` knows.
pub const LIST_FILTERS: &[&str] = &["dangling", "label", "before", "since", "reference"];

/// The images `docker images` lists; with `all` the intermediate ones too.
pub fn list(root: &Root, filters: &Filters, all: bool) -> Result<Vec<ImageDf>> {
    let dangling = filters.boolean("dangling")?;
    let store = root.load()?;
    let created_of = |key: &str| -> Result<Option<i64>> {
        match filters.values(key).first() {
            Some(name) => Ok(crate::image::find(&store, name)?.created),
            None => Ok(None),
        }
    };
    let before = created_of("before")?;
    let since = created_of("since")?;
    let patterns = filters.values("reference");
    let mut rows = Vec::new();
    for mut row in list_images_with(&store, all) {
        if before.is_some_and(|b| row.created >= b) || since.is_some_and(|s| row.created <= s) {
            continue;
        }
        if !filters.labels("label", &row.labels.clone().unwrap_or_default()) {
            continue;
        }
        let is_dangling = row
            .repo_tags
            .as_ref()
            .is_none_or(|t| t.iter().all(|t| t == "<none>:<none>"));
        match dangling {
            Some(true) if !is_dangling => continue,
            Some(false) if is_dangling => continue,
            _ => {}
        }
        if !patterns.is_empty() {
            if is_dangling {
                continue;
            }
            let keep = |names: Option<Vec<String>>| -> Option<Vec<String>> {
                let kept: Vec<String> = names?
                    .into_iter()
                    .filter(|n| patterns.iter().any(|p| familiar_match(p, n)))
                    .collect();
                (!kept.is_empty()).then_some(kept)
            };
            row.repo_tags = keep(row.repo_tags.take());
            row.repo_digests = keep(row.repo_digests.take());
            if row.repo_tags.is_none() && row.repo_digests.is_none() {
                continue;
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Docker's `reference.FamiliarMatch`: `pattern` matches the familiar name `repo:tag` (or
/// `repo@digest`), or else its repository alone.
pub fn familiar_match(pattern: &str, name: &str) -> bool {
    let repo = name
        .split_once('@')
        .map(|(r, _)| r)
        .unwrap_or_else(|| match name.rfind(':') {
            Some(at) if !name[at..].contains('/') => &name[..at],
            _ => name,
        });
    glob(pattern.as_bytes(), name.as_bytes()) || glob(pattern.as_bytes(), repo.as_bytes())
}

/// Go's `path.Match`: `*` any run of non-`/` bytes, `?` one non-`/` byte, `[...]` a class
/// (ranges, `^` negation), `\` an escape; the whole name must match.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len())
            .take_while(|&n| n == 0 || name[n - 1] != b'/')
            .any(|n| glob(rest, &name[n..])),
        Some((b'?', rest)) => {
            matches!(name.split_first(), Some((c, tail)) if *c != b'/' && glob(rest, tail))
        }
        Some((b'[', rest)) => match (name.split_first(), class(rest)) {
            (Some((c, tail)), Some((set, after))) => *c != b'/' && set(*c) && glob(after, tail),
            _ => false,
        },
        Some((b'\\', rest)) => match (rest.split_first(), name.split_first()) {
            (Some((p, prest)), Some((c, tail))) => p == c && glob(prest, tail),
            _ => false,
        },
        Some((p, rest)) => {
            matches!(name.split_first(), Some((c, tail)) if c == p && glob(rest, tail))
        }
    }
}

/// A `[...]` class (the bytes after `[`): its membership test and the pattern after `]`.
#[allow(clippy::type_complexity)]
fn class(spec: &[u8]) -> Option<(Box<dyn Fn(u8) -> bool + '_>, &[u8])> {
    let (negated, body) = match spec.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, spec),
    };
    let end = body
        .iter()
        .skip(1)
        .position(|&b| b == b']')
        .map(|i| i + 1)?;
    let (items, after) = (&body[..end], &body[end + 1..]);
    let test = move |c: u8| {
        let mut i = 0;
        let mut hit = false;
        while i < items.len() {
            if i + 2 < items.len() && items[i + 1] == b'-' {
                hit |= items[i] <= c && c <= items[i + 2];
                i += 3;
            } else {
                hit |= items[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((Box::new(test), after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_as_docker_matches_them() {
        for (pattern, name, want) in [
            ("busy*", "busybox:latest", true),
            ("busybox:*", "busybox:latest", true),
            ("busybox", "busybox:1.36", true),
            ("busy", "busybox:latest", false),
            ("*", "team/app:1", false),
            ("*/*", "team/app:1", true),
            ("bb:[0-9]", "bb:1", true),
            ("bb:[^0-9]", "bb:1", false),
            ("b?:1", "bb:1", true),
        ] {
            assert_eq!(familiar_match(pattern, name), want, "{pattern} ~ {name}");
        }
    }
}
