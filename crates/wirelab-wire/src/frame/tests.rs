//! One small frame per encoder, compared byte for byte with frames built
//! independently (a few lines of Python's `struct`, checksums summed by
//! hand-written one's-complement arithmetic); frames of the same kinds are
//! read back by the real tshark in `tests/tshark.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wirelab_net::Mac;
use wirelab_sim::packet::{
    tcp_flags, Arp, ArpOp, Body, Icmp, Ip, Quoted, Tcp, Udp, Unreachable, L4,
};
use wirelab_sim::Packet;

use super::{encode, tcp_options};

const A: Mac = Mac([2, 0, 0, 0, 0, 1]);
const B: Mac = Mac([2, 0, 0, 0, 0, 2]);

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn ip_packet(
    src_mac: Mac,
    dst_mac: Mac,
    id: u32,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    l4: L4,
) -> Packet {
    Packet {
        src_mac,
        dst_mac,
        body: Body::Ip(Ip { src, dst, ttl, l4 }),
        tag: 0,
        id,
    }
}

/// Encodes, checks the length against the engine's count, compares.
fn check(p: &Packet, expected: &[u8]) {
    let got = encode(p);
    assert_eq!(got.len(), p.wire_len() as usize, "{p}");
    assert_eq!(hex(&got), hex(expected), "{p}");
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|row| {
            row.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn arp_request() {
    let p = Packet {
        src_mac: A,
        dst_mac: Mac::BROADCAST,
        body: Body::Arp(Arp {
            op: ArpOp::Request,
            sender_mac: A,
            sender_ip: "10.0.1.10".parse().unwrap(),
            target_mac: Mac([0; 6]),
            target_ip: "10.0.1.1".parse().unwrap(),
        }),
        tag: 0,
        id: 7,
    };
    check(&p, ARP_REQUEST);
}

#[test]
fn ipv4_udp() {
    let l4 = L4::Udp(Udp {
        src_port: 49152,
        dst_port: 53,
        payload_len: 4,
        payload: Default::default(),
    });
    // Identification: the low 16 bits of the packet id.
    let p = ip_packet(A, B, 0x1234_0005, v4("10.0.1.10"), v4("10.0.2.10"), 64, l4);
    check(&p, UDP4);
}

#[test]
fn ipv4_tcp_syn_with_every_option() {
    let t = Tcp {
        mss: Some(1460),
        sack_permitted: true,
        timestamps: Some((1, 0)),
        wscale: Some(7),
        ..Tcp::plain(49152, 80, 1000, 0, tcp_flags::SYN, 64240)
    };
    assert_eq!(tcp_options(&t).len(), t.options_len() as usize);
    let p = ip_packet(A, B, 9, v4("10.0.1.10"), v4("10.0.2.10"), 64, L4::Tcp(t));
    check(&p, TCP4_SYN);
}

#[test]
fn tcp_options_follow_the_documented_layout() {
    let base = Tcp::plain(1, 2, 3, 4, tcp_flags::ACK, 5);
    let cases: [(Tcp, &[u8]); 6] = [
        (base, &[]),
        (
            Tcp {
                mss: Some(536),
                ..base
            },
            &[2, 4, 2, 24],
        ),
        (
            Tcp {
                sack_permitted: true,
                ..base
            },
            &[1, 1, 4, 2],
        ),
        (
            Tcp {
                timestamps: Some((0x01020304, 0x05060708)),
                ..base
            },
            &[1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8],
        ),
        (
            Tcp {
                wscale: Some(14),
                ..base
            },
            &[1, 3, 3, 14],
        ),
        (
            Tcp {
                sack: [(1, 2), (3, 4), (0, 0)],
                sack_len: 2,
                ..base
            },
            &[1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4],
        ),
    ];
    for (t, expected) in cases {
        let o = tcp_options(&t);
        assert_eq!(o, expected, "{t:?}");
        assert_eq!(o.len(), t.options_len() as usize, "{t:?}");
    }
    // Everything at once: 4 + 12 + 4 + (4 + 3 * 8) = 48 would overflow
    // the 40 bytes TCP allows; Linux sends SACK blocks beside timestamps
    // only when they fit, so a SYN (no blocks) is the fullest case.
    let full = Tcp {
        mss: Some(1460),
        sack_permitted: true,
        timestamps: Some((1, 2)),
        wscale: Some(7),
        ..base
    };
    assert_eq!(tcp_options(&full).len(), 20);
}

#[test]
fn icmp_echo_request() {
    let l4 = L4::Icmp(Icmp::EchoRequest {
        id: 0x42,
        seq: 1,
        payload_len: 8,
    });
    let p = ip_packet(A, B, 3, v4("10.0.1.10"), v4("10.0.2.10"), 64, l4);
    check(&p, ICMP4_ECHO);
}

#[test]
fn icmp_port_unreachable_quotes_the_udp_ports() {
    let l4 = L4::Icmp(Icmp::Unreachable {
        why: Unreachable::Port,
        // An empty datagram that arrived with TTL 64: the bytes below
        // were built by hand for exactly that.
        quoted: Quoted {
            src: v4("10.0.1.10"),
            dst: v4("10.0.2.10"),
            proto: 17,
            src_port: 49152,
            dst_port: 54,
            ttl: 64,
            total_len: 28,
            id: 0,
            word: 0,
        },
    });
    let p = ip_packet(B, A, 4, v4("10.0.2.10"), v4("10.0.1.10"), 64, l4);
    check(&p, ICMP4_PORT_UNREACHABLE);
}

#[test]
fn too_big_carries_the_mtu_in_the_second_word() {
    let quoted = |src: std::net::IpAddr, dst| Quoted {
        src,
        dst,
        proto: 6,
        src_port: 40000,
        dst_port: 443,
        ttl: 63,
        total_len: 1500,
        id: 7,
        word: 12345,
    };
    let v4 = ip_packet(
        B,
        A,
        1,
        v4("10.0.2.1"),
        v4("10.0.1.10"),
        64,
        L4::Icmp(Icmp::TooBig {
            mtu: 1400,
            quoted: quoted(v4("10.0.1.10"), v4("10.0.3.10")),
        }),
    );
    let f = encode(&v4);
    assert_eq!(f.len(), v4.wire_len() as usize);
    // Type 3 code 4, checksum, 16 unused bits, MTU 1400 = 0x0578.
    assert_eq!(&f[34..36], &[3, 4]);
    assert_eq!(&f[38..42], &[0, 0, 0x05, 0x78]);
    let v6 = ip_packet(
        B,
        A,
        2,
        v6("2001:db8:2::1"),
        v6("2001:db8:1::10"),
        64,
        L4::Icmp(Icmp::TooBig {
            mtu: 1280,
            quoted: quoted(v6("2001:db8:1::10"), v6("2001:db8:3::10")),
        }),
    );
    let f = encode(&v6);
    assert_eq!(f.len(), v6.wire_len() as usize);
    // Type 2 code 0, checksum, MTU 1280 = 0x00000500.
    assert_eq!(&f[54..56], &[2, 0]);
    assert_eq!(&f[58..62], &[0, 0, 0x05, 0x00]);
}

#[test]
fn icmpv6_neighbor_solicitation() {
    let l4 = L4::Icmp(Icmp::NeighborSolicit {
        target: "2001:db8:1::1".parse().unwrap(),
        source_mac: A,
    });
    let p = ip_packet(
        A,
        Mac([0x33, 0x33, 0xff, 0, 0, 1]),
        11,
        v6("2001:db8:1::10"),
        v6("ff02::1:ff00:1"),
        255,
        l4,
    );
    check(&p, ICMP6_NS);
}

#[test]
fn ipv6_tcp_with_timestamps_and_a_sack_block() {
    let t = Tcp {
        timestamps: Some((100, 200)),
        sack: [(6000, 7000), (0, 0), (0, 0)],
        sack_len: 1,
        payload_len: 3,
        ..Tcp::plain(443, 49152, 5000, 3000, tcp_flags::ACK, 509)
    };
    let p = ip_packet(
        B,
        A,
        12,
        v6("2001:db8:1::10"),
        v6("2001:db8:2::10"),
        63,
        L4::Tcp(t),
    );
    check(&p, TCP6_ACK_SACK);
}

#[test]
fn the_same_packet_always_gives_the_same_bytes() {
    let t = Tcp {
        payload_len: 1000,
        ..Tcp::plain(80, 49152, 7, 9, tcp_flags::ACK | tcp_flags::PSH, 100)
    };
    let p = ip_packet(A, B, 1, v4("10.0.0.1"), v4("10.0.0.2"), 64, L4::Tcp(t));
    assert_eq!(encode(&p), encode(&p));
    assert_eq!(encode(&p).len(), 14 + 20 + 20 + 1000);
}

const ARP_REQUEST: &[u8] = &[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x01, 0x0a,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const UDP4: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x20, 0x00, 0x05, 0x40, 0x00, 0x40, 0x11, 0x23, 0xb5, 0x0a, 0x00, 0x01, 0x0a, 0x0a, 0x00,
    0x02, 0x0a, 0xc0, 0x00, 0x00, 0x35, 0x00, 0x0c, 0x26, 0x89, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const TCP4_SYN: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x3c, 0x00, 0x09, 0x40, 0x00, 0x40, 0x06, 0x23, 0xa0, 0x0a, 0x00, 0x01, 0x0a, 0x0a, 0x00,
    0x02, 0x0a, 0xc0, 0x00, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x71, 0xc2, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
const ICMP4_ECHO: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x24, 0x00, 0x03, 0x40, 0x00, 0x40, 0x01, 0x23, 0xc3, 0x0a, 0x00, 0x01, 0x0a, 0x0a, 0x00,
    0x02, 0x0a, 0x08, 0x00, 0xeb, 0xac, 0x00, 0x42, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
    0x06, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const ICMP4_PORT_UNREACHABLE: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x38, 0x00, 0x04, 0x00, 0x00, 0x40, 0x01, 0x63, 0xae, 0x0a, 0x00, 0x02, 0x0a, 0x0a, 0x00,
    0x01, 0x0a, 0x03, 0x03, 0x14, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x1c, 0x00, 0x00,
    0x40, 0x00, 0x40, 0x11, 0x23, 0xbe, 0x0a, 0x00, 0x01, 0x0a, 0x0a, 0x00, 0x02, 0x0a, 0xc0, 0x00,
    0x00, 0x36, 0x00, 0x08, 0x28, 0x94,
];
const ICMP6_NS: &[u8] = &[
    0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x87, 0x00, 0x1c, 0x18, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
];
const TCP6_ACK_SACK: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x2f, 0x06, 0x3f, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0xbb, 0xc0, 0x00, 0x00, 0x00, 0x13, 0x88, 0x00, 0x00,
    0x0b, 0xb8, 0xb0, 0x10, 0x01, 0xfd, 0xbb, 0x97, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00,
    0x00, 0x64, 0x00, 0x00, 0x00, 0xc8, 0x01, 0x01, 0x05, 0x0a, 0x00, 0x00, 0x17, 0x70, 0x00, 0x00,
    0x1b, 0x58, 0x88, 0x89, 0x8a,
];

/// On a PPP link the datagram follows the 2-byte protocol field, byte for
/// byte the same as behind the Ethernet header, without padding.
#[test]
fn a_ppp_frame_is_the_protocol_field_and_the_datagram() {
    use super::encode_framed;
    use wirelab_sim::packet::Framing;
    for (src, dst, protocol) in [
        (v4("10.0.1.10"), v4("10.0.3.10"), [0x00, 0x21]),
        (v6("2001:db8:1::10"), v6("2001:db8:3::10"), [0x00, 0x57]),
    ] {
        let p = ip_packet(
            A,
            B,
            7,
            src,
            dst,
            63,
            L4::Icmp(Icmp::EchoRequest {
                id: 1,
                seq: 1,
                payload_len: 0,
            }),
        );
        let mut ppp = Vec::new();
        encode_framed(&p, Framing::Ppp, None, &mut ppp);
        assert_eq!(ppp.len(), p.frame_len(Framing::Ppp) as usize);
        assert_eq!(&ppp[..2], &protocol);
        let ethernet = encode(&p);
        let datagram = p.ip().unwrap().total_len() as usize;
        assert_eq!(ppp.len(), 2 + datagram, "no padding on PPP");
        assert_eq!(hex(&ppp[2..]), hex(&ethernet[14..14 + datagram]));
        if src.is_ipv4() {
            // 28 bytes of IPv4: 42 on Ethernet, padded to 60; 30 on PPP.
            assert_eq!((ethernet.len(), ppp.len()), (60, 30));
        }
    }
}
