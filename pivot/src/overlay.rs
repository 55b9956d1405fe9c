//! `--overlay LOWER[:LOWER...]`: the new root is an overlayfs of read-only
//! image layers, with writes going to `--upper` (and `--work`) or, when none
//! is given, to a tmpfs that disappears with the container.
//!
//! Every directory is opened first and named to overlayfs as
//! /proc/self/fd/N, so that paths with commas or colons need no escaping and
//! a tmpfs mounted on the new root (for the upper layer) cannot hide a lower
//! layer that lives there.

use crate::inroot::{fd_path, flag_names};
use chain::shown;
use chain::{Result, sys};
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

fn open_dir(path: &Path, role: &str) -> Result<OwnedFd> {
    sys(
        "open",
        format_args!("{} ({role})", shown::path(path)),
        || {
            open(
                path,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        },
    )
}

/// The overlayfs option string for opened layers.
pub fn options(lower: &[OwnedFd], upper: &OwnedFd, work: &OwnedFd) -> String {
    let lowers: Vec<String> = lower.iter().map(fd_path).collect();
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        fd_path(upper),
        fd_path(work)
    )
}

pub fn mount_root(
    new_root: &Path,
    lower: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
) -> Result<()> {
    let lowers = lower
        .iter()
        .map(|l| open_dir(l, "lower layer"))
        .collect::<Result<Vec<_>>>()?;
    let (upper, work) = match upper_work {
        Some((u, w)) => (
            open_dir(u, "upper layer")?,
            open_dir(w, "overlay work dir")?,
        ),
        None => {
            // Writes go to a tmpfs: mounted on the new root itself, where the
            // overlay will cover it (overlayfs holds on to its directories).
            sys(
                "mount",
                format_args!("tmpfs on {} (upper layer)", shown::path(new_root)),
                || {
                    mount(
                        Some("tmpfs"),
                        new_root,
                        Some("tmpfs"),
                        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                        Some("mode=755"),
                    )
                },
            )?;
            for dir in ["upper", "work"] {
                let path = new_root.join(dir);
                sys("mkdir", shown::path(&path), || {
                    nix::unistd::mkdir(&path, Mode::from_bits_truncate(0o755))
                })?;
            }
            (
                open_dir(&new_root.join("upper"), "upper layer")?,
                open_dir(&new_root.join("work"), "overlay work dir")?,
            )
        }
    };
    let data = options(&lowers, &upper, &work);
    sys("mount", format_args!("overlay on {} {} {data}", shown::path(new_root), flag_names(MsFlags::empty())), || {
        mount(Some("overlay"), new_root, Some("overlay"), MsFlags::empty(), Some(data.as_str()))
    })
    .map_err(|e| {
        e.with_hint_for(|errno| {
            (errno == nix::errno::Errno::EINVAL).then(|| {
                "overlayfs refused the layers: --upper and --work must be on the same file system, and the upper \
                 file system must support overlay (tmpfs, ext4, xfs; not another overlay)"
                    .to_string()
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_layers_by_fd() {
        let open = |p: &str| open_dir(Path::new(p), "test").unwrap();
        let (l1, l2, u, w) = (open("/"), open("/tmp"), open("/"), open("/tmp"));
        let text = options(&[l1, l2], &u, &w);
        let fds: Vec<&str> = text
            .split(['=', ',', ':'])
            .filter(|s| s.starts_with("/proc/self/fd/"))
            .collect();
        assert_eq!(fds.len(), 4, "{text}");
        assert!(
            text.starts_with("lowerdir=/proc/self/fd/")
                && text.contains(",upperdir=/proc/self/fd/")
                && text.contains(",workdir=/proc/self/fd/")
        );
    }
}
