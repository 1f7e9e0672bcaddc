//! Routing tables: connected, static and default routes, looked up by
//! longest-prefix match (RFC 1812 §5.2.4.3), IPv4 and IPv6 independent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use wirelab_spec::Span;

use crate::IfaceId;

/// What a route does with a matching packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// The destination is on the attached segment: resolve it directly.
    Connected,
    /// Forward to this neighbour.
    Gateway(IpAddr),
    /// Drop silently.
    Blackhole,
}

/// Where a route came from, for explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteOrigin {
    Connected,
    Static(Span),
    /// A host's default route through its gateway.
    DefaultGateway,
    /// Learned by a dynamic routing protocol, with its metric.
    Ospf {
        metric: u32,
    },
    Rip {
        metric: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: IpNet,
    /// The outgoing interface; `None` only for blackholes.
    pub iface: Option<IfaceId>,
    pub next_hop: NextHop,
    pub origin: RouteOrigin,
}

/// One address family's table: routes grouped by prefix length, longest
/// first, each group sorted by network address for binary search.
#[derive(Clone, Debug, Default)]
struct Lpm<A> {
    groups: Vec<(u8, Vec<(A, usize)>)>,
}

impl<A: Copy + Ord> Lpm<A> {
    fn build(entries: impl Iterator<Item = (u8, A, usize)>) -> Self {
        let mut groups: Vec<(u8, Vec<(A, usize)>)> = Vec::new();
        for (len, net, idx) in entries {
            match groups.iter_mut().find(|(l, _)| *l == len) {
                Some((_, g)) => g.push((net, idx)),
                None => groups.push((len, vec![(net, idx)])),
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.0));
        for (_, g) in &mut groups {
            // Equal prefixes keep the first route written (validation rejects
            // duplicates; connected routes come first).
            g.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            g.dedup_by(|a, b| a.0 == b.0);
        }
        Lpm { groups }
    }

    fn lookup(&self, masked: impl Fn(u8) -> A) -> Option<usize> {
        for (len, group) in &self.groups {
            let key = masked(*len);
            if let Ok(i) = group.binary_search_by(|e| e.0.cmp(&key)) {
                return Some(group[i].1);
            }
        }
        None
    }
}

fn mask4(addr: Ipv4Addr, len: u8) -> u32 {
    let bits = u32::from(addr);
    if len == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask6(addr: Ipv6Addr, len: u8) -> u128 {
    let bits = u128::from(addr);
    if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len)))
    }
}

/// A node's routing table.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    v4: Lpm<u32>,
    v6: Lpm<u128>,
}

impl RouteTable {
    pub fn new(routes: Vec<Route>) -> Self {
        let v4 = Lpm::build(
            routes
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r.prefix {
                    IpNet::V4(n) => Some((n.prefix_len(), mask4(n.network(), n.prefix_len()), i)),
                    IpNet::V6(_) => None,
                }),
        );
        let v6 = Lpm::build(
            routes
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r.prefix {
                    IpNet::V6(n) => Some((n.prefix_len(), mask6(n.network(), n.prefix_len()), i)),
                    IpNet::V4(_) => None,
                }),
        );
        RouteTable { routes, v4, v6 }
    }

    /// The most specific route to `dst`, if any.
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        let idx = match dst {
            IpAddr::V4(a) => self.v4.lookup(|len| mask4(a, len)),
            IpAddr::V6(a) => self.v6.lookup(|len| mask6(a, len)),
        };
        idx.map(|i| &self.routes[i])
    }

    /// Every route, in the order they were given (connected first).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, gw: Option<&str>) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            iface: Some(0),
            next_hop: match gw {
                Some(g) => NextHop::Gateway(g.parse().unwrap()),
                None => NextHop::Connected,
            },
            origin: RouteOrigin::Connected,
        }
    }

    fn table() -> RouteTable {
        RouteTable::new(vec![
            route("10.1.0.0/24", None),
            route("10.3.0.0/16", Some("10.0.14.2")),
            route("10.3.0.0/24", Some("10.0.12.2")),
            route("0.0.0.0/0", Some("10.1.0.254")),
            route("2001:db8::/32", Some("2001:db8:ff::1")),
            route("2001:db8:0:1::/64", None),
        ])
    }

    fn via(t: &RouteTable, dst: &str) -> String {
        let r = t.lookup(dst.parse().unwrap()).expect("a route");
        r.prefix.to_string()
    }

    #[test]
    fn the_longest_prefix_wins() {
        let t = table();
        assert_eq!(via(&t, "10.3.0.10"), "10.3.0.0/24");
        assert_eq!(via(&t, "10.3.1.10"), "10.3.0.0/16");
        assert_eq!(via(&t, "10.3.255.255"), "10.3.0.0/16");
        assert_eq!(via(&t, "10.1.0.7"), "10.1.0.0/24");
    }

    #[test]
    fn the_default_route_catches_the_rest_of_its_family_only() {
        let t = table();
        assert_eq!(via(&t, "192.0.2.1"), "0.0.0.0/0");
        assert_eq!(via(&t, "2001:db8:0:1::10"), "2001:db8:0:1::/64");
        assert_eq!(via(&t, "2001:db8:5::1"), "2001:db8::/32");
        assert!(t.lookup("2001:db9::1".parse().unwrap()).is_none());
    }

    #[test]
    fn an_empty_table_has_no_route() {
        let t = RouteTable::new(vec![]);
        assert!(t.lookup("10.0.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn host_routes_and_prefix_edges() {
        let t = RouteTable::new(vec![
            route("10.0.0.5/32", None),
            route("10.0.0.0/30", Some("10.9.9.9")),
        ]);
        assert_eq!(via(&t, "10.0.0.5"), "10.0.0.5/32");
        assert_eq!(via(&t, "10.0.0.3"), "10.0.0.0/30");
        assert!(t.lookup("10.0.0.4".parse().unwrap()).is_none());
    }
}
