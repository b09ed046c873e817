//! New identifiers, the names users may give, and Docker's time format.

use rand::RngCore as _;

/// A random 64-hex id, as moby's `stringid.GenerateRandomID` makes container and cache ids.
pub fn random_hex64() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    analyzers::ids::hex_lower(&bytes)
}

/// Whether `name` is a name dockerd accepts for a container or a volume (moby
/// `daemon/names.RestrictedNamePattern`, `[a-zA-Z0-9][a-zA-Z0-9_.-]+`): so never one with
/// a `/` inside, `.` or `..`, a control character, or an empty string.
pub fn restricted_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() >= 2
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A time as Go's `time.RFC3339Nano` prints it in UTC (trailing zeros of the fraction
/// dropped), the format of every timestamp in Docker's JSON files.
pub fn go_time(t: chrono::DateTime<chrono::Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// Now, in [`go_time`]'s format.
pub fn now() -> String {
    go_time(chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn names_follow_mobys_restricted_pattern() {
        for good in ["ab", "web-1", "a.b_c", "0123456789ab"] {
            assert!(restricted_name(good), "{good} refused");
        }
        for bad in [
            "",
            "a",
            "..",
            ".a",
            "-a",
            "a/b",
            "a\nb",
            "a\u{1b}[0m",
            "/ab",
            "é1",
        ] {
            assert!(!restricted_name(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn go_time_trims_the_fraction() {
        let t = chrono::Utc
            .timestamp_opt(1_700_000_000, 120_000_000)
            .unwrap();
        assert_eq!(go_time(t), "2023-11-14T22:13:20.12Z");
        let t = chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(go_time(t), "2023-11-14T22:13:20Z");
    }
}
