//! The bytes of a simulated frame, as a real network card would send them.
//!
//! Read alongside: RFC 894 (IP over Ethernet), RFC 826 (ARP), RFC 791
//! (IPv4), RFC 8200 (IPv6), RFC 792 and RFC 1812 §4.3.2.3 (ICMP and what
//! an error quotes), RFC 4443 (ICMPv6), RFC 4861 §4.3–4.4 and §4.6.1
//! (neighbour solicitation and advertisement, link-layer address options),
//! RFC 768 (UDP), RFC 9293 (TCP), RFC 7323 and RFC 2018 (TCP options).
//!
//! Headers and checksums come from etherparse; this module decides every
//! field the simulator's [`Packet`] does not carry, always the same way, so
//! the same packet always gives the same bytes:
//!
//! - IPv4 identification: the low 16 bits of [`Packet::id`], which a
//!   router keeps when it forwards, as real routers keep the field.
//! - IPv4 don't-fragment: set on TCP, UDP and echo requests (Linux
//!   sockets do path MTU discovery), clear on echo replies and ICMP errors
//!   (Linux sends those from its ICMP socket, which does not).
//! - IPv6: traffic class and flow label 0, no extension headers.
//! - Payloads: a fixed pattern ([`payload_byte`]); for TCP the pattern
//!   follows the sequence number, so a retransmission repeats the bytes.
//! - An ICMP error quotes the offending datagram rebuilt from [`Quoted`]:
//!   its IP header as it arrived (TTL, identification, total length) and
//!   the first 8 bytes of its payload (ports and TCP sequence number; UDP
//!   length and checksum; echo identifier, sequence and checksum), as the
//!   datagram was sent.
//! - "Fragmentation needed" and "packet too big" carry the MTU in the
//!   second word (RFC 1191 §4, RFC 4443 §3.2).
//! - Neighbour advertisements answer a solicitation: solicited and
//!   override set, router as the sender is one.
//! - Frames shorter than 60 bytes are padded with zeros, as the engine
//!   counts them ([`Packet::wire_len`]); there is no FCS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    icmpv6, ArpEthIpv4Packet, ArpOperation, EtherType, Ethernet2Header, IcmpEchoHeader,
    Icmpv4Header, Icmpv4Type, Icmpv6Header, Icmpv6Type, IpNumber, Ipv4Header, Ipv6FlowLabel,
    Ipv6Header, TcpHeader, UdpHeader,
};
use wirelab_sim::packet::{
    tcp_flags, Arp, ArpOp, Body, Framing, Icmp, Ip, Quoted, Tcp, Udp, ETHERNET_MIN_FRAME, L4,
    PPP_IPV4, PPP_IPV6,
};
use wirelab_sim::Packet;

/// The frame of `packet`, from the destination MAC to the last byte of
/// padding (no preamble, no FCS). Its length is [`Packet::wire_len`].
pub fn encode(packet: &Packet) -> Vec<u8> {
    let mut frame = Vec::with_capacity(packet.wire_len() as usize);
    encode_into(packet, None, &mut frame);
    frame
}

/// Like [`encode`], into a buffer that is cleared first, so a writer can
/// reuse one allocation for a whole capture. `payload` is the UDP or TCP
/// payload when the packet carries real bytes (DNS messages); its length
/// must be the packet's `payload_len`.
pub fn encode_into(packet: &Packet, payload: Option<&[u8]>, frame: &mut Vec<u8>) {
    encode_framed(packet, Framing::Ethernet, payload, frame);
}

