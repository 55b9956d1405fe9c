//! A one-shot gate between the supervisor and its child: the child waits at
//! it until the supervisor has finished the steps that must precede the
//! workload (binding persisted namespaces, which for a new PID namespace is
//! possible only after the fork). If the supervisor fails instead, the gate
//! closes and the child exits quietly; the supervisor reports the error.

use chain::{Result, exit, sys};
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};
use std::os::fd::OwnedFd;

pub struct Gate {
    wait_end: OwnedFd,
    open_end: OwnedFd,
}

impl Gate {
    pub fn new() -> Result<Gate> {
        let (wait_end, open_end) = sys("pipe2", "O_CLOEXEC (gate)", || pipe2(OFlag::O_CLOEXEC))?;
        Ok(Gate { wait_end, open_end })
    }

    /// Supervisor side: let the child through.
    pub fn open(self) -> Result<()> {
        drop(self.wait_end);
        sys("write", "gate: open", || {
            write(&self.open_end, b"1").map(drop)
        })
    }

    /// Child side: wait until the supervisor opens the gate.
    pub fn pass(self) -> Result<()> {
        drop(self.open_end);
        let mut byte = [0u8; 1];
        let n = sys("read", "gate: wait for the supervisor", || {
            loop {
                match read(&self.wait_end, &mut byte) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other,
                }
            }
        })?;
        if n == 0 {
            // The supervisor failed and says why; nothing more to say here.
            std::process::exit(exit::TOOL_FAILED);
        }
        Ok(())
    }
}
