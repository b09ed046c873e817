//! `HEALTHCHECK`: its options and command parsed as moby's `parseHealthcheck` does, the
//! `Healthcheck` object of the image config (durations in nanoseconds), and the step's name
//! as moby prints it (`HEALTHCHECK %q` of the Go struct: `&{["CMD-SHELL" "true"] "30s" "0s"
//! "0s" '\x03'}`).

use serde_json::{json, Value};

use super::words::go_quoted;

/// A health check (moby's `container.HealthConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// Time between checks, ns (0: the default).
    pub interval: i64,
    /// Time a check may take, ns.
    pub timeout: i64,
    /// Grace period after start, ns.
    pub start_period: i64,
    /// Failures before unhealthy.
    pub retries: i64,
}

impl Health {
    /// Parses the instruction: `flags` are its `--name=value` options, `rest` what follows
    /// them (`NONE`, or `CMD` and a command in shell or exec form).
    pub fn parse(flags: &[(String, String)], rest: &str) -> Result<Health, String> {
        let (kind, command) = rest
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((rest.trim(), ""));
        let mut health = Health {
            test: Vec::new(),
            interval: 0,
            timeout: 0,
            start_period: 0,
            retries: 0,
        };
        match kind.to_ascii_uppercase().as_str() {
            "NONE" if command.trim().is_empty() && flags.is_empty() => {
                health.test = vec!["NONE".to_owned()];
                return Ok(health);
            }
            "NONE" => return Err("HEALTHCHECK NONE takes no other arguments".to_owned()),
            "CMD" => {}
            other => return Err(format!("Unknown type {other:?} in HEALTHCHECK (try CMD)")),
        }
        let command = command.trim();
        health.test = match serde_json::from_str::<Vec<String>>(command) {
            Ok(list) if command.starts_with('[') => {
                std::iter::once("CMD".to_owned()).chain(list).collect()
            }
            _ => vec!["CMD-SHELL".to_owned(), command.to_owned()],
        };
        for (name, value) in flags {
            match name.as_str() {
                "interval" => health.interval = duration(name, value)?,
                "timeout" => health.timeout = duration(name, value)?,
                "start-period" => health.start_period = duration(name, value)?,
                "retries" => {
                    health.retries = value
                        .parse()
                        .map_err(|_| format!("--retries: {value:?} is not a number"))?;
                }
                other => return Err(format!("unknown flag: --{other}")),
            }
        }
        Ok(health)
    }

    /// The config's `Healthcheck` (zero fields left out, as Go's `omitempty` does).
    pub fn to_json(&self) -> Value {
        let mut out = json!({ "Test": self.test });
        for (key, value) in [
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("Retries", self.retries),
        ] {
            if value != 0 {
                out[key] = json!(value);
            }
        }
        out
    }

    /// The step's name: `HEALTHCHECK` and Go's `%q` of the struct.
    pub fn comment(&self) -> String {
        let retries = u32::try_from(self.retries)
            .ok()
            .and_then(char::from_u32)
            .map_or_else(|| format!("{}", self.retries), go_quoted_rune);
        format!(
            "HEALTHCHECK &{{{} \"{}\" \"{}\" \"{}\" {retries}}}",
            go_quoted(&self.test),
            go_duration(self.interval),
            go_duration(self.timeout),
            go_duration(self.start_period),
        )
    }
}

/// Go's `%q` of a rune: `'a'`, `'\x03'`.
fn go_quoted_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_owned(),
        '\\' => "'\\\\'".to_owned(),
        '\n' => "'\\n'".to_owned(),
        '\t' => "'\\t'".to_owned(),
        '\r' => "'\\r'".to_owned(),
        c if c.is_control() && u32::from(c) < 0x80 => format!("'\\x{:02x}'", u32::from(c)),
        c => format!("'{c}'"),
    }
}

/// Parses a Go duration (`30s`, `1m30s`, `1.5h`, `500ms`) into nanoseconds; a non-zero one
/// must be at least 1ms, as moby requires.
fn duration(flag: &str, text: &str) -> Result<i64, String> {
    let bad = || format!("--{flag}: invalid duration {text:?}");
    let mut rest = text;
    let mut total = 0f64;
    if rest == "0" {
        return Ok(0);
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    // Durations are far below 2^53 ns for any sane health check.
    #[allow(clippy::cast_possible_truncation)]
    let ns = total.round() as i64;
    if ns != 0 && ns < 1_000_000 {
        return Err(format!("--{flag}: {text} cannot be less than 1ms"));
    }
    Ok(ns)
}

/// Go's `time.Duration.String()`: `0s`, `500ms`, `1.5s`, `1m30s`, `2h0m0s`.
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let fraction = |value: u64, unit: u64| {
        let whole = value / unit;
        let frac = value % unit;
        if frac == 0 {
            whole.to_string()
        } else {
            let width = unit.ilog10() as usize;
            let digits = format!("{frac:0width$}");
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    };
    if ns < 1_000 {
        return format!("{sign}{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{sign}{}µs", fraction(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(ns, 1_000_000));
    }
    let hours = ns / 3_600_000_000_000;
    let minutes = ns / 60_000_000_000 % 60;
    let seconds = fraction(ns % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_prints_them() {
        assert_eq!(duration("i", "1m30s").unwrap(), 90_000_000_000);
        assert_eq!(duration("i", "1.5s").unwrap(), 1_500_000_000);
        assert!(duration("i", "10us").is_err());
        assert!(duration("i", "5x").is_err());
        for (ns, text) in [
            (0, "0s"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (7_200_000_000_000, "2h0m0s"),
        ] {
            assert_eq!(go_duration(ns), text);
        }
    }

    #[test]
    fn forms_and_names() {
        let flags = [
            ("interval".to_owned(), "30s".to_owned()),
            ("retries".to_owned(), "3".to_owned()),
        ];
        let h = Health::parse(&flags, "CMD wget -q -O- http://localhost/ || exit 1").unwrap();
        assert_eq!(h.test[0], "CMD-SHELL");
        assert_eq!(
            h.comment(),
            r#"HEALTHCHECK &{["CMD-SHELL" "wget -q -O- http://localhost/ || exit 1"] "30s" "0s" "0s" '\x03'}"#
        );
        assert_eq!(
            h.to_json(),
            json!({"Test": h.test, "Interval": 30_000_000_000_i64, "Retries": 3})
        );
        let exec = Health::parse(&[], r#"CMD ["true"]"#).unwrap();
        assert_eq!(exec.test, ["CMD", "true"]);
        assert_eq!(Health::parse(&[], "NONE").unwrap().test, ["NONE"]);
        assert!(Health::parse(&[], "NONE extra").is_err());
        assert!(Health::parse(&[], "RUN x").is_err());
    }
}