/// Like [`encode_into`], for a link of the given framing. On a PPP link
/// the frame is the 2-byte PPP protocol field (0x0021 IPv4, 0x0057 IPv6;
/// RFC 1661 §2, RFC 1332, RFC 5072) and the datagram: no HDLC address,
/// control or FCS bytes, no padding. Its length is
/// [`Packet::frame_len`]. An ARP message never crosses a PPP link; if
/// asked, it gets the protocol number of nothing (0x0000).
pub fn encode_framed(
    packet: &Packet,
    framing: Framing,
    payload: Option<&[u8]>,
    frame: &mut Vec<u8>,
) {
    frame.clear();
    if framing == Framing::Ppp {
        let protocol = match packet.body {
            Body::Arp(_) => 0,
            Body::Ip(ip) if ip.is_v6() => PPP_IPV6,
            Body::Ip(_) => PPP_IPV4,
        };
        frame.extend_from_slice(&protocol.to_be_bytes());
        match packet.body {
            Body::Arp(arp) => encode_arp(&arp, frame),
            Body::Ip(ip) => encode_ip(&ip, packet.id, payload, frame),
        }
        assert_eq!(
            frame.len(),
            packet.frame_len(framing) as usize,
            "encoded PPP frame length differs from Packet::frame_len for {packet}"
        );
        return;
    }
    let ether_type = match packet.body {
        Body::Arp(_) => EtherType::ARP,
        Body::Ip(ip) if ip.is_v6() => EtherType::IPV6,
        Body::Ip(_) => EtherType::IPV4,
    };
    let eth = Ethernet2Header {
        destination: packet.dst_mac.0,
        source: packet.src_mac.0,
        ether_type,
    };
    frame.extend_from_slice(&eth.to_bytes());
    match packet.body {
        Body::Arp(arp) => encode_arp(&arp, frame),
        Body::Ip(ip) => encode_ip(&ip, packet.id, payload, frame),
    }
    let min = ETHERNET_MIN_FRAME as usize;
    if frame.len() < min {
        frame.resize(min, 0);
    }
    assert_eq!(
        frame.len(),
        packet.wire_len() as usize,
        "encoded frame length differs from Packet::wire_len for {packet}"
    );
}

/// The byte at offset `i` of every generated payload.
pub fn payload_byte(i: u32) -> u8 {
    // Only the low byte counts: the pattern is 00 01 02 .. ff 00 01 ..
    (i & 0xff) as u8
}

fn push_payload(frame: &mut Vec<u8>, start: u32, len: u32) {
    frame.extend((0..len).map(|i| payload_byte(start.wrapping_add(i))));
}

fn encode_arp(arp: &Arp, frame: &mut Vec<u8>) {
    let packet = ArpEthIpv4Packet {
        operation: match arp.op {
            ArpOp::Request => ArpOperation::REQUEST,
            ArpOp::Reply => ArpOperation::REPLY,
        },
        sender_mac: arp.sender_mac.0,
        sender_ipv4: arp.sender_ip.octets(),
        target_mac: arp.target_mac.0,
        target_ipv4: arp.target_ip.octets(),
    };
    frame.extend_from_slice(&packet.to_arp_packet().to_bytes());
}

fn ip_number(ip: &Ip) -> IpNumber {
    IpNumber(ip.proto())
}

/// Whether Linux sets don't-fragment on this datagram (see the module docs).
fn dont_fragment(l4: &L4) -> bool {
    match l4 {
        L4::Tcp(_) | L4::Udp(_) | L4::Icmp(Icmp::EchoRequest { .. }) => true,
        L4::Icmp(_) | L4::Ospf(_) => false,
    }
}

fn encode_ip(ip: &Ip, packet_id: u32, payload: Option<&[u8]>, frame: &mut Vec<u8>) {
    let header_len = if ip.is_v6() { 40 } else { 20 };
    let payload_len = ip.total_len() - header_len;
    let payload_len = u16::try_from(payload_len).expect("an IP payload fits 16 bits");
    match (ip.src, ip.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let header = ipv4_header(
                payload_len,
                ip.ttl,
                ip_number(ip),
                src,
                dst,
                (packet_id & 0xffff) as u16,
                dont_fragment(&ip.l4),
            );
            frame.extend_from_slice(&header.to_bytes());
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let header = ipv6_header(payload_len, ip.ttl, ip_number(ip), src, dst);
            frame.extend_from_slice(&header.to_bytes());
        }
        _ => panic!("an IP datagram mixes families: {} > {}", ip.src, ip.dst),
    }
    let start = frame.len();
    match ip.l4 {
        L4::Tcp(t) => encode_tcp(ip, &t, payload, frame),
        L4::Udp(u) => encode_udp(ip, &u, payload, frame),
        L4::Icmp(i) if ip.is_v6() => encode_icmpv6(ip, &i, frame),
        L4::Icmp(i) => encode_icmpv4(&i, frame),
        // The OSPF packet's bytes, as the router encoded them.
        L4::Ospf(o) => match payload {
            Some(bytes) => frame.extend_from_slice(bytes),
            None => frame.resize(frame.len() + o.len as usize, 0),
        },
    }
    debug_assert_eq!(frame.len() - start, usize::from(payload_len));
}

fn ipv4_header(
    payload_len: u16,
    ttl: u8,
    proto: IpNumber,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    identification: u16,
    dont_fragment: bool,
) -> Ipv4Header {
    let mut header = Ipv4Header::new(payload_len, ttl, proto, src.octets(), dst.octets())
        .expect("an IPv4 payload fits below 65515 bytes");
    header.identification = identification;
    header.dont_fragment = dont_fragment;
    header.header_checksum = header.calc_header_checksum();
    header
}

