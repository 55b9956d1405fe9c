//! Exec of the next argv: the last step of every tool.
//!
//! The program is looked up in PATH *before* the tool changes anything
//! ([`resolve`]), so that a typo fails with 127 and leaves no namespace,
//! mount or cgroup behind; [`Program::exec`] then restores the signal state
//! the tool was started with and replaces the process.

use crate::error::{Error, Result};
use crate::exit;
use crate::trace::{self, sys};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use nix::unistd::{AccessFlags, access};
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// musl's and the kernel's conventional search path when PATH is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/bin:/usr/bin";

static ORIGINAL_MASK: OnceLock<SigSet> = OnceLock::new();

unsafe extern "C" {
    /// The C library's environment (musl's `__environ`): what getenv reads
    /// and what the exec passes on.
    static mut environ: *mut *mut libc::c_char;
}

/// Sets `name` to `value` in this process's environment, for the next
/// program (the chain variables) and for getenv (std::env::var).
///
/// Why not `std::env::set_var`: it calls musl's setenv, whose NAME=VALUE
/// copy and new environ array come from musl's own malloc, not the tools'
/// arena; its first use in a process maps that allocator's memory (brk
/// twice, mmap) and touches its pages. Here both come from the arena and
/// are never freed: a tool sets a few variables, then execs.
///
/// # Safety
/// No other thread reads or changes the environment meanwhile (the tools
/// are single-threaded). `name` holds no `=` and neither holds a NUL.
pub unsafe fn set_env(name: &OsStr, value: &OsStr) {
    let entry = env_entry(name, value);
    let name = name.as_bytes();
    // SAFETY: environ is the C library's NULL-terminated array of
    // NUL-terminated strings; the caller keeps other threads out.
    unsafe {
        let env = environ;
        let mut n = 0;
        while !env.is_null() && !(*env.add(n)).is_null() {
            let text = std::ffi::CStr::from_ptr(*env.add(n)).to_bytes();
            if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                // In place, as setenv does (the array is writable: the
                // kernel's, on the stack, or one made here or by setenv).
                *env.add(n) = entry;
                return;
            }
            n += 1;
        }
        let mut grown: Vec<*mut libc::c_char> = Vec::with_capacity(n + 2);
        for i in 0..n {
            grown.push(*env.add(i));
        }
        grown.push(entry);
        grown.push(std::ptr::null_mut());
        environ = Box::leak(grown.into_boxed_slice()).as_mut_ptr();
    }
}

/// `NAME=VALUE` NUL-terminated, from the arena and never freed (the
/// environment keeps pointing at it).
fn env_entry(name: &OsStr, value: &OsStr) -> *mut libc::c_char {
    let mut entry = Vec::with_capacity(name.len() + value.len() + 2);
    entry.extend_from_slice(name.as_bytes());
    entry.push(b'=');
    entry.extend_from_slice(value.as_bytes());
    entry.push(0);
    Box::leak(entry.into_boxed_slice()).as_mut_ptr().cast()
}

/// Replaces this process's whole environment with `entries` (NAME,
/// VALUE), in one new array (see [`set_env`] for why not the C library's).
///
/// # Safety
/// As for [`set_env`].
pub unsafe fn replace_env(entries: &[(&OsStr, &OsStr)]) {
    let mut array: Vec<*mut libc::c_char> = Vec::with_capacity(entries.len() + 1);
    for (name, value) in entries {
        array.push(env_entry(name, value));
    }
    array.push(std::ptr::null_mut());
    // SAFETY: a NULL-terminated array of NUL-terminated strings that stays
    // allocated; the caller keeps other threads out.
    unsafe { environ = Box::leak(array.into_boxed_slice()).as_mut_ptr() };
}

/// Whether SIGPIPE was ignored when the process started: 0 not read yet,
/// 1 default, 2 ignored. Rust's runtime sets SIGPIPE to SIG_IGN before
/// `main` (so that a write to a closed pipe returns EPIPE), and an ignored
/// signal stays ignored across execve: without this, every workload would
/// start with SIGPIPE ignored, and `yes | head -1` in a container would end
/// with "yes: Broken pipe" and status 1 instead of dying of SIGPIPE.
static SIGPIPE_AT_START: AtomicU8 = AtomicU8::new(0);

/// Reads SIGPIPE's disposition. Runs from `.init_array`, which the C
/// library runs before `main`, so before Rust's runtime has touched it.
extern "C" fn record_sigpipe_at_start() {
    // SAFETY: sigaction with a null new action only reads; zeroed is a
    // valid sigaction to fill.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) } == 0;
    let ignored = ok && old.sa_sigaction == libc::SIG_IGN;
    SIGPIPE_AT_START.store(if ignored { 2 } else { 1 }, Ordering::Relaxed);
}

