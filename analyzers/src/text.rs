//! Names from the store as text. A file name inside a layer or volume is whatever bytes the
//! host (or an attacker on it) chose: not necessarily UTF-8, and free to hold ESC, BEL or a
//! newline. This module owns the two ways such a name leaves strata:
//!
//! - **For a terminal** ([`escape`], [`display`]): one line of printable text that says the
//!   name unambiguously. `\` is `\\`; newline and tab are `\n` and `\t`; every other control
//!   character (C0, DEL, C1) and every byte that is not UTF-8 is `\xNN`, one per byte of the
//!   name (a C1 character, two bytes in UTF-8, is two `\xNN`), so decoding the `\xNN`s gives the
//!   name's bytes back.
//! - **In JSON** ([`json`]): a name that is UTF-8 is its plain string, exactly as before. A
//!   name that is not is a string with each byte that is not UTF-8 written `\xNN` (and `\`
//!   written `\\`), plus a sibling field, the field's name followed by `Bytes`, holding the
//!   name's exact bytes in standard base64 (`"Path": "/a\\xff"`, `"PathBytes": "L2H/"`). The
//!   sibling is absent for UTF-8 names, so normal output does not change.
//!
//! It must not decide what a name means: it only writes it.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

use base64::Engine as _;

/// `name` escaped for a terminal: printable, on one line, and unambiguous (see the module
/// documentation). Borrowed when nothing needed escaping.
pub fn escape(name: &[u8]) -> Cow<'_, str> {
    let clean = |c: char| c != '\\' && !c.is_control();
    if let Ok(s) = std::str::from_utf8(name) {
        if s.chars().all(clean) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(name.len() + 8);
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c, true);
        }
        for &b in chunk.invalid() {
            push_byte(&mut out, b);
        }
    }
    Cow::Owned(out)
}

/// A message (an error line that may quote names, already quoted with `{:?}`) made safe for
/// a terminal: control characters become `\n`, `\t` or `\xNN`, and nothing else changes
/// (a message is read, not decoded, so its backslashes stay single).
pub fn escape_controls(message: &str) -> Cow<'_, str> {
    if !message.chars().any(char::is_control) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        push_escaped(&mut out, c, false);
    }
    Cow::Owned(out)
}

/// Appends `c` escaped: newline and tab as `\n` and `\t`, other control characters as one
/// `\xNN` per UTF-8 byte, `\` doubled when `backslash` is set.
fn push_escaped(out: &mut String, c: char, backslash: bool) {
    match c {
        '\\' if backslash => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                push_byte(out, b);
            }
        }
        c => out.push(c),
    }
}

/// [`escape`] of a path or file name.
pub fn display(name: &(impl AsRef<OsStr> + ?Sized)) -> Cow<'_, str> {
    escape(name.as_ref().as_bytes())
}

/// The JSON string of `name`: itself when it is UTF-8; else with each byte that is not UTF-8
/// as `\xNN` and `\` as `\\` (control characters stay: JSON escapes them).
pub fn json_text(name: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(name) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_byte(&mut out, b);
        }
    }
    Cow::Owned(out)
}

/// The exact bytes of `name` in standard base64, when it is not UTF-8 (`None` when it is: the
/// string says it all).
pub fn json_bytes(name: &[u8]) -> Option<String> {
    std::str::from_utf8(name)
        .is_err()
        .then(|| base64::engine::general_purpose::STANDARD.encode(name))
}

fn push_byte(out: &mut String, b: u8) {
    let _ = write!(out, "\\x{b:02x}");
}

/// Serde helpers that write a name field and, when it is not UTF-8, its `…Bytes` sibling.
/// Each is used as `#[serde(flatten, serialize_with = "crate::text::json::path")]` on the
/// field (flattened, because one field becomes up to two keys; the key is the helper's, so it
/// does not follow the struct's `rename_all`).
pub mod json {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    use serde::ser::{SerializeMap, Serializer};

    /// Writes `key` with the name's JSON string and, if the name is not UTF-8, `{key}Bytes`.
    fn one<S: Serializer>(s: S, key: &str, name: &OsStr) -> Result<S::Ok, S::Error> {
        let bytes = name.as_bytes();
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(key, &super::json_text(bytes))?;
        if let Some(b64) = super::json_bytes(bytes) {
            map.serialize_entry(&format!("{key}Bytes"), &b64)?;
        }
        map.end()
    }

    /// Writes `key` with the names' JSON strings and, if any is not UTF-8, `{key}Bytes`: an
    /// array of the same length, base64 for each name that is not UTF-8 and `null` for the
    /// others.
    fn many<S: Serializer, P: AsRef<OsStr>>(
        s: S,
        key: &str,
        names: &[P],
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let texts: Vec<_> = names
            .iter()
            .map(|n| super::json_text(n.as_ref().as_bytes()))
            .collect();
        map.serialize_entry(key, &texts)?;
        let bytes: Vec<Option<String>> = names
            .iter()
            .map(|n| super::json_bytes(n.as_ref().as_bytes()))
            .collect();
        if bytes.iter().any(Option::is_some) {
            map.serialize_entry(&format!("{key}Bytes"), &bytes)?;
        }
        map.end()
    }

