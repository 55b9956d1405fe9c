//! Every tool's option parser on a whole argv: the input split on NUL
//! bytes, one argument per piece (arguments are C strings, so NUL is the
//! one byte an argument cannot hold; any other byte, UTF-8 or not, can be
//! in one). Each of the seven parsers gets the same argv.
//!
//! Checked: no parser panics (an Err is a usage error, fine); when one
//! answers "run", the next program's argv is a suffix of the input,
//! unchanged (README: "everything after is the next program and its
//! arguments, exec'd unchanged"); and cgctl's limits and device policy,
//! once parsed, turn into their v1/v2 file writes and BPF program without
//! a panic.

#![no_main]
// Whole tool modules are compiled in; the target calls a few functions.
#![allow(dead_code, unused_imports)]

use chain::cli::Parsed;
use libfuzzer_sys::fuzz_target;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

// The modules the option parsers `use crate::...`, at the crate root where
// those paths look for them (none of these names collide). An option
// parser that starts using another module needs it added here: the build
// then fails with "unresolved import `crate::NAME`".
#[path = "../../seccompctl/src/action.rs"]
mod action;
#[path = "../../cgctl/src/devices.rs"]
mod devices;
#[path = "../../cgctl/src/devices_bpf.rs"]
mod devices_bpf;
#[path = "../../mapids/src/identity.rs"]
mod identity;
#[path = "../../mapids/src/idmap.rs"]
mod idmap;
#[path = "../../cgctl/src/limits.rs"]
mod limits;
#[path = "../../cgctl/src/stale.rs"]
mod stale;
#[path = "../../vethctl/src/netlink.rs"]
mod netlink;
#[path = "../../seccompctl/src/profile.rs"]
mod profile;
#[path = "../../mapids/src/subid.rs"]
mod subid;
#[path = "../../mapids/src/write.rs"]
mod write;

#[path = "../../cgctl/src/options.rs"]
mod cgctl_options;
#[path = "../../mapids/src/options.rs"]
mod mapids_options;
#[path = "../../nsenter-rs/src/options.rs"]
mod nsenter_options;
#[path = "../../pivot/src/options.rs"]
mod pivot_options;
#[path = "../../seccompctl/src/options.rs"]
mod seccompctl_options;
#[path = "../../unshare-rs/src/options.rs"]
mod unshare_options;
#[path = "../../vethctl/src/options.rs"]
mod vethctl_options;

/// The next program's argv must be the input's tail, as given.
fn check_argv(tool: &str, args: &[OsString], argv: &[OsString]) {
    assert!(
        args.ends_with(argv),
        "{tool}: argv {argv:?} is not a suffix of the arguments {args:?}"
    );
}

/// What `Parsed::Run` holds, whatever the tool: its argv, checked.
fn run_argv<T>(
    tool: &str,
    args: &[OsString],
    parsed: chain::Result<Parsed<T>>,
    argv: impl Fn(&T) -> &[OsString],
) -> Option<T> {
    match parsed {
        Ok(Parsed::Run(options)) => {
            check_argv(tool, args, argv(&options));
            Some(options)
        }
        Ok(Parsed::Help | Parsed::Version) | Err(_) => None,
    }
}

fn cgctl(args: &[OsString]) {
    use cgctl_options::Command;
    let Some(inv) = run_argv(
        "cgctl",
        args,
        cgctl_options::parse(args.to_vec()),
        |inv| match &inv.command {
            Command::Run(run) => &run.argv,
            _ => &[],
        },
    ) else {
        return;
    };
    let Command::Run(run) = inv.command else {
        return;
    };
    // The device strings of --io-max are resolved by main (a stat); any
    // answer will do here.
    let dev = |_: &str| Ok::<String, String>("8:0".to_string());
    let _ = run.limits.v2_writes(&dev);
    let _ = run.limits.v1_writes(&dev);
    let _ = run.limits.controllers_v1();
    let _ = run.limits.controllers_v2();
    if let Some(policy) = &run.devices {
        let _ = policy.v1_writes();
        let prog = policy.compile();
        assert!(!prog.is_empty(), "an empty device program");
    }
}

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = data
        .split(|&b| b == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect();
    let args = &args[..];
    cgctl(args);
    run_argv("mapids", args, mapids_options::parse(args.to_vec()), |o| {
        &o.argv
    });
    run_argv(
        "nsenter-rs",
        args,
        nsenter_options::parse(args.to_vec()),
        |o| &o.argv,
    );
    run_argv("pivot", args, pivot_options::parse(args.to_vec()), |o| {
        &o.argv
    });
    run_argv(
        "seccompctl",
        args,
        seccompctl_options::parse(args.to_vec()),
        |o| &o.argv,
    );
    run_argv(
        "unshare-rs",
        args,
        unshare_options::parse(args.to_vec()),
        |o| &o.argv,
    );
    run_argv(
        "vethctl",
        args,
        vethctl_options::parse(args.to_vec()),
        |o| &o.argv,
    );
});
