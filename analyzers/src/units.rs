//! Docker's human-readable units (`github.com/docker/go-units`), so strata's numbers print
//! exactly as the Docker CLI prints them and its size options read as Docker's do.
//!
//! go-units has two parsers of sizes, which read the same suffix differently: `FromHumanSize`
//! ([`from_human_size`]) is decimal (`1g` = 10^9, the units `HumanSize` prints) and
//! `RAMInBytes` ([`ram_in_bytes`]) is binary (`1g` = 2^30, what `docker run --memory` takes).

/// Decimal size with four significant digits: `1982326` -> `1.982MB`, `7580000` -> `7.58MB`,
/// as `units.HumanSize` (`%.4g` over powers of 1000).
pub fn human_size(bytes: f64) -> String {
    human_size_with_precision(bytes, 4)
}

/// Decimal size with `digits` significant digits (`units.HumanSizeWithPrecision`); the Docker
/// CLI prints container sizes with 3.
pub fn human_size_with_precision(bytes: f64, digits: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g(size, digits.max(1)), UNITS[i])
}

/// Go's `%.<digits>g`: that many significant digits, trailing zeros dropped, exponent form only
/// when the exponent is below -4 or at least `digits`.
fn format_g(v: f64, digits: usize) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{v:.prec$e}", prec = digits - 1);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits_i = i32::try_from(digits).unwrap_or(i32::MAX);
    if exp < -4 || exp >= digits_i {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = usize::try_from(digits_i - 1 - exp).unwrap_or(0);
    trim_zeros(&format!("{v:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A duration as Docker words it (`units.HumanDuration`): "Less than a second", "2 minutes",
/// "About an hour", "3 days"...
pub fn human_duration(seconds: i64) -> String {
    let s = seconds;
    if s < 1 {
        return "Less than a second".to_owned();
    }
    if s == 1 {
        return "1 second".to_owned();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let minutes = s / 60;
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Docker rounds hours to the nearest (d.Hours() + 0.5).
    let hours = (s + 1800) / 3600;
    if hours == 1 {
        return "About an hour".to_owned();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", s / 3600 / 24 / 365)
}

/// A size that go-units would not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number where one was expected (or a negative one).
    #[error("invalid size: {0:?}")]
    Size(String),
    /// A unit that is not one of the parser's.
    #[error("invalid suffix: {0:?}")]
    Suffix(String),
}

/// Bytes from a decimal human size, as go-units `FromHumanSize`: a number (fractions allowed,
/// at most one space before the unit), then nothing, `b`, or `k`, `m`, `g`, `t`, `p` (powers
/// of 1000) optionally followed by `b` or `ib`; case-insensitive. `32.5 kB` is 32500;
/// fractions of a byte are dropped.
pub fn from_human_size(text: &str) -> Result<i64, SizeError> {
    parse_size(text, 1000)
}

/// Bytes from a binary human size, as go-units `RAMInBytes` (`docker run --memory`): the
/// forms of [`from_human_size`], with powers of 1024. `1g` is 2^30.
pub fn ram_in_bytes(text: &str) -> Result<i64, SizeError> {
    parse_size(text, 1024)
}

/// go-units `parseSize` with the unit multiplier `base` (1000 or 1024).
fn parse_size(text: &str, base: u32) -> Result<i64, SizeError> {
    let invalid = || SizeError::Size(text.to_owned());
    let sep = text
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(invalid)?;
    let (number, suffix) = if text.as_bytes()[sep] == b' ' {
        (&text[..sep], &text[sep + 1..])
    } else {
        (&text[..=sep], &text[sep + 1..])
    };
    // Go's ParseFloat takes no inf or nan here: they hold no digit before the suffix.
    let size: f64 = number.parse().map_err(|_| invalid())?;
    if size < 0.0 {
        return Err(invalid());
    }
    let bad_suffix = || SizeError::Suffix(suffix.to_owned());
    if suffix.is_empty() {
        return Ok(size as i64);
    }
    if suffix.len() > 3 {
        return Err(bad_suffix());
    }
    let lower = suffix.to_ascii_lowercase();
    let (unit, rest) = lower.split_at(1);
    if unit == "b" {
        return if rest.is_empty() {
            Ok(size as i64)
        } else {
            Err(bad_suffix())
        };
    }
    let power = match unit {
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad_suffix()),
    };
    if !matches!(rest, "" | "b" | "ib") {
        return Err(bad_suffix());
    }
    Ok((size * f64::from(base).powi(power)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_docker() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1982326.0), "1.982MB");
        assert_eq!(human_size(7_580_000.0), "7.58MB");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(999_999.0), "1000kB");
        assert_eq!(human_size(123_456_789_012.0), "123.5GB");
        assert_eq!(human_size_with_precision(102_400.0, 3), "102kB");
    }

    #[test]
    fn durations_match_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3600 * 5), "5 hours");
        assert_eq!(human_duration(3600 * 24 * 3), "3 days");
    }

    const KB: i64 = 1000;
    const MB: i64 = 1000 * KB;
    const GB: i64 = 1000 * MB;
    const TB: i64 = 1000 * GB;
    const PB: i64 = 1000 * TB;
    const KIB: i64 = 1024;
    const MIB: i64 = 1024 * KIB;
    const GIB: i64 = 1024 * MIB;
    const TIB: i64 = 1024 * GIB;
    const PIB: i64 = 1024 * TIB;

    /// go-units' `TestFromHumanSize`.
    #[test]
    fn from_human_size_matches_go_units() {
        let ok = [
            ("0", 0),
            ("0b", 0),
            ("0B", 0),
            ("0 B", 0),
            ("32", 32),
            ("32b", 32),
            ("32B", 32),
            ("32k", 32 * KB),
            ("32K", 32 * KB),
            ("32kb", 32 * KB),
            ("32Kb", 32 * KB),
            ("32Mb", 32 * MB),
            ("32Gb", 32 * GB),
            ("32Tb", 32 * TB),
            ("32Pb", 32 * PB),
            ("32.5kB", 32_500),
            ("32.5 kB", 32_500),
            ("32.5 B", 32),
            ("0.3 K", 300),
            (".3kB", 300),
            ("0.", 0),
            ("0. ", 0),
            ("0.b", 0),
            ("0.B", 0),
            ("-0", 0),
            ("-0b", 0),
            ("-0B", 0),
            ("-0 b", 0),
            ("-0 B", 0),
            ("32.", 32),
            ("32.b", 32),
            ("32.B", 32),
            ("32. b", 32),
            ("32. B", 32),
            ("0 ", 0),
            ("1g", GB),
        ];
        for (text, want) in ok {
            assert_eq!(from_human_size(text), Ok(want), "{text:?}");
        }
        let bad = [
            " 0", " 0b", " 0B", " 0 B", "0b ", "0B ", "0 B ", "", "hello", ".", ". ", " ", "  ",
            " .", " . ", "-32", "-32b", "-32B", "-32 b", "-32 B", "32b.", "32B.", "32 b.", "32 B.",
            "32 bb", "32 BB", "32 b b", "32 B B", "32  b", "32  B", " 32 ", "32m b", "32bm",
        ];
        for text in bad {
            assert!(from_human_size(text).is_err(), "{text:?} accepted");
        }
    }

    /// go-units' `TestRAMInBytes`.
    #[test]
    fn ram_in_bytes_matches_go_units() {
        let ok = [
            ("32", 32),
            ("32b", 32),
            ("32B", 32),
            ("32k", 32 * KIB),
            ("32K", 32 * KIB),
            ("32kb", 32 * KIB),
            ("32Kb", 32 * KIB),
            ("32Kib", 32 * KIB),
            ("32KIB", 32 * KIB),
            ("32Mb", 32 * MIB),
            ("32Gb", 32 * GIB),
            ("32Tb", 32 * TIB),
            ("32Pb", 32 * PIB),
            ("32PB", 32 * PIB),
            ("32P", 32 * PIB),
            ("32.3", 32),
            ("32.3 mb", (32.3 * MIB as f64) as i64),
            ("0.3MB", (0.3 * MIB as f64) as i64),
            ("1g", GIB),
        ];
        for (text, want) in ok {
            assert_eq!(ram_in_bytes(text), Ok(want), "{text:?}");
        }
        let bad = [
            "", "hello", "-32", "-32b", "-32B", "-32 b", "-32 B", "32b.", "32B.", "32 b.", "32 B.",
            "32 bb", "32 BB", "32 b b", "32 B B", "32  b", "32  B", " 32 ", "32m b", "32bm",
        ];
        for text in bad {
            assert!(ram_in_bytes(text).is_err(), "{text:?} accepted");
        }
    }
}