#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_SIGPIPE_AT_START: extern "C" fn() = record_sigpipe_at_start;

/// Puts SIGPIPE back to the disposition the process started with (default,
/// unless the caller ignored it). The tools themselves keep Rust's SIG_IGN
/// while they run: a trace line or an error written to a stderr whose
/// reader is gone fails with EPIPE instead of killing a tool halfway
/// through its setup. So this runs right before the exec, and in a test
/// program that must see what it was given.
pub fn restore_sigpipe() -> Result<()> {
    if SIGPIPE_AT_START.load(Ordering::Relaxed) != 1 {
        return Ok(()); // ignored by the caller (or not read): leave it ignored
    }
    sys("sigaction", "SIGPIPE SIG_DFL (the caller's)", || {
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask: no
        // handler is installed.
        let default: libc::sigaction = unsafe { std::mem::zeroed() };
        Errno::result(unsafe { libc::sigaction(libc::SIGPIPE, &default, std::ptr::null_mut()) })
            .map(drop)
    })
}

/// Remembers the signal mask the tool was started with, so it can be handed
/// unchanged to the next program. Called once by [`crate::cli::main`].
pub fn save_signal_state() {
    if let Ok(mask) = SigSet::thread_get_mask() {
        let _ = ORIGINAL_MASK.set(mask);
    }
}

/// Puts back the signal mask saved at start. The tools never install
/// handlers (supervisors block signals and wait for them), so dispositions
/// are still the caller's; the mask is the only signal state to restore.
pub fn restore_signal_state() -> Result<()> {
    let mask = ORIGINAL_MASK.get().copied().unwrap_or_else(SigSet::empty);
    sys(
        "sigprocmask",
        "SIG_SETMASK (restore the caller's mask)",
        || sigprocmask(SigmaskHow::SIG_SETMASK, Some(&mask), None),
    )
}

/// A resolved next program: the file to exec and the argv to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub path: PathBuf,
    pub argv: Vec<OsString>,
    /// A chain step carried past the pivot: exec'd through this fd (a
    /// sealed memfd, see [`crate::carry`]) instead of `path`.
    pub carried: Option<RawFd>,
}

/// The exec system call a [`Program`] is about to make, with the exact
/// argument values (for a seccomp filter loaded right before it, which must
/// let it through).
#[derive(Debug, Clone, Copy)]
pub struct ExecCall {
    pub nr: libc::c_long,
    pub args: [u64; 6],
}

