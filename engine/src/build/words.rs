//! Words and variables in Dockerfile arguments, as moby's `shell.Lex` treats them in the
//! instructions Docker substitutes (`FROM`, `COPY`, `ADD`, `ENV`, `ARG`, `LABEL`, `EXPOSE`,
//! `VOLUME`, `WORKDIR`, `USER`, `STOPSIGNAL`): words split on unquoted white space, single
//! quotes literal, double quotes grouping with `$` still expanded, the escape character
//! quoting the next one, and `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}`
//! replaced from the build's ARG and ENV values. `RUN`, `CMD` and `ENTRYPOINT` are left to
//! the shell that runs them.

/// Where variables are looked up: a name to its value (unset: `None`).
pub type Vars<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Splits `text` at unquoted white space; quotes and escapes stay in the words, for
/// [`expand`] to process.
pub fn split(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                in_word = true;
                word.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Removes the quotes and escapes of one word and substitutes its variables.
pub fn expand(word: &str, vars: &Vars<'_>, escape: char) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == escape {
            if let Some(&n) = chars.get(i) {
                out.push(n);
                i += 1;
            }
        } else if c == '\'' {
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else if c == '"' {
            while i < chars.len() && chars[i] != '"' {
                let d = chars[i];
                i += 1;
                if d == escape
                    && matches!(chars.get(i), Some(&n) if n == '"' || n == '$' || n == escape)
                {
                    out.push(chars[i]);
                    i += 1;
                } else if d == '$' {
                    i = variable(&chars, i, vars, escape, &mut out)?;
                } else {
                    out.push(d);
                }
            }
            i += 1;
        } else if c == '$' {
            i = variable(&chars, i, vars, escape, &mut out)?;
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Splits and expands every word of `text`.
pub fn expand_all(text: &str, vars: &Vars<'_>, escape: char) -> Result<Vec<String>, String> {
    split(text, escape)
        .iter()
        .map(|w| expand(w, vars, escape))
        .collect()
}

/// `KEY=value` pairs of `ENV` and `LABEL` (and the old `ENV KEY value with spaces` form),
/// expanded.
pub fn pairs(text: &str, vars: &Vars<'_>, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = split(text, escape);
    let Some(first) = words.first() else {
        return Err("requires at least one argument".to_owned());
    };
    if !first.contains('=') {
        let rest = text.trim_start()[first.len()..].trim();
        if rest.is_empty() {
            return Err(format!("{first}: requires a value"));
        }
        return Ok(vec![(
            expand(first, vars, escape)?,
            expand(rest, vars, escape)?,
        )]);
    }
    words
        .iter()
        .map(|w| {
            let expanded = expand(w, vars, escape)?;
            match expanded.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
                _ => Err(format!("{w}: expected KEY=value")),
            }
        })
        .collect()
}

/// A list as Go's `fmt.Sprintf("%q", []string{...})` prints it (`["/bin/sh" "-c"]`): the
/// form `CMD` and `ENTRYPOINT` steps are recorded in.
pub fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| {
            let mut out = String::from('"');
            for c in item.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        })
        .collect();
    format!("[{}]", quoted.join(" "))
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Substitutes the variable whose name starts at `chars[i]` (just after `$`); returns the
/// index after it.
fn variable(
    chars: &[char],
    mut i: usize,
    vars: &Vars<'_>,
    escape: char,
    out: &mut String,
) -> Result<usize, String> {
    if chars.get(i) == Some(&'{') {
        let close = chars[i..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| p + i)
            .ok_or_else(|| "missing '}' in a ${...} substitution".to_owned())?;
        let body: String = chars[i + 1..close].iter().collect();
        let name_len = body.chars().take_while(|&c| is_name(c)).count();
        let (name, op) = body.split_at(name_len);
        if name.is_empty() {
            return Err(format!("bad substitution: ${{{body}}}"));
        }
        let value = vars(name).filter(|v| !v.is_empty());
        let text = match (op.get(..2), value) {
            (None, v) if op.is_empty() => v.unwrap_or_default(),
            (Some(":-"), Some(v)) => v,
            (Some(":-"), None) => expand(&op[2..], vars, escape)?,
            (Some(":+"), Some(_)) => expand(&op[2..], vars, escape)?,
            (Some(":+"), None) => String::new(),
            _ => return Err(format!("unsupported modifier in ${{{body}}}")),
        };
        out.push_str(&text);
        return Ok(close + 1);
    }
    let start = i;
    while i < chars.len() && is_name(chars[i]) {
        i += 1;
    }
    if i == start {
        out.push('$');
    } else {
        let name: String = chars[start..i].iter().collect();
        out.push_str(&vars(&name).unwrap_or_default());
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "A" => Some("one".to_owned()),
            "SP" => Some("x y".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn substitution_and_quotes() {
        let e = |w: &str| expand(w, &lookup, '\\').unwrap();
        assert_eq!(e("$A/${A}_x"), "one/one_x");
        assert_eq!(e("${B:-dflt}${A:+alt}${B:+no}"), "dfltalt");
        assert_eq!(e("'$A'\"$A\"\\$A"), "$Aone$A");
        assert_eq!(e("a$"), "a$");
        assert!(expand("${A", &lookup, '\\').is_err());
    }

    #[test]
    fn go_quoting() {
        let list = ["/bin/sh".to_owned(), "say \"hi\"\n".to_owned()];
        assert_eq!(go_quoted(&list), r#"["/bin/sh" "say \"hi\"\n"]"#);
    }

    #[test]
    fn words_and_pairs() {
        assert_eq!(
            expand_all("a \"b c\" $SP", &lookup, '\\').unwrap(),
            ["a", "b c", "x y"]
        );
        assert_eq!(
            pairs("K=\"v w\" L=$A", &lookup, '\\').unwrap(),
            [
                ("K".to_owned(), "v w".to_owned()),
                ("L".to_owned(), "one".to_owned())
            ]
        );
        assert_eq!(
            pairs("K some value", &lookup, '\\').unwrap(),
            [("K".to_owned(), "some value".to_owned())]
        );
    }
}
