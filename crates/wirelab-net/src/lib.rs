//! wirelab-net: the compiled network.
//!
//! A validated [`Lab`] becomes nodes (hosts and routers), interfaces with
//! their addresses and hardware addresses, segments (the L2 networks),
//! routing tables and compiled filters. Pure data and pure functions: no
//! clock, no state that changes while packets move.

pub mod filter;
pub mod route;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use wirelab_dns::authority::{Authority, ServedZone};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use wirelab_spec::{
    HostId, Lab, LinkProps, NaclId, NetworkId, RouteTarget, RouterId, Service, TransportProto,
};

pub use filter::{
    CompiledNacl, Direction, Header, HostFirewall, NaclVerdict, SgPeer, SgRuleMatcher, SgRuleRef,
    SgVerdict,
};
pub use route::{NextHop, Route, RouteOrigin, RouteTable};

pub type NodeId = usize;
pub type IfaceId = usize;
/// Segments are the lab's networks, with the same indices.
pub type SegmentId = NetworkId;

/// A 48-bit hardware address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// Locally administered, derived from the interface index so that the
    /// same lab always gets the same addresses.
    fn for_iface(id: IfaceId) -> Mac {
        let n = (id as u32 + 1).to_be_bytes();
        Mac([0x02, 0x00, n[0], n[1], n[2], n[3]])
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Host(HostId),
    Router(RouterId),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub ifaces: Vec<IfaceId>,
    pub routes: RouteTable,
}

impl Node {
    pub fn is_router(&self) -> bool {
        matches!(self.kind, NodeKind::Router(_))
    }
}

#[derive(Clone, Debug)]
pub struct Iface {
    pub node: NodeId,
    pub segment: SegmentId,
    pub mac: Mac,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
}

impl Iface {
    pub fn addr(&self, family_v6: bool) -> Option<IpAddr> {
        if family_v6 {
            self.ipv6.map(IpAddr::V6)
        } else {
            self.ipv4.map(IpAddr::V4)
        }
    }

    pub fn has_addr(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.ipv4 == Some(a),
            IpAddr::V6(a) => self.ipv6 == Some(a),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    pub ipv4: Option<Ipv4Net>,
    pub ipv6: Option<Ipv6Net>,
    pub link: LinkProps,
    pub nacl: Option<NaclId>,
    pub ifaces: Vec<IfaceId>,
}

/// The whole compiled network.
#[derive(Clone, Debug)]
pub struct Network {
    pub lab: Lab,
    pub nodes: Vec<Node>,
    pub ifaces: Vec<Iface>,
    pub segments: Vec<Segment>,
    pub host_nodes: Vec<NodeId>,
    pub router_nodes: Vec<NodeId>,
    /// Per host (by `HostId`): `None` when it carries no security group.
    pub firewalls: Vec<Option<HostFirewall>>,
    pub nacls: Vec<CompiledNacl>,
    /// Every assigned address and the interface that owns it.
    owners: BTreeMap<IpAddr, IfaceId>,
    /// The authoritative DNS server of each host that serves zones.
    dns_authorities: BTreeMap<HostId, Arc<Authority>>,
}

impl Network {
    pub fn compile(lab: &Lab) -> Network {
        let mut net = Network {
            lab: lab.clone(),
            nodes: Vec::with_capacity(lab.hosts.len() + lab.routers.len()),
            ifaces: Vec::new(),
            segments: lab
                .networks
                .iter()
                .map(|n| Segment {
                    name: n.name.value.clone(),
                    ipv4: n.ipv4.as_ref().map(|p| p.value),
                    ipv6: n.ipv6.as_ref().map(|p| p.value),
                    link: n.link,
                    nacl: n.nacl,
                    ifaces: Vec::new(),
                })
                .collect(),
            host_nodes: Vec::with_capacity(lab.hosts.len()),
            router_nodes: Vec::with_capacity(lab.routers.len()),
            firewalls: filter::compile_firewalls(lab),
            nacls: filter::compile_nacls(lab),
            owners: BTreeMap::new(),
            dns_authorities: dns_authorities(lab),
        };
        for (id, router) in lab.routers.iter().enumerate() {
            let node = net.nodes.len();
            let ifaces = router
                .interfaces
                .iter()
                .map(|i| net.add_iface(node, i.network, i.ipv4, i.ipv6))
                .collect();
            net.nodes.push(Node {
                name: router.name.value.clone(),
                kind: NodeKind::Router(id),
                ifaces,
                routes: RouteTable::default(),
            });
            net.router_nodes.push(node);
        }
        for (id, host) in lab.hosts.iter().enumerate() {
            let node = net.nodes.len();
            let iface = net.add_iface(node, host.network, host.ipv4, host.ipv6);
            net.nodes.push(Node {
                name: host.name.value.clone(),
                kind: NodeKind::Host(id),
                ifaces: vec![iface],
                routes: RouteTable::default(),
            });
            net.host_nodes.push(node);
        }
        for node in 0..net.nodes.len() {
            net.nodes[node].routes = RouteTable::new(net.routes_of(node));
        }
        net
    }

    fn add_iface(
        &mut self,
        node: NodeId,
        segment: SegmentId,
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
    ) -> IfaceId {
        let id = self.ifaces.len();
        self.ifaces.push(Iface {
            node,
            segment,
            mac: Mac::for_iface(id),
            ipv4,
            ipv6,
        });
        self.segments[segment].ifaces.push(id);
        for addr in ipv4.map(IpAddr::V4).into_iter().chain(ipv6.map(IpAddr::V6)) {
            self.owners.insert(addr, id);
        }
        id
    }