/// Finds the program of `argv` the way execvp does: a name with a slash is
/// used as it is, otherwise each PATH directory is tried in order, and a
/// file that exists but may not be executed is reported only if no later
/// directory has an executable one.
pub fn resolve(argv: Vec<OsString>) -> Result<Program> {
    let name = argv
        .first()
        .ok_or_else(|| Error::msg("no program to execute"))?
        .clone();
    if name.is_empty() {
        return Err(Error::sys("exec", "''", Errno::ENOENT).with_status(exit::NOT_FOUND));
    }
    if let Some(fd) = crate::carry::lookup(&name) {
        return Ok(Program {
            path: PathBuf::from(format!("/proc/self/fd/{fd}")),
            argv,
            carried: Some(fd),
        });
    }
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(&name);
        check_executable(&path).map_err(|errno| exec_error(&name, errno, None))?;
        return Ok(Program {
            path,
            argv,
            carried: None,
        });
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let mut denied = false;
    for dir in search.as_bytes().split(|&b| b == b':') {
        // An empty PATH entry means the current directory.
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(&name);
        match check_executable(&candidate) {
            Ok(()) => {
                return Ok(Program {
                    path: candidate,
                    argv,
                    carried: None,
                });
            }
            Err(Errno::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    let errno = if denied { Errno::EACCES } else { Errno::ENOENT };
    Err(exec_error(
        &name,
        errno,
        (!denied).then(|| format!("not found in PATH={}", search.to_string_lossy())),
    ))
}

/// ENOENT if nothing is there, EACCES if it is not an executable regular
/// file (execve's answer for directories and files without an x bit).
fn check_executable(path: &Path) -> std::result::Result<(), Errno> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if !meta.is_file() {
        return Err(Errno::EACCES);
    }
    access(path, AccessFlags::X_OK)
}

/// 127 when the program (or its interpreter) is missing, 126 otherwise.
fn exec_error(name: &OsStr, errno: Errno, hint: Option<String>) -> Error {
    let status = match errno {
        Errno::ENOENT | Errno::ENOTDIR => exit::NOT_FOUND,
        _ => exit::CANNOT_EXECUTE,
    };
    let err = Error::sys("exec", name.to_string_lossy(), errno).with_status(status);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

impl Program {
    /// `$SHELL`, else `/bin/sh`: what util-linux runs when no program is given.
    pub fn default_shell() -> Vec<OsString> {
        let shell = std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        vec![shell]
    }

    /// Replaces the process with the program. Returns only on failure.
    pub fn exec(self) -> Error {
        self.exec_with(|_| Ok(()))
    }

    /// Replaces the process with the program, running `last` as the very
    /// last step before the exec: after the caller's signal mask is back
    /// and every argument is built, so that nothing but the exec itself
    /// runs after it (seccompctl loads its filter there). Returns only on
    /// failure.
    pub fn exec_with(self, last: impl FnOnce(ExecCall) -> Result<()>) -> Error {
        // Helpers whose answers were left for the workload's exec: unless
        // the next program is a chain tool (which does this itself), they
        // are all awaited now, before anything the workload could see.
        let next_is_chain_tool =
            || self.carried.is_some() || crate::note::path_is_chain_tool(&self.path);
        if let Err(e) = crate::late::before_exec(next_is_chain_tool) {
            return e;
        }
        if let Err(e) = restore_signal_state() {
            return e;
        }
        let to_c = |s: OsString| CString::new(s.into_vec());
        let (path, argv) = match (
            to_c(self.path.clone().into_os_string()),
            self.argv
                .iter()
                .cloned()
                .map(to_c)
                .collect::<std::result::Result<Vec<_>, _>>(),
        ) {
            (Ok(p), Ok(a)) => (p, a),
            _ => return Error::msg("exec: an argument contains a NUL byte"),
        };
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        // The exec passes the current environment, which the tools change
        // only where they document it (the chain variables).
        crate::carry::before_exec(self.carried);
        // SAFETY: reading the C library's environ pointer, after the last
        // change to the environment.
        let envp = unsafe { environ } as *const *const libc::c_char;
        let empty = c"";
        let call = match self.carried {
            Some(fd) => ExecCall {
                nr: libc::SYS_execveat,
                args: [
                    fd as u64,
                    empty.as_ptr() as u64,
                    argv_ptrs.as_ptr() as u64,
                    envp as u64,
                    libc::AT_EMPTY_PATH as u64,
                    0,
                ],
            },
            None => ExecCall {
                nr: libc::SYS_execve,
                args: [
                    path.as_ptr() as u64,
                    argv_ptrs.as_ptr() as u64,
                    envp as u64,
                    0,
                    0,
                    0,
                ],
            },
        };
        trace::note(format_args!(
            "{} {} {:?}",
            if self.carried.is_some() {
                "execveat"
            } else {
                "execve"
            },
            self.path.display(),
            self.argv
        ));
        // After the last trace line of this tool: with the default
        // disposition a write to a broken stderr would kill the tool. (A
        // broken stderr has by then failed an earlier trace write, which
        // turns tracing off.)
        if let Err(e) = restore_sigpipe() {
            return e;
        }
        if let Err(e) = last(call) {
            return e;
        }
        let a = call.args;
        // SAFETY: the pointers point into argv, argv_ptrs, path and the
        // environment, all alive here; on success nothing returns.
        let ret = unsafe { libc::syscall(call.nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
        let errno = Errno::from_raw(if ret < 0 {
            Errno::last_raw()
        } else {
            libc::EIO
        });
        exec_error(
            self.argv[0].as_os_str(),
            errno,
            (errno == Errno::ENOENT)
                .then(|| "the file exists: its interpreter or loader is missing".to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_program_in_path() {
        let p = resolve(argv(&["sh", "-c", "true"])).unwrap();
        assert!(p.path.is_absolute() && p.path.ends_with("sh"), "{p:?}");
        assert_eq!(p.argv, argv(&["sh", "-c", "true"]));
    }

    #[test]
    fn missing_program_is_127() {
        let e = resolve(argv(&["no-such-program-xyz"])).unwrap_err();
        assert_eq!(e.status, 127);
        assert!(e.to_string().starts_with(
            "exec no-such-program-xyz: No such file or directory (not found in PATH="
        ));
        assert_eq!(resolve(argv(&["/no/such/file"])).unwrap_err().status, 127);
    }

    #[test]
    fn directory_or_non_executable_is_126() {
        assert_eq!(resolve(argv(&["/"])).unwrap_err().status, 126);
        let dir = std::env::temp_dir().join(format!("chain-exec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plain");
        std::fs::write(&file, "data").unwrap();
        let e = resolve(vec![file.clone().into_os_string()]).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        // root may execute any file with an x bit, and this one has none.
        assert_eq!(e.status, 126, "{e}");
        assert!(e.to_string().contains("Permission denied"));
    }

    #[test]
    fn empty_argv_is_an_error() {
        assert!(resolve(vec![]).is_err());
        assert_eq!(resolve(argv(&[""])).unwrap_err().status, 127);
    }
}
