//! test-helper: the helper side of the outside-step protocol, for the
//! end-to-end tests, standing in for mapids and vethctl until they exist.
//!
//! `test-helper [--fail MESSAGE] OUTFILE [--] PROG...` forks a helper that
//! stays in the original namespaces, hands its socket down the chain and
//! execs PROG. When the server (unshare-rs) reports a pid, the helper writes
//! to OUTFILE, from outside, what it sees of that pid:
//! `pid=N user=INODE net=INODE` (or fails with MESSAGE when asked to).

use chain::exec::{self, Program};
use chain::{Error, Result, cli, outside};
use std::convert::Infallible;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

const PROG: &str = "test-helper";

fn main() {
    cli::main(PROG, run)
}

fn run() -> Result<Infallible> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut fail: Option<String> = None;
    if args.first().is_some_and(|a| a == "--fail") {
        if args.len() < 2 {
            return Err(Error::usage(PROG, "--fail needs a message"));
        }
        fail = Some(args.remove(1).to_string_lossy().into_owned());
        args.remove(0);
    }
    if args.is_empty() {
        return Err(Error::usage(PROG, "missing OUTFILE"));
    }
    let out = PathBuf::from(args.remove(0));
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    let program: Program = exec::resolve(args)?;
    let helper = outside::helper_for_exec(move |pid| {
        if let Some(message) = fail {
            return Err(Error::msg(message));
        }
        let ino = |kind: &str| {
            std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
                .map(|m| m.ino())
                .unwrap_or(0)
        };
        let report = format!("pid={pid} user={} net={}\n", ino("user"), ino("net"));
        std::fs::write(&out, report)
            .map_err(|e| Error::msg(format!("write {}: {e}", out.display())))
    })?;
    helper.hand_down()?;
    Err(program.exec())
}
