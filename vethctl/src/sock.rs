//! One rtnetlink socket of one network namespace: a request and its answer,
//! with the kernel's extended-ack text in errors. A netlink socket belongs
//! to the namespace it was created in, so each namespace gets its own.

use crate::netlink::{self, IfName, Mac, Reply};
use chain::{Error, Result, sys};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct Nl {
    fd: OwnedFd,
    seq: u32,
    /// One receive buffer for every reply (no allocation per answer).
    buf: Vec<u8>,
    /// Replies read but not asked for yet (a datagram may hold several).
    pending: std::collections::VecDeque<Reply>,
}

/// One request of a batch: built with its sequence number already.
pub struct Step {
    pub op: &'static str,
    pub object: String,
    pub msg: Vec<u8>,
    pub seq: u32,
}

/// A link as GETLINK reports it.
#[derive(Debug, Clone)]
pub struct Link {
    pub ifindex: u32,
    pub name: String,
    pub mac: Option<Mac>,
    pub mtu: Option<u32>,
}

const NETLINK_EXT_ACK: libc::c_int = 11;
const NETLINK_CAP_ACK: libc::c_int = 10;

fn setsockopt_one(fd: &OwnedFd, opt: libc::c_int) -> nix::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: an int option on a socket we own.
    Errno::result(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_NETLINK,
            opt,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

impl Nl {
    /// A NETLINK_ROUTE socket in the calling thread's network namespace.
    pub fn open(where_: &str) -> Result<Nl> {
        Nl::open_protocol(libc::NETLINK_ROUTE, "NETLINK_ROUTE", where_)
    }

    /// A netlink socket of `protocol` (NETLINK_NETFILTER for nf_tables).
    pub fn open_protocol(protocol: libc::c_int, shown: &str, where_: &str) -> Result<Nl> {
        let fd = sys(
            "socket",
            format_args!("AF_NETLINK {shown} ({where_})"),
            || {
                // SAFETY: a new socket; owned at once.
                Errno::result(unsafe {
                    libc::socket(
                        libc::AF_NETLINK,
                        libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                        protocol,
                    )
                })
                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            },
        )?;
        // The kernel's reason in words, and errors without the echoed request.
        // Kernels before 4.12 lack them: errors then come without the text,
        // which is no reason to fail.
        let _ = setsockopt_one(&fd, NETLINK_EXT_ACK);
        let _ = setsockopt_one(&fd, NETLINK_CAP_ACK);
        Ok(Nl {
            fd,
            seq: 0,
            buf: vec![0u8; 32 * 1024],
            pending: Default::default(),
        })
    }

    fn send(&self, msg: &[u8]) -> nix::Result<()> {
        // SAFETY: sends our buffer; the kernel's address is the default (pid 0).
        let n = Errno::result(unsafe {
            libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0)
        })?;
        if n as usize == msg.len() {
            Ok(())
        } else {
            Err(Errno::EIO)
        }
    }

    /// The answer to `seq`: its ack, error or link reply.
    fn answer(&mut self, seq: u32) -> std::result::Result<Reply, (Errno, Option<String>)> {
        loop {
            while let Some(r) = self.pending.pop_front() {
                match r {
                    Reply::Ack { seq: s } | Reply::Link { seq: s, .. } if s == seq => return Ok(r),
                    Reply::Error {
                        seq: s,
                        errno,
                        message,
                        ..
                    } if s == seq => {
                        return Err((Errno::from_raw(errno), message));
                    }
                    // Answers to other requests of a batch wait their turn.
                    Reply::Ack { seq: s }
                    | Reply::Link { seq: s, .. }
                    | Reply::Error { seq: s, .. }
                        if s > seq =>
                    {
                        self.pending.push_front(r);
                        break;
                    }
                    _ => {}
                }
            }
            if !self.pending.is_empty() {
                // An answer to a later request came first: ours is missing.
                return Err((Errno::EPROTO, Some(format!("no answer to request {seq}"))));
            }
            // SAFETY: receives into our buffer.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    continue;
                }
                return Err((e, None));
            }
            let replies = netlink::parse_replies(&self.buf[..n as usize])
                .map_err(|m| (Errno::EPROTO, Some(m)))?;
            self.pending.extend(replies);
        }
    }

    pub fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Sends every step in one datagram and waits for each answer in turn:
    /// one round trip instead of one per request. The kernel handles each
    /// message on its own, so after a failure later steps may have been
    /// done: the caller undoes the whole wiring.
    pub fn batch_steps(&mut self, steps: &[Step]) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let all: Vec<u8> = steps.iter().flat_map(|s| s.msg.iter().copied()).collect();
        let shown: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {}", s.op, s.object))
            .collect();
        let mut failed: Option<(usize, Errno, Option<String>)> = None;
        let result = sys("netlink batch", shown.join("; "), || {
            self.send(&all)?;
            for (i, step) in steps.iter().enumerate() {
                if let Err((e, m)) = self.answer(step.seq) {
                    failed = Some((i, e, m));
                    return Err(e);
                }
            }
            Ok(())
        });
        match (result, failed) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some((i, e, m))) => {
                let err = Error::sys(steps[i].op, &steps[i].object, e);
                Err(match m {
                    Some(t) => err.with_hint(t),
                    None => err,
                })
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Sends one request built for the next sequence number and waits for
    /// its answer; `op` and `object` name it in traces and errors.
    pub fn request(
        &mut self,
        op: &str,
        object: &str,
        build: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<Reply> {
        self.seq += 1;
        let seq = self.seq;
        let msg = build(seq);
        let mut text = None;
        let result = sys(op, object, || {
            self.send(&msg)?;
            self.answer(seq).map_err(|(e, m)| {
                text = m;
                e
            })
        });
        result.map_err(|e| match text {
            Some(t) => e.with_hint(t),
            None => e,
        })
    }

    /// Sends a batch (nf_tables) and waits for the answer of every sequence
    /// number in `acks`; the first error is the batch's (the kernel then
    /// commits nothing).
    pub fn batch(&mut self, op: &str, object: &str, msg: &[u8], acks: &[u32]) -> Result<()> {
        let mut text = None;
        let result = sys(op, object, || {
            self.send(msg)?;
            for &seq in acks {
                self.answer(seq).map_err(|(e, m)| {
                    text = m;
                    e
                })?;
            }
            Ok(())
        });
        result.map_err(|e| match text {
            Some(t) => e.with_hint(t),
            None => e,
        })
    }

    /// The link named `name`, or None when this namespace has none.
    pub fn link(&mut self, name: &IfName) -> Result<Option<Link>> {
        match self.request("RTM_GETLINK", name.as_str(), |seq| {
            netlink::get_link_by_name(seq, name)
        }) {
            Ok(Reply::Link {
                ifindex,
                name,
                mac,
                mtu,
                ..
            }) => Ok(Some(Link {
                ifindex,
                name,
                mac,
                mtu,
            })),
            Ok(_) => Err(Error::msg(format!(
                "RTM_GETLINK {name}: the kernel answered with no link"
            ))),
            Err(e) if e.errno == Some(Errno::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
