//! vethctl's netlink reply parser (`parse_replies`, and `attrs` under it),
//! which reads what the kernel sends back on the rtnetlink socket.
//!
//! The input is used twice:
//! 1. as a datagram as it is: `parse_replies` and `attrs` must not panic,
//!    and no more messages come out than 16-byte headers fit;
//! 2. as a script that builds a datagram the way the kernel writes one:
//!    acks, errors with an extended-ack message and offset, links
//!    (RTM_NEWLINK with a name, maybe a MAC and an MTU; written with
//!    vethctl's own message writer, `Msg`) and dump ends (by hand, from
//!    the kernel's struct layouts). `parse_replies` must give back exactly
//!    the replies the script made.

#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../vethctl/src/netlink.rs"]
mod netlink;

use netlink::{IfName, Mac, Msg, Reply};

/// Bytes of the input taken in order; zeros once it runs out.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
    fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let got = self.bytes(4);
        b[..got.len()].copy_from_slice(got);
        u32::from_le_bytes(b)
    }
    /// Text of up to `max` bytes without NUL (a C string's content).
    fn text(&mut self, max: usize) -> String {
        let n = usize::from(self.u8()) % (max + 1);
        let raw: Vec<u8> = self
            .bytes(n)
            .iter()
            .map(|&b| if b == 0 { b'.' } else { b })
            .collect();
        String::from_utf8_lossy(&raw).into_owned()
    }
}

const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
const F_CAPPED: u16 = libc::NLM_F_CAPPED as u16;
const F_ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;

/// A message by hand, from the kernel's layout (`struct nlmsghdr`, then
/// the payload, padded to 4 bytes): an encoder independent of `Msg`.
fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
    out.extend_from_slice(payload);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// An attribute (`struct nlattr`, then the data, padded to 4 bytes).
fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(4 + data.len() as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// `struct nlmsgerr` with the request's header echoed (NLM_F_CAPPED: the
/// header only), as the kernel answers a request `seq`.
fn nlmsgerr(error: i32, seq: u32) -> Vec<u8> {
    let mut out = error.to_ne_bytes().to_vec();
    out.extend_from_slice(&nlmsg(libc::RTM_NEWLINK, 0x5, seq, &[])[..16]);
    out
}

/// One message as the kernel would send it, and the reply it means.
fn message(s: &mut Script) -> (Vec<u8>, Reply) {
    let seq = s.u32();
    match s.u8() % 4 {
        0 => (
            nlmsg(NLMSG_ERROR, F_CAPPED, seq, &nlmsgerr(0, seq)),
            Reply::Ack { seq },
        ),
        1 => {
            // An error: -errno, the echo, then maybe extended-ack TLVs.
            let errno = 1 + (s.u32() % 4095) as i32;
            let message = (s.u8() & 1 == 1).then(|| s.text(200));
            let offset = (s.u8() & 1 == 1).then(|| s.u32());
            let mut payload = nlmsgerr(-errno, seq);
            if let Some(text) = &message {
                let mut c = text.as_bytes().to_vec();
                c.push(0);
                payload.extend(nla(NLMSGERR_ATTR_MSG, &c));
            }
            if let Some(off) = offset {
                payload.extend(nla(NLMSGERR_ATTR_OFFS, &off.to_ne_bytes()));
            }
            let tlvs = message.is_some() || offset.is_some();
            let flags = F_CAPPED | if tlvs { F_ACK_TLVS } else { 0 };
            let reply = Reply::Error {
                seq,
                errno,
                message,
                offset,
            };
            (nlmsg(NLMSG_ERROR, flags, seq, &payload), reply)
        }
        2 => {
            // A link, written with vethctl's own writer.
            let ifindex = s.u32();
            let name = s.text(15);
            let name = match name.parse::<IfName>() {
                Ok(n) => n.to_string(),
                Err(_) => "eth0".to_string(),
            };
            let mac = (s.u8() & 1 == 1).then(|| {
                let mut b = [0u8; 6];
                let got = s.bytes(6);
                b[..got.len()].copy_from_slice(got);
                Mac(b)
            });
            let mtu = (s.u8() & 1 == 1).then(|| s.u32());
            let mut m = Msg::new(libc::RTM_NEWLINK, 0, seq);
            m.ifinfomsg(0, ifindex, 0, 0);
            if let Some(mtu) = mtu {
                m.attr_u32(libc::IFLA_MTU, mtu);
            }
            if let Some(mac) = &mac {
                m.attr_bytes(libc::IFLA_ADDRESS, &mac.0);
            }
            m.attr_str(libc::IFLA_IFNAME, &name);
            let reply = Reply::Link {
                seq,
                ifindex,
                name,
                mac,
                mtu,
            };
            (m.finish(), reply)
        }
        _ => (
            nlmsg(NLMSG_DONE, 0, seq, &0i32.to_ne_bytes()),
            Reply::Done { seq },
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. The input as a datagram.
    if let Ok(replies) = netlink::parse_replies(data) {
        assert!(replies.len() <= data.len() / 16);
    }
    let _ = netlink::attrs(data);

    // 2. The input as a script.
    let mut s = Script(data);
    let count = usize::from(s.u8() % 8);
    let mut datagram = Vec::new();
    let mut want = Vec::new();
    for _ in 0..count {
        let (bytes, reply) = message(&mut s);
        datagram.extend_from_slice(&bytes);
        want.push(reply);
    }
    assert_eq!(netlink::parse_replies(&datagram), Ok(want));
});
