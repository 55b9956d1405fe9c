//! Where the cgroup hierarchies are and where this process is in each.
//!
//! - pure v2: one cgroup2 mount (usually /sys/fs/cgroup) with the controllers;
//! - pure v1: one cgroup mount per controller set (/sys/fs/cgroup/memory,
//!   /sys/fs/cgroup/cpu,cpuacct, ...);
//! - hybrid: v1 controllers plus a cgroup2 mount (/sys/fs/cgroup/unified),
//!   which has the core files (cgroup.events, cgroup.kill, cgroup.freeze)
//!   but usually no controllers.
//!
//! Read from /proc/self/mountinfo (mount point and the cgroup path the mount
//! shows as its root) and /proc/self/cgroup (this process's path in each
//! hierarchy), so it also works where /sys/fs/cgroup is a bind mount of a
//! subtree, as in a container. Pure parsing, plus [`Layout::detect`].

use crate::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    V2,
    V1,
    Hybrid,
}

/// Moves the calling process into the group `dir` ("0": itself). A v1
/// hierarchy (`v1`) is joined through `tasks`: moving the calling thread
/// alone takes no cgroup_threadgroup_rwsem (the kernel skips it for a
/// single thread that is `current`), where a `cgroup.procs` write takes it
/// for writing and, after idle, waits for an RCU grace period (5-15 ms
/// here). The tools start no thread, so that thread is the whole process.
/// Where `tasks` cannot be written (a delegation that left it out),
/// `cgroup.procs`. On cgroup2 there is only `cgroup.procs`.
pub fn move_self(dir: &Path, v1: bool) -> Result<()> {
    if v1 && crate::file::write(&dir.join("tasks"), b"0").is_ok() {
        return Ok(());
    }
    crate::file::write(&dir.join("cgroup.procs"), b"0")
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// v1 controllers (`["cpu", "cpuacct"]`); empty for cgroup2.
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    /// The cgroup path the mount shows at its mount point.
    pub root: String,
    /// This process's cgroup path in the hierarchy.
    pub own: String,
}

