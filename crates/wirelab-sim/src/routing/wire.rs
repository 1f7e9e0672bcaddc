//! The protocols' messages as bytes on the wire: OSPFv2 packets (RFC 2328
//! appendix A) and RIPv2 responses and requests (RFC 2453 §4), so that a
//! capture shows real routing traffic and what a router acts on is what
//! it decoded.
//!
//! What is simplified, and why:
//! - OSPF: hellos, link state updates carrying router LSAs, and link state
//!   acknowledgments; there are no database description or link state
//!   request packets (the simulated routers exchange their whole databases
//!   as updates, see `link_state`). Every adjacency is described as a
//!   point-to-point link (type 1) whose link data is 0.0.0.0, and every
//!   prefix as a stub network (type 3). An acknowledgment's LSA headers
//!   carry the instance's identity (type, ID, advertising router, sequence
//!   number) with age and checksum 0 and the length of an empty router
//!   LSA: the routers match an acknowledgment to an LSA by sequence number
//!   alone.
//! - RIP: at most 25 routes per response, as the RFC says; a request for
//!   the whole table is the single entry with address family 0 and
//!   metric 16.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::{distance_vector, link_state};

/// OSPF's AllSPFRouters group and RIPv2's group (RFC 2328 A.1, RFC 2453 §4.2).
pub const ALL_SPF_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 5);
pub const RIP_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 9);
pub const RIP_PORT: u16 = 520;
/// Routes per RIP response (RFC 2453 §3.6).
pub const RIP_ENTRIES_MAX: usize = 25;

const OSPF_HEADER: usize = 24;
const LSA_HEADER: usize = 20;
/// LS sequence numbers start at InitialSequenceNumber (RFC 2328 §12.1.6).
const SEQ_BASE: u32 = 0x8000_0000;

/// What a hello says beyond the protocol's message: the sender's network
/// mask and timers, which neighbours must agree on (RFC 2328 §10.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelloParams {
    pub mask: Ipv4Addr,
    pub hello_s: u16,
    pub dead_s: u32,
}

/// A decoded OSPF packet: the sender's router ID, the hello parameters
/// when it is a hello, and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OspfPacket {
    pub router: u32,
    pub hello: Option<HelloParams>,
    pub message: link_state::Message,
}

/// The OSPF packet type of a message (1 hello, 4 update, 5 ack).
pub fn ospf_kind(message: &link_state::Message) -> u8 {
    match message {
        link_state::Message::Hello { .. } => 1,
        link_state::Message::Update { .. } => 4,
        link_state::Message::Ack { .. } => 5,
    }
}

