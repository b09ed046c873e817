//! `strata create`, `strata run [-d]` and `strata start`.

use std::collections::BTreeMap;
use std::io::Write;

use analyzers::Problem;
use engine::container::create::CreateOptions;
use engine::container::remove::RemoveOptions;
use engine::volume::{parse_bind, parse_mount};

use super::Context;
use crate::cli::{ContainerArgs, CreateArgs, RunArgs};

fn options(args: &CreateArgs) -> anyhow::Result<CreateOptions> {
    let mut mounts = BTreeMap::new();
    for v in &args.volume {
        let mp = parse_bind(v)?;
        mounts.insert(mp.destination.clone(), mp);
    }
    for m in &args.mount {
        let mp = parse_mount(m)?;
        mounts.insert(mp.destination.clone(), mp);
    }
    #[allow(clippy::cast_possible_truncation)]
    let nano_cpus = args.cpus.map_or(0, |c| (c * 1e9) as i64);
    Ok(CreateOptions {
        image: args.image.clone(),
        name: args.name.clone(),
        cmd: args.command.clone(),
        entrypoint: args.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        }),
        env: args.env.clone(),
        workdir: args.workdir.clone(),
        hostname: args.hostname.clone(),
        memory: args.memory.unwrap_or(0),
        nano_cpus,
        read_only: args.read_only,
        auto_remove: args.rm,
        mounts,
        binds: args.volume.clone(),
        user: args.user.clone(),
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        security_opt: args.security_opt.clone(),
        pids_limit: args.pids_limit.unwrap_or(0),
        labels: split_each(&args.label, '='),
        tmpfs: split_each(&args.tmpfs, ':'),
        group_add: args.group_add.clone(),
        stop_signal: args.stop_signal.clone(),
        stop_timeout: args.stop_timeout,
    })
}

/// Flag values `KEY<sep>VALUE` (`KEY` alone: an empty value) by key, as `--label K=V` and
/// `--tmpfs PATH:OPTIONS` are read.
fn split_each(values: &[String], sep: char) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| {
            let (key, value) = v.split_once(sep).unwrap_or((v, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// `strata create`: prints the id.
pub fn create(
    ctx: &Context,
    args: &CreateArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let id = ctx.engine()?.create(&options(args)?)?;
    writeln!(out, "{id}")?;
    Ok(Vec::new())
}

/// `strata start`: prints the name given, as `docker start` does.
pub fn start(
    ctx: &Context,
    args: &ContainerArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    ctx.engine()?.start(&args.container)?;
    writeln!(out, "{}", args.container)?;
    Ok(Vec::new())
}

/// `strata run`: detached, prints the id; else follows the logs until the container exits
/// and exits with its code (with `--rm` the container is removed here, once its last lines
/// are shown, rather than by its supervisor).
pub fn run(ctx: &Context, args: &RunArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let engine = ctx.engine()?;
    let mut opts = options(&args.create)?;
    opts.auto_remove &= args.detach;
    let id = engine.create(&opts)?;
    engine.start(&id)?;
    if args.detach {
        writeln!(out, "{id}")?;
        return Ok(Vec::new());
    }
    let mut failed = None;
    engine.logs(&id, true, &mut |line| {
        if failed.is_none() {
            failed = super::container::print_line(&line, out).err();
        }
    })?;
    out.flush()?;
    let code = engine.wait(&id)?;
    if args.create.rm {
        let opts = RemoveOptions {
            force: true,
            volumes: true,
        };
        engine.remove(&id, &opts)?;
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    if code != 0 {
        std::process::exit(code);
    }
    Ok(Vec::new())
}
