//! The one library every chain tool shares.
//!
//! - [`exit`]: exit statuses (125 tool failure, 126 cannot execute, 127 not
//!   found, the child's status or 128+N).
//! - [`error`]: the error type, printed as one line: program, operation,
//!   object, errno, hint.
//! - [`trace`]: `-v` / `CHAIN_TRACE=1` tracing of every kernel-visible step,
//!   and [`sys`], the wrapper every syscall of a tool goes through.
//! - [`exec`]: PATH lookup and exec of the next argv.
//! - [`file`]: one-write access to /proc, /sys and cgroup files.
//! - [`ns`]: the namespace kinds (clone flags, /proc names, options).
//! - [`supervise`]: fork with parent-death signal, signal forwarding, waiting.
//! - [`outside`]: the outside-step protocol (helpers that act from the
//!   original namespaces once a later step has created new ones).
//! - [`cli`]: the `main` wrapper and small option-parsing helpers.
//! - [`carry`]: chain steps after pivot taken from the host as sealed
//!   copies (pivot carries them in; CVE-2019-5736).
//! - [`note`]: the ELF note that marks a chain tool, and how another tool
//!   looks for it before exec.
//! - [`late`]: helper answers collected just before the workload's exec.
//! - [`handed`]: the fds the chain's variables name (spared by steps that
//!   close inherited fds).
//! - [`inherited`]: inherited fds that lead out of a new root (directories,
//!   namespaces, pidfds), closed by pivot and nsenter-rs.
//! - [`arena`]: the tools' allocator (a bump arena, musl's malloc behind).
//! - [`cgroup`]: where the cgroup hierarchies are (v2, v1, hybrid) and where
//!   a process is in each (cgctl, nsenter-rs --join-cgroup).

pub mod arena;
pub mod carry;
pub mod cgroup;
pub mod cli;
pub mod error;
pub mod exec;
pub mod exit;
pub mod fault;
pub mod file;
pub mod handed;
pub mod inherited;
pub mod late;
pub mod note;
pub mod ns;
pub mod outside;
pub mod shown;
pub mod supervise;
pub mod trace;

pub use error::{Error, Result};
pub use trace::sys;
