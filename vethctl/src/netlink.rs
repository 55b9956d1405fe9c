//! rtnetlink requests and replies for vethctl, by hand: bytes in, bytes
//! out, no syscalls. The requests are the ones iproute2 sends for the same
//! `ip` commands, byte for byte (the tests compare against captures), since
//! those are the bytes the kernel is known to accept. The replies are parsed
//! without trusting a length: a short or lying message is an error, never a
//! panic.
//!
//! Everything in a netlink message is in host byte order except addresses,
//! which are in network order (their octets as written).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

const NLMSG_HDRLEN: usize = 16;
const NLA_HDRLEN: usize = 4;
const IFINFOMSG_LEN: usize = 16;
/// `struct nlmsgerr`: the (negative) errno, then the request's header.
const NLMSGERR_LEN: usize = 4 + NLMSG_HDRLEN;
/// IFNAMSIZ counts the NUL.
const IFNAME_MAX: usize = libc::IFNAMSIZ - 1;

// Not in libc.
/// `linux/veth.h`: the peer, a whole ifinfomsg plus its attributes.
const VETH_INFO_PEER: u16 = 1;
/// `linux/netlink.h` extended-ack attributes after the echoed request.
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;
/// `linux/rtnetlink.h`: the gateway is on the link even without a
/// connected route covering it.
const RTNH_F_ONLINK: u32 = 4;

