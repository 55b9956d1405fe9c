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

/// The names in the directory `path`, "." and ".." left out, in the
/// kernel's order: one open, getdents64 into a buffer of ours, one close.
/// Why not `std::fs::read_dir`: on musl it goes through opendir, whose DIR
/// (2 KB) comes from musl's own malloc, not the tools' arena: its first use
/// maps that allocator's memory (brk, mmap) and closedir unmaps it again.
pub fn names(path: &Path) -> std::io::Result<Vec<std::ffi::OsString>> {
    use std::os::fd::AsRawFd;
    let dir = open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: getdents64 fills at most buf.len() bytes of our buffer.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(names);
        }
        names.extend(dirent_names(&buf[..n as usize]));
    }
}

/// The names in a getdents64 buffer (`struct linux_dirent64`: inode u64,
/// offset i64, record length u16, type u8, the name NUL-terminated), "."
/// and ".." left out. A record that does not fit ends the list.
pub fn dirent_names(buf: &[u8]) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    const NAME_AT: usize = 19;
    let mut names = Vec::new();
    let mut at = 0;
    while at + NAME_AT <= buf.len() {
        let len = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
        if len < NAME_AT || at + len > buf.len() {
            break;
        }
        let field = &buf[at + NAME_AT..at + len];
        let name = &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())];
        if name != b"." && name != b".." {
            names.push(std::ffi::OsStr::from_bytes(name).to_owned());
        }
        at += len;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_directory_as_read_dir_does() {
        let dir = std::env::temp_dir().join(format!("chain-file-names-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        // More names than one 4 KiB getdents64 buffer holds.
        for i in 0..300 {
            std::fs::write(dir.join(format!("a-rather-long-file-name-{i:04}")), "").unwrap();
        }
        let mut ours = names(&dir).unwrap();
        let mut std_names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        ours.sort();
        std_names.sort();
        assert_eq!(ours.len(), 300);
        assert_eq!(ours, std_names);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names(&dir).unwrap_err().raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn dirent_records_are_parsed_and_a_cut_record_ends_the_list() {
        fn record(name: &str, len: usize) -> Vec<u8> {
            let mut r = vec![0u8; len];
            r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
            r[18] = 4; // DT_DIR
            r[19..19 + name.len()].copy_from_slice(name.as_bytes());
            r
        }
        let mut buf = record(".", 24);
        buf.extend(record("..", 24));
        buf.extend(record("42", 24));
        buf.extend(record("a-name-of-twenty-chars", 48));
        assert_eq!(dirent_names(&buf), ["42", "a-name-of-twenty-chars"]);
        // A record whose length runs past the end, or is too short to hold
        // a name, ends the list instead of reading past it.
        let mut cut = record("7", 24);
        cut.extend(&record("8", 32)[..20]);
        assert_eq!(dirent_names(&cut), ["7"]);
        let mut bad = record("9", 24);
        bad[16..18].copy_from_slice(&3u16.to_ne_bytes());
        assert!(dirent_names(&bad).is_empty());
    }

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
