//! Paths inside the new root, resolved as the container will see them and
//! never outside it.
//!
//! A rootfs may be hostile: `/proc -> /` or `dev -> ../../..` inside it must
//! not make a mount land on the host. Every path below the new root is
//! opened with `openat2(RESOLVE_IN_ROOT)` (symlinks resolve as if the new
//! root were `/`, `..` stops at it), the last component is never followed
//! (a symlink at a mount target is refused), and mounts are made onto the
//! opened file through `/proc/self/fd/N`, so nothing is looked up twice.

use chain::shown;
use chain::{Error, Result, sys};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2, readlinkat};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, mkdirat};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// What a mount target must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// The new root, open as a directory.
pub struct Root {
    fd: OwnedFd,
    /// The host path, for messages.
    pub path: PathBuf,
}

/// The path that names an open file for mount(2): the magic link resolves
/// to exactly the file we opened.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

/// How often a lookup is tried again when the kernel cannot rule out an
/// escape through `..` (each try is a few microseconds).
const TRIES: usize = 100;

/// openat2 inside the root. With RESOLVE_IN_ROOT, a `..` (in the path or in
/// a symlink of the image) fails with EAGAIN whenever anything was renamed
/// or mounted on the system during the lookup (the kernel then cannot be
/// sure `..` did not step out); openat2(2) says to try again.
fn in_root(root: &OwnedFd, path: &Path, how: OpenHow) -> nix::Result<OwnedFd> {
    let mut tries = 1;
    loop {
        match openat2(root, path, how) {
            Err(Errno::EAGAIN) if tries < TRIES => tries += 1,
            other => return other,
        }
    }
}

