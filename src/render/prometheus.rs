//! Prometheus text exposition (node-exporter textfile collector conventions): one gauge family
//! per quantity, `# HELP` and `# TYPE` first, label values escaped, sizes in bytes.

use std::fmt::Write as _;
use std::io::{self, Write};

/// A gauge family being written.
pub struct Gauge<'a> {
    out: &'a mut dyn Write,
    name: &'a str,
}

impl<'a> Gauge<'a> {
    /// Starts the family `name` with its help text.
    pub fn new(out: &'a mut dyn Write, name: &'a str, help: &str) -> io::Result<Self> {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        Ok(Gauge { out, name })
    }

    /// Writes one sample with `labels` (`(name, value)` pairs).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: i64) -> io::Result<()> {
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
}