/// The Internet checksum (RFC 1071) of `bytes`.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Fletcher checksum of an LSA (RFC 2328 §12.1.7, ISO 8473 annex C):
/// over the LSA but its age, with the checksum field at offset 16.
fn lsa_checksum(lsa: &[u8]) -> [u8; 2] {
    let data = &lsa[2..];
    let (mut c0, mut c1) = (0i64, 0i64);
    for &b in data {
        c0 = (c0 + i64::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    // The checksum's first octet, counted from 1 within `data`.
    let pos = 15i64;
    let len = data.len() as i64;
    let mut x = ((len - pos) * c0 - c1) % 255;
    if x <= 0 {
        x += 255;
    }
    let mut y = 510 - c0 - x;
    if y > 255 {
        y -= 255;
    }
    [x as u8, y as u8]
}

/// Whether an LSA's Fletcher checksum holds.
fn lsa_checksum_ok(lsa: &[u8]) -> bool {
    let (mut c0, mut c1) = (0u32, 0u32);
    for &b in &lsa[2..] {
        c0 = (c0 + u32::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    c0 == 0 && c1 == 0
}

fn v4_of(net: &IpNet) -> Option<Ipv4Net> {
    match net {
        IpNet::V4(n) => Some(*n),
        IpNet::V6(_) => None,
    }
}

fn encode_lsa(lsa: &link_state::Lsa, out: &mut Vec<u8>) {
    let start = out.len();
    let stubs: Vec<(Ipv4Net, u32)> = lsa
        .prefixes
        .iter()
        .filter_map(|(p, c)| v4_of(p).map(|n| (n, *c)))
        .collect();
    let links = lsa.links.len() + stubs.len();
    let len = LSA_HEADER + 4 + 12 * links;
    out.extend_from_slice(&(lsa.age_s.min(3600) as u16).to_be_bytes());
    out.push(0x02); // options: E
    out.push(1); // router LSA
    out.extend_from_slice(&lsa.origin.to_be_bytes()); // link state ID
    out.extend_from_slice(&lsa.origin.to_be_bytes()); // advertising router
    out.extend_from_slice(&SEQ_BASE.wrapping_add(lsa.seq).to_be_bytes());
    out.extend_from_slice(&[0, 0]); // checksum, below
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]); // flags, 0
    out.extend_from_slice(&(links as u16).to_be_bytes());
    for l in &lsa.links {
        out.extend_from_slice(&l.neighbor.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(l.cost.min(0xffff) as u16).to_be_bytes());
    }
    for (n, cost) in stubs {
        out.extend_from_slice(&n.network().octets());
        out.extend_from_slice(&n.netmask().octets());
        out.extend_from_slice(&[3, 0]);
        out.extend_from_slice(&(cost.min(0xffff) as u16).to_be_bytes());
    }
    let sum = lsa_checksum(&out[start..]);
    out[start + 16..start + 18].copy_from_slice(&sum);
}

/// The bytes an LSA takes in an update.
fn lsa_len(lsa: &link_state::Lsa) -> usize {
    let stubs = lsa
        .prefixes
        .iter()
        .filter(|(p, _)| p.addr().is_ipv4())
        .count();
    LSA_HEADER + 4 + 12 * (lsa.links.len() + stubs)
}

/// `message` as packets of at most `mtu` bytes with their IPv4 header,
/// as routers split updates and acknowledgments (RFC 2328 §13.3: an LSA
/// larger than that still goes alone).
pub fn split_ospf(message: link_state::Message, mtu: u32) -> Vec<link_state::Message> {
    let budget = (mtu as usize)
        .saturating_sub(20 + OSPF_HEADER + 4)
        .max(LSA_HEADER);
    match message {
        link_state::Message::Update { lsas } => {
            let mut out = Vec::new();
            let mut chunk = Vec::new();
            let mut used = 0;
            for lsa in lsas {
                let len = lsa_len(&lsa);
                if !chunk.is_empty() && used + len > budget {
                    out.push(link_state::Message::Update {
                        lsas: std::mem::take(&mut chunk),
                    });
                    used = 0;
                }
                used += len;
                chunk.push(lsa);
            }
            out.push(link_state::Message::Update { lsas: chunk });
            out
        }
        link_state::Message::Ack { lsas } => lsas
            .chunks(budget / LSA_HEADER)
            .map(|c| link_state::Message::Ack { lsas: c.to_vec() })
            .collect(),
        hello => vec![hello],
    }
}

/// An OSPF packet from `router` carrying `message` (`hello` for hellos).
pub fn encode_ospf(
    router: u32,
    hello: Option<HelloParams>,
    message: &link_state::Message,
) -> Vec<u8> {
    let mut out = vec![2, ospf_kind(message), 0, 0];
    out.extend_from_slice(&router.to_be_bytes());
    out.extend_from_slice(&[0; 4]); // area 0.0.0.0
    out.extend_from_slice(&[0; 2]); // checksum, below
    out.extend_from_slice(&[0; 2]); // no authentication
    out.extend_from_slice(&[0; 8]);
    match message {
        link_state::Message::Hello { seen, .. } => {
            let p = hello.unwrap_or(HelloParams {
                mask: Ipv4Addr::UNSPECIFIED,
                hello_s: 10,
                dead_s: 40,
            });
            out.extend_from_slice(&p.mask.octets());
            out.extend_from_slice(&p.hello_s.to_be_bytes());
            out.push(0x02); // options: E
            out.push(1); // router priority
            out.extend_from_slice(&p.dead_s.to_be_bytes());
            out.extend_from_slice(&[0; 8]); // no DR, no BDR
            for n in seen {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        link_state::Message::Update { lsas } => {
            out.extend_from_slice(&(lsas.len() as u32).to_be_bytes());
            for lsa in lsas {
                encode_lsa(lsa, &mut out);
            }
        }
        link_state::Message::Ack { lsas } => {
            for &(origin, seq) in lsas {
                out.extend_from_slice(&[0, 0, 0x02, 1]);
                out.extend_from_slice(&origin.to_be_bytes());
                out.extend_from_slice(&origin.to_be_bytes());
                out.extend_from_slice(&SEQ_BASE.wrapping_add(seq).to_be_bytes());
                // Checksum 0; the length of the smallest router LSA.
                out.extend_from_slice(&[0, 0, 0, (LSA_HEADER + 4) as u8]);
            }
        }
    }
    let len = out.len() as u16;
    out[2..4].copy_from_slice(&len.to_be_bytes());
    let sum = internet_checksum(&out);
    out[12..14].copy_from_slice(&sum.to_be_bytes());
    out
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn decode_lsa(b: &[u8]) -> Option<(link_state::Lsa, usize)> {
    let len = usize::from(u16_at(b, 18)?);
    if len < LSA_HEADER + 4 || b.len() < len || b[3] != 1 || !lsa_checksum_ok(&b[..len]) {
        return None;
    }
    let origin = u32_at(b, 8)?;
    let seq = u32_at(b, 12)?.wrapping_sub(SEQ_BASE);
    let count = usize::from(u16_at(b, 22)?);
    if LSA_HEADER + 4 + 12 * count != len {
        return None;
    }
    let mut links = Vec::new();
    let mut prefixes = Vec::new();
    for k in 0..count {
        let at = LSA_HEADER + 4 + 12 * k;
        let id = u32_at(b, at)?;
        let data = u32_at(b, at + 4)?;
        let metric = u32::from(u16_at(b, at + 10)?);
        match b[at + 8] {
            1 => links.push(link_state::LsaLink {
                neighbor: id,
                cost: metric,
            }),
            3 => {
                let len = data.leading_ones() as u8;
                let net = Ipv4Net::new(Ipv4Addr::from(id), len).ok()?;
                prefixes.push((IpNet::V4(net), metric));
            }
            _ => return None,
        }
    }
    Some((
        link_state::Lsa {
            origin,
            seq,
            age_s: u32::from(u16_at(b, 0)?),
            links,
            prefixes,
        },
        len,
    ))
}

/// Decodes an OSPF packet; `None` when it is not a well-formed packet of
/// the kinds the simulator sends (a router drops those, as RFC 2328 §8.2
/// says).
pub fn decode_ospf(b: &[u8]) -> Option<OspfPacket> {
    if b.len() < OSPF_HEADER || b[0] != 2 {
        return None;
    }
    let len = usize::from(u16_at(b, 2)?);
    if len != b.len() || internet_checksum(b) != 0 {
        return None;
    }
    let router = u32_at(b, 4)?;
    let body = &b[OSPF_HEADER..];
    match b[1] {
        1 => {
            if body.len() < 20 || !(body.len() - 20).is_multiple_of(4) {
                return None;
            }
            let hello = HelloParams {
                mask: Ipv4Addr::from(u32_at(body, 0)?),
                hello_s: u16_at(body, 4)?,
                dead_s: u32_at(body, 8)?,
            };
            let seen = body[20..]
                .chunks(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Some(OspfPacket {
                router,
                hello: Some(hello),
                message: link_state::Message::Hello { router, seen },
            })
        }
        4 => {
            let count = u32_at(body, 0)? as usize;
            let mut at = 4;
            let mut lsas = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                let (lsa, used) = decode_lsa(body.get(at..)?)?;
                lsas.push(lsa);
                at += used;
            }
            (at == body.len()).then_some(OspfPacket {
                router,
                hello: None,
                message: link_state::Message::Update { lsas },
            })
        }
        5 => {
            if !body.len().is_multiple_of(LSA_HEADER) {
                return None;
            }
            let lsas = body
                .chunks(LSA_HEADER)
                .map(|h| {
                    let origin = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
                    let seq = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
                    (origin, seq.wrapping_sub(SEQ_BASE))
                })
                .collect();
            Some(OspfPacket {
                router,
                hello: None,
                message: link_state::Message::Ack { lsas },
            })
        }
        _ => None,
    }
}

/// `bytes` as an OSPF packet whose length field and checksums hold: the
/// header's length and checksum, and the Fletcher checksum of each LSA of
/// an update whose length fields fit. For the fuzz target, so that its
/// mutations reach the decoder's parsing rather than its checksum test.
#[doc(hidden)]
pub fn with_valid_checksums(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if b.len() < OSPF_HEADER || b.len() > usize::from(u16::MAX) {
        return b;
    }
    let len = b.len() as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    if b[1] == 4 {
        let mut at = OSPF_HEADER + 4;
        while at + LSA_HEADER <= b.len() {
            let lsa_len = usize::from(u16::from_be_bytes([b[at + 18], b[at + 19]]));
            if lsa_len < LSA_HEADER || at + lsa_len > b.len() {
                break;
            }
            b[at + 16..at + 18].copy_from_slice(&[0, 0]);
            let sum = lsa_checksum(&b[at..at + lsa_len]);
            b[at + 16..at + 18].copy_from_slice(&sum);
            at += lsa_len;
        }
    }
    b[12..14].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(&b);
    b[12..14].copy_from_slice(&sum.to_be_bytes());
    b
}

/// The RIPv2 datagrams (UDP payloads) that carry `message`: one for a
/// request, one per 25 routes for a response (at least one).
pub fn encode_rip(message: &distance_vector::Message) -> Vec<Vec<u8>> {
    match message {
        distance_vector::Message::Request => {
            let mut out = vec![1, 2, 0, 0];
            out.extend_from_slice(&[0; 16]);
            out.extend_from_slice(&16u32.to_be_bytes());
            vec![out]
        }
        distance_vector::Message::Response { entries } => {
            let v4: Vec<(Ipv4Net, u32)> = entries
                .iter()
                .filter_map(|(p, m)| v4_of(p).map(|n| (n, *m)))
                .collect();
            let mut datagrams = Vec::new();
            for chunk in v4.chunks(RIP_ENTRIES_MAX) {
                let mut out = vec![2, 2, 0, 0];
                for (net, metric) in chunk {
                    out.extend_from_slice(&2u16.to_be_bytes()); // AF_INET
                    out.extend_from_slice(&[0, 0]); // route tag
                    out.extend_from_slice(&net.network().octets());
                    out.extend_from_slice(&net.netmask().octets());
                    out.extend_from_slice(&[0; 4]); // next hop: the sender
                    out.extend_from_slice(&(*metric).min(16).to_be_bytes());
                }
                datagrams.push(out);
            }
            if datagrams.is_empty() {
                datagrams.push(vec![2, 2, 0, 0]);
            }
            datagrams
        }
    }
}

/// Decodes a RIPv2 datagram; `None` when malformed (RFC 2453 §3.9.2:
/// such a message is ignored).
pub fn decode_rip(b: &[u8]) -> Option<distance_vector::Message> {
    if b.len() < 4 || b[1] != 2 || !(b.len() - 4).is_multiple_of(20) {
        return None;
    }
    let entries = &b[4..];
    match b[0] {
        1 => Some(distance_vector::Message::Request),
        2 => {
            let mut out = Vec::with_capacity(entries.len() / 20);
            for e in entries.chunks(20) {
                if u16_at(e, 0)? != 2 {
                    continue;
                }
                let addr = Ipv4Addr::from(u32_at(e, 4)?);
                let mask = u32_at(e, 8)?;
                if mask.leading_ones() + mask.trailing_zeros() != 32 {
                    return None;
                }
                let metric = u32_at(e, 16)?;
                if !(1..=16).contains(&metric) {
                    return None;
                }
                let net = Ipv4Net::new(addr, mask.leading_ones() as u8).ok()?;
                out.push((IpNet::V4(net.trunc()), metric));
            }
            Some(distance_vector::Message::Response { entries: out })
        }
        _ => None,
    }
}

/// The address a message goes to: a neighbour, or the protocol's group.
pub fn destination(to: Option<IpAddr>, group: Ipv4Addr) -> IpAddr {
    to.unwrap_or(IpAddr::V4(group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use link_state::{Lsa, LsaLink, Message};

    fn lsa(origin: u32, seq: u32) -> Lsa {
        Lsa {
            origin,
            seq,
            age_s: 7,
            links: vec![
                LsaLink {
                    neighbor: 0x0a00_0002,
                    cost: 10,
                },
                LsaLink {
                    neighbor: 0x0a00_0003,
                    cost: 65_535,
                },
            ],
            prefixes: vec![
                ("10.0.1.0/24".parse().unwrap(), 1),
                ("10.0.12.0/30".parse().unwrap(), 10),
            ],
        }
    }

    #[test]
    fn ospf_messages_round_trip_through_their_bytes() {
        let hello = HelloParams {
            mask: Ipv4Addr::new(255, 255, 255, 252),
            hello_s: 10,
            dead_s: 40,
        };
        let cases = [
            (
                Some(hello),
                Message::Hello {
                    router: 0x0101_0101,
                    seen: vec![2, 3],
                },
            ),
            (
                None,
                Message::Update {
                    lsas: vec![lsa(1, 1), lsa(0x0a00_0002, 77)],
                },
            ),
            (
                None,
                Message::Ack {
                    lsas: vec![(1, 1), (9, 0x7fff_ffff)],
                },
            ),
        ];
        for (params, message) in cases {
            let router = match &message {
                Message::Hello { router, .. } => *router,
                _ => 0x0101_0101,
            };
            let bytes = encode_ospf(router, params, &message);
            assert_eq!(
                u16::from_be_bytes([bytes[2], bytes[3]]) as usize,
                bytes.len()
            );
            let back = decode_ospf(&bytes).expect("decodes");
            assert_eq!(back.router, router);
            assert_eq!(back.hello, params);
            assert_eq!(back.message, message);
        }
    }

    #[test]
    fn updates_and_acks_split_to_fit_the_mtu() {
        // 60 LSAs of 2 links and 2 stubs: 72 bytes each.
        let lsas: Vec<Lsa> = (0..60).map(|i| lsa(i, 1)).collect();
        let parts = split_ospf(Message::Update { lsas: lsas.clone() }, 1500);
        let mut back = Vec::new();
        for p in &parts {
            let bytes = encode_ospf(1, None, p);
            assert!(bytes.len() + 20 <= 1500, "{} bytes", bytes.len());
            let Message::Update { lsas } = p else {
                panic!()
            };
            back.extend(lsas.iter().cloned());
        }
        assert_eq!(back, lsas);
        assert_eq!(parts.len(), 60usize.div_ceil((1500 - 48) / 72));
        let acks: Vec<(u32, u32)> = (0..200).map(|i| (i, 1)).collect();
        let parts = split_ospf(Message::Ack { lsas: acks.clone() }, 576);
        assert!(parts
            .iter()
            .all(|p| encode_ospf(1, None, p).len() + 20 <= 576));
        let back: Vec<(u32, u32)> = parts
            .into_iter()
            .flat_map(|p| match p {
                Message::Ack { lsas } => lsas,
                _ => panic!(),
            })
            .collect();
        assert_eq!(back, acks);
    }

    #[test]
    fn a_flipped_bit_makes_an_ospf_packet_invalid() {
        let bytes = encode_ospf(
            1,
            None,
            &Message::Update {
                lsas: vec![lsa(1, 1)],
            },
        );
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(
                decode_ospf(&bad).is_none(),
                "byte {i} flipped still decodes"
            );
        }
    }

    #[test]
    fn valid_checksums_are_restored_after_a_change() {
        let bytes = encode_ospf(
            7,
            None,
            &Message::Update {
                lsas: vec![lsa(1, 1), lsa(2, 5)],
            },
        );
        assert_eq!(with_valid_checksums(&bytes), bytes, "already valid");
        let mut changed = bytes.clone();
        changed[24 + 4 + 35] ^= 0x01; // the first link's cost, 10 to 11
        assert!(decode_ospf(&changed).is_none());
        let fixed = with_valid_checksums(&changed);
        let Some(OspfPacket {
            message: Message::Update { lsas },
            ..
        }) = decode_ospf(&fixed)
        else {
            panic!("decodes once the checksums hold");
        };
        assert_ne!(lsas[0], lsa(1, 1));
        assert_eq!(lsas[1], lsa(2, 5));
    }

    #[test]
    fn lsa_checksum_matches_the_fletcher_definition() {
        let mut out = Vec::new();
        encode_lsa(&lsa(5, 3), &mut out);
        assert!(lsa_checksum_ok(&out));
        // The age is not covered: changing it keeps the checksum valid.
        out[1] ^= 0xff;
        assert!(lsa_checksum_ok(&out));
        out[30] ^= 1;
        assert!(!lsa_checksum_ok(&out));
    }

    #[test]
    fn rip_responses_split_at_25_routes_and_round_trip() {
        let entries: Vec<(IpNet, u32)> = (0..60u32)
            .map(|i| {
                let net = Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
                (IpNet::V4(net), 1 + i % 16)
            })
            .collect();
        let msg = distance_vector::Message::Response {
            entries: entries.clone(),
        };
        let datagrams = encode_rip(&msg);
        assert_eq!(
            datagrams.iter().map(Vec::len).collect::<Vec<_>>(),
            [4 + 25 * 20, 4 + 25 * 20, 4 + 10 * 20]
        );
        let mut back = Vec::new();
        for d in &datagrams {
            match decode_rip(d) {
                Some(distance_vector::Message::Response { entries }) => back.extend(entries),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, entries);
        let req = encode_rip(&distance_vector::Message::Request);
        assert_eq!(decode_rip(&req[0]), Some(distance_vector::Message::Request));
        // Metric 0 and a non-contiguous mask are refused.
        let mut bad = datagrams[2].clone();
        bad[4 + 19] = 0;
        assert!(decode_rip(&bad).is_none());
        let mut bad = datagrams[2].clone();
        bad[4 + 8..4 + 12].copy_from_slice(&[255, 0, 255, 0]);
        assert!(decode_rip(&bad).is_none());
    }
}
