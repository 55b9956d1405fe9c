//! cgctl: put this process into a cgroup with limits, then exec the rest of
//! the argv; or manage such a group. See README.md.

mod devices;
mod devices_bpf;
mod lifecycle;
mod limits;
mod manage;
mod options;
mod place;
mod stale;
mod stats;

use chain::cgroup::{Layout, Mode};
use chain::cli;
use chain::exec::{self, Program};
use chain::{Error, Result, trace};
use options::{Command, PROG, RunOptions};
use place::Group;
use std::convert::Infallible;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

macro_rules! usage {
    () => {
        "usage: cgctl [limits] [--devices container] [--device-rule RULE]... [--name NAME] [--parent PATH] [--wait] [--stats-json FILE] [--] program [argument...]\n       cgctl stats|freeze|thaw|rm GROUP | cgctl kill [-s SIG] GROUP | cgctl ls"
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Create a cgroup below this process's own (in every hierarchy it needs), write
the limits, move this process into it, and exec PROGRAM. Works on cgroup v2,
v1 and hybrid systems; limits are given in v2 units and converted for v1.

Limits:
      --mem SIZE          memory limit (memory.max; v1 memory.limit_in_bytes)
      --mem-high SIZE     memory throttling point (memory.high; v1 soft limit)
      --swap SIZE         swap limit, swap only (memory.swap.max; v1 memsw =
                          mem + swap, so v1 needs --mem too)
      --cpus N            CPU time, in CPUs (cpu.max N*100000 100000)
      --cpu-weight N      1..10000, default 100 (v1 cpu.shares = N*1024/100)
      --pids N            number of tasks (pids.max)
      --cpuset-cpus LIST  CPUs, like 0-3,5 (cpuset.cpus)
      --cpuset-mems LIST  memory nodes (cpuset.mems)
      --io-max DEV:KEY=VAL[,KEY=VAL...]
                          KEY: rbps, wbps, riops, wiops; DEV: MAJ:MIN or a
                          device path (io.max; v1 blkio.throttle.*)
      --io-weight N       1..10000 (io.weight; v1 blkio.weight)
SIZE: bytes, with K, M, G or T (powers of 1024), or max.

Devices:
      --devices container only the nodes a container needs (null, zero, full,
                          random, urandom, tty, ptmx, pts), nothing else: no
                          block device (v2: a BPF program; v1: devices.*)
      --devices none      no device at all, before --device-rule
      --device-rule 'TYPE MAJ:MIN ACCESS'
                          allow more: TYPE c, b or a; MAJ, MIN a number or *;
                          ACCESS of r, w, m (repeatable)

Group:
      --name NAME         the group's name; an existing group of that name
                          is joined, and it stays after PROGRAM (without a
                          name: cgctl-PID, supervised as with --wait and
                          removed when PROGRAM ends)
      --parent PATH       create it below this cgroup path instead of below
                          this process's own cgroup
      --wait              (a named group) fork: the child joins and execs PROGRAM; cgctl
                          forwards signals, reports an OOM kill, kills what
                          is left when PROGRAM ends, removes the group, and
                          exits with PROGRAM's status (137 when OOM-killed)
      --stats-json FILE   when the group ends: write its final stats

Management (GROUP: a name below this process's cgroup, or /a/cgroup/path):
      stats GROUP         JSON like runc events --stats, plus raw v2 keys
      freeze GROUP, thaw GROUP
      kill [-s SIG] GROUP every process of the group (default SIGKILL, which
                          returns once the group is empty, so rm can follow)
      rm GROUP            remove an empty group
      ls                  the groups below this process's cgroup

  -v, --verbose           trace every step (every file written) to stderr
  -h, --help              show this help;  -V, --version  show the version

Exit status: 125 cgctl failed, 126 PROGRAM cannot be executed, 127 PROGRAM
not found; otherwise PROGRAM's status.
"
);

/// The bump arena (chain::arena): a tool allocates for well under a
/// millisecond, then execs.
#[global_allocator]
static ALLOC: chain::arena::Arena = chain::arena::Arena;

fn main() {
    cli::tool(
        PROG,
        HELP,
        env!("CARGO_PKG_VERSION"),
        options::parse,
        |invocation| {
            if invocation.verbose {
                trace::enable();
            }
            match invocation.command {
                Command::Run(opts) => run(*opts),
                other => manage(other),
            }
        },
    )
}

/// `/dev/vda` -> `254:0`; `8:0` as it is.
fn device_numbers(dev: &str) -> std::result::Result<String, String> {
    if dev.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(dev.to_string());
    }
    let meta = std::fs::metadata(dev).map_err(|e| format!("{dev}: {e}"))?;
    let rdev = meta.rdev();
    if rdev == 0 {
        return Err(format!("{dev} is not a device"));
    }
    Ok(format!(
        "{}:{}",
        nix::sys::stat::major(rdev),
        nix::sys::stat::minor(rdev)
    ))
}

fn run(opts: RunOptions) -> Result<Infallible> {
    // Found first: a typo fails with 127 before any cgroup exists.
    let program = exec::resolve(opts.argv.clone())?;
    let layout = Layout::detect()?;
    trace::note(format_args!("cgroup layout: {:?}", layout.mode));
    let v2 = layout.mode == Mode::V2;
    let mut writes = if v2 {
        opts.limits.v2_writes(&device_numbers)
    } else {
        opts.limits.v1_writes(&device_numbers)
    }
    .map_err(Error::msg)?;
    let mut v1_controllers = opts.limits.controllers_v1();
    // The device policy: a BPF program on the cgroup2 directory where there
    // is one (pure v2, and hybrid's unified tree, which the kernel checks
    // too); the v1 devices controller on pure v1.
    let device_program = match &opts.devices {
        Some(policy) if layout.mode == Mode::V1 => {
            v1_controllers.push("devices");
            writes.extend(policy.v1_writes());
            None
        }
        Some(policy) => Some(policy.compile()),
        None => None,
    };
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| format!("cgctl-{}", std::process::id()));
    let group = place::create(
        &layout,
        &opts.limits.controllers_v2(),
        &v1_controllers,
        opts.parent.as_deref(),
        &name,
    )?;
    // Limits and the device policy before anyone joins: the workload never
    // runs unlimited.
    let limited = group
        .write_limits(&writes)
        .and_then(|()| match &device_program {
            Some(program) => attach_devices(&group, program),
            None => Ok(()),
        });
    if let Err(e) = limited {
        group.remove_created();
        return Err(e);
    }
    if !opts.supervised() {
        if let Err(e) = group.join() {
            group.remove_created();
            return Err(e);
        }
        return Err(program.exec());
    }
    wait_mode(&group, program, &opts)
}