    macro_rules! single {
        ($($fn:ident => $key:literal),* $(,)?) => {$(
            #[doc = concat!("A name as `", $key, "` (and `", $key, "Bytes` when not UTF-8).")]
            pub fn $fn<S: Serializer, P: AsRef<OsStr>>(name: &P, s: S) -> Result<S::Ok, S::Error> {
                one(s, $key, name.as_ref())
            }
        )*};
    }

    macro_rules! list {
        ($($fn:ident => $key:literal),* $(,)?) => {$(
            #[doc = concat!("Names as `", $key, "` (and `", $key, "Bytes` when any is not UTF-8).")]
            // serde hands `serialize_with` the field itself: a `&Vec`, not a slice.
            #[allow(clippy::ptr_arg)]
            pub fn $fn<S: Serializer, P: AsRef<OsStr>>(
                names: &Vec<P>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                many(s, $key, names)
            }
        )*};
    }

    single! {
        path => "Path",
        dir => "Dir",
        root => "Root",
        mountpoint => "Mountpoint",
        containerd_root => "ContainerdRoot",
        sysroot => "Sysroot",
    }

    list! {
        paths => "Paths",
        dirs => "Dirs",
        nested => "Nested",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_control_bytes_and_keep_backslashes() {
        assert_eq!(escape_controls("plain \\ text"), "plain \\ text");
        assert_eq!(
            escape_controls("name \"x\\ny\"\u{1b}[2J\n"),
            "name \"x\\ny\"\\x1b[2J\\n"
        );
    }
    use serde::Serialize;
    use std::path::PathBuf;

    #[test]
    fn plain_names_are_borrowed_and_unchanged() {
        assert!(matches!(
            escape(b"/app/notes.txt"),
            Cow::Borrowed("/app/notes.txt")
        ));
        assert!(matches!(escape("/caf\u{e9}".as_bytes()), Cow::Borrowed(_)));
        assert!(matches!(json_text(b"/a\\b\n"), Cow::Borrowed("/a\\b\n")));
        assert_eq!(json_bytes(b"/app"), None);
    }

    #[test]
    fn terminal_escapes() {
        assert_eq!(escape(b"a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(escape(b"one\ntwo\tthree"), "one\\ntwo\\tthree");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
        assert_eq!(escape(b"\x7f\r\x00"), "\\x7f\\x0d\\x00");
        // C1 (U+009B, a CSI on some terminals): both of its UTF-8 bytes.
        assert_eq!(escape("x\u{9b}y".as_bytes()), "x\\xc2\\x9by");
        assert_eq!(escape(b"/a\xff\xfeb"), "/a\\xff\\xfeb");
        // Valid text after an invalid byte is kept.
        assert_eq!(escape(b"\xc3\xa9\xff\xc3\xa9"), "\u{e9}\\xff\u{e9}");
        assert_eq!(escape(b"\xff".as_slice()).len(), 4);
        assert_eq!(display(&PathBuf::from("/x\ny")), "/x\\ny");
    }

    #[test]
    fn terminal_escape_is_unambiguous() {
        // The literal text `\xff` and the byte 0xff differ once escaped.
        assert_ne!(escape(b"\\xff"), escape(b"\xff"));
        assert_eq!(escape(b"\\xff"), "\\\\xff");
    }

    #[test]
    fn json_text_of_bytes() {
        assert_eq!(json_text(b"/a\xffb"), "/a\\xffb");
        assert_eq!(json_text(b"/a\\\xff"), "/a\\\\\\xff");
        assert_eq!(json_bytes(b"/a\xff").as_deref(), Some("L2H/"));
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Row {
        #[serde(flatten, serialize_with = "json::path")]
        path: PathBuf,
        #[serde(flatten, serialize_with = "json::paths")]
        paths: Vec<PathBuf>,
        bytes: u64,
    }

    fn path(bytes: &[u8]) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(bytes))
    }

    #[test]
    fn json_fields() {
        let utf8 = Row {
            path: path(b"/app/a"),
            paths: vec![path(b"/x")],
            bytes: 1,
        };
        assert_eq!(
            serde_json::to_string(&utf8).unwrap(),
            r#"{"Path":"/app/a","Paths":["/x"],"Bytes":1}"#
        );
        let raw: &[u8] = b"/app/\xff\x1b\n";
        let odd = Row {
            path: path(raw),
            paths: vec![path(b"/x"), path(raw)],
            bytes: 2,
        };
        let v: serde_json::Value = serde_json::to_value(&odd).unwrap();
        assert_eq!(v["Path"], "/app/\\xff\u{1b}\n");
        let back = base64::engine::general_purpose::STANDARD
            .decode(v["PathBytes"].as_str().unwrap())
            .unwrap();
        assert_eq!(back, raw);
        assert_eq!(v["Paths"][1], "/app/\\xff\u{1b}\n");
        assert_eq!(v["PathsBytes"][0], serde_json::Value::Null);
        assert_eq!(v["PathsBytes"][1], v["PathBytes"]);
        assert_eq!(v["Bytes"], 2);
    }
}
