//! Sets of addresses of one family as sorted, disjoint intervals of
//! integers (an IPv4 address is its `u32` value, an IPv6 address its
//! `u128`), and their shortest description as CIDR blocks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use wirelab_spec::Family;

/// The largest address of a family, as an integer.
pub fn family_max(family: Family) -> u128 {
    match family {
        Family::Ipv4 => u128::from(u32::MAX),
        Family::Ipv6 => u128::MAX,
    }
}

pub fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::Ipv4,
        IpNet::V6(_) => Family::Ipv6,
    }
}

/// The first and last address of a prefix, as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

pub fn to_int(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

pub fn to_addr(family: Family, value: u128) -> IpAddr {
    match family {
        // Values of an IPv4 set never exceed u32::MAX.
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Starts of the pieces of each family's address space (IPv4, IPv6) cut
/// at the bounds of every prefix given: sorted, without repeats, and
/// beginning with 0. Within one piece, every one of the prefixes contains
/// all addresses or none.
pub fn cut_starts(prefixes: impl IntoIterator<Item = IpNet>) -> [Vec<u128>; 2] {
    let mut cuts = [vec![0u128], vec![0u128]];
    for n in prefixes {
        let (a, b) = bounds(&n);
        let c = &mut cuts[matches!(n, IpNet::V6(_)) as usize];
        c.push(a);
        if b < family_max(family_of(&n)) {
            c.push(b + 1);
        }
    }
    cuts.map(|mut c| {
        c.sort_unstable();
        c.dedup();
        c
    })
}

/// Sorts and merges intervals into disjoint, non-adjacent ones.
pub fn normalize(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if last.1 == u128::MAX || a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// `ranges` without `minus` (both normalized).
pub fn difference(ranges: &[(u128, u128)], minus: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(a, b) in ranges {
        let mut start = a;
        let mut done = false;
        for &(c, d) in minus {
            if d < start || c > b {
                continue;
            }
            if c > start {
                out.push((start, c - 1));
            }
            if d >= b {
                done = true;
                break;
            }
            start = d + 1;
        }
        if !done {
            out.push((start, b));
        }
    }
    out
}

/// The intersection of two normalized sets.
pub fn intersect(x: &[(u128, u128)], y: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        let lo = x[i].0.max(y[j].0);
        let hi = x[i].1.min(y[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if x[i].1 < y[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The fewest CIDR blocks whose union is exactly the interval set.
pub fn to_cidrs(family: Family, ranges: &[(u128, u128)]) -> Vec<IpNet> {
    let bits: u32 = match family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let mut out = Vec::new();
    for &(a, b) in ranges {
        let mut start = a;
        loop {
            // The largest aligned block that starts at `start` and ends
            // within `b` (a block of one address always does).
            let mut size_log = if start == 0 {
                bits
            } else {
                start.trailing_zeros().min(bits)
            };
            while block_last(start, size_log).is_none_or(|l| l > b) {
                size_log -= 1;
            }
            let last = block_last(start, size_log).unwrap_or(start);
            out.push(prefix(family, start, (bits - size_log) as u8));
            if last >= b {
                break;
            }
            start = last + 1;
        }
    }
    out
}

/// The last address of the block of 2^`size_log` addresses at `start`.
fn block_last(start: u128, size_log: u32) -> Option<u128> {
    if size_log >= 128 {
        (start == 0).then_some(u128::MAX)
    } else {
        start.checked_add((1u128 << size_log) - 1)
    }
}

fn prefix(family: Family, start: u128, len: u8) -> IpNet {
    match family {
        Family::Ipv4 => IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(start as u32), len).expect("length within 0..=32"),
        ),
        Family::Ipv6 => {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(start), len).expect("length within 0..=128"))
        }
    }
}

/// Addresses that are not public: private (RFC 1918, RFC 6598 shared,
/// RFC 4193 unique local), loopback, link-local, "this network",
/// multicast and reserved. The documentation ranges (192.0.2.0/24,
/// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public: labs
/// use them for the internet.
pub fn non_public(family: Family) -> Vec<(u128, u128)> {
    let nets: &[&str] = match family {
        Family::Ipv4 => &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "224.0.0.0/3",
        ],
        Family::Ipv6 => &["::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"],
    };
    normalize(
        nets.iter()
            .map(|n| bounds(&n.parse().expect("a valid prefix")))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cidrs(family: Family, ranges: &[(u128, u128)]) -> Vec<String> {
        to_cidrs(family, ranges)
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    #[test]
    fn cidr_blocks_are_the_fewest() {
        let r = |a: &str, b: &str| (to_int(a.parse().unwrap()), to_int(b.parse().unwrap()));
        assert_eq!(
            cidrs(Family::Ipv4, &[r("10.0.0.0", "10.0.0.255")]),
            ["10.0.0.0/24"]
        );
        assert_eq!(
            cidrs(Family::Ipv4, &[r("10.0.0.1", "10.0.0.6")]),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(
            cidrs(Family::Ipv4, &[(0, u128::from(u32::MAX))]),
            ["0.0.0.0/0"]
        );
        assert_eq!(cidrs(Family::Ipv6, &[(0, u128::MAX)]), ["::/0"]);
        assert_eq!(
            cidrs(Family::Ipv6, &[(1u128 << 127, u128::MAX)]),
            ["8000::/1"]
        );
    }

    #[test]
    fn outside_of_private_space() {
        let public = difference(&[(0, family_max(Family::Ipv4))], &non_public(Family::Ipv4));
        let has = |a: &str| {
            let v = to_int(a.parse().unwrap());
            public.iter().any(|&(x, y)| x <= v && v <= y)
        };
        assert!(has("8.8.8.8") && has("203.0.113.7") && has("172.32.0.1"));
        assert!(!has("10.1.2.3") && !has("172.16.0.1") && !has("192.168.1.1"));
    }

    proptest! {
        // The blocks cover exactly the intervals, without overlap, and no
        // two of them could merge into one.
        #[test]
        fn blocks_cover_exactly(a in 0u32..4096, len in 0u32..4096, b in 0u32..4096, len2 in 0u32..600) {
            let ranges = normalize(vec![
                (u128::from(a), u128::from(a + len)),
                (u128::from(b) + 5000, u128::from(b + len2) + 5000),
            ]);
            let blocks = to_cidrs(Family::Ipv4, &ranges);
            let mut covered: Vec<(u128, u128)> = blocks.iter().map(bounds).collect();
            covered.sort_unstable();
            for w in covered.windows(2) {
                prop_assert!(w[0].1 < w[1].0);
                // Two adjacent blocks of equal size that form an aligned
                // block of twice the size would be fewer as one.
                let size = w[0].1 - w[0].0 + 1;
                let merged = w[0].1 + 1 == w[1].0 && w[1].1 - w[1].0 + 1 == size
                    && w[0].0 % (2 * size) == 0;
                prop_assert!(!merged, "{:?} and {:?} should be one block", w[0], w[1]);
            }
            prop_assert_eq!(normalize(covered), ranges);
        }
    }
}