/// The device policy's program, attached to the group's cgroup2 directory.
/// Only a group this run created: programs attached to a reused group
/// would pile up (the kernel runs them all, up to 64).
fn attach_devices(group: &Group, program: &[devices_bpf::Insn]) -> Result<()> {
    let placed = group
        .dirs
        .iter()
        .find(|p| p.controllers.is_empty())
        .ok_or_else(|| {
            Error::msg("a device policy needs a cgroup2 directory for its BPF program")
        })?;
    if !placed.created {
        return Err(Error::msg(format!(
            "--devices applies to a group cgctl creates, and {} exists already: choose a new --name",
            placed.dir.display()
        )));
    }
    let dir = open_dir(&placed.dir)?;
    devices_bpf::load_and_attach(dir.as_fd(), program)
}

fn open_dir(dir: &std::path::Path) -> Result<std::os::fd::OwnedFd> {
    chain::sys("open", dir.display(), || {
        nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
    })
}

/// The supervised child, born in the group where the kernel allows it,
/// then joined to the rest of it, then the program's exec.
///
/// Where there is a cgroup2 directory (pure v2; hybrid's unified tree),
/// clone3(CLONE_INTO_CGROUP) starts the child inside it: no move, so no wait
/// on the kernel's cgroup_threadgroup_rwsem (an RCU grace period, 10-20 ms
/// after idle). v1 hierarchies are still joined by a write (the same rwsem:
/// hybrid and v1 keep that cost). Fallback, with a -v line: fork and join.
/// The child borrows cgctl's memory until its exec (chain::supervise::
/// spawn_supervised): it only joins and execs.
fn spawn_into(group: &Group, program: Program) -> Result<chain::supervise::Supervisor> {
    let unified = group.unified().map(open_dir).transpose()?;
    chain::supervise::spawn_supervised(
        libc::SIGKILL,
        unified.as_ref().map(|d| d.as_fd()),
        chain::supervise::ChildPidNs::Own,
        |inside| {
            let joined = if inside {
                group.join_v1()
            } else {
                group.join()
            };
            match joined {
                Ok(()) => program.exec(),
                Err(e) => e,
            }
        },
    )
}

