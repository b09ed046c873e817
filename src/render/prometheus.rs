//! Prometheus text exposition, format 0.0.4 (also node-exporter's textfile collector's): one
//! family per quantity, `# HELP` and `# TYPE` first, label values escaped, sizes in bytes.
//! Every Prometheus text strata writes goes through this module.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

/// The type a family declares (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A count that only goes up (its name ends in `_total`).
    Counter,
}

impl Kind {
    /// The word `# TYPE` uses.
    fn word(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A sample's value: an exact integer (bytes, counts) or a float (seconds, timestamps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Written as is.
    Int(i64),
    /// Written with Rust's shortest round-trip form; `NaN`, `+Inf`, `-Inf` as Prometheus
    /// spells them.
    Float(f64),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) if v.is_nan() => f.write_str("NaN"),
            Value::Float(v) if v == f64::INFINITY => f.write_str("+Inf"),
            Value::Float(v) if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            Value::Float(v) => write!(f, "{v}"),
        }
    }
}

/// A family being written: its header, then its samples.
pub struct Family<'a> {
    out: &'a mut dyn Write,
    name: &'a str,
}

impl<'a> Family<'a> {
    /// Starts the family `name` of type `kind` with its help text (one line: a newline or
    /// backslash in it is escaped as the format says).
    pub fn new(out: &'a mut dyn Write, name: &'a str, help: &str, kind: Kind) -> io::Result<Self> {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} {}", kind.word())?;
        Ok(Family { out, name })
    }

    /// Writes one sample with `labels` (`(name, value)` pairs).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Into<Value>) -> io::Result<()> {
        let value = value.into();
        let mut text = String::new();
        for (i, (k, v)) in labels.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(text, "{sep}{k}=\"{}\"", escape(v));
        }
        if text.is_empty() {
            writeln!(self.out, "{} {value}", self.name)
        } else {
            writeln!(self.out, "{}{{{text}}} {value}", self.name)
        }
    }
}

/// A gauge family being written (a [`Family`] of [`Kind::Gauge`] with integer samples).
pub struct Gauge<'a>(Family<'a>);

impl<'a> Gauge<'a> {
    /// Starts the gauge family `name` with its help text.
    pub fn new(out: &'a mut dyn Write, name: &'a str, help: &str) -> io::Result<Self> {
        Family::new(out, name, help, Kind::Gauge).map(Gauge)
    }

    /// Writes one sample with `labels` (`(name, value)` pairs).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: i64) -> io::Result<()> {
        self.0.sample(labels, value)
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_help_type_and_escaped_labels() {
        let mut buf = Vec::new();
        let mut g = Gauge::new(&mut buf, "strata_x_bytes", "X.").unwrap();
        g.sample(&[("name", "a\"b")], 5).unwrap();
        g.sample(&[], 7).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "# HELP strata_x_bytes X.\n# TYPE strata_x_bytes gauge\nstrata_x_bytes{name=\"a\\\"b\"} 5\nstrata_x_bytes 7\n"
        );
    }

    #[test]
    fn counters_and_floats() {
        let mut buf = Vec::new();
        let mut f = Family::new(&mut buf, "strata_x_total", "X\nY\\.", Kind::Counter).unwrap();
        f.sample(&[("a", "b\\c\nd")], 1.5).unwrap();
        f.sample(&[], f64::INFINITY).unwrap();
        f.sample(&[], 3_u64).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "# HELP strata_x_total X\\nY\\\\.\n# TYPE strata_x_total counter\n\
             strata_x_total{a=\"b\\\\c\\nd\"} 1.5\nstrata_x_total +Inf\nstrata_x_total 3\n"
        );
    }
}