fn ipv6_header(
    payload_len: u16,
    hop_limit: u8,
    proto: IpNumber,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> Ipv6Header {
    Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: payload_len,
        next_header: proto,
        hop_limit,
        source: src.octets(),
        destination: dst.octets(),
    }
}

/// The options of `t`, in the layout [`Tcp::options_len`] documents (the
/// one Linux writes).
pub fn tcp_options(t: &Tcp) -> Vec<u8> {
    const NOP: u8 = 1;
    const MSS: u8 = 2;
    const WSCALE: u8 = 3;
    const SACK_PERMITTED: u8 = 4;
    const SACK: u8 = 5;
    const TIMESTAMPS: u8 = 8;
    let mut o = Vec::with_capacity(t.options_len() as usize);
    if let Some(mss) = t.mss {
        o.extend_from_slice(&[MSS, 4]);
        o.extend_from_slice(&mss.to_be_bytes());
    }
    match (t.sack_permitted, t.timestamps) {
        (true, Some(_)) => o.extend_from_slice(&[SACK_PERMITTED, 2]),
        (true, None) => o.extend_from_slice(&[NOP, NOP, SACK_PERMITTED, 2]),
        (false, Some(_)) => o.extend_from_slice(&[NOP, NOP]),
        (false, None) => {}
    }
    if let Some((tsval, tsecr)) = t.timestamps {
        o.extend_from_slice(&[TIMESTAMPS, 10]);
        o.extend_from_slice(&tsval.to_be_bytes());
        o.extend_from_slice(&tsecr.to_be_bytes());
    }
    if let Some(shift) = t.wscale {
        o.extend_from_slice(&[NOP, WSCALE, 3, shift]);
    }
    let blocks = t.sack_blocks();
    if !blocks.is_empty() {
        o.extend_from_slice(&[NOP, NOP, SACK, 2 + 8 * blocks.len() as u8]);
        for (left, right) in blocks {
            o.extend_from_slice(&left.to_be_bytes());
            o.extend_from_slice(&right.to_be_bytes());
        }
    }
    assert_eq!(
        o.len(),
        t.options_len() as usize,
        "TCP options differ from the layout Tcp::options_len documents"
    );
    o
}

fn tcp_header(t: &Tcp) -> TcpHeader {
    let mut h = TcpHeader::new(t.src_port, t.dst_port, t.seq, t.window);
    h.acknowledgment_number = t.ack;
    h.fin = t.flags & tcp_flags::FIN != 0;
    h.syn = t.flags & tcp_flags::SYN != 0;
    h.rst = t.flags & tcp_flags::RST != 0;
    h.psh = t.flags & tcp_flags::PSH != 0;
    h.ack = t.flags & tcp_flags::ACK != 0;
    h.set_options_raw(&tcp_options(t))
        .expect("TCP options fit 40 bytes");
    h
}

fn encode_tcp(ip: &Ip, t: &Tcp, payload: Option<&[u8]>, frame: &mut Vec<u8>) {
    let mut h = tcp_header(t);
    let start = frame.len();
    match payload {
        // The bytes of an application that sends real ones (DNS over TCP).
        Some(bytes) => {
            assert_eq!(bytes.len(), t.payload_len as usize, "TCP payload length");
            frame.extend_from_slice(bytes);
        }
        // The payload's pattern follows the sequence space; a SYN or FIN
        // would shift it by one, which keeps it a pure function of the
        // bytes' own sequence numbers.
        None => {
            let first = t.seq.wrapping_add(u32::from(t.flags & tcp_flags::SYN != 0));
            push_payload(frame, first, t.payload_len);
        }
    }
    let payload = frame.split_off(start);
    h.checksum = match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            h.calc_checksum_ipv4_raw(s.octets(), d.octets(), &payload)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            h.calc_checksum_ipv6_raw(s.octets(), d.octets(), &payload)
        }
        _ => unreachable!("families checked by encode_ip"),
    }
    .expect("a TCP segment fits 16 bits of length");
    frame.extend_from_slice(&h.to_bytes());
    frame.extend_from_slice(&payload);
}