const F_REQUEST: u16 = libc::NLM_F_REQUEST as u16;
const F_ACK: u16 = libc::NLM_F_ACK as u16;
/// Creating requests fail with EEXIST rather than change what is there:
/// vethctl only removes what it created, so it must know what that is.
const F_CREATE_NEW: u16 =
    (libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
const F_CAPPED: u16 = libc::NLM_F_CAPPED as u16;
const F_ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;
const NLA_TYPE_MASK: u16 = libc::NLA_TYPE_MASK as u16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

// ---------------------------------------------------------------------------
// Typed values, checked before anything is sent.

/// An interface name the kernel accepts (`dev_valid_name`): 1 to 15 bytes,
/// not `.` or `..`, no `/`, `:` or whitespace (nor NUL, which would end it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfName(String);

impl IfName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = String;
    fn from_str(text: &str) -> Result<IfName, String> {
        if text.is_empty() {
            return Err("an interface name cannot be empty".into());
        }
        if text.len() > IFNAME_MAX {
            return Err(format!(
                "an interface name has at most {IFNAME_MAX} bytes (IFNAMSIZ), this one has {}",
                text.len()
            ));
        }
        if text == "." || text == ".." {
            return Err(
                "an interface name cannot be '.' or '..' (it names a directory in /sys/class/net)"
                    .into(),
            );
        }
        if let Some(c) = text
            .chars()
            .find(|&c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
        {
            return Err(format!(
                "an interface name cannot contain {c:?} (the kernel refuses '/', ':', NUL and whitespace)"
            ));
        }
        Ok(IfName(text.to_owned()))
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address with its prefix length, as `ip addr` takes it
/// (`10.0.0.2/24`, `fd00::2/64`). Host bits are kept, like ip does: the
/// address is the interface's, the prefix gives the connected route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or("missing /PREFIX (write e.g. 10.0.0.2/24 or fd00::2/64)")?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address"))?;
        let max = max_prefix(addr);
        let prefix = match prefix.parse::<u8>() {
            Ok(p) if p <= max && prefix.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => {
                return Err(format!(
                    "the prefix length must be a number from 0 to {max} for {}",
                    family_name(addr)
                ));
            }
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn family_name(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn family(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        libc::AF_INET as u8
    } else {
        libc::AF_INET6 as u8
    }
}

fn octets(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// An Ethernet address a veth can have (`aa:bb:cc:dd:ee:ff`, one or two
/// hex digits a byte like ip). The kernel refuses multicast and all-zero
/// addresses with a bare EADDRNOTAVAIL; refusing them here says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl FromStr for Mac {
    type Err = String;
    fn from_str(text: &str) -> Result<Mac, String> {
        let bad = || "a MAC address is six hex bytes: aa:bb:cc:dd:ee:ff".to_string();
        let mut mac = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut mac {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        if mac[0] & 1 != 0 {
            return Err("a multicast MAC address (lowest bit of the first byte set) cannot name an interface".into());
        }
        if mac == [0; 6] {
            return Err("the all-zero MAC address cannot name an interface".into());
        }
        Ok(Mac(mac))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// One end of a veth pair, or a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub name: IfName,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    /// Tx and rx queues (IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES); None:
    /// the kind's default (a veth: one per possible CPU).
    pub queues: Option<u32>,
}

/// How far a route reaches (`rtm_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Through a gateway, or anywhere (`global`).
    Universe,
    /// Directly on the link, no gateway (`scope link`).
    Link,
    /// This host only.
    Host,
}

impl Scope {
    fn raw(self) -> u8 {
        match self {
            Scope::Universe => libc::RT_SCOPE_UNIVERSE,
            Scope::Link => libc::RT_SCOPE_LINK,
            Scope::Host => libc::RT_SCOPE_HOST,
        }
    }
}

/// A route in the main table. `dst: None` is the default route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: Option<Cidr>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub scope: Scope,
    /// Use the gateway even when no connected route covers it.
    pub onlink: bool,
}

// ---------------------------------------------------------------------------
// The message builder.

/// A netlink message under construction. Attribute payloads here are
/// bounded (names of at most 15 bytes, addresses, u32s, a few nests), so
/// no length can overflow its u16.
pub struct Msg {
    buf: Vec<u8>,
}

/// Where a nest's header is, to write its length when it ends.
pub struct Nest(usize);

impl Msg {
    pub fn new(ty: u16, flags: u16, seq: u32) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, see finish
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        // nlmsg_pid 0: the kernel is the destination, and it does not look
        // at the sender's port id.
        buf.extend_from_slice(&0u32.to_ne_bytes());
        Msg { buf }
    }

    fn pad(&mut self) {
        self.buf.resize(align4(self.buf.len()), 0);
    }

    /// `struct ifinfomsg`: family, pad, type, index, flags, change.
    pub fn ifinfomsg(&mut self, family: u8, ifindex: u32, flags: u32, change: u32) {
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        self.buf.extend_from_slice(&ifindex.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    /// `struct ifaddrmsg`: family, prefixlen, flags, scope, index.
    pub fn ifaddrmsg(&mut self, family: u8, prefix: u8, flags: u8, scope: u8, ifindex: u32) {
        self.buf.extend_from_slice(&[family, prefix, flags, scope]);
        self.buf.extend_from_slice(&ifindex.to_ne_bytes());
    }

    /// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol,
    /// scope, type, flags.
    #[allow(clippy::too_many_arguments)]
    pub fn rtmsg(
        &mut self,
        family: u8,
        dst_len: u8,
        table: u8,
        protocol: u8,
        scope: u8,
        ty: u8,
        flags: u32,
    ) {
        self.buf
            .extend_from_slice(&[family, dst_len, 0, 0, table, protocol, scope, ty]);
        self.buf.extend_from_slice(&flags.to_ne_bytes());
    }

    pub fn attr_bytes(&mut self, ty: u16, data: &[u8]) {
        let len = (NLA_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    pub fn attr_u32(&mut self, ty: u16, value: u32) {
        self.attr_bytes(ty, &value.to_ne_bytes());
    }

    pub fn attr_u8(&mut self, ty: u16, value: u8) {
        self.attr_bytes(ty, &[value]);
    }

    /// A NUL-terminated string (IFLA_IFNAME; the kernel takes it either
    /// way, iproute2 sends the NUL).
    pub fn attr_str(&mut self, ty: u16, text: &str) {
        let start = self.buf.len();
        let len = (NLA_HDRLEN + text.len() + 1) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.push(0);
        debug_assert_eq!(self.buf.len() - start, usize::from(len));
        self.pad();
    }

    /// Opens a nest of type `ty` as given: iproute2 sends IFLA_LINKINFO,
    /// IFLA_INFO_DATA and VETH_INFO_PEER without NLA_F_NESTED, and the
    /// kernel parses them by type, so we send the same.
    pub fn nest_begin(&mut self, ty: u16) -> Nest {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        Nest(at)
    }

    /// Closes a nest: its length covers everything since its header,
    /// padding included (as iproute2 counts it).
    pub fn nest_end(&mut self, nest: Nest) {
        self.pad();
        let len = (self.buf.len() - nest.0) as u16;
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// The message, its nlmsg_len written (padding included).
    pub fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

// ---------------------------------------------------------------------------
// Requests. Attributes go in iproute2's order so that the fixtures compare
// byte for byte.

/// A link's own attributes, in ip's order: MTU, ADDRESS, the queues, then
/// (for a veth peer) the namespace, then IFNAME.
fn link_attrs(msg: &mut Msg, link: &LinkSpec, netns_fd: Option<u32>) {
    if let Some(mtu) = link.mtu {
        msg.attr_u32(libc::IFLA_MTU, mtu);
    }
    if let Some(mac) = link.mac {
        msg.attr_bytes(libc::IFLA_ADDRESS, &mac.0);
    }
    if let Some(n) = link.queues {
        msg.attr_u32(libc::IFLA_NUM_TX_QUEUES, n);
        msg.attr_u32(libc::IFLA_NUM_RX_QUEUES, n);
    }
    if let Some(fd) = netns_fd {
        msg.attr_u32(libc::IFLA_NET_NS_FD, fd);
    }
    msg.attr_str(libc::IFLA_IFNAME, link.name.as_str());
}

/// `ip link add HOST [mtu M] [address A] type veth peer name PEER [mtu M]
/// [address A] [netns NS]`: the pair, with the peer born in the namespace
/// of `peer_netns_fd` (no move, which costs ~21 ms of RCU waits).
pub fn new_veth(seq: u32, host: &LinkSpec, peer: &LinkSpec, peer_netns_fd: Option<u32>) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_NEWLINK, F_CREATE_NEW, seq);
    msg.ifinfomsg(0, 0, 0, 0);
    link_attrs(&mut msg, host, None);
    let info = msg.nest_begin(libc::IFLA_LINKINFO);
    // The kind goes without its NUL, as iproute2 sends it.
    msg.attr_bytes(libc::IFLA_INFO_KIND, b"veth");
    let data = msg.nest_begin(libc::IFLA_INFO_DATA);
    let peer_nest = msg.nest_begin(VETH_INFO_PEER);
    // The peer is a whole link message: its own ifinfomsg, then attributes.
    msg.ifinfomsg(0, 0, 0, 0);
    link_attrs(&mut msg, peer, peer_netns_fd);
    msg.nest_end(peer_nest);
    msg.nest_end(data);
    msg.nest_end(info);
    msg.finish()
}

/// `ip link add NAME [mtu M] type bridge`.
/// `mac`: a bridge without an address of its own takes the lowest of its
/// ports' and changes it as ports come and go, so a container that
/// resolved the gateway a moment ago sends to an address the bridge no
/// longer has (seen: a lost ping while older containers' ports left).
/// Given one at creation, the kernel keeps it (NET_ADDR_SET), as Docker
/// does for docker0.
pub fn new_bridge(seq: u32, name: &IfName, mtu: Option<u32>, mac: Option<Mac>) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_NEWLINK, F_CREATE_NEW, seq);
    msg.ifinfomsg(0, 0, 0, 0);
    let link = LinkSpec {
        name: name.clone(),
        mtu,
        mac,
        queues: None,
    };
    link_attrs(&mut msg, &link, None);
    let info = msg.nest_begin(libc::IFLA_LINKINFO);
    msg.attr_bytes(libc::IFLA_INFO_KIND, b"bridge");
    msg.nest_end(info);
    msg.finish()
}

/// `ip link set DEV up`: IFF_UP in both ifi_flags and ifi_change, so no
/// other flag changes.
pub fn set_up(seq: u32, ifindex: u32) -> Vec<u8> {
    let up = libc::IFF_UP as u32;
    let mut msg = Msg::new(libc::RTM_NEWLINK, F_REQUEST | F_ACK, seq);
    msg.ifinfomsg(0, ifindex, up, up);
    msg.finish()
}

/// `ip link set DEV mtu MTU`. A bridge given its MTU at creation still
/// follows its smallest port (seen on 6.18: the kernel only pins a
/// bridge's MTU when it is changed after creation), so set it again with
/// this after adding the ports to keep it.
pub fn set_mtu(seq: u32, ifindex: u32, mtu: u32) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_NEWLINK, F_REQUEST | F_ACK, seq);
    msg.ifinfomsg(0, ifindex, 0, 0);
    msg.attr_u32(libc::IFLA_MTU, mtu);
    msg.finish()
}

/// `ip link set DEV master BRIDGE` (master 0 detaches).
pub fn set_master(seq: u32, ifindex: u32, master_ifindex: u32) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_NEWLINK, F_REQUEST | F_ACK, seq);
    msg.ifinfomsg(0, ifindex, 0, 0);
    msg.attr_u32(libc::IFLA_MASTER, master_ifindex);
    msg.finish()
}

/// `ip link del DEV` (for a veth, both ends go).
pub fn del_link(seq: u32, ifindex: u32) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_DELLINK, F_REQUEST | F_ACK, seq);
    msg.ifinfomsg(0, ifindex, 0, 0);
    msg.finish()
}

