//! `strata watch`: live writable-layer and volume growth, a refreshing table on a terminal,
//! JSON lines on a pipe.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use analyzers::watch::{Watch, WatchOptions};
use analyzers::Problem;

use super::Context;
use crate::cli::{Format, WatchArgs};
use crate::render;

/// Samples every `--interval` until `--count` ticks (or forever).
pub fn run(ctx: &Context, args: &WatchArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let (data_root, load) = ctx.store_root()?;
    let path = data_root.path.clone();
    let mut watch = Watch::new(
        data_root,
        WatchOptions {
            containers: args.containers.clone(),
            top: args.top,
            load,
        },
    )?;
    let lines = ctx.format == Format::Json || !std::io::stdout().is_terminal();
    let mut next = Instant::now();
    let mut tick = 0u64;
    loop {
        let samples = watch.tick();
        if lines {
            render::watch::json_lines(out, &samples)?;
        } else {
            render::watch::table(out, &samples, ctx.style, &path)?;
        }
        out.flush()?;
        tick += 1;
        if args.count.is_some_and(|c| tick >= c) {
            break;
        }
        next += args.interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    let mut problems = std::mem::take(&mut watch.problems);
    problems.sort();
    problems.dedup();
    Ok(problems)
}

/// Parses `500ms`, `2s`, `1.5s`, `1m` or a bare number of seconds.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 2s, 1m, 1h)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    if !(0.01..=86_400.0).contains(&seconds) {
        return Err(format!(
            "{text:?}: the interval must be between 10ms and a day"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_interval("fast").is_err());
        assert!(parse_interval("0s").is_err());
    }
}