fn udp_header(
    ip_src: IpAddr,
    ip_dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> UdpHeader {
    match (ip_src, ip_dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => UdpHeader::with_ipv4_checksum(
            src_port,
            dst_port,
            &ipv4_header(0, 0, IpNumber::UDP, s, d, 0, false),
            payload,
        ),
        (IpAddr::V6(s), IpAddr::V6(d)) => UdpHeader::with_ipv6_checksum(
            src_port,
            dst_port,
            &ipv6_header(0, 0, IpNumber::UDP, s, d),
            payload,
        ),
        _ => unreachable!("families checked by encode_ip"),
    }
    .expect("a UDP datagram fits 16 bits of length")
}

fn encode_udp(ip: &Ip, u: &Udp, payload: Option<&[u8]>, frame: &mut Vec<u8>) {
    let start = frame.len();
    match payload {
        Some(bytes) => {
            assert_eq!(bytes.len(), u.payload_len as usize, "UDP payload length");
            frame.extend_from_slice(bytes);
        }
        None => push_payload(frame, 0, u.payload_len),
    }
    let payload = frame.split_off(start);
    frame.extend_from_slice(
        &udp_header(ip.src, ip.dst, u.src_port, u.dst_port, &payload).to_bytes(),
    );
    frame.extend_from_slice(&payload);
}

fn echo_payload(payload_len: u32) -> Vec<u8> {
    (0..payload_len).map(payload_byte).collect()
}

/// An ICMP error's type and code as the packet model maps them
/// ([`Icmp::type_code`], the one place that knows the numbers), its
/// second 32-bit word, and the quoted datagram.
fn icmp_error(i: &Icmp, v6: bool) -> (u8, u8, [u8; 4], Vec<u8>) {
    let quoted = i
        .quoted()
        .unwrap_or_else(|| panic!("no encoding for ICMP message {i:?}"));
    let (kind, code) = i.type_code(v6);
    (kind, code, second_word(i, v6), quote(&quoted))
}

/// The word after an ICMP error's checksum: the MTU for "packet too big"
/// (RFC 4443 §3.2: 32 bits) and "fragmentation needed" (RFC 1191 §4: 16
/// unused bits, then the next-hop MTU in 16 bits); unused, zero, otherwise.
fn second_word(i: &Icmp, v6: bool) -> [u8; 4] {
    match *i {
        Icmp::TooBig { mtu, .. } if v6 => mtu.to_be_bytes(),
        Icmp::TooBig { mtu, .. } => {
            let mtu = u16::try_from(mtu).unwrap_or(u16::MAX).to_be_bytes();
            [0, 0, mtu[0], mtu[1]]
        }
        _ => [0; 4],
    }
}

fn encode_icmpv4(i: &Icmp, frame: &mut Vec<u8>) {
    let (kind, payload) = match *i {
        Icmp::EchoRequest {
            id,
            seq,
            payload_len,
        } => (
            Icmpv4Type::EchoRequest(IcmpEchoHeader { id, seq }),
            echo_payload(payload_len),
        ),
        Icmp::EchoReply {
            id,
            seq,
            payload_len,
        } => (
            Icmpv4Type::EchoReply(IcmpEchoHeader { id, seq }),
            echo_payload(payload_len),
        ),
        Icmp::NeighborSolicit { .. } | Icmp::NeighborAdvert { .. } => {
            panic!("neighbour discovery over IPv4: {i:?}")
        }
        _ => {
            let (type_u8, code_u8, bytes5to8, quoted) = icmp_error(i, false);
            let kind = Icmpv4Type::Unknown {
                type_u8,
                code_u8,
                bytes5to8,
            };
            (kind, quoted)
        }
    };
    frame.extend_from_slice(&Icmpv4Header::with_checksum(kind, &payload).to_bytes());
    frame.extend_from_slice(&payload);
}

fn encode_icmpv6(ip: &Ip, i: &Icmp, frame: &mut Vec<u8>) {
    const SOURCE_LINK_ADDR: u8 = 1;
    const TARGET_LINK_ADDR: u8 = 2;
    let (kind, payload) = match *i {
        Icmp::EchoRequest {
            id,
            seq,
            payload_len,
        } => (
            Icmpv6Type::EchoRequest(IcmpEchoHeader { id, seq }),
            echo_payload(payload_len),
        ),
        Icmp::EchoReply {
            id,
            seq,
            payload_len,
        } => (
            Icmpv6Type::EchoReply(IcmpEchoHeader { id, seq }),
            echo_payload(payload_len),
        ),
        Icmp::NeighborSolicit { target, source_mac } => (
            Icmpv6Type::NeighborSolicitation,
            nd_payload(target, SOURCE_LINK_ADDR, source_mac.0),
        ),
        Icmp::NeighborAdvert {
            target,
            target_mac,
            router,
        } => (
            Icmpv6Type::NeighborAdvertisement(icmpv6::NeighborAdvertisementHeader {
                router,
                solicited: true,
                r#override: true,
            }),
            nd_payload(target, TARGET_LINK_ADDR, target_mac.0),
        ),
        _ => {
            let (type_u8, code_u8, bytes5to8, quoted) = icmp_error(i, true);
            let kind = Icmpv6Type::Unknown {
                type_u8,
                code_u8,
                bytes5to8,
            };
            (kind, quoted)
        }
    };
    let (IpAddr::V6(src), IpAddr::V6(dst)) = (ip.src, ip.dst) else {
        unreachable!("families checked by encode_ip")
    };
    let header = Icmpv6Header::with_checksum(kind, src.octets(), dst.octets(), &payload)
        .expect("an ICMPv6 message fits 32 bits of length");
    frame.extend_from_slice(&header.to_bytes());
    frame.extend_from_slice(&payload);
}

/// The target address and one link-layer address option (RFC 4861 §4.6.1:
/// type, length in units of 8 bytes, the address).
fn nd_payload(target: Ipv6Addr, option: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut p = Vec::with_capacity(24);
    p.extend_from_slice(&target.octets());
    p.extend_from_slice(&[option, 1]);
    p.extend_from_slice(&mac);
    p
}

/// The offending datagram as an ICMP error quotes it: its IP header and
/// the first 8 bytes of its payload, rebuilt from what [`Quoted`] keeps:
/// its TTL as it arrived, its identification and total length (the header
/// says how long the datagram was; only 8 bytes of it follow, as RFC 792
/// and RFC 4443 quote).
fn quote(q: &Quoted) -> Vec<u8> {
    let proto = IpNumber(q.proto);
    let l4 = quoted_l4(q);
    let mut out = Vec::with_capacity(48);
    let ip_header = if q.src.is_ipv6() { 40 } else { 20 };
    let payload_len = q
        .total_len
        .saturating_sub(ip_header)
        .clamp(8, u32::from(u16::MAX)) as u16;
    match (q.src, q.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let df = q.proto == IpNumber::TCP.0 || q.proto == IpNumber::UDP.0 || q.proto == 1;
            let h = ipv4_header(payload_len, q.ttl, proto, s, d, q.id as u16, df);
            out.extend_from_slice(&h.to_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.extend_from_slice(&ipv6_header(payload_len, q.ttl, proto, s, d).to_bytes());
        }
        _ => panic!("a quoted datagram mixes families: {} > {}", q.src, q.dst),
    }
    out.extend_from_slice(&l4);
    out
}

/// The first 8 bytes of the quoted datagram's payload.
fn quoted_l4(q: &Quoted) -> [u8; 8] {
    // The transport payload the datagram carried: the fixed pattern, so
    // the quoted UDP and ICMP checksums are the ones that were sent.
    let ip_header = if q.src.is_ipv6() { 40 } else { 20 };
    let payload: Vec<u8> = (0..q.total_len.saturating_sub(ip_header + 8))
        .map(payload_byte)
        .collect();
    match q.proto {
        6 => {
            let h = TcpHeader::new(q.src_port, q.dst_port, q.word, 0);
            let bytes = h.to_bytes();
            bytes[..8].try_into().expect("a TCP header is 20 bytes")
        }
        17 => udp_header(q.src, q.dst, q.src_port, q.dst_port, &payload).to_bytes(),
        1 | 58 => {
            // Echo requests are the only ICMP messages that draw errors;
            // `Quoted` keeps their identifier in both port fields and
            // their sequence number in `word`.
            let echo = IcmpEchoHeader {
                id: q.src_port,
                seq: q.word as u16,
            };
            let bytes = if q.proto == 1 {
                Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), &payload)
                    .to_bytes()
                    .to_vec()
            } else {
                let (IpAddr::V6(s), IpAddr::V6(d)) = (q.src, q.dst) else {
                    panic!("ICMPv6 quoted from an IPv4 datagram: {q:?}")
                };
                Icmpv6Header::with_checksum(
                    Icmpv6Type::EchoRequest(echo),
                    s.octets(),
                    d.octets(),
                    &payload,
                )
                .expect("an echo fits")
                .to_bytes()
                .to_vec()
            };
            bytes[..8].try_into().expect("an echo header is 8 bytes")
        }
        _ => {
            let mut b = [0; 8];
            b[..2].copy_from_slice(&q.src_port.to_be_bytes());
            b[2..4].copy_from_slice(&q.dst_port.to_be_bytes());
            b
        }
    }
}

#[cfg(test)]
mod tests;
