//! Reading and writing kernel interface files (/proc, /sys, cgroupfs): one
//! open, one read or one write, close-on-exec, traced like every syscall.
//! Many of these files must be written in a single write(2): id maps, time
//! namespace offsets, cgroup limits.

use crate::error::Result;
use crate::trace::sys;
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use std::path::Path;

/// The errno of a std I/O error (EIO when it carries none).
pub fn errno_of(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Writes `data` to an existing file with one write(2). Fails on a short write.
pub fn write(path: &Path, data: &[u8]) -> Result<()> {
    let shown = String::from_utf8_lossy(data);
    sys(
        "write",
        format_args!("{} {:?}", path.display(), shown.trim_end()),
        || {
            let fd = open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())?;
            let n = nix::unistd::write(&fd, data)?;
            if n == data.len() {
                Ok(())
            } else {
                Err(Errno::EIO)
            }
        },
    )
}

/// Reads a whole (small) file.
pub fn read(path: &Path) -> Result<String> {
    sys("read", path.display(), || read_text(path).map_err(errno_of))
}

/// A kernel interface file's text, read into a 4 KiB buffer made first.
/// Why not `std::fs::read_to_string`: procfs and sysfs report size 0, so std
/// starts with a 32-byte read and doubles; /proc/self/mountinfo then took
/// eight reads (each one re-walking the mount table from its position)
/// where one 4 KiB read holds it whole (std reads into spare capacity).
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::with_capacity(4096);
    std::fs::File::open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// Reads a whole file as bytes (a profile, a compiled program).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    sys("read", path.display(), || {
        std::fs::read(path).map_err(errno_of)
    })
}

/// Creates (or truncates) a file and writes `data` to it (std opens it
/// close-on-exec).
pub fn create(path: &Path, data: &[u8]) -> Result<()> {
    sys("write", path.display(), || {
        std::fs::write(path, data).map_err(errno_of)
    })
}

/// Reads a file, or None when it cannot be read (for hints and reports,
/// which must not fail the tool themselves).
pub fn read_opt(path: impl AsRef<Path>) -> Option<String> {
    read_text(path.as_ref()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_files_larger_than_the_first_buffer() {
        let path = std::env::temp_dir().join(format!("chain-file-big-{}", std::process::id()));
        let text: String = (0..3000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read(&path).unwrap(), text);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            read(Path::new("/proc/self/mountinfo")).unwrap(),
            std::fs::read_to_string("/proc/self/mountinfo").unwrap()
        );
        assert!(read_opt("/nonexistent/file").is_none());
    }

    #[test]
    fn writes_and_reads_back() {
        let path = std::env::temp_dir().join(format!("chain-file-test-{}", std::process::id()));
        std::fs::write(&path, "").unwrap();
        write(&path, b"deny\n").unwrap();
        assert_eq!(read(&path).unwrap(), "deny\n");
        std::fs::remove_file(&path).unwrap();
        let e = write(&path, b"x").unwrap_err();
        assert!(e.to_string().starts_with("write "), "{e}");
        assert!(
            e.to_string().ends_with("\"x\": No such file or directory"),
            "{e}"
        );
        assert_eq!(read_opt("/nonexistent/file"), None);
    }
}
