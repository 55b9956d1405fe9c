//! nf_tables requests for vethctl's NAT, by hand: bytes in, bytes out, no
//! syscalls. One batch makes what Docker's default bridge has, a `nat`
//! chain at postrouting that masquerades the containers' subnet when it
//! leaves by an interface other than the bridge; another batch removes it.
//! The messages are the ones nft 1.0.6 sends for the same commands, byte for
//! byte except for NLM_F_ACK (the tests compare against captures). The
//! kernel is known to accept those bytes, and `nft list ruleset` prints them
//! back as the rule a person would have written.
//!
//! nfnetlink takes the batch as one transaction: NFNL_MSG_BATCH_BEGIN, the
//! changes, NFNL_MSG_BATCH_END, in one datagram. Either all of it is
//! committed or none of it is. The netlink and attribute headers are in host
//! order, as everywhere in netlink, but the kernel reads the numbers inside
//! nf_tables attributes with ntohl: those are big-endian. So are the nfgenmsg
//! `res_id` and the data the rule compares (a packet's own bytes).

use std::net::IpAddr;

use crate::netlink::{Cidr, IfName};

const NLMSG_HDRLEN: usize = 16;
const NLA_HDRLEN: usize = 4;
/// `struct nfgenmsg`: family, version, res_id (big-endian).
const NFGENMSG_LEN: usize = 4;
/// NFT_NAME_MAXLEN counts the NUL.
const TABLE_NAME_MAX: usize = libc::NFT_TABLE_MAXNAMELEN as usize - 1;

const F_REQUEST: u16 = libc::NLM_F_REQUEST as u16;
const F_ACK: u16 = libc::NLM_F_ACK as u16;
const F_EXCL: u16 = libc::NLM_F_EXCL as u16;
const F_CREATE: u16 = libc::NLM_F_CREATE as u16;
const F_APPEND: u16 = libc::NLM_F_APPEND as u16;
const NLA_F_NESTED: u16 = libc::NLA_F_NESTED as u16;

const SUBSYS_NFTABLES: u16 = libc::NFNL_SUBSYS_NFTABLES as u16;
const BATCH_BEGIN: u16 = libc::NFNL_MSG_BATCH_BEGIN as u16;
const BATCH_END: u16 = libc::NFNL_MSG_BATCH_END as u16;

/// nf_tables message types: the subsystem in the high byte.
const fn nft_msg(msg: libc::c_int) -> u16 {
    (SUBSYS_NFTABLES << 8) | msg as u16
}
const MSG_NEWTABLE: u16 = nft_msg(libc::NFT_MSG_NEWTABLE);
const MSG_DELTABLE: u16 = nft_msg(libc::NFT_MSG_DELTABLE);
const MSG_NEWCHAIN: u16 = nft_msg(libc::NFT_MSG_NEWCHAIN);
const MSG_NEWRULE: u16 = nft_msg(libc::NFT_MSG_NEWRULE);

// `linux/netfilter/nf_tables.h` attributes, which libc does not have.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;

/// The one chain of the table; the name says where it hooks, as in the
/// examples of nft(8).
const CHAIN: &str = "postrouting";
/// nft uses the first 16-byte register for everything here; the rule's
/// steps run one after another, so one register is enough.
const REG: u32 = libc::NFT_REG_1 as u32;
/// Where the IPv4 source address is in the network header.
const IPV4_SADDR_OFFSET: u32 = 12;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

// ---------------------------------------------------------------------------
// Checked values.