/// The lookup iproute2 does to turn a name into an index: one RTM_NEWLINK
/// comes back (or an NLMSG_ERROR; no ack is asked for, as ip asks none).
/// RTEXT_FILTER_SKIP_STATS keeps the reply small; RTEXT_FILTER_VF is what
/// ip also asks and costs nothing on a veth or bridge.
pub fn get_link_by_name(seq: u32, name: &IfName) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_GETLINK, F_REQUEST, seq);
    msg.ifinfomsg(0, 0, 0, 0);
    msg.attr_u32(
        libc::IFLA_EXT_MASK,
        (libc::RTEXT_FILTER_VF | libc::RTEXT_FILTER_SKIP_STATS) as u32,
    );
    msg.attr_str(libc::IFLA_IFNAME, name.as_str());
    msg.finish()
}

/// `ip addr add ADDR/PREFIX dev DEV` (IPv4 with `brd +`; IPv6 with
/// `nodad` when asked). Like ip, both IFA_LOCAL and IFA_ADDRESS carry the
/// address (they differ only on point-to-point links), and NODAD goes in
/// the header's 8-bit flags, where it fits. The broadcast address is the
/// one ip computes for `brd +`; /31 and /32 have none (RFC 3021).
pub fn new_addr(seq: u32, ifindex: u32, addr: IpAddr, prefix: u8, nodad: bool) -> Vec<u8> {
    let mut msg = Msg::new(libc::RTM_NEWADDR, F_CREATE_NEW, seq);
    // IPv4 has no DAD; the flag only means something for IPv6.
    let flags = if nodad && addr.is_ipv6() {
        libc::IFA_F_NODAD as u8
    } else {
        0
    };
    msg.ifaddrmsg(
        family(addr),
        prefix,
        flags,
        libc::RT_SCOPE_UNIVERSE,
        ifindex,
    );
    let bytes = octets(addr);
    msg.attr_bytes(libc::IFA_LOCAL, &bytes);
    msg.attr_bytes(libc::IFA_ADDRESS, &bytes);
    let broadcast = match addr {
        IpAddr::V4(v4) if prefix < 31 => {
            let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            Some(u32::from(v4) | host_bits)
        }
        _ => None,
    };
    if let Some(brd) = broadcast {
        msg.attr_bytes(libc::IFA_BROADCAST, &brd.to_be_bytes());
    }
    msg.finish()
}

/// `ip route add [DST/LEN | default] [via GW] [dev OIF] [scope S]
/// [onlink]` in the main table, protocol boot (what ip sets). Errors when
/// the family cannot be told or the destination and gateway disagree.
pub fn new_route(seq: u32, route: &RouteSpec) -> Result<Vec<u8>, String> {
    let fam_addr = match (route.dst, route.gateway) {
        (Some(dst), Some(gw)) if dst.addr.is_ipv4() != gw.is_ipv4() => {
            return Err(format!(
                "the gateway {gw} is not of the destination's family ({})",
                family_name(dst.addr)
            ));
        }
        (Some(dst), _) => dst.addr,
        (None, Some(gw)) => gw,
        (None, None) => {
            return Err(
                "a default route needs a gateway (or give 0.0.0.0/0 or ::/0 as the destination)"
                    .into(),
            );
        }
    };
    let dst_len = route.dst.map_or(0, |d| d.prefix);
    if dst_len > max_prefix(fam_addr) {
        return Err(format!(
            "the prefix length must be a number from 0 to {} for {}",
            max_prefix(fam_addr),
            family_name(fam_addr)
        ));
    }
    let flags = if route.onlink { RTNH_F_ONLINK } else { 0 };
    let mut msg = Msg::new(libc::RTM_NEWROUTE, F_CREATE_NEW, seq);
    msg.rtmsg(
        family(fam_addr),
        dst_len,
        libc::RT_TABLE_MAIN,
        libc::RTPROT_BOOT,
        route.scope.raw(),
        libc::RTN_UNICAST,
        flags,
    );
    // A zero-length destination matches everything; like ip's `default`,
    // it needs no RTA_DST.
    if let Some(dst) = route.dst.filter(|d| d.prefix > 0) {
        msg.attr_bytes(libc::RTA_DST, &octets(dst.addr));
    }
    if let Some(gw) = route.gateway {
        msg.attr_bytes(libc::RTA_GATEWAY, &octets(gw));
    }
    if let Some(oif) = route.oif {
        msg.attr_u32(libc::RTA_OIF, oif);
    }
    Ok(msg.finish())
}

// ---------------------------------------------------------------------------
// Replies.

/// One message of a reply datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// NLMSG_ERROR with error 0: the request `seq` was done.
    Ack { seq: u32 },
    /// NLMSG_ERROR with an errno (positive here, as in errno.h), the
    /// extended-ack text when the kernel gave one, and the offset in the
    /// request of the attribute it blamed.
    Error {
        seq: u32,
        errno: i32,
        message: Option<String>,
        offset: Option<u32>,
    },
    /// RTM_NEWLINK: the answer to a GETLINK.
    Link {
        seq: u32,
        ifindex: u32,
        name: String,
        mac: Option<Mac>,
        mtu: Option<u32>,
    },
    /// NLMSG_DONE: the end of a dump.
    Done { seq: u32 },
    /// Anything else (a notification, NLMSG_NOOP): the caller skips it.
    Other { seq: u32, ty: u16 },
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The attributes in `bytes`: (type without the NESTED and BYTEORDER
/// bits, payload). The last one may lack its padding.
pub fn attrs(mut bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (Some(len), Some(ty)) = (u16_at(bytes, 0), u16_at(bytes, 2)) else {
            return Err(format!(
                "netlink attribute truncated: {} bytes where a 4-byte header should be",
                bytes.len()
            ));
        };
        let len = usize::from(len);
        if len < NLA_HDRLEN || len > bytes.len() {
            return Err(format!(
                "netlink attribute {ty} claims {len} bytes, {} are there",
                bytes.len()
            ));
        }
        out.push((ty & NLA_TYPE_MASK, &bytes[NLA_HDRLEN..len]));
        bytes = &bytes[align4(len).min(bytes.len())..];
    }
    Ok(out)
}

/// Every message in one datagram from the kernel, in order.
pub fn parse_replies(mut bytes: &[u8]) -> Result<Vec<Reply>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (Some(len), Some(ty), Some(flags), Some(seq)) = (
            u32_at(bytes, 0),
            u16_at(bytes, 4),
            u16_at(bytes, 6),
            u32_at(bytes, 8),
        ) else {
            return Err(format!(
                "netlink message truncated: {} bytes where a 16-byte header should be",
                bytes.len()
            ));
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > bytes.len() {
            return Err(format!(
                "netlink message of type {ty} claims {len} bytes, {} are there",
                bytes.len()
            ));
        }
        out.push(parse_one(ty, flags, seq, &bytes[NLMSG_HDRLEN..len])?);
        bytes = &bytes[align4(len).min(bytes.len())..];
    }
    Ok(out)
}