fn is(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

/// `/proc` -> `proc`: openat2 with RESOLVE_IN_ROOT takes both, but messages
/// and joins want the relative form. `..` stays for the kernel to resolve
/// (`a/../b` is `b`, and `..` stops at the new root): dropping it would
/// make `/a/../b` mean `/a/b`.
fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

impl Root {
    /// Opens the directory that is now the new root's top mount.
    pub fn open(path: &Path) -> Result<Root> {
        let fd = sys(
            "open",
            format_args!("{} (new root)", shown::path(path)),
            || {
                nix::fcntl::open(
                    path,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
            },
        )?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// How a path inside shows in messages: `./rootfs:/proc`.
    pub fn show(&self, inside: &Path) -> String {
        format!(
            "{}:/{}",
            shown::path(&self.path),
            shown::path(&relative(inside))
        )
    }

    /// Opens `inside` (O_PATH) without following a symlink at its end.
    pub fn open_path(&self, inside: &Path) -> Result<OwnedFd> {
        let rel = relative(inside);
        if rel.as_os_str().is_empty() {
            return sys("open", self.show(inside), || {
                nix::unistd::dup(&self.fd).and_then(cloexec)
            });
        }
        sys(
            "openat2",
            format_args!("{} RESOLVE_IN_ROOT", self.show(inside)),
            || in_root(&self.fd, &rel, how(OFlag::O_PATH)),
        )
    }

    /// Opens a mount target, creating it (and its parents) when missing. A
    /// symlink or a file of the wrong kind is refused: mounting there could
    /// land outside the new root or surprise the image.
    pub fn mount_point(&self, inside: &Path, kind: Kind) -> Result<OwnedFd> {
        match self.open_path(inside) {
            Ok(fd) => {
                self.check_kind(inside, &fd, kind)?;
                Ok(fd)
            }
            Err(e) if e.errno == Some(Errno::ENOENT) => {
                self.create(inside, kind)?;
                let fd = self.open_path(inside)?;
                self.check_kind(inside, &fd, kind)?;
                Ok(fd)
            }
            Err(e) => Err(e),
        }
    }

    fn check_kind(&self, inside: &Path, fd: &OwnedFd, kind: Kind) -> Result<()> {
        let st = sys("fstat", self.show(inside), || fstat(fd))?;
        if is(&st, SFlag::S_IFLNK) {
            let target = readlinkat(fd, "")
                .map(|t| shown::path(Path::new(&t)))
                .unwrap_or_default();
            return Err(Error::msg(format!(
                "{} is a symlink (to {target}): refusing to mount over it",
                self.show(inside)
            )));
        }
        let dir = is(&st, SFlag::S_IFDIR);
        if dir != (kind == Kind::Dir) {
            let (want, found) = if dir {
                ("a file", "a directory")
            } else {
                ("a directory", "not a directory")
            };
            return Err(Error::msg(format!(
                "{} is {found}; a mount here needs {want}",
                self.show(inside)
            )));
        }
        Ok(())
    }

    /// Creates `inside` and its missing parents, each resolved in the root.
    pub fn create(&self, inside: &Path, kind: Kind) -> Result<()> {
        let rel = relative(inside);
        let Some(name) = rel.file_name() else {
            return Ok(());
        };
        let parent = rel.parent().unwrap_or(Path::new(""));
        if !parent.as_os_str().is_empty() {
            self.mkdir_p(parent)?;
        }
        let dir = self.open_dir(parent)?;
        let created = match kind {
            Kind::Dir => sys("mkdirat", self.show(inside), || {
                mkdirat(&dir, name, Mode::from_bits_truncate(0o755))
            }),
            Kind::File => sys(
                "openat",
                format_args!("{} O_CREAT", self.show(inside)),
                || {
                    nix::fcntl::openat(
                        &dir,
                        name,
                        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                },
            ),
        };
        match created {
            Err(e) if e.errno == Some(Errno::EEXIST) => Ok(()),
            other => other.map_err(|e| e.with_hint_for(read_only_hint)),
        }
    }

    /// `mkdir -p` inside the root.
    pub fn mkdir_p(&self, inside: &Path) -> Result<()> {
        let mut so_far = PathBuf::new();
        for part in relative(inside).components() {
            so_far.push(part);
            match self.open_path(&so_far) {
                Ok(_) => {}
                Err(e) if e.errno == Some(Errno::ENOENT) => self.create(&so_far, Kind::Dir)?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Opens the working directory (`--wd`) the way the container would
    /// reach it, symlinks followed inside the root, but never through a
    /// /proc magic link: `/proc/self/fd/N` of an inherited directory is the
    /// host's directory (runc's CVE-2024-21626).
    pub fn open_workdir(&self, inside: &Path) -> Result<OwnedFd> {
        self.open_dir(inside).map_err(|e| {
            e.with_hint_for(|errno| {
                (errno == Errno::ELOOP).then(|| {
                    "--wd is resolved inside the new root and never through a /proc magic link \
                     (/proc/self/fd/N, /proc/PID/cwd, /proc/PID/root): name a directory of the image"
                        .into()
                })
            })
        })
    }

    /// Opens a directory inside the root for *at calls (following symlinks
    /// inside the root, as the container would).
    fn open_dir(&self, inside: &Path) -> Result<OwnedFd> {
        let rel = relative(inside);
        if rel.as_os_str().is_empty() {
            return sys("open", self.show(inside), || {
                nix::unistd::dup(&self.fd).and_then(cloexec)
            });
        }
        sys(
            "openat2",
            format_args!("{} RESOLVE_IN_ROOT", self.show(inside)),
            || {
                let how = OpenHow::new()
                    .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
                    .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
                in_root(&self.fd, &rel, how)
            },
        )
    }

    /// Creates a symlink inside the root (bubblewrap's --symlink).
    pub fn symlink(&self, target: &Path, link: &Path) -> Result<()> {
        let rel = relative(link);
        let name = rel
            .file_name()
            .ok_or_else(|| Error::msg(format!("--symlink: {} has no name", shown::path(link))))?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        self.mkdir_p(parent)?;
        let dir = self.open_dir(parent)?;
        let made = sys(
            "symlinkat",
            format_args!("{} -> {}", self.show(link), shown::path(target)),
            || nix::unistd::symlinkat(target, &dir, name),
        );
        match made {
            // The same link already there (an image that has it) is fine.
            Err(e) if e.errno == Some(Errno::EEXIST) => {
                let existing = readlinkat(&dir, name).ok();
                if existing.as_deref() == Some(target.as_os_str()) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            other => other.map_err(|e| e.with_hint_for(read_only_hint)),
        }
    }
}

/// A directory pivot has just mounted itself (the tmpfs on /dev): nothing
/// in it comes from the image, so single names are used directly with the
/// *at calls, without resolving anything.
pub struct Fresh {
    fd: OwnedFd,
    shown: String,
}

impl Fresh {
    pub fn open(root: &Root, inside: &Path) -> Result<Fresh> {
        let fd = root.open_path(inside)?;
        Ok(Fresh {
            fd,
            shown: root.show(inside),
        })
    }

    fn show(&self, name: &str) -> String {
        format!("{}/{name}", self.shown)
    }

    /// A character device node, mode 0666 (the caller clears the umask).
    pub fn mknod(&self, name: &str, major: u64, minor: u64) -> Result<()> {
        sys(
            "mknodat",
            format_args!("{} c {major}:{minor}", self.show(name)),
            || {
                nix::sys::stat::mknodat(
                    &self.fd,
                    name,
                    SFlag::S_IFCHR,
                    Mode::from_bits_truncate(0o666),
                    nix::sys::stat::makedev(major, minor),
                )
            },
        )
    }

    pub fn symlink(&self, target: &str, name: &str) -> Result<()> {
        sys(
            "symlinkat",
            format_args!("{} -> {target}", self.show(name)),
            || nix::unistd::symlinkat(target, &self.fd, name),
        )
    }

    /// Creates an entry and opens it as a mount target.
    pub fn mount_point(&self, name: &str, kind: Kind) -> Result<(OwnedFd, String)> {
        let shown = self.show(name);
        match kind {
            Kind::Dir => sys("mkdirat", &shown, || {
                mkdirat(&self.fd, name, Mode::from_bits_truncate(0o755))
            })?,
            Kind::File => sys("openat", format_args!("{shown} O_CREAT"), || {
                nix::fcntl::openat(
                    &self.fd,
                    name,
                    OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o644),
                )
                .map(drop)
            })?,
        }
        let fd = sys("openat", format_args!("{shown} O_PATH"), || {
            nix::fcntl::openat(
                &self.fd,
                name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        })?;
        Ok((fd, shown))
    }
}

/// mount(2) onto an opened target, traced with the path the user knows.
pub fn mount_on(
    source: Option<&str>,
    target: &OwnedFd,
    shown: &str,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    let what = match (fstype, source) {
        (Some(fs), _) => format!("{fs} on {shown}"),
        (None, Some(src)) => format!("{src} on {shown}"),
        (None, None) => shown.to_string(),
    };
    sys(
        "mount",
        format_args!(
            "{what} {}{}",
            flag_names(flags),
            data.map(|d| format!(" {d}")).unwrap_or_default()
        ),
        || mount(source, fd_path(target).as_str(), fstype, flags, data),
    )
}

/// `MS_BIND|MS_REC`, for traces.
pub fn flag_names(flags: MsFlags) -> String {
    let names = [
        (MsFlags::MS_RDONLY, "MS_RDONLY"),
        (MsFlags::MS_NOSUID, "MS_NOSUID"),
        (MsFlags::MS_NODEV, "MS_NODEV"),
        (MsFlags::MS_NOEXEC, "MS_NOEXEC"),
        (MsFlags::MS_REMOUNT, "MS_REMOUNT"),
        (MsFlags::MS_BIND, "MS_BIND"),
        (MsFlags::MS_MOVE, "MS_MOVE"),
        (MsFlags::MS_REC, "MS_REC"),
        (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
        (MsFlags::MS_SLAVE, "MS_SLAVE"),
        (MsFlags::MS_STRICTATIME, "MS_STRICTATIME"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "0".into()
    } else {
        set.join("|")
    }
}

fn read_only_hint(errno: Errno) -> Option<String> {
    match errno {
        Errno::EROFS => Some("the image is read-only: use --overlay IMAGE to write over it, or create the path in the image".into()),
        Errno::EACCES => Some(
            "this user may not write in the image (rootless, a root-owned image): create the path in the image, or use --overlay IMAGE".into(),
        ),
        _ => None,
    }
}

fn cloexec(fd: OwnedFd) -> nix::Result<OwnedFd> {
    nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(fd)
}

/// Whether an fd refers to a directory.
pub fn is_dir(fd: impl AsFd) -> bool {
    fstat(fd).is_ok_and(|st| is(&st, SFlag::S_IFDIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/proc")), PathBuf::from("proc"));
        assert_eq!(relative(Path::new("/dev/pts/")), PathBuf::from("dev/pts"));
        assert_eq!(relative(Path::new("/")), PathBuf::new());
        // `..` is the kernel's to resolve, inside the root.
        assert_eq!(relative(Path::new("/a/../b")), PathBuf::from("a/../b"));
        assert_eq!(relative(Path::new("/../x/./y")), PathBuf::from("../x/y"));
    }

    #[test]
    fn flag_names_for_traces() {
        assert_eq!(
            flag_names(MsFlags::MS_BIND | MsFlags::MS_REC),
            "MS_BIND|MS_REC"
        );
        assert_eq!(flag_names(MsFlags::empty()), "0");
    }

    /// A `..` lookup while something on the system is renamed: the kernel
    /// answers EAGAIN to some of them, and they are tried again.
    #[test]
    fn dotdot_lookups_survive_renames_elsewhere() {
        let dir = std::env::temp_dir().join(format!("pivot-rename-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/etc")).unwrap();
        std::os::unix::fs::symlink("../..", dir.join("root/up")).unwrap();
        let root = Root::open(&dir.join("root")).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let renamer = {
            let (stop, dir) = (stop.clone(), dir.clone());
            std::fs::write(dir.join("a"), "").unwrap();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::fs::rename(dir.join("a"), dir.join("b")).unwrap();
                    std::fs::rename(dir.join("b"), dir.join("a")).unwrap();
                }
            })
        };
        let failed = (0..20000)
            .filter(|_| root.open_path(Path::new("/up/../etc")).is_err())
            .count();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        renamer.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(failed, 0, "lookups with .. failed while renames ran");
    }

    /// Resolution stays inside the root even through hostile symlinks (no
    /// privileges needed: this only opens files).
    #[test]
    fn hostile_symlinks_stay_inside() {
        let dir = std::env::temp_dir().join(format!("pivot-inroot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/marker"), "inside").unwrap();
        std::os::unix::fs::symlink("/", dir.join("proc")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", dir.join("up")).unwrap();
        let root = Root::open(&dir).unwrap();
        // A symlink at the mount target is refused.
        let e = root.mount_point(Path::new("/proc"), Kind::Dir).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a symlink (to /): refusing to mount over it"),
            "{e}"
        );
        // Through a symlink, `/` and `..` mean the new root, not the host's.
        let via = root.open_path(Path::new("/up/etc/marker")).unwrap();
        let content = std::fs::read_to_string(fd_path(&via)).unwrap();
        assert_eq!(content, "inside");
        // Creating below a hostile symlink creates inside the root.
        root.mkdir_p(Path::new("/up/created-inside")).unwrap();
        assert!(dir.join("created-inside").is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