/// Checks a table name before anything is sent. The kernel takes up to 255
/// bytes (NFT_NAME_MAXLEN 256 counts the NUL). It would take any bytes, but
/// a person has to be able to name the table to `nft list` or `nft delete`,
/// so only names that nft 1.0.6 reads unquoted are allowed: a letter, `_` or
/// `.`, then letters, digits, `_`, `.`, `-` or `/` (checked with nft: `1x`,
/// `-x`, `x:y`, `x$y`, `x@y`, `a*b`, non-ASCII are syntax errors). nft's
/// keywords (`ip`, `table`, ...) also need quotes there; they are not
/// refused, as nft's list of them changes between versions.
pub fn check_table_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return Err("a table name cannot be empty".into());
    };
    if name.len() > TABLE_NAME_MAX {
        return Err(format!(
            "a table name has at most {TABLE_NAME_MAX} bytes (NFT_NAME_MAXLEN), this one has {}",
            name.len()
        ));
    }
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'.') {
        return Err(format!(
            "a table name must start with an ASCII letter, '_' or '.' (as nft reads it unquoted), not {:?}",
            name.chars().next().unwrap_or_default()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "_.-/".contains(c)))
    {
        return Err(format!(
            "a table name can hold ASCII letters, digits, '_', '.', '-' and '/' (as nft reads it unquoted), not {c:?}"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The message builder: a whole batch in one buffer.

/// A batch of nfnetlink messages under construction. Lengths are bounded:
/// a table name of at most 255 bytes, an interface name of 15, a rule of a
/// few hundred bytes, so nothing overflows its u16.
struct Batch {
    buf: Vec<u8>,
    /// Where the open message starts, to write its length when it ends.
    msg_at: usize,
}

/// Where a nest's header is, to write its length when it ends.
struct Nest(usize);

impl Batch {
    fn new() -> Batch {
        Batch {
            buf: Vec::with_capacity(512),
            msg_at: 0,
        }
    }

    /// Starts a message: the netlink header, then `struct nfgenmsg`.
    fn begin(&mut self, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) {
        self.msg_at = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, see end
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        // nlmsg_pid 0, as nft sends it: the kernel is the destination.
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf
            .extend_from_slice(&[family, libc::NFNETLINK_V0 as u8]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    /// Ends the open message: its nlmsg_len covers its padding.
    fn end(&mut self) {
        self.pad();
        let len = (self.buf.len() - self.msg_at) as u32;
        self.buf[self.msg_at..self.msg_at + 4].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        self.buf.resize(align4(self.buf.len()), 0);
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (NLA_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// A NUL-terminated string: the kernel's policy (NLA_STRING with a
    /// maximum) takes it either way; nft sends the NUL.
    fn attr_str(&mut self, ty: u16, text: &str) {
        let mut data = Vec::with_capacity(text.len() + 1);
        data.extend_from_slice(text.as_bytes());
        data.push(0);
        self.attr(ty, &data);
    }

    /// A number as nf_tables reads it: big-endian.
    fn attr_be32(&mut self, ty: u16, value: u32) {
        self.attr(ty, &value.to_be_bytes());
    }

    /// nf_tables marks its nests with NLA_F_NESTED (unlike iproute2's
    /// IFLA_LINKINFO), so we do too.
    fn nest_begin(&mut self, ty: u16) -> Nest {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        Nest(at)
    }

    fn nest_end(&mut self, nest: Nest) {
        self.pad();
        let len = (self.buf.len() - nest.0) as u16;
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// `struct nft_data` as an attribute: a nest holding NFTA_DATA_VALUE.
    fn data(&mut self, ty: u16, value: &[u8]) {
        let nest = self.nest_begin(ty);
        self.attr(NFTA_DATA_VALUE, value);
        self.nest_end(nest);
    }

    /// One expression of a rule: a list element with its name and its
    /// (always present, possibly empty) data nest.
    fn expr(&mut self, name: &str, data: impl FnOnce(&mut Batch)) {
        let elem = self.nest_begin(NFTA_LIST_ELEM);
        self.attr_str(NFTA_EXPR_NAME, name);
        let nest = self.nest_begin(NFTA_EXPR_DATA);
        data(self);
        self.nest_end(nest);
        self.nest_end(elem);
    }

    /// Starts a table, chain or rule message: family `ip`, res_id 0.
    fn begin_ip(&mut self, ty: u16, flags: u16, seq: u32) {
        self.begin(ty, flags, seq, FAMILY, 0);
    }

    /// BATCH_BEGIN and BATCH_END name the subsystem in res_id,
    /// big-endian (the kernel still accepts nft's old host-order value, we
    /// send the right one). They go without NLM_F_ACK: kernels before 6.10
    /// (commit bf2ac490d28c) never ack them, later ones do when asked, and
    /// leaving the flag off gives the same replies on both.
    fn batch_marker(&mut self, ty: u16, seq: u32) {
        self.begin(ty, F_REQUEST, seq, libc::AF_UNSPEC as u8, SUBSYS_NFTABLES);
        self.end();
    }

    fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The family of every table, chain and rule here: `ip`.
const FAMILY: u8 = libc::NFPROTO_IPV4 as u8;

// ---------------------------------------------------------------------------
// Requests.

/// A batch that creates table `ip TABLE` with a chain `postrouting` (type
/// nat, hook postrouting, priority srcnat = 100, policy accept) holding one
/// rule, what Docker's default bridge has:
///
/// ```text
/// ip saddr SUBNET oifname != "BRIDGE" masquerade
/// ```
///
/// With `bridge` None, the rule has no oifname test. The same as nft 1.0.6
/// sends for
///
/// ```text
/// create table ip TABLE
/// add chain ip TABLE postrouting { type nat hook postrouting priority srcnat; policy accept; }
/// add rule ip TABLE postrouting ip saddr SUBNET oifname != "BRIDGE" masquerade
/// ```
///
/// plus NLM_F_ACK on the table, chain and rule. `create` (NLM_F_EXCL): a
/// table that exists fails with EEXIST instead of getting a second copy of
/// the rule. So a table vethctl made is one it can delete whole, and one it
/// did not make is never touched. The subnet's host bits are cleared, as
/// nft clears them (`10.0.2.1/24` is `10.0.2.0/24`).
///
/// One datagram, sequence numbers `seq` (BATCH_BEGIN) to `seq + 4`
/// (BATCH_END); [`batch_acks`] says which of them the kernel answers.
pub fn masquerade_batch(
    seq: u32,
    table: &str,
    subnet: Cidr,
    bridge: Option<&str>,
) -> Result<Vec<u8>, String> {
    check_table_name(table)?;
    let IpAddr::V4(addr) = subnet.addr else {
        return Err(format!(
            "NAT is for IPv4 subnets only, {subnet} is IPv6 (an ip6 table would be needed)"
        ));
    };
    if subnet.prefix > 32 {
        return Err(format!(
            "the prefix length must be a number from 0 to 32 for IPv4, not {}",
            subnet.prefix
        ));
    }
    let bridge = bridge
        .map(|name| name.parse::<IfName>())
        .transpose()
        .map_err(|e| format!("bridge: {e}"))?;
    // `/0` has no network bits: a shift by 32 is None.
    let mask = u32::MAX
        .checked_shl(32 - u32::from(subnet.prefix))
        .unwrap_or(0);
    let net = (u32::from(addr) & mask).to_be_bytes();

    let mut b = Batch::new();
    b.batch_marker(BATCH_BEGIN, seq);

    b.begin_ip(
        MSG_NEWTABLE,
        F_REQUEST | F_ACK | F_EXCL,
        seq.wrapping_add(1),
    );
    b.attr_str(NFTA_TABLE_NAME, table);
    b.attr_be32(NFTA_TABLE_FLAGS, 0);
    b.end();

    // NLM_F_CREATE as nft sends it. The table is new (EXCL above), so the
    // chain cannot exist and needs no EXCL of its own.
    b.begin_ip(
        MSG_NEWCHAIN,
        F_REQUEST | F_ACK | F_CREATE,
        seq.wrapping_add(2),
    );
    b.attr_str(NFTA_CHAIN_TABLE, table);
    b.attr_str(NFTA_CHAIN_NAME, CHAIN);
    b.attr_str(NFTA_CHAIN_TYPE, "nat");
    b.attr_be32(NFTA_CHAIN_POLICY, libc::NF_ACCEPT as u32);
    let hook = b.nest_begin(NFTA_CHAIN_HOOK);
    b.attr_be32(NFTA_HOOK_HOOKNUM, libc::NF_INET_POST_ROUTING as u32);
    // `priority srcnat`; a signed number, sent as its big-endian bits.
    b.attr(NFTA_HOOK_PRIORITY, &libc::NF_IP_PRI_NAT_SRC.to_be_bytes());
    b.nest_end(hook);
    b.end();

    let rule_flags = F_REQUEST | F_ACK | F_CREATE | F_APPEND;
    b.begin_ip(MSG_NEWRULE, rule_flags, seq.wrapping_add(3));
    b.attr_str(NFTA_RULE_TABLE, table);
    b.attr_str(NFTA_RULE_CHAIN, CHAIN);
    let exprs = b.nest_begin(NFTA_RULE_EXPRESSIONS);
    saddr_match(&mut b, subnet.prefix, mask, net);
    if let Some(bridge) = &bridge {
        oifname_differs(&mut b, bridge);
    }
    b.expr("masq", |_| {});
    b.nest_end(exprs);
    b.end();

    b.batch_marker(BATCH_END, seq.wrapping_add(4));
    Ok(b.finish())
}

/// `ip saddr NET/PREFIX` the way nft encodes it. For a whole number of
/// bytes it loads only those bytes and compares them (`/24`: 3 bytes, no
/// mask). For any other prefix, `/0` included, it loads all 4, masks them
/// with a bitwise (xor 0), and compares the result.
fn saddr_match(b: &mut Batch, prefix: u8, mask: u32, net: [u8; 4]) {
    let whole_bytes = prefix > 0 && prefix.is_multiple_of(8);
    let len = if whole_bytes {
        usize::from(prefix / 8)
    } else {
        4
    };
    b.expr("payload", |b| {
        b.attr_be32(NFTA_PAYLOAD_DREG, REG);
        b.attr_be32(NFTA_PAYLOAD_BASE, libc::NFT_PAYLOAD_NETWORK_HEADER as u32);
        b.attr_be32(NFTA_PAYLOAD_OFFSET, IPV4_SADDR_OFFSET);
        b.attr_be32(NFTA_PAYLOAD_LEN, len as u32);
    });
    if !whole_bytes {
        b.expr("bitwise", |b| {
            b.attr_be32(NFTA_BITWISE_SREG, REG);
            b.attr_be32(NFTA_BITWISE_DREG, REG);
            b.attr_be32(NFTA_BITWISE_LEN, 4);
            b.data(NFTA_BITWISE_MASK, &mask.to_be_bytes());
            b.data(NFTA_BITWISE_XOR, &[0; 4]);
        });
    }
    b.expr("cmp", |b| {
        b.attr_be32(NFTA_CMP_SREG, REG);
        b.attr_be32(NFTA_CMP_OP, libc::NFT_CMP_EQ as u32);
        b.data(NFTA_CMP_DATA, &net[..len]);
    });
}

/// `oifname != "NAME"`: the name the kernel keeps (IFNAMSIZ bytes, NUL
/// padded) loaded into the register and compared whole. So it is an exact
/// match, not a prefix one; nft sends the padding too. The meta key goes
/// before the register, in nft's order.
fn oifname_differs(b: &mut Batch, name: &IfName) {
    let mut padded = [0u8; libc::IFNAMSIZ];
    // IfName has at most 15 bytes: at least one NUL stays.
    padded[..name.as_str().len()].copy_from_slice(name.as_str().as_bytes());
    b.expr("meta", |b| {
        b.attr_be32(NFTA_META_KEY, libc::NFT_META_OIFNAME as u32);
        b.attr_be32(NFTA_META_DREG, REG);
    });
    b.expr("cmp", |b| {
        b.attr_be32(NFTA_CMP_SREG, REG);
        b.attr_be32(NFTA_CMP_OP, libc::NFT_CMP_NEQ as u32);
        b.data(NFTA_CMP_DATA, &padded);
    });
}

/// A batch that deletes table `ip TABLE` and with it its chains and rules
/// (`nft delete table ip TABLE`, plus NLM_F_ACK). A table that is not there
/// fails with ENOENT, which a caller removing what it made may take as done.
/// Sequence numbers `seq` to `seq + 2`. The name is not checked: deleting
/// takes any name that could have been created, and a bad one gets ENOENT
/// or the kernel's refusal.
pub fn delete_table_batch(seq: u32, table: &str) -> Vec<u8> {
    let mut b = Batch::new();
    b.batch_marker(BATCH_BEGIN, seq);
    b.begin_ip(MSG_DELTABLE, F_REQUEST | F_ACK, seq.wrapping_add(1));
    b.attr_str(NFTA_TABLE_NAME, table);
    b.end();
    b.batch_marker(BATCH_END, seq.wrapping_add(2));
    b.finish()
}

/// The sequence numbers the kernel answers in a batch made above, in the
/// order it answers them: those of the messages with NLM_F_ACK (the table,
/// chain and rule, or the delete). Each gets one NLMSG_ERROR, with error 0
/// or an errno. They are all queued before sendmsg returns, since nfnetlink
/// runs the batch in the sender's context. What the reader must know
/// (the first two seen on kernel 6.18):
///
/// - The batch is committed only when every answer is 0. When one message
///   fails, the whole batch is undone, and the others still get their 0:
///   a 0 means that message was fine, not that anything was committed.
/// - A failure of the commit itself (not provoked here; nfnetlink's source
///   acks it against the datagram's first header) comes as an error for
///   BATCH_BEGIN's seq, which asked for no ack: treat an error for any seq
///   of the batch as the batch's failure.
/// - When a message makes the kernel load a module (nft_masq, nft_chain_nat
///   on a fresh system), the kernel runs the batch again, and a duplicate 0
///   for that message has been reported (google/nftables issue 329): skip
///   answers for a seq already answered, and use a socket per batch.
///
/// Malformed input (not a batch made here) gives what can be read of it.
pub fn batch_acks(batch: &[u8]) -> Vec<u32> {
    let mut seqs = Vec::new();
    let mut rest = batch;
    while rest.len() >= NLMSG_HDRLEN + NFGENMSG_LEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let flags = u16::from_ne_bytes([rest[6], rest[7]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        if flags & F_ACK != 0 {
            seqs.push(u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]));
        }
        rest = &rest[align4(len).min(rest.len())..];
    }
    seqs
}

#[cfg(test)]
mod tests {
    use super::*;

    // Byte fixtures captured on kernel 6.18.44-fc-v973 (Debian 12) from
    // nftables 1.0.6 (`nft --version`: v1.0.6 (Lester Gooch #5), libnftnl
    // 1.2.4), as root, in a throwaway namespace made with `ip netns add`,
    // with `strace -f -e trace=sendmsg -e write=all -xx`: the one sendmsg
    // of the batch, whole. nft ran on a file FILE holding the three commands
    // shown (`nft -f FILE`). Before the batch it sends a GETGEN and a cache
    // dump (GETTABLE, GETCHAIN, GETSET, GETFLOWTABLE) in sendtos of their
    // own, which we do not need.
    //
    // nft numbered that batch from 0 (BATCH_BEGIN) and sent nlmsg_pid 0, as
    // we do, so the builders given seq 0 must give the same bytes, with one
    // field masked: the NLM_F_ACK bit (0x0004) in the flags of the table,
    // chain, rule and delete messages. nft 1.0.6 asks for no acks and learns
    // of errors by polling the socket with a zero timeout; we ask for them,
    // so that the reader knows when the kernel is done.

    /// `create table ip vc-test`
    /// `add chain ip vc-test postrouting { type nat hook postrouting priority srcnat; policy accept; }`
    /// `add rule ip vc-test postrouting ip saddr 10.0.2.0/24 oifname != "br-test" masquerade`
    /// (`--debug=netlink`: payload load 3b @ network header + 12 => reg 1;
    /// cmp eq reg 1 0x0002000a; meta load oifname => reg 1; cmp neq reg 1
    /// 0x742d7262 0x00747365 0x00000000 0x00000000; masq)
    const MASQ_24_BRIDGE: &str = "\
        140000001000010000000000000000000000000a28000000000a010201000000\
        00000000020000000c00010076632d7465737400080002000000000054000000\
        030a01040200000000000000020000000c00010076632d746573740010000300\
        706f7374726f7574696e6700080007006e617400080005000000000114000480\
        0800010000000004080002000000006404010000060a010c0300000000000000\
        020000000c00010076632d746573740010000200706f7374726f7574696e6700\
        d4000480340001800c0001007061796c6f616400240002800800010000000001\
        0800020000000001080003000000000c08000400000000032c00018008000100\
        636d700020000280080001000000000108000200000000000c00038007000100\
        0a00020024000180090001006d65746100000000140002800800020000000007\
        08000100000000013800018008000100636d70002c0002800800010000000001\
        0800020000000001180003801400010062722d74657374000000000000000000\
        14000180090001006d6173710000000004000280140000001100010004000000\
        000000000000000a";
    /// As MASQ_24_BRIDGE with `ip saddr 10.0.2.0/20` (nft prints it back as
    /// 10.0.0.0/20). `--debug=netlink`: payload load 4b @ network header +
    /// 12 => reg 1; bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000;
    /// cmp eq reg 1 0x0000000a; then the same oifname test and masq.
    const MASQ_20_BRIDGE: &str = "\
        140000001000010000000000000000000000000a28000000000a010201000000\
        00000000020000000c00010076632d7465737400080002000000000054000000\
        030a01040200000000000000020000000c00010076632d746573740010000300\
        706f7374726f7574696e6700080007006e617400080005000000000114000480\
        0800010000000004080002000000006448010000060a010c0300000000000000\
        020000000c00010076632d746573740010000200706f7374726f7574696e6700\
        18010480340001800c0001007061796c6f616400240002800800010000000001\
        0800020000000001080003000000000c0800040000000004440001800c000100\
        6269747769736500340002800800010000000001080002000000000108000300\
        000000040c00048008000100fffff0000c00058008000100000000002c000180\
        08000100636d700020000280080001000000000108000200000000000c000380\
        080001000a00000024000180090001006d657461000000001400028008000200\
        0000000708000100000000013800018008000100636d70002c00028008000100\
        000000010800020000000001180003801400010062722d746573740000000000\
        0000000014000180090001006d61737100000000040002801400000011000100\
        04000000000000000000000a";
    /// As MASQ_24_BRIDGE without `oifname != "br-test"`.
    const MASQ_24: &str = "\
        140000001000010000000000000000000000000a28000000000a010201000000\
        00000000020000000c00010076632d7465737400080002000000000054000000\
        030a01040200000000000000020000000c00010076632d746573740010000300\
        706f7374726f7574696e6700080007006e617400080005000000000114000480\
        08000100000000040800020000000064a8000000060a010c0300000000000000\
        020000000c00010076632d746573740010000200706f7374726f7574696e6700\
        78000480340001800c0001007061796c6f616400240002800800010000000001\
        0800020000000001080003000000000c08000400000000032c00018008000100\
        636d700020000280080001000000000108000200000000000c00038007000100\
        0a00020014000180090001006d61737100000000040002801400000011000100\
        04000000000000000000000a";
    /// As MASQ_24_BRIDGE with `ip saddr 172.17.0.0/16 oifname !=
    /// "docker012345678"`: a 15-byte name, its NUL the 16th byte.
    const MASQ_16_LONG_NAME: &str = "\
        140000001000010000000000000000000000000a28000000000a010201000000\
        00000000020000000c00010076632d7465737400080002000000000054000000\
        030a01040200000000000000020000000c00010076632d746573740010000300\
        706f7374726f7574696e6700080007006e617400080005000000000114000480\
        0800010000000004080002000000006404010000060a010c0300000000000000\
        020000000c00010076632d746573740010000200706f7374726f7574696e6700\
        d4000480340001800c0001007061796c6f616400240002800800010000000001\
        0800020000000001080003000000000c08000400000000022c00018008000100\
        636d700020000280080001000000000108000200000000000c00038006000100\
        ac11000024000180090001006d65746100000000140002800800020000000007\
        08000100000000013800018008000100636d70002c0002800800010000000001\
        08000200000000011800038014000100646f636b657230313233343536373800\
        14000180090001006d6173710000000004000280140000001100010004000000\
        000000000000000a";
    /// `nft delete table ip vc-test`
    const DELETE: &str = "\
        140000001000010000000000000000000000000a20000000020a010001000000\
        00000000020000000c00010076632d7465737400140000001100010002000000\
        000000000000000a";

    fn hex(text: &str) -> Vec<u8> {
        assert!(text.len().is_multiple_of(2), "odd hex fixture");
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn to_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    /// One message of a batch: its header, nfgenmsg and attributes.
    #[derive(Debug)]
    struct Message {
        ty: u16,
        flags: u16,
        seq: u32,
        pid: u32,
        family: u8,
        version: u8,
        res_id: u16,
        attrs: Vec<Attr>,
    }

    /// An attribute: nested (NLA_F_NESTED set, read as attributes) or not.
    #[derive(Debug, Clone, PartialEq)]
    enum Attr {
        Leaf(u16, Vec<u8>),
        Nest(u16, Vec<Attr>),
    }

    /// Reads attributes, strictly: every length at least a header, inside
    /// its parent, the padding to 4 present and zero, nothing left over.
    fn parse_attrs(mut bytes: &[u8]) -> Vec<Attr> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert!(bytes.len() >= NLA_HDRLEN, "attribute header cut");
            let len = usize::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
            let ty = u16::from_ne_bytes([bytes[2], bytes[3]]);
            assert!(len >= NLA_HDRLEN, "attribute {ty:#x} of length {len}");
            assert!(align4(len) <= bytes.len(), "attribute {ty:#x} overruns");
            assert!(
                bytes[len..align4(len)].iter().all(|&b| b == 0),
                "padding not zero"
            );
            let payload = &bytes[NLA_HDRLEN..len];
            out.push(if ty & NLA_F_NESTED != 0 {
                Attr::Nest(ty & !NLA_F_NESTED, parse_attrs(payload))
            } else {
                Attr::Leaf(ty, payload.to_vec())
            });
            bytes = &bytes[align4(len)..];
        }
        out
    }

    /// Reads a whole datagram the same strict way.
    fn parse_batch(mut bytes: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert!(bytes.len() >= NLMSG_HDRLEN + NFGENMSG_LEN, "header cut");
            let u32_at = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
            let len = u32_at(0) as usize;
            assert!(len >= NLMSG_HDRLEN + NFGENMSG_LEN && len <= bytes.len());
            assert_eq!(len % 4, 0, "nlmsg_len includes the padding");
            out.push(Message {
                ty: u16::from_ne_bytes([bytes[4], bytes[5]]),
                flags: u16::from_ne_bytes([bytes[6], bytes[7]]),
                seq: u32_at(8),
                pid: u32_at(12),
                family: bytes[16],
                version: bytes[17],
                res_id: u16::from_be_bytes([bytes[18], bytes[19]]),
                attrs: parse_attrs(&bytes[NLMSG_HDRLEN + NFGENMSG_LEN..len]),
            });
            bytes = &bytes[len..];
        }
        out
    }

    /// Our bytes with the NLM_F_ACK bit taken out of every header, for the
    /// comparison with nft, which asks no acks.
    fn without_acks(mut bytes: Vec<u8>) -> Vec<u8> {
        let mut at = 0;
        while at + NLMSG_HDRLEN <= bytes.len() {
            let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let flags = u16::from_ne_bytes([bytes[at + 6], bytes[at + 7]]) & !F_ACK;
            bytes[at + 6..at + 8].copy_from_slice(&flags.to_ne_bytes());
            at += len;
        }
        bytes
    }

    fn assert_like_nft(ours: Vec<u8>, fixture: &str) {
        assert_eq!(to_hex(&without_acks(ours)), fixture);
    }

    fn leaf(attrs: &[Attr], ty: u16) -> &[u8] {
        attrs
            .iter()
            .find_map(|a| match a {
                Attr::Leaf(t, data) if *t == ty => Some(data.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no attribute {ty}"))
    }

    fn nest(attrs: &[Attr], ty: u16) -> &[Attr] {
        attrs
            .iter()
            .find_map(|a| match a {
                Attr::Nest(t, inner) if *t == ty => Some(inner.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no nest {ty}"))
    }

    /// The rule's expressions as (name, data attributes).
    fn expressions(batch: &[u8]) -> Vec<(String, Vec<Attr>)> {
        let msgs = parse_batch(batch);
        let rule = msgs.iter().find(|m| m.ty == MSG_NEWRULE).unwrap();
        nest(&rule.attrs, NFTA_RULE_EXPRESSIONS)
            .iter()
            .map(|elem| {
                let Attr::Nest(NFTA_LIST_ELEM, inner) = elem else {
                    panic!("not a list element: {elem:?}");
                };
                let name = leaf(inner, NFTA_EXPR_NAME);
                let name = String::from_utf8(name.strip_suffix(&[0]).unwrap().to_vec()).unwrap();
                (name, nest(inner, NFTA_EXPR_DATA).to_vec())
            })
            .collect()
    }

    fn be32(attrs: &[Attr], ty: u16) -> u32 {
        u32::from_be_bytes(leaf(attrs, ty).try_into().unwrap())
    }

    fn value(attrs: &[Attr], ty: u16) -> Vec<u8> {
        leaf(nest(attrs, ty), NFTA_DATA_VALUE).to_vec()
    }

    #[test]
    fn masquerade_matches_nft() {
        let ours = masquerade_batch(0, "vc-test", cidr("10.0.2.0/24"), Some("br-test"));
        assert_like_nft(ours.unwrap(), MASQ_24_BRIDGE);
    }

    #[test]
    fn masquerade_with_bitwise_matches_nft() {
        let ours = masquerade_batch(0, "vc-test", cidr("10.0.2.0/20"), Some("br-test"));
        assert_like_nft(ours.unwrap(), MASQ_20_BRIDGE);
    }

    #[test]
    fn masquerade_without_bridge_matches_nft() {
        let ours = masquerade_batch(0, "vc-test", cidr("10.0.2.0/24"), None);
        assert_like_nft(ours.unwrap(), MASQ_24);
    }

    #[test]
    fn masquerade_with_15_byte_bridge_matches_nft() {
        let ours = masquerade_batch(0, "vc-test", cidr("172.17.0.0/16"), Some("docker012345678"));
        assert_like_nft(ours.unwrap(), MASQ_16_LONG_NAME);
    }

    #[test]
    fn host_bits_are_cleared_like_nft() {
        // nft sent exactly MASQ_24_BRIDGE for `ip saddr 10.0.2.1/24`.
        let ours = masquerade_batch(0, "vc-test", cidr("10.0.2.1/24"), Some("br-test"));
        assert_like_nft(ours.unwrap(), MASQ_24_BRIDGE);
    }

    #[test]
    fn delete_matches_nft() {
        assert_like_nft(delete_table_batch(0, "vc-test"), DELETE);
    }

    #[test]
    fn sequence_numbers_count_up_from_seq() {
        let batch = masquerade_batch(1000, "vc-test", cidr("10.0.2.0/24"), None).unwrap();
        let seqs: Vec<u32> = parse_batch(&batch).iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1000, 1001, 1002, 1003, 1004]);
        assert_eq!(batch_acks(&batch), [1001, 1002, 1003]);
        // Only the seqs and nothing else differ from a batch from 0.
        let from0 = masquerade_batch(0, "vc-test", cidr("10.0.2.0/24"), None).unwrap();
        let differ: Vec<usize> = (0..batch.len()).filter(|&i| batch[i] != from0[i]).collect();
        let starts: Vec<usize> = parse_batch(&batch)
            .iter()
            .scan(0, |at, _| {
                let here = *at;
                *at += u32::from_ne_bytes(batch[here..here + 4].try_into().unwrap()) as usize;
                Some(here)
            })
            .collect();
        let seq_bytes: Vec<usize> = starts.iter().flat_map(|s| s + 8..s + 12).collect();
        assert!(differ.iter().all(|i| seq_bytes.contains(i)), "{differ:?}");

        let del = delete_table_batch(7, "vc-test");
        let seqs: Vec<u32> = parse_batch(&del).iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [7, 8, 9]);
        assert_eq!(batch_acks(&del), [8]);
    }

    #[test]
    fn every_message_is_well_formed() {
        let batches = [
            masquerade_batch(5, "vc-test", cidr("10.0.2.0/24"), Some("br-test")).unwrap(),
            masquerade_batch(5, "vc-test", cidr("10.0.2.0/20"), None).unwrap(),
            masquerade_batch(5, &"t".repeat(255), cidr("0.0.0.0/0"), Some("b")).unwrap(),
            delete_table_batch(5, "vc-test"),
        ];
        for batch in &batches {
            let msgs = parse_batch(batch);
            let (first, last) = (&msgs[0], &msgs[msgs.len() - 1]);
            // The batch markers: the subsystem in res_id, big-endian.
            for (m, ty) in [(first, BATCH_BEGIN), (last, BATCH_END)] {
                assert_eq!((m.ty, m.flags), (ty, F_REQUEST));
                assert_eq!((m.family, m.res_id), (0, SUBSYS_NFTABLES));
                assert!(m.attrs.is_empty());
            }
            for m in &msgs[1..msgs.len() - 1] {
                assert_eq!(m.ty >> 8, SUBSYS_NFTABLES, "{m:?}");
                assert_eq!((m.family, m.version, m.res_id), (FAMILY, 0, 0));
                assert_ne!(m.flags & F_ACK, 0);
                let table = leaf(&m.attrs, NFTA_TABLE_NAME);
                assert_eq!(table.last(), Some(&0), "names end in NUL");
            }
            assert!(msgs.iter().all(|m| m.pid == 0));
        }
    }

    #[test]
    fn fixtures_are_well_formed_and_ask_no_acks() {
        // The strict parser reads nft's own bytes too, so it is not merely
        // agreeing with the builder.
        for fixture in [
            MASQ_24_BRIDGE,
            MASQ_20_BRIDGE,
            MASQ_24,
            MASQ_16_LONG_NAME,
            DELETE,
        ] {
            let bytes = hex(fixture);
            let msgs = parse_batch(&bytes);
            assert_eq!(msgs[0].ty, BATCH_BEGIN);
            assert_eq!(msgs[msgs.len() - 1].ty, BATCH_END);
            assert!(batch_acks(&bytes).is_empty(), "nft 1.0.6 asks no acks");
        }
    }

    #[test]
    fn chain_is_a_srcnat_postrouting_hook() {
        let batch = masquerade_batch(0, "t", cidr("10.0.2.0/24"), None).unwrap();
        let msgs = parse_batch(&batch);
        let chain = msgs.iter().find(|m| m.ty == MSG_NEWCHAIN).unwrap();
        assert_eq!(leaf(&chain.attrs, NFTA_CHAIN_NAME), b"postrouting\0");
        assert_eq!(leaf(&chain.attrs, NFTA_CHAIN_TYPE), b"nat\0");
        assert_eq!(be32(&chain.attrs, NFTA_CHAIN_POLICY), 1); // NF_ACCEPT
        let hook = nest(&chain.attrs, NFTA_CHAIN_HOOK);
        assert_eq!(be32(hook, NFTA_HOOK_HOOKNUM), 4); // NF_INET_POST_ROUTING
        assert_eq!(be32(hook, NFTA_HOOK_PRIORITY), 100); // srcnat
    }

    #[test]
    fn prefixes_are_encoded_like_nft() {
        // From `nft --debug=netlink` on `ip saddr P masquerade` (same nft):
        // /8 loads 1 byte, /32 4 bytes, neither masks; /12, /31, /1 and /0
        // load 4 bytes and mask them.
        struct Case {
            subnet: &'static str,
            load: u32,
            mask: Option<[u8; 4]>,
            cmp: &'static [u8],
        }
        let cases = [
            Case {
                subnet: "10.0.0.0/8",
                load: 1,
                mask: None,
                cmp: &[10],
            },
            Case {
                subnet: "10.0.2.7/32",
                load: 4,
                mask: None,
                cmp: &[10, 0, 2, 7],
            },
            Case {
                subnet: "10.16.0.0/12",
                load: 4,
                mask: Some([0xff, 0xf0, 0, 0]),
                cmp: &[10, 16, 0, 0],
            },
            Case {
                subnet: "10.0.2.0/31",
                load: 4,
                mask: Some([0xff, 0xff, 0xff, 0xfe]),
                cmp: &[10, 0, 2, 0],
            },
            Case {
                subnet: "128.0.0.0/1",
                load: 4,
                mask: Some([0x80, 0, 0, 0]),
                cmp: &[128, 0, 0, 0],
            },
            Case {
                subnet: "10.0.2.0/0",
                load: 4,
                mask: Some([0; 4]),
                cmp: &[0; 4],
            },
        ];
        for case in cases {
            let batch = masquerade_batch(0, "t", cidr(case.subnet), None).unwrap();
            let exprs = expressions(&batch);
            let names: Vec<&str> = exprs.iter().map(|(n, _)| n.as_str()).collect();
            let payload = &exprs[0].1;
            assert_eq!(be32(payload, NFTA_PAYLOAD_BASE), 1, "network header");
            assert_eq!(be32(payload, NFTA_PAYLOAD_OFFSET), 12, "saddr");
            assert_eq!(
                be32(payload, NFTA_PAYLOAD_LEN),
                case.load,
                "{}",
                case.subnet
            );
            match case.mask {
                None => assert_eq!(names, ["payload", "cmp", "masq"], "{}", case.subnet),
                Some(mask) => {
                    assert_eq!(
                        names,
                        ["payload", "bitwise", "cmp", "masq"],
                        "{}",
                        case.subnet
                    );
                    assert_eq!(value(&exprs[1].1, NFTA_BITWISE_MASK), mask);
                    assert_eq!(value(&exprs[1].1, NFTA_BITWISE_XOR), [0; 4]);
                }
            }
            let cmp = &exprs[names.len() - 2].1;
            assert_eq!(be32(cmp, NFTA_CMP_OP), 0, "eq");
            assert_eq!(value(cmp, NFTA_CMP_DATA), case.cmp, "{}", case.subnet);
        }
    }

    #[test]
    fn oifname_is_padded_to_ifnamsiz() {
        let batch = masquerade_batch(0, "t", cidr("10.0.2.0/24"), Some("b")).unwrap();
        let exprs = expressions(&batch);
        let names: Vec<&str> = exprs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["payload", "cmp", "meta", "cmp", "masq"]);
        assert_eq!(be32(&exprs[2].1, NFTA_META_KEY), 7); // NFT_META_OIFNAME
        assert_eq!(be32(&exprs[3].1, NFTA_CMP_OP), 1); // NFT_CMP_NEQ
        let mut want = [0u8; 16];
        want[0] = b'b';
        assert_eq!(value(&exprs[3].1, NFTA_CMP_DATA), want);
        assert!(exprs[4].1.is_empty(), "masq has an empty data nest");
    }

    #[test]
    fn ipv6_is_refused() {
        let err = masquerade_batch(0, "t", cidr("fd00::/64"), None).unwrap_err();
        assert!(err.contains("IPv6"), "{err}");
    }

    #[test]
    fn bad_prefix_and_bridge_are_refused() {
        let bad = Cidr {
            addr: "10.0.0.0".parse().unwrap(),
            prefix: 33,
        };
        assert!(masquerade_batch(0, "t", bad, None).is_err());
        for bridge in ["", "a-name-of-16-byt", "a b", "a/b", ".."] {
            let err = masquerade_batch(0, "t", cidr("10.0.2.0/24"), Some(bridge)).unwrap_err();
            assert!(err.starts_with("bridge: "), "{bridge:?}: {err}");
        }
    }

    #[test]
    fn table_names() {
        for good in ["vc-test", "a", "_x", ".x", "x.y/z_1-2", "UPPER", "nat"] {
            assert_eq!(check_table_name(good), Ok(()), "{good}");
        }
        assert_eq!(check_table_name(&"t".repeat(255)), Ok(()));
        for bad in [
            "", "1x", "-x", "/x", "a b", "x:y", "x$y", "x@y", "a*b", "a\\b", "é", "a\0b",
        ] {
            assert!(check_table_name(bad).is_err(), "{bad:?}");
            assert!(masquerade_batch(0, bad, cidr("10.0.2.0/24"), None).is_err());
        }
        let err = check_table_name(&"t".repeat(256)).unwrap_err();
        assert!(err.contains("255"), "{err}");
    }

    #[test]
    fn acks_of_broken_input_stop_where_it_breaks() {
        let batch = delete_table_batch(1, "t");
        assert_eq!(batch_acks(&batch[..batch.len() - 1]), [2]);
        assert_eq!(batch_acks(&batch[..30]), Vec::<u32>::new());
        assert_eq!(batch_acks(&[]), Vec::<u32>::new());
    }
}