fn parse_one(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Result<Reply, String> {
    match i32::from(ty) {
        libc::NLMSG_ERROR => parse_error(flags, seq, payload),
        libc::NLMSG_DONE => {
            // A dump that failed half-way ends with a negative errno here.
            match u32_at(payload, 0).map(|e| e as i32) {
                Some(error) if error < 0 => error_reply(seq, error, None, None),
                _ => Ok(Reply::Done { seq }),
            }
        }
        _ if ty == libc::RTM_NEWLINK => parse_link(seq, payload),
        _ => Ok(Reply::Other { seq, ty }),
    }
}

fn error_reply(
    seq: u32,
    error: i32,
    message: Option<String>,
    offset: Option<u32>,
) -> Result<Reply, String> {
    let errno = error
        .checked_neg()
        .filter(|e| *e > 0)
        .ok_or_else(|| format!("netlink error {error} is not a negative errno"))?;
    Ok(Reply::Error {
        seq,
        errno,
        message,
        offset,
    })
}

/// `struct nlmsgerr` (error, then the request's header, then the rest of
/// the request unless NLM_F_CAPPED), then with NLM_F_ACK_TLVS the
/// extended-ack attributes.
fn parse_error(flags: u16, seq: u32, payload: &[u8]) -> Result<Reply, String> {
    let (Some(error), Some(echo_len)) = (u32_at(payload, 0), u32_at(payload, 4)) else {
        return Err("NLMSG_ERROR truncated: no error code and request header".into());
    };
    if payload.len() < NLMSGERR_LEN {
        return Err("NLMSG_ERROR truncated: the echoed request header is cut".into());
    }
    let error = error as i32;
    if error == 0 {
        // The kernel may attach a warning to an ack; an ack it stays.
        return Ok(Reply::Ack { seq });
    }
    let mut message = None;
    let mut offset = None;
    if flags & F_ACK_TLVS != 0 {
        let echoed = if flags & F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            echo_len as usize
        };
        if echoed < NLMSG_HDRLEN {
            return Err(format!("NLMSG_ERROR echoes a request of {echoed} bytes"));
        }
        // The TLVs start where the echo ends, padded to 4.
        let start = align4(4 + echoed);
        let tlvs = payload.get(start..).ok_or_else(|| {
            format!(
                "NLMSG_ERROR truncated: the echoed request needs {start} bytes, {} are there",
                payload.len()
            )
        })?;
        for (ty, data) in attrs(tlvs)? {
            match ty {
                NLMSGERR_ATTR_MSG => {
                    let text = data.split(|&b| b == 0).next().unwrap_or_default();
                    message = Some(String::from_utf8_lossy(text).into_owned());
                }
                NLMSGERR_ATTR_OFFS => offset = u32_at(data, 0),
                _ => {}
            }
        }
    }
    error_reply(seq, error, message, offset)
}

