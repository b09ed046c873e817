//! Path patterns: Go's `filepath.Match` per path segment (`*`, `?`, `[a-z]`, `[^x]`, `\`
//! quoting), with `**` matching any number of segments as in `.dockerignore`; and the
//! `.dockerignore` rule list itself (later rules win, `!` re-includes, a rule matching a
//! directory excludes what it holds), as moby's `patternmatcher` applies it.

/// A compiled pattern: its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<String>,
}

impl Pattern {
    /// Compiles `text` (`/`-separated; leading `/` and `./` and redundant separators ignored).
    pub fn new(text: &str) -> Pattern {
        Pattern {
            segments: clean(text)
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether `path` (relative, `/`-separated) matches the whole pattern.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match_segments(&self.segments, &parts)
    }

    /// The leading segments without wildcards (`src/app` of `src/app/*.rs`): where the
    /// paths it can match are.
    pub fn literal_prefix(&self) -> String {
        let literal: Vec<&str> = self
            .segments
            .iter()
            .take_while(|s| !s.contains(['*', '?', '[', '\\']))
            .map(String::as_str)
            .collect();
        literal.join("/")
    }

    /// Whether the pattern has wildcards at all.
    pub fn is_literal(&self) -> bool {
        !self
            .segments
            .iter()
            .any(|s| s.contains(['*', '?', '[', '\\']))
    }
}

fn clean(text: &str) -> String {
    text.trim().trim_start_matches('/').to_owned()
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, tail)) => segment_matches(first, name) && match_segments(rest, tail),
            None => false,
        },
    }
}

/// Go's `filepath.Match` on one segment.
fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n)
}

fn glob(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|k| glob(&p[1..], &n[k..])),
        Some('?') => !n.is_empty() && glob(&p[1..], &n[1..]),
        Some('[') => match (class(&p[1..], n.first().copied()), n.first()) {
            (Some((true, used)), Some(_)) => glob(&p[1 + used..], &n[1..]),
            _ => false,
        },
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && glob(&p[1..], &n[1..]),
    }
}

/// Matches `c` against the class after `[`; whether it matched and how many pattern
/// characters the class used (with its `]`). `None` for an unterminated class.
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let c = c?;
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = if p[i] == '\\' {
            p.get(i + 1).copied()?
        } else {
            p[i]
        };
        i += if p[i] == '\\' { 2 } else { 1 };
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            let hi = p[i + 1];
            i += 2;
            hi
        } else {
            lo
        };
        if lo <= c && c <= hi {
            hit = true;
        }
    }
    None
}

/// The rules of a `.dockerignore` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    rules: Vec<(Pattern, bool)>,
}

impl IgnoreRules {
    /// Parses the file's text (comments and blank lines skipped).
    pub fn parse(text: &str) -> IgnoreRules {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| match l.strip_prefix('!') {
                Some(rest) => (Pattern::new(rest), true),
                None => (Pattern::new(l), false),
            })
            .collect();
        IgnoreRules { rules }
    }

    /// Whether some rule re-includes (`!`): then an excluded directory must still be
    /// searched.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, reinclude)| *reinclude)
    }

    /// Whether the context path `path` (relative) is excluded: the last rule that matches
    /// it or one of its parent directories decides.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for (pattern, reinclude) in &self.rules {
            let hit = (1..=parts.len()).any(|k| match_segments(&pattern.segments, &parts[..k]));
            if hit {
                excluded = !reinclude;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_semantics() {
        assert!(Pattern::new("*.txt").matches("a.txt"));
        assert!(!Pattern::new("*.txt").matches("d/a.txt"));
        assert!(Pattern::new("d/?.t[x-z]t").matches("d/a.txt"));
        assert!(Pattern::new("[^b]*").matches("a"));
        assert!(!Pattern::new("[^a]*").matches("a"));
        assert!(Pattern::new("**/*.go").matches("a/b/c.go"));
        assert!(Pattern::new("**/*.go").matches("c.go"));
        assert!(Pattern::new("x").is_literal() && !Pattern::new("x*").is_literal());
        assert_eq!(Pattern::new("/a/b/*.c/d").literal_prefix(), "a/b");
    }

    #[test]
    fn dockerignore_rules() {
        let rules = IgnoreRules::parse("# c\n*.log\nbuild\n!build/keep\n");
        assert!(rules.excludes("a.log"));
        assert!(!rules.excludes("d/a.log"));
        assert!(rules.excludes("build/x/y"));
        assert!(!rules.excludes("build/keep"));
        assert!(!rules.excludes("src/main.rs"));
    }
}