    /// Connected routes first, then the node's static or default routes.
    fn routes_of(&self, node: NodeId) -> Vec<Route> {
        let mut routes = Vec::new();
        for &i in &self.nodes[node].ifaces {
            let seg = &self.segments[self.ifaces[i].segment];
            let iface = &self.ifaces[i];
            if let (Some(p), Some(_)) = (seg.ipv4, iface.ipv4) {
                routes.push(connected(IpNet::V4(p), i));
            }
            if let (Some(p), Some(_)) = (seg.ipv6, iface.ipv6) {
                routes.push(connected(IpNet::V6(p), i));
            }
        }
        match self.nodes[node].kind {
            NodeKind::Router(r) => {
                for sr in &self.lab.routers[r].routes {
                    let (iface, next_hop) = match sr.target {
                        RouteTarget::Blackhole => (None, NextHop::Blackhole),
                        RouteTarget::Via(gw) => {
                            (self.connected_iface(node, gw), NextHop::Gateway(gw))
                        }
                    };
                    routes.push(Route {
                        prefix: sr.to,
                        iface,
                        next_hop,
                        origin: RouteOrigin::Static(sr.span),
                    });
                }
            }
            NodeKind::Host(h) => {
                let host = &self.lab.hosts[h];
                let iface = self.nodes[node].ifaces[0];
                if let Some(gw) = host.gateway4 {
                    routes.push(default_via(
                        IpNet::V4(Ipv4Net::default()),
                        iface,
                        IpAddr::V4(gw),
                    ));
                }
                if let Some(gw) = host.gateway6 {
                    routes.push(default_via(
                        IpNet::V6(Ipv6Net::default()),
                        iface,
                        IpAddr::V6(gw),
                    ));
                }
            }
        }
        routes
    }

    /// The interface of `node` whose segment prefix contains `addr`.
    pub fn connected_iface(&self, node: NodeId, addr: IpAddr) -> Option<IfaceId> {
        self.nodes[node].ifaces.iter().copied().find(|&i| {
            let seg = &self.segments[self.ifaces[i].segment];
            match addr {
                IpAddr::V4(a) => seg.ipv4.is_some_and(|p| p.contains(&a)),
                IpAddr::V6(a) => seg.ipv6.is_some_and(|p| p.contains(&a)),
            }
        })
    }

    /// The interface that owns an address, if any node has it.
    pub fn owner(&self, addr: IpAddr) -> Option<IfaceId> {
        self.owners.get(&addr).copied()
    }

    pub fn host_node(&self, host: HostId) -> NodeId {
        self.host_nodes[host]
    }

    pub fn router_node(&self, router: RouterId) -> NodeId {
        self.router_nodes[router]
    }

    /// The host behind a node, if it is one.
    pub fn host_of(&self, node: NodeId) -> Option<HostId> {
        match self.nodes[node].kind {
            NodeKind::Host(h) => Some(h),
            NodeKind::Router(_) => None,
        }
    }

    /// Whether a host listens on a port. A DNS server or resolver listens
    /// on TCP and UDP alike (RFC 7766), whichever `proto` it was given.
    pub fn service(&self, host: HostId, proto: TransportProto, port: u16) -> Option<&Service> {
        let services = &self.lab.hosts[host].services;
        services
            .iter()
            .find(|s| s.proto == proto && s.port == port)
            .or_else(|| services.iter().find(|s| s.port == port && s.speaks_dns()))
    }

    /// The zones `host` answers for, when it runs a DNS server.
    pub fn dns_authority(&self, host: HostId) -> Option<&Authority> {
        self.dns_authorities.get(&host).map(|a| &**a)
    }
}

fn connected(prefix: IpNet, iface: IfaceId) -> Route {
    Route {
        prefix,
        iface: Some(iface),
        next_hop: NextHop::Connected,
        origin: RouteOrigin::Connected,
    }
}

fn default_via(prefix: IpNet, iface: IfaceId, gw: IpAddr) -> Route {
    Route {
        prefix,
        iface: Some(iface),
        next_hop: NextHop::Gateway(gw),
        origin: RouteOrigin::DefaultGateway,
    }
}

/// What each DNS server host answers for: the zones that list it, private
/// ones restricted to the prefixes of their networks.
fn dns_authorities(lab: &Lab) -> BTreeMap<HostId, Arc<Authority>> {
    let mut served: BTreeMap<HostId, Vec<ServedZone>> = BTreeMap::new();
    for zone in &lab.dns.zones {
        let private_to: Vec<IpNet> = zone
            .private_to
            .iter()
            .flat_map(|&n| {
                let net = &lab.networks[n];
                net.ipv4
                    .as_ref()
                    .map(|p| IpNet::V4(p.value))
                    .into_iter()
                    .chain(net.ipv6.as_ref().map(|p| IpNet::V6(p.value)))
            })
            .collect();
        for &host in &zone.servers {
            served.entry(host).or_default().push(ServedZone {
                zone: zone.zone.clone(),
                private_to: private_to.clone(),
            });
        }
    }
    // A DNS server that serves no zone still answers: REFUSED.
    for (host, h) in lab.hosts.iter().enumerate() {
        if h.services.iter().any(|s| s.app.as_deref() == Some("dns")) {
            served.entry(host).or_default();
        }
    }
    served
        .into_iter()
        .map(|(host, zones)| (host, Arc::new(Authority::new(zones))))
        .collect()
}