fn parse_link(seq: u32, payload: &[u8]) -> Result<Reply, String> {
    let ifindex = u32_at(payload, 4)
        .filter(|_| payload.len() >= IFINFOMSG_LEN)
        .ok_or("RTM_NEWLINK truncated: no whole ifinfomsg")?;
    let mut name = None;
    let mut mac = None;
    let mut mtu = None;
    for (ty, data) in attrs(&payload[IFINFOMSG_LEN..])? {
        match ty {
            libc::IFLA_IFNAME => {
                let text = data.split(|&b| b == 0).next().unwrap_or_default();
                name = Some(String::from_utf8_lossy(text).into_owned());
            }
            // Other link types have other address lengths (none, 4, 16):
            // those are not MACs.
            libc::IFLA_ADDRESS => mac = <[u8; 6]>::try_from(data).ok().map(Mac),
            libc::IFLA_MTU => mtu = u32_at(data, 0),
            _ => {}
        }
    }
    let name = name.ok_or("RTM_NEWLINK without IFLA_IFNAME")?;
    Ok(Reply::Link {
        seq,
        ifindex,
        name,
        mac,
        mtu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    // Byte fixtures captured on kernel 6.18.44-fc-v973 (Debian 12) from
    // iproute2 6.1.0 (`ip -V`: iproute2-6.1.0, libbpf 1.1.2), as root, in
    // throwaway namespaces NS and NS2 made with `ip netns add`, with
    // `strace -f -e trace=sendmsg,recvmsg -e write=all -e read=all`.
    // The requests' seq is ip's (its start time); the builders are given
    // the same seq, so every comparison is of all the bytes. nlmsg_pid is 0
    // in all of ip's requests, as in ours.
    /// `ip -n NS link add vh0 type veth peer name vc0 netns NS2 (IFLA_NET_NS_FD is ip's fd 4)`
    const REQ_VETH: &str = "\
        5c00000010000506cf800f6b0000000000000000000000000000000000000000\
        0800030076683000340012000800010076657468280002002400010000000000\
        00000000000000000000000008001c00040000000800030076633000";
    /// `ip -n NS link add vh1 mtu 1400 address 02:11:22:33:44:55 type veth peer name vc1 mtu 1400 address 02:11:22:33:44:66 netns NS2`
    const REQ_VETH_MTU_MAC: &str = "\
        8400000010000506cf800f6b0000000000000000000000000000000000000000\
        08000400780500000a0001000211223344550000080003007668310048001200\
        08000100766574683c0002003800010000000000000000000000000000000000\
        08000400780500000a000100021122334466000008001c000400000008000300\
        76633100";
    /// `ip -n NS link add vh2 numtxqueues 1 numrxqueues 1 type veth peer name vc2 numtxqueues 1 numrxqueues 1 netns NS2`
    const REQ_VETH_QUEUES: &str = "\
        7c00000010000506e38f116b0000000000000000000000000000000000000000\
        08001f000100000008002000010000000800030076683200440012000800010076657468\
        3800020034000100000000000000000000000000000000000800\
        1f00010000000800200001000000\
        08001c00040000000800030076633200";
    /// `ip -n NS link set vh0 up (vh0 is ifindex 2)`
    const REQ_SET_UP: &str = "\
        2000000010000500cf800f6b0000000000000000020000000100000001000000";
    /// `ip -n NS link set vh0 up: the name lookup ip does first`
    const REQ_GETLINK: &str = "\
        3000000012000100cf800f6b0000000000000000000000000000000000000000\
        08001d00090000000800030076683000";
    /// `ip -n NS addr add 10.0.0.1/24 dev vh0 (no broadcast)`
    const REQ_ADDR4: &str = "\
        2800000014000506cf800f6b000000000218000002000000080002000a000001\
        080001000a000001";
    /// `ip -n NS addr add 10.0.0.3/24 brd + dev vh0`
    const REQ_ADDR4_BRD: &str = "\
        3000000014000506f0800f6b000000000218000003000000080002000a000003\
        080001000a000003080004000a0000ff";
    /// `ip -n NS addr add 10.0.0.2/31 dev vh0`
    const REQ_ADDR4_P31: &str = "\
        2800000014000506cf800f6b00000000021f000002000000080002000a000002\
        080001000a000002";
    /// `ip -n NS -6 addr add fd00::1/64 dev vh0 nodad`
    const REQ_ADDR6: &str = "\
        4000000014000506cf800f6b000000000a4002000200000014000200fd000000\
        00000000000000000000000114000100fd000000000000000000000000000001";
    /// `ip -n NS route add default via 10.0.0.1`
    const REQ_ROUTE_DEFAULT: &str = "\
        2400000018000506cf800f6b0000000002000000fe0300010000000008000500\
        0a000001";
    /// `ip -n NS route add 10.1.0.0/16 via 10.9.9.9 dev vh0 onlink`
    const REQ_ROUTE_ONLINK: &str = "\
        3400000018000506cf800f6b0000000002100000fe0300010400000008000100\
        0a010000080005000a0909090800040002000000";
    /// `ip -n NS route add 10.2.0.1/32 dev vh0 scope link`
    const REQ_ROUTE_LINK: &str = "\
        2c00000018000506cf800f6b0000000002200000fe03fd010000000008000100\
        0a0200010800040002000000";
    /// `ip -n NS link add br0 type bridge`
    const REQ_BRIDGE: &str = "\
        3800000010000506cf800f6b0000000000000000000000000000000000000000\
        0800030062723000100012000a0001006272696467650000";
    /// `ip -n NS link add br1 mtu 1400 type bridge`
    const REQ_BRIDGE_MTU: &str = "\
        4000000010000506cf800f6b0000000000000000000000000000000000000000\
        08000400780500000800030062723100100012000a0001006272696467650000";
    /// `ip -n NS link set vh0 master br0 (vh0 is 2, br0 is 3)`
    const REQ_MASTER: &str = "\
        2800000010000500cf800f6b0000000000000000020000000000000000000000\
        08000a0003000000";
    /// `ip -n NS link del vh1 (ifindex 4)`
    const REQ_DEL: &str = "\
        2000000011000500cf800f6b0000000000000000040000000000000000000000";
    /// kernel: the ack to `link add vh0 type veth peer name vc0 netns NS2`
    const REPLY_ACK: &str = "\
        2400000002000001cf800f6b95680000000000005c00000010000506cf800f6b\
        00000000";
    /// kernel: `link add vh0 type veth peer name vc1` when vh0 exists
    const REPLY_EEXIST: &str = "\
        6800000002000000cf800f6bb8680000efffffff5400000010000506cf800f6b\
        000000000000000000000000000000000000000008000300766830002c001200\
        0800010076657468200002001c00010000000000000000000000000000000000\
        0800030076633100";
    /// kernel: `link set vh0 mtu 100000`
    const REPLY_MTU_EXTACK: &str = "\
        6000000002000002cf800f6bbd680000eaffffff2800000010000500cf800f6b\
        000000000000000002000000000000000000000008000400a086010024000100\
        6d74752067726561746572207468616e20646576696365206d6178696d756d00";
    /// kernel: ip's RTM_NEWLINK probe with ifindex 0
    const REPLY_ENODEV: &str = "\
        34000000020000000000000095680000edffffff200000001000050000000000\
        0000000000000000000000000000000000000000";
    /// kernel: the name lookup of `link show nosuch`
    const REPLY_NOSUCH: &str = "\
        4800000002000000f0800f6b3c87a8a0edffffff3400000012000100f0800f6b\
        000000000000000000000000000000000000000008001d00090000000b000300\
        6e6f737563680000";
    /// kernel: the name lookup (REQ_GETLINK shape) of `link show vh1`
    const REPLY_LINK: &str = "\
        6c04000010000000cf800f6b2cac95a500000100040000000210000000000000\
        080003007668310008000d00e803000005001000020000000500110000000000\
        05004300000000000800040078050000080032004400000008003300ffff0000\
        08001b000000000008001e000000000008003d000000000008001f0002000000\
        08002800ffff0000080029000000010008003a000000010008003f0000000100\
        080040000000010008003b00f8ff070008003c00ffff00000800420000000000\
        08002000020000000500210000000000080023000100000008002f0000000000\
        0800300001000000060044000000000006004500000000000500270000000000\
        0a00010002112233445500000a000200ffffffffffff0000cc00170000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000064000700000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000c002b000500020000000000100012000900010076657468\
        0000000008002500000000000800050003000000090006006e6f6f7000000000\
        c0011a008c000200880001000000000000000000000000000100000001000000\
        0100000001000000000000000100000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        000000000000000000000000000000000000000010270000e803000000000000\
        0000000000000000000000000100000030010a00080001000000000014000500\
        ffff0000ed530800787a0000e8030000f4000200000000004000000078050000\
        01000000010000000100000001000000ffffffffa00f0000e803000000000000\
        803a090080510100030000005802000010000000000000000100000001000000\
        0100000060ea0000000000000000000000000000000000000000000000000000\
        01000000000000000000000010270000e8030000010000000000000000000000\
        0100000000000000000000000100000000000000000000000000000000000000\
        80ee360000000000000000000100000000000000000000000000000000000000\
        000000000004000000000000ffff0000ffffffff010000000000000000000000\
        0000000014000700000000000000000000000000000000000500080000000000\
        24000e0000000000000000000000000000000000000000000000000000000000\
        0000000004003e8004004180";
    /// `ip link set vh0 mtu 100000`
    const REQ_SET_MTU: &str = "\
        2800000010000500cf800f6b000000000000000002000000000000000000000008000400a0860100";
    /// kernel, to our own socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK
    /// (iproute2 sets no CAP_ACK): an RTM_NEWLINK for vh0 whose IFLA_MTU
    /// has 2 bytes. Capped echo, then MSG, OFFS (32: the attribute's place
    /// in the request) and a NLMSGERR_ATTR_POLICY nest we skip.
    const REPLY_CAPPED_EXTACK: &str = "\
        780000000200000384000000a797ab83deffffff280000001000050084000000\
        0000000027000100417474726962757465206661696c656420706f6c69637920\
        76616c69646174696f6e00000800020020000000240004800c00040000000000\
        000000000c000500ffffffff000000000800010004000000";
    const REPLY_CAPPED_EXTACK_ERRNO: i32 = libc::ERANGE;
    const REPLY_CAPPED_EXTACK_TEXT: &str = "Attribute failed policy validation";
    const REPLY_CAPPED_EXTACK_OFFSET: Option<u32> = Some(32);
    /// kernel, same socket: our new_route 10.3.0.0/16 via 10.55.0.1 with
    /// no route to the gateway.
    const REPLY_CAPPED_ROUTE: &str = "\
        440000000200000382000000a797ab839bffffff2c0000001800050682000000\
        00000000200001004e657874686f702068617320696e76616c69642067617465\
        77617900";
    /// kernel: the end of our RTM_GETLINK dump (NLM_F_MULTI, error 0).
    const REPLY_DONE: &str = "140000000300020087000000ce6c000000000000";

    fn hex(text: &str) -> Vec<u8> {
        assert!(text.len().is_multiple_of(2), "odd hex fixture");
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn seq_of(bytes: &[u8]) -> u32 {
        u32_at(bytes, 8).unwrap()
    }

    fn ifname(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn link(name: &str, mtu: Option<u32>, mac: Option<&str>) -> LinkSpec {
        LinkSpec {
            name: ifname(name),
            mtu,
            mac: mac.map(|m| m.parse().unwrap()),
            queues: None,
        }
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    /// Compares as hex so that a failure shows where the bytes differ.
    fn assert_bytes(ours: &[u8], fixture: &str) {
        let ours: String = ours.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours, fixture);
    }

    #[test]
    fn veth_matches_iproute2() {
        let f = hex(REQ_VETH);
        let ours = new_veth(
            seq_of(&f),
            &link("vh0", None, None),
            &link("vc0", None, None),
            Some(4),
        );
        assert_bytes(&ours, REQ_VETH);
    }

    #[test]
    fn veth_with_mtu_and_mac_matches_iproute2() {
        let f = hex(REQ_VETH_MTU_MAC);
        let host = link("vh1", Some(1400), Some("02:11:22:33:44:55"));
        let peer = link("vc1", Some(1400), Some("02:11:22:33:44:66"));
        assert_bytes(
            &new_veth(seq_of(&f), &host, &peer, Some(4)),
            REQ_VETH_MTU_MAC,
        );
    }

    #[test]
    fn veth_with_one_queue_each_matches_iproute2() {
        let f = hex(REQ_VETH_QUEUES);
        let one = |name| LinkSpec {
            queues: Some(1),
            ..link(name, None, None)
        };
        assert_bytes(
            &new_veth(seq_of(&f), &one("vh2"), &one("vc2"), Some(4)),
            REQ_VETH_QUEUES,
        );
    }

    #[test]
    fn link_changes_match_iproute2() {
        assert_bytes(&set_up(seq_of(&hex(REQ_SET_UP)), 2), REQ_SET_UP);
        assert_bytes(&set_master(seq_of(&hex(REQ_MASTER)), 2, 3), REQ_MASTER);
        assert_bytes(&del_link(seq_of(&hex(REQ_DEL)), 4), REQ_DEL);
        assert_bytes(&set_mtu(seq_of(&hex(REQ_SET_MTU)), 2, 100_000), REQ_SET_MTU);
        let f = hex(REQ_GETLINK);
        assert_bytes(&get_link_by_name(seq_of(&f), &ifname("vh0")), REQ_GETLINK);
    }

    #[test]
    fn bridges_match_iproute2() {
        let f = hex(REQ_BRIDGE);
        assert_bytes(
            &new_bridge(seq_of(&f), &ifname("br0"), None, None),
            REQ_BRIDGE,
        );
        let f = hex(REQ_BRIDGE_MTU);
        assert_bytes(
            &new_bridge(seq_of(&f), &ifname("br1"), Some(1400), None),
            REQ_BRIDGE_MTU,
        );
    }

    #[test]
    fn addresses_match_iproute2() {
        // vh0 was ifindex 3 in that capture's namespace.
        let f = hex(REQ_ADDR4_BRD);
        let c = cidr("10.0.0.3/24");
        assert_bytes(
            &new_addr(seq_of(&f), 3, c.addr, c.prefix, false),
            REQ_ADDR4_BRD,
        );
        let f = hex(REQ_ADDR4_P31);
        let c = cidr("10.0.0.2/31");
        assert_bytes(
            &new_addr(seq_of(&f), 2, c.addr, c.prefix, false),
            REQ_ADDR4_P31,
        );
        let f = hex(REQ_ADDR6);
        let c = cidr("fd00::1/64");
        assert_bytes(&new_addr(seq_of(&f), 2, c.addr, c.prefix, true), REQ_ADDR6);
    }

    /// Plain `ip addr add 10.0.0.1/24` sends no broadcast, and the address
    /// then has none (`ip addr` shows no `brd`). We send the one `brd +`
    /// computes, as Docker and CNI do, so that broadcasts to the subnet
    /// work; otherwise the message is ip's.
    #[test]
    fn address_without_brd_differs_only_by_broadcast() {
        let f = hex(REQ_ADDR4);
        let ours = new_addr(seq_of(&f), 2, "10.0.0.1".parse().unwrap(), 24, false);
        let theirs: Vec<_> = attrs(&f[24..]).unwrap();
        let mut extra: Vec<_> = attrs(&ours[24..]).unwrap();
        assert_eq!(ours[16..24], f[16..24], "same ifaddrmsg");
        assert_eq!(
            extra.pop(),
            Some((libc::IFA_BROADCAST, &[10u8, 0, 0, 255][..]))
        );
        assert_eq!(extra, theirs);
    }

    #[test]
    fn routes_match_iproute2() {
        let f = hex(REQ_ROUTE_DEFAULT);
        let default = RouteSpec {
            dst: None,
            gateway: Some("10.0.0.1".parse().unwrap()),
            oif: None,
            scope: Scope::Universe,
            onlink: false,
        };
        assert_bytes(&new_route(seq_of(&f), &default).unwrap(), REQ_ROUTE_DEFAULT);
        let f = hex(REQ_ROUTE_ONLINK);
        let onlink = RouteSpec {
            dst: Some(cidr("10.1.0.0/16")),
            gateway: Some("10.9.9.9".parse().unwrap()),
            oif: Some(2),
            scope: Scope::Universe,
            onlink: true,
        };
        assert_bytes(&new_route(seq_of(&f), &onlink).unwrap(), REQ_ROUTE_ONLINK);
        let f = hex(REQ_ROUTE_LINK);
        let on_link = RouteSpec {
            dst: Some(cidr("10.2.0.1/32")),
            gateway: None,
            oif: Some(2),
            scope: Scope::Link,
            onlink: false,
        };
        assert_bytes(&new_route(seq_of(&f), &on_link).unwrap(), REQ_ROUTE_LINK);
    }

    #[test]
    fn routes_refuse_what_has_no_family() {
        let mut r = RouteSpec {
            dst: None,
            gateway: None,
            oif: Some(2),
            scope: Scope::Link,
            onlink: false,
        };
        assert!(new_route(1, &r).unwrap_err().contains("needs a gateway"));
        r.dst = Some(cidr("10.0.0.0/8"));
        r.gateway = Some("fd00::1".parse().unwrap());
        assert!(new_route(1, &r).unwrap_err().contains("family"));
        r.dst = Some(Cidr {
            addr: Ipv4Addr::UNSPECIFIED.into(),
            prefix: 40,
        });
        r.gateway = None;
        assert!(new_route(1, &r).unwrap_err().contains("0 to 32"));
        // An explicit 0.0.0.0/0 is the default route, without RTA_DST.
        r.dst = Some(cidr("0.0.0.0/0"));
        r.gateway = Some("10.0.0.1".parse().unwrap());
        r.oif = None;
        r.scope = Scope::Universe;
        let f = hex(REQ_ROUTE_DEFAULT);
        assert_bytes(&new_route(seq_of(&f), &r).unwrap(), REQ_ROUTE_DEFAULT);
    }

    #[test]
    fn parses_an_ack() {
        let f = hex(REPLY_ACK);
        // The ack is capped: only the request's header comes back.
        assert_eq!(u16_at(&f, 6), Some(F_CAPPED));
        assert_eq!(
            parse_replies(&f).unwrap(),
            vec![Reply::Ack { seq: seq_of(&f) }]
        );
    }

    #[test]
    fn parses_errors_with_and_without_text() {
        let f = hex(REPLY_EEXIST);
        let eexist = Reply::Error {
            seq: seq_of(&f),
            errno: libc::EEXIST,
            message: None,
            offset: None,
        };
        assert_eq!(parse_replies(&f).unwrap(), vec![eexist]);
        let f = hex(REPLY_MTU_EXTACK);
        let mtu = Reply::Error {
            seq: seq_of(&f),
            errno: libc::EINVAL,
            message: Some("mtu greater than device maximum".into()),
            offset: None,
        };
        assert_eq!(parse_replies(&f).unwrap(), vec![mtu]);
        let f = hex(REPLY_ENODEV);
        let enodev = Reply::Error {
            seq: 0,
            errno: libc::ENODEV,
            message: None,
            offset: None,
        };
        assert_eq!(parse_replies(&f).unwrap(), vec![enodev]);
        let f = hex(REPLY_NOSUCH);
        assert!(matches!(
            parse_replies(&f).unwrap()[..],
            [Reply::Error {
                errno: libc::ENODEV,
                message: None,
                ..
            }]
        ));
    }

    #[test]
    fn parses_a_capped_error_with_text_and_offset() {
        let f = hex(REPLY_CAPPED_EXTACK);
        assert_eq!(u16_at(&f, 6), Some(F_CAPPED | F_ACK_TLVS));
        assert_eq!(
            parse_replies(&f).unwrap(),
            vec![Reply::Error {
                seq: seq_of(&f),
                errno: REPLY_CAPPED_EXTACK_ERRNO,
                message: Some(REPLY_CAPPED_EXTACK_TEXT.into()),
                offset: REPLY_CAPPED_EXTACK_OFFSET,
            }]
        );
    }

    #[test]
    fn parses_a_capped_error_with_text_only() {
        let f = hex(REPLY_CAPPED_ROUTE);
        assert_eq!(
            parse_replies(&f).unwrap(),
            vec![Reply::Error {
                seq: seq_of(&f),
                errno: libc::ENETUNREACH,
                message: Some("Nexthop has invalid gateway".into()),
                offset: None,
            }]
        );
    }

    #[test]
    fn parses_a_link() {
        let f = hex(REPLY_LINK);
        assert_eq!(
            parse_replies(&f).unwrap(),
            vec![Reply::Link {
                seq: seq_of(&f),
                ifindex: 4,
                name: "vh1".into(),
                mac: Some(Mac([0x02, 0x11, 0x22, 0x33, 0x44, 0x55])),
                mtu: Some(1400),
            }]
        );
    }

    #[test]
    fn parses_several_messages_in_one_datagram() {
        let mut d = hex(REPLY_LINK);
        d.extend(hex(REPLY_ACK));
        d.extend(hex(REPLY_MTU_EXTACK));
        d.extend(hex(REPLY_DONE));
        let got = parse_replies(&d).unwrap();
        assert_eq!(got.len(), 4);
        assert!(matches!(got[0], Reply::Link { ifindex: 4, .. }));
        assert!(matches!(got[1], Reply::Ack { .. }));
        assert!(matches!(
            got[2],
            Reply::Error {
                errno: libc::EINVAL,
                ..
            }
        ));
        assert!(matches!(got[3], Reply::Done { .. }));
    }

    fn reply_fixtures() -> Vec<Vec<u8>> {
        [
            REPLY_ACK,
            REPLY_EEXIST,
            REPLY_MTU_EXTACK,
            REPLY_ENODEV,
            REPLY_NOSUCH,
            REPLY_LINK,
            REPLY_CAPPED_EXTACK,
            REPLY_CAPPED_ROUTE,
            REPLY_DONE,
        ]
        .iter()
        .map(|h| hex(h))
        .collect()
    }

    /// A datagram cut anywhere but between messages is refused, with a
    /// text, and without a panic.
    #[test]
    fn refuses_every_truncation() {
        let mut all = Vec::new();
        let mut boundaries = vec![0];
        for f in reply_fixtures() {
            all.extend(&f);
            boundaries.push(all.len());
        }
        for cut in 0..all.len() {
            let got = parse_replies(&all[..cut]);
            if boundaries.contains(&cut) {
                assert!(got.is_ok(), "cut at {cut}: {got:?}");
            } else {
                let err = got.expect_err(&format!("cut at {cut} accepted"));
                assert!(err.contains("truncated") || err.contains("claims"), "{err}");
            }
        }
    }

    /// Every byte of every fixture set to values that break lengths and
    /// types: whatever comes out, nothing panics.
    #[test]
    fn survives_corrupted_bytes() {
        for f in reply_fixtures() {
            for at in 0..f.len() {
                for value in [0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff] {
                    let mut bad = f.clone();
                    bad[at] = value;
                    let _ = parse_replies(&bad);
                }
            }
        }
        // Hand-made lies: an errno that cannot be negated, a positive one,
        // an echo longer than the message.
        for (error, flags, echo) in [
            (i32::MIN, 0, 16u32),
            (5, 0, 16),
            (-1, F_ACK_TLVS, 4000),
            (-1, F_ACK_TLVS, 3),
        ] {
            let mut m = Msg::new(libc::NLMSG_ERROR as u16, flags, 9);
            m.buf.extend_from_slice(&error.to_ne_bytes());
            m.buf.extend_from_slice(&echo.to_ne_bytes());
            m.buf.extend_from_slice(&[0; 12]);
            assert!(
                parse_replies(&m.finish()).is_err(),
                "{error} {flags} {echo}"
            );
        }
    }

    /// Checks what the kernel checks of a request: nlmsg_len is the whole
    /// message, everything is 4-aligned, every attribute (and every nested
    /// one) fits exactly in its parent.
    fn assert_well_formed(msg: &[u8]) {
        assert_eq!(u32_at(msg, 0), Some(msg.len() as u32));
        assert_eq!(msg.len() % 4, 0);
        let ty = u16_at(msg, 4).unwrap();
        let family_len = match ty {
            libc::RTM_NEWLINK | libc::RTM_DELLINK | libc::RTM_GETLINK => IFINFOMSG_LEN,
            libc::RTM_NEWADDR => 8,
            libc::RTM_NEWROUTE => 12,
            _ => panic!("unexpected type {ty}"),
        };
        walk(
            &msg[NLMSG_HDRLEN + family_len..],
            ty == libc::RTM_NEWLINK,
            0,
        );
    }

    fn walk(bytes: &[u8], link: bool, depth: usize) {
        assert_eq!(bytes.len() % 4, 0);
        let mut total = 0;
        for (ty, data) in attrs(bytes).unwrap() {
            total += align4(NLA_HDRLEN + data.len());
            match (link, depth, ty) {
                (true, 0, libc::IFLA_LINKINFO) | (true, 1, libc::IFLA_INFO_DATA) => {
                    walk(data, true, depth + 1)
                }
                (true, 2, VETH_INFO_PEER) => walk(&data[IFINFOMSG_LEN..], true, 0),
                _ => {}
            }
        }
        assert_eq!(total, bytes.len());
    }

    #[test]
    fn every_builder_makes_well_formed_messages() {
        let host = link("veth-host-0123", Some(9000), Some("02:00:00:00:00:01"));
        let peer = link("eth0", None, Some("0a:00:00:00:00:02"));
        let mut built = vec![
            new_veth(1, &host, &peer, Some(3)),
            new_veth(2, &link("a", None, None), &link("b", Some(68), None), None),
            new_bridge(3, &ifname("br-0123456789ab"), Some(1500), None),
            new_bridge(4, &ifname("b"), None, Some(Mac([2, 0, 0, 0, 0, 1]))),
            set_up(5, 7),
            set_master(6, 7, 8),
            set_mtu(6, 7, 1280),
            del_link(7, 7),
            get_link_by_name(8, &ifname("x")),
        ];
        for (text, nodad) in [
            ("10.0.0.2/24", false),
            ("10.0.0.2/32", false),
            ("192.168.1.1/0", false),
            ("fd00::2/64", true),
            ("fe80::1/10", false),
        ] {
            let c = cidr(text);
            built.push(new_addr(9, 7, c.addr, c.prefix, nodad));
        }
        for (dst, gw) in [
            (None, Some("fd00::1")),
            (Some("10.0.0.0/8"), None),
            (Some("::/0"), Some("fe80::1")),
        ] {
            let r = RouteSpec {
                dst: dst.map(cidr),
                gateway: gw.map(|g| g.parse().unwrap()),
                oif: Some(7),
                scope: Scope::Universe,
                onlink: true,
            };
            built.push(new_route(10, &r).unwrap());
        }
        for msg in &built {
            assert_well_formed(msg);
        }
        // A veth request is itself a link message: it parses back to the
        // host end's name, MTU and MAC.
        assert_eq!(
            parse_replies(&built[0]).unwrap(),
            vec![Reply::Link {
                seq: 1,
                ifindex: 0,
                name: "veth-host-0123".into(),
                mac: Some(Mac([2, 0, 0, 0, 0, 1])),
                mtu: Some(9000),
            }]
        );
    }

    #[test]
    fn interface_names() {
        for good in ["eth0", "a", "veth-0123456789", "br.0", "ü-name"] {
            assert_eq!(good.parse::<IfName>().unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("", "empty"),
            ("veth-0123456789a", "at most 15"),
            (".", "'.'"),
            ("..", "'.'"),
            ("a/b", "'/'"),
            ("a b", "' '"),
            ("a:1", "':'"),
            ("a\tb", "'\\t'"),
            ("a\0b", "'\\0'"),
        ] {
            let err = bad.parse::<IfName>().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn cidrs() {
        let c = cidr("10.0.0.2/24");
        assert_eq!((c.addr, c.prefix), (Ipv4Addr::new(10, 0, 0, 2).into(), 24));
        let c = cidr("fd00::2/64");
        assert_eq!(
            c.addr,
            IpAddr::from(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2))
        );
        assert_eq!(c.to_string(), "fd00::2/64");
        assert_eq!(cidr("::/0").prefix, 0);
        assert_eq!(cidr("10.0.0.1/32").prefix, 32);
        assert_eq!(cidr("::1/128").prefix, 128);
        for (bad, why) in [
            ("10.0.0.2", "missing /PREFIX"),
            ("10.0.0.2/", "0 to 32"),
            ("10.0.0.2/33", "0 to 32 for IPv4"),
            ("10.0.0.2/+3", "0 to 32"),
            ("10.0.0.2/999", "0 to 32"),
            ("fd00::/129", "0 to 128 for IPv6"),
            ("10.0.0/24", "not an IPv4 or IPv6"),
            ("eth0/24", "not an IPv4 or IPv6"),
        ] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn macs() {
        let m: Mac = "02:11:22:33:44:5f".parse().unwrap();
        assert_eq!(m.0, [2, 0x11, 0x22, 0x33, 0x44, 0x5f]);
        assert_eq!(
            "2:A:b:c:d:E".parse::<Mac>().unwrap().to_string(),
            "02:0a:0b:0c:0d:0e"
        );
        for (bad, why) in [
            ("01:00:5e:00:00:01", "multicast"),
            ("ff:ff:ff:ff:ff:ff", "multicast"),
            ("00:00:00:00:00:00", "all-zero"),
            ("02:11:22:33:44", "six hex bytes"),
            ("02:11:22:33:44:55:66", "six hex bytes"),
            ("02:11:22:33:44:5g", "six hex bytes"),
            ("02:11:22:33:44:", "six hex bytes"),
            ("002:11:22:33:44:55", "six hex bytes"),
            ("02-11-22-33-44-55", "six hex bytes"),
        ] {
            let err = bad.parse::<Mac>().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
