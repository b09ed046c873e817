//! Docker's human-readable units (`github.com/docker/go-units`), so strata's numbers print
//! exactly as the Docker CLI prints them.

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
}