/// Supervised (`--wait`, or an anonymous group): the child starts in the
/// group and execs; cgctl stays outside it to report on it and remove it.
fn wait_mode(group: &Group, program: Program, opts: &RunOptions) -> Result<Infallible> {
    // A group this run made has had no OOM kill yet: no file to read.
    let ooms_before = if group.created_for("memory") {
        0
    } else {
        lifecycle::oom_kills(group).unwrap_or(0)
    };
    let supervisor = match spawn_into(group, program) {
        Ok(s) => s,
        Err(e) => {
            group.remove_created();
            return Err(e);
        }
    };
    group.sweep_stale();
    let status = supervisor.wait();
    let oom = lifecycle::oom_kills(group).unwrap_or(0) > ooms_before;
    if oom {
        let (limit, peak) = lifecycle::limit_and_peak(group);
        let show = |v: Option<u64>| v.map(lifecycle::human).unwrap_or_else(|| "?".into());
        let line = format!(
            "{PROG}: out of memory: the kernel killed the workload at the group's {} limit (peak {})\n",
            show(limit),
            show(peak)
        );
        let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    }
    // The workload has ended: whatever it left running goes too.
    // (Empty, the common end, costs one read of cgroup.events.)
    if lifecycle::populated(group) {
        trace::note(format_args!("processes left in the group: killing them"));
        lifecycle::kill_all(group, libc::SIGKILL)?;
        lifecycle::wait_empty(group, Duration::from_secs(30))?;
    }
    if let Some(file) = &opts.stats_json {
        let json = collect_stats(&group.name, group).to_string() + "\n";
        chain::sys(
            "write",
            format_args!("{} (--stats-json)", file.display()),
            || {
                std::fs::write(file, &json)
                    .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
            },
        )?;
    }
    group.remove()?;
    group.leave_leaf();
    cli::exit(if oom { 137 } else { status })
}

/// The group's stats (the `stats` JSON).
fn collect_stats(id: &str, group: &Group) -> serde_json::Value {
    let v1: Vec<(&str, &std::path::Path)> = group
        .dirs
        .iter()
        .flat_map(|p| {
            p.controllers
                .iter()
                .map(move |c| (c.as_str(), p.dir.as_path()))
        })
        .collect();
    stats::collect(
        id,
        &stats::Dirs {
            v2: group.unified(),
            v1: &v1,
        },
    )
}

fn manage(command: Command) -> Result<Infallible> {
    let layout = Layout::detect()?;
    match command {
        Command::Ls => cli::print_and_exit(&manage::list(&layout)),
        Command::Stats(g) => {
            let group = manage::find(&layout, &g)?;
            let json = collect_stats(&g, &group).to_string() + "\n";
            cli::print_and_exit(&json)
        }
        Command::Freeze(g) => lifecycle::freeze(&manage::find(&layout, &g)?).map(|()| cli::exit(0)),
        Command::Thaw(g) => lifecycle::thaw(&manage::find(&layout, &g)?).map(|()| cli::exit(0)),
        Command::Kill { signal, group } => {
            let group = manage::find(&layout, &group)?;
            lifecycle::kill_all(&group, signal)?;
            // A SIGKILLed process leaves its group only when it runs its
            // exit, after the kill(2) or cgroup.kill write has returned: a
            // `cgctl kill G; cgctl rm G` would race it (seen in CI with a
            // shell's `sleep` child). SIGKILL cannot be caught, so waiting
            // for the group to empty is bounded by the kernel, not by the
            // workload; other signals may be handled and are not waited on.
            if signal == libc::SIGKILL {
                lifecycle::wait_empty(&group, Duration::from_secs(10))?;
            }
            cli::exit(0)
        }
        Command::Rm(g) => {
            let group = manage::find(&layout, &g)?;
            if lifecycle::populated(&group) {
                return Err(Error::msg(format!(
                    "group '{g}' still has processes: cgctl kill {g} first"
                )));
            }
            group.remove().map(|()| cli::exit(0))
        }
        Command::Run(_) => unreachable!("run is handled by run()"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--mem",
            "--mem-high",
            "--swap",
            "--cpus",
            "--cpu-weight",
            "--pids",
            "--cpuset-cpus",
            "--cpuset-mems",
            "--io-max",
            "--io-weight",
            "--name",
            "--parent",
            "--wait",
            "--stats-json",
            "--devices",
            "--device-rule",
            "stats",
            "freeze",
            "thaw",
            "kill",
            "rm",
            "ls",
            "--verbose",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }

    #[test]
    fn device_numbers() {
        assert_eq!(super::device_numbers("8:0"), Ok("8:0".into()));
        assert_eq!(super::device_numbers("/dev/null"), Ok("1:3".into()));
        assert!(
            super::device_numbers("/etc/hostname")
                .unwrap_err()
                .contains("not a device")
        );
    }
}
