//! Parsing a Dockerfile into instructions, as moby's `frontend/dockerfile/parser` does:
//! the `# escape=` directive, comments (also between continued lines), line continuations,
//! case-insensitive keywords, `--flag=value` options, and the JSON (exec) form of the
//! instructions that have one. Variables are not substituted here: which words are
//! substituted, and with which values, depends on the build state ([`super::words`]).

use super::error::BuildError;

/// The arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// The text after the keyword and flags, continuation lines joined.
    Shell(String),
    /// The JSON array form (`["executable", "arg"]`).
    Exec(Vec<String>),
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The line it starts on (1-based).
    pub line: usize,
    /// The keyword, upper case (`RUN`, `COPY`...).
    pub keyword: String,
    /// `--name=value` options, in order (`--chown=1:1` is `("chown", "1:1")`).
    pub flags: Vec<(String, String)>,
    /// Its arguments.
    pub args: Args,
    /// The instruction as written, continuations joined: what the build output prints.
    pub original: String,
}

impl Instruction {
    /// The value of option `name`, if given.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character (`\` unless a `# escape=` directive says otherwise).
    pub escape: char,
    /// The instructions, in order.
    pub instructions: Vec<Instruction>,
}

/// Instructions whose arguments may be a JSON array.
const JSON_FORMS: &[&str] = &["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"];

/// Instructions that take `--name=value` options.
const WITH_FLAGS: &[&str] = &["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"];

/// The instructions strata's builder knows.
pub const KNOWN: &[&str] = &[
    "FROM",
    "RUN",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "WORKDIR",
    "USER",
    "LABEL",
    "EXPOSE",
    "VOLUME",
    "CMD",
    "ENTRYPOINT",
    "SHELL",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "MAINTAINER",
    "ONBUILD",
];

/// Parses `text`; `file` names the Dockerfile in errors.
pub fn parse(text: &str, file: &str) -> Result<Dockerfile, BuildError> {
    let escape = escape_directive(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start();
        i += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let mut joined = String::new();
        let mut current = first.to_owned();
        loop {
            let trimmed = current.trim_end();
            let Some(head) = trimmed.strip_suffix(escape) else {
                joined.push_str(trimmed);
                break;
            };
            joined.push_str(head);
            // Comment and empty lines inside a continued instruction are dropped.
            while i < lines.len() && {
                let next = lines[i].trim_start();
                next.is_empty() || next.starts_with('#')
            } {
                i += 1;
            }
            if i >= lines.len() {
                break;
            }
            current = lines[i].to_owned();
            i += 1;
        }
        instructions.push(instruction(&joined, start + 1, file)?);
    }
    Ok(Dockerfile {
        escape,
        instructions,
    })
}

/// The `# escape=` parser directive, if the file opens with one.
fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let Some(body) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = body.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

fn instruction(text: &str, line: usize, file: &str) -> Result<Instruction, BuildError> {
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let keyword = word.to_ascii_uppercase();
    if !KNOWN.contains(&keyword.as_str()) {
        return Err(BuildError::dockerfile(
            file,
            line,
            format!("unknown instruction: {word}"),
        ));
    }
    let mut rest = rest.trim_start();
    let mut flags = Vec::new();
    if WITH_FLAGS.contains(&keyword.as_str()) {
        while let Some(flag) = rest.strip_prefix("--") {
            let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
            let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
            flags.push((name.to_owned(), value.to_owned()));
            rest = flag[end..].trim_start();
        }
    }
    let args = if JSON_FORMS.contains(&keyword.as_str()) && rest.starts_with('[') {
        match serde_json::from_str::<Vec<String>>(rest) {
            Ok(list) => Args::Exec(list),
            Err(_) => Args::Shell(rest.to_owned()),
        }
    } else {
        Args::Shell(rest.to_owned())
    };
    if matches!(&args, Args::Shell(s) if s.is_empty()) && keyword != "RUN" {
        return Err(BuildError::dockerfile(
            file,
            line,
            format!("{keyword} requires at least one argument"),
        ));
    }
    Ok(Instruction {
        line,
        keyword,
        flags,
        args,
        original: format!("{word} {}", text[word.len()..].trim())
            .trim()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_forms() {
        let text = "# escape=\\\nFROM bb:1\n# note\nRUN echo a \\\n  # inside\n  && echo b\n\
                    copy --chown=1:2 a b /c/\nCMD [\"sh\", \"-c\"]\nCMD [not json\n";
        let df = parse(text, "Dockerfile").unwrap();
        let kinds: Vec<_> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kinds, ["FROM", "RUN", "COPY", "CMD", "CMD"]);
        assert_eq!(
            df.instructions[1].args,
            Args::Shell("echo a   && echo b".to_owned())
        );
        assert_eq!(df.instructions[1].line, 4);
        assert_eq!(df.instructions[2].flag("chown"), Some("1:2"));
        assert_eq!(df.instructions[2].args, Args::Shell("a b /c/".to_owned()));
        assert_eq!(
            df.instructions[3].args,
            Args::Exec(vec!["sh".to_owned(), "-c".to_owned()])
        );
        assert_eq!(df.instructions[4].args, Args::Shell("[not json".to_owned()));
    }

    #[test]
    fn backtick_escape_and_errors() {
        let df = parse("# escape=`\nFROM x\nRUN a `\n b\n", "D").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions[1].args, Args::Shell("a  b".to_owned()));
        let err = parse("FROM x\nFOO bar\n", "D").unwrap_err().to_string();
        assert!(
            err.contains("D:2") && err.contains("unknown instruction: FOO"),
            "{err}"
        );
        assert!(parse("FROM x\nCOPY\n", "D").is_err());
    }
}