impl Hierarchy {
    /// The directory of a cgroup path of this hierarchy, or None when the
    /// path is not below what the mount shows.
    pub fn dir_of(&self, cgroup: &str) -> Option<PathBuf> {
        let rel = if self.root == "/" {
            cgroup
        } else {
            let rest = cgroup.strip_prefix(self.root.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            rest
        };
        Some(self.mount_point.join(rel.trim_start_matches('/')))
    }

    /// This process's own cgroup directory.
    pub fn own_dir(&self) -> Option<PathBuf> {
        self.dir_of(&self.own)
    }

    pub fn name(&self) -> String {
        if self.controllers.is_empty() {
            "unified".into()
        } else {
            self.controllers.join(",")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub mode: Mode,
    /// The cgroup2 hierarchy (pure v2, or hybrid's unified tree).
    pub unified: Option<Hierarchy>,
    /// The v1 hierarchies with controllers.
    pub v1: Vec<Hierarchy>,
}

/// Unescapes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Three octal digits up to \377 are one byte; a backslash before
        // anything else (\777 would overflow a byte) is kept as it is.
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1] <= b'3'
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Layout {
    pub fn detect() -> Result<Layout> {
        let mountinfo = crate::file::read(Path::new("/proc/self/mountinfo"))?;
        let cgroup = crate::file::read(Path::new("/proc/self/cgroup"))?;
        let layout = Layout::parse(&mountinfo, &cgroup);
        if layout.unified.is_none() && layout.v1.is_empty() {
            return Err(Error::msg(
                "no cgroup file system is mounted (mount cgroup2 on /sys/fs/cgroup)",
            ));
        }
        Ok(layout)
    }

    pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Layout {
        // This process's path per hierarchy: "0::/a" (v2), "4:memory:/b" (v1).
        let mut own_v2: Option<String> = None;
        let mut own_v1: Vec<(Vec<String>, String)> = Vec::new();
        for line in proc_cgroup.lines() {
            let mut f = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if ctrls.is_empty() {
                own_v2 = Some(path.to_string());
            } else {
                own_v1.push((
                    ctrls.split(',').map(String::from).collect(),
                    path.to_string(),
                ));
            }
        }
        let mut unified = None;
        let mut v1 = Vec::new();
        for line in mountinfo.lines() {
            // Only cgroup lines are parsed: " - cgroup" can only be the
            // separator and the type (mountinfo escapes spaces in paths).
            if !line.contains(" - cgroup") {
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(sep) = fields.iter().position(|f| *f == "-") else {
                continue;
            };
            let (Some(fstype), Some(super_opts)) = (fields.get(sep + 1), fields.get(sep + 3))
            else {
                continue;
            };
            let (Some(root), Some(point)) = (fields.get(3), fields.get(4)) else {
                continue;
            };
            let (root, point) = (unescape(root), PathBuf::from(unescape(point)));
            match *fstype {
                "cgroup2" if unified.is_none() => {
                    unified = Some(Hierarchy {
                        controllers: vec![],
                        mount_point: point,
                        root,
                        own: own_v2.clone().unwrap_or_else(|| "/".into()),
                    });
                }
                "cgroup" => {
                    let controllers: Vec<String> = super_opts
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro")
                                && !o.contains('=')
                                && !o.starts_with("no")
                                && *o != "clone_children"
                                && *o != "xattr"
                        })
                        .map(String::from)
                        .collect();
                    if controllers.is_empty()
                        || v1.iter().any(|h: &Hierarchy| h.controllers == controllers)
                    {
                        continue; // a named hierarchy (name=systemd), or the same one mounted twice
                    }
                    let own = own_v1
                        .iter()
                        .find(|(c, _)| c.iter().any(|x| controllers.contains(x)))
                        .map(|(_, p)| p.clone())
                        .unwrap_or_else(|| "/".into());
                    v1.push(Hierarchy {
                        controllers,
                        mount_point: point,
                        root,
                        own,
                    });
                }
                _ => {}
            }
        }
        let mode = match (unified.is_some(), v1.is_empty()) {
            (true, true) => Mode::V2,
            (true, false) => Mode::Hybrid,
            _ => Mode::V1,
        };
        Layout { mode, unified, v1 }
    }

    /// The v1 hierarchy holding a controller.
    pub fn v1_for(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 27 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 30 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
";
    const HYBRID_CGROUP: &str =
        "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n";

    #[test]
    fn hybrid() {
        let l = Layout::parse(HYBRID_MOUNTS, HYBRID_CGROUP);
        assert_eq!(l.mode, Mode::Hybrid);
        assert_eq!(
            l.unified.as_ref().unwrap().own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(l.v1.len(), 3, "{l:?}");
        assert_eq!(
            l.v1_for("memory").unwrap().own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/memory/process_api/abc"))
        );
        assert_eq!(l.v1_for("cpuacct").unwrap().controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            l.v1_for("cpu").unwrap().own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert!(l.v1_for("blkio").is_none());
    }

    #[test]
    fn pure_v2_and_pure_v1() {
        let v2 = Layout::parse(
            "40 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "0::/user.slice/session-1.scope\n",
        );
        assert_eq!(v2.mode, Mode::V2);
        assert_eq!(
            v2.unified.unwrap().own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/user.slice/session-1.scope"))
        );
        let v1 = Layout::parse(
            "33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
            "4:memory:/a\n",
        );
        assert_eq!(v1.mode, Mode::V1);
        assert!(v1.unified.is_none());
    }

    #[test]
    fn a_mount_of_a_subtree_maps_paths() {
        // In a container, /sys/fs/cgroup shows /docker/x as its root.
        let l = Layout::parse(
            "50 1 0:40 /docker/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "0::/docker/x/app\n",
        );
        let h = l.unified.unwrap();
        assert_eq!(h.own_dir(), Some(PathBuf::from("/sys/fs/cgroup/app")));
        assert_eq!(h.dir_of("/docker/xyz"), None);
        assert_eq!(h.dir_of("/elsewhere"), None);
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/a\\134b\\011"), "/a\\b\t");
        // Found by fuzz/ (target cgroup): \777 overflowed the byte.
        assert_eq!(unescape("/a\\777b\\400"), "/a\\777b\\400");
    }
}
