//! The lab written from a [`Cloud`]: how AWS's objects become wirelab's
//! networks, routers, hosts, security groups and NACLs (docs/import.md).
//!
//! Per VPC: one network per subnet; one router per distinct route table in
//! use (the subnets of that table attach to it at their first host address,
//! `.1` / `::1`, where AWS's VPC router answers); a core network joining
//! those routers, the VPC's internet gateways and its NAT gateways, which
//! are routers too; the local route becomes one route per subnet of another
//! table, through that table's router. Internet gateways also sit on one
//! `internet` network, with a host `internet` standing for any address out
//! there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::json::Place;
use crate::model::*;
use crate::{identifier, ImportError, Options, Warning};

/// Unique identifiers in one namespace, first come first served.
#[derive(Default)]
struct Namer {
    used: BTreeSet<String>,
}

impl Namer {
    fn take(&mut self, preferred: Option<&str>, fallback: &str) -> String {
        let mut base = preferred.map(identifier).unwrap_or_default();
        if base.is_empty() {
            base = identifier(fallback);
        }
        if base.is_empty() {
            base = "x".into();
        }
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            let suffix = format!("-{n}");
            let mut b = base.clone();
            b.truncate(63 - suffix.len());
            name = format!("{b}{suffix}");
            n += 1;
        }
        self.used.insert(name.clone());
        name
    }
}

/// A name as a YAML scalar: quoted when YAML would read it as something
/// other than a string.
fn key(name: &str) -> String {
    let special = matches!(
        name,
        "true" | "false" | "null" | "y" | "n" | "yes" | "no" | "on" | "off"
    ) || name.parse::<f64>().is_ok()
        || name.chars().all(|c| c.is_ascii_digit() || c == '-');
    if special {
        format!("{name:?}")
    } else {
        name.to_string()
    }
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A prefix or address as YAML: IPv6 quoted (docs/lab-format.md advises it).
fn net(n: &IpNet) -> String {
    match n {
        IpNet::V4(n) => n.to_string(),
        IpNet::V6(n) => format!("\"{n}\""),
    }
}

fn addr(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("\"{a}\""),
    }
}

/// One line of a comment: no line breaks, not too long.
fn comment_text(text: &str) -> String {
    let one: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut t: String = one.chars().take(160).collect();
    if t.len() < one.len() {
        t.push('…');
    }
    t
}

fn nth_v4(n: &Ipv4Net, i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(n.network()) + i)
}

fn nth_v6(n: &Ipv6Net, i: u128) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(n.network()) + i)
}

/// An interface: one address per family.
#[derive(Clone, Copy, Default)]
struct Iface {
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
}

impl Iface {
    fn yaml(&self) -> String {
        match (self.v4, self.v6) {
            (Some(a), None) => a.to_string(),
            (None, Some(b)) => format!("\"{b}\""),
            (Some(a), Some(b)) => format!("{{ ip: {a}, ipv6: \"{b}\" }}"),
            (None, None) => unreachable!("an interface has an address"),
        }
    }

    fn of(&self, v6: bool) -> Option<IpAddr> {
        if v6 {
            self.v6.map(IpAddr::V6)
        } else {
            self.v4.map(IpAddr::V4)
        }
    }
}

struct RouterOut {
    name: String,
    comment: String,
    /// (network name, interface)
    interfaces: Vec<(String, Iface)>,
    /// Lines under `routes:` (routes and comments), already formatted.
    routes: Vec<String>,
    /// Prefixes routed, to keep one route per prefix.
    routed: BTreeSet<IpNet>,
}

impl RouterOut {
    fn new(name: String, comment: String) -> RouterOut {
        RouterOut {
            name,
            comment,
            interfaces: Vec::new(),
            routes: Vec::new(),
            routed: BTreeSet::new(),
        }
    }

    /// Adds a route unless one to the same prefix is there; says whether
    /// it was added.
    fn route(&mut self, to: IpNet, via: Option<IpAddr>, comment: Option<String>) -> bool {
        if !self.routed.insert(to) {
            return false;
        }
        let target = match via {
            Some(a) => format!("via: {}", addr(&a)),
            None => "blackhole: true".into(),
        };
        let mut line = format!("- {{ to: {}, {target} }}", net(&to));
        if let Some(c) = comment {
            line = format!("{line:<50}  # {}", comment_text(&c));
        }
        self.routes.push(line);
        true
    }

    fn note(&mut self, text: &str) {
        self.routes.push(format!("# {}", comment_text(text)));
    }
}

/// Where a subnet's network is and who routes it.
struct SubnetOut {
    network: String,
    router: usize,
    first_v4: Option<Ipv4Addr>,
}

struct Writer<'a> {
    cloud: &'a Cloud,
    warnings: &'a mut Vec<Warning>,
    nodes: Namer,
    networks_names: Namer,
    /// Every prefix in the input, so that invented networks avoid them.
    taken: Vec<IpNet>,
    networks: Vec<String>,
    routers: Vec<RouterOut>,
    hosts: Vec<String>,
    subnets: BTreeMap<String, SubnetOut>,
    group_names: BTreeMap<String, String>,
    nacl_names: BTreeMap<String, String>,
    nat_subnets: BTreeSet<String>,
    /// The internet network and the gateways on it, once there is one.
    internet: Option<Internet>,
}

struct Internet {
    name: String,
    v4: Ipv4Net,
    v6: Option<Ipv6Net>,
    members: u32,
    /// The first internet gateway's addresses: the internet host's gateway.
    gateway: Option<Iface>,
}

/// Writes the lab.
pub(crate) fn lab(
    cloud: &Cloud,
    options: &Options,
    warnings: &mut Vec<Warning>,
) -> Result<String, ImportError> {
    let mut w = Writer {
        cloud,
        warnings,
        nodes: Namer::default(),
        networks_names: Namer::default(),
        taken: Vec::new(),
        networks: Vec::new(),
        routers: Vec::new(),
        hosts: Vec::new(),
        subnets: BTreeMap::new(),
        group_names: BTreeMap::new(),
        nacl_names: BTreeMap::new(),
        nat_subnets: cloud.nats.iter().map(|n| n.subnet.clone()).collect(),
        internet: None,
    };
    w.check_subnets()?;
    // The internet host's name is reserved first, so that it stays
    // `internet` whatever the instances are called.
    let uses_internet = !cloud.gateways.is_empty()
        || cloud.route_tables.iter().flatten().any(|t| {
            t.routes
                .iter()
                .any(|r| matches!(r.target, Target::Gateway(_)))
        });
    if uses_internet {
        w.nodes.take(Some("internet"), "internet");
        w.networks_names.take(Some("internet"), "internet");
    }
    w.name_filters();
    let nacl_of = w.nacl_of_subnets()?;
    for vpc in &cloud.vpcs {
        w.vpc(vpc, &nacl_of)?;
    }
    if let Some(inet) = &w.internet {
        let mut line = format!("{}: {{ cidr: {}", key(&inet.name), inet.v4);
        if let Some(v6) = inet.v6 {
            let _ = write!(line, ", ipv6: \"{v6}\"");
        }
        line.push_str(" }");
        w.networks.push(format!(
            "{line:<60}  # not in AWS: the internet, beyond the internet gateways"
        ));
    }
    w.instances()?;
    let groups = w.groups()?;
    let nacls = w.nacls();

    let mut out = String::new();
    let id = {
        let id = identifier(&options.lab);
        if id.is_empty() {
            "aws-import".to_string()
        } else {
            id
        }
    };
    let _ = writeln!(out, "# Imported by `{}`.", options.source);
    let _ = writeln!(
        out,
        "# Each object's AWS id is in a comment beside it; docs/import.md says how AWS maps to wirelab."
    );
    let _ = writeln!(out, "lab: {id}");
    let _ = writeln!(
        out,
        "title: {}",
        quote(&format!(
            "Imported from AWS: {} VPC{}, {} subnet{}, {} instance{}",
            cloud.vpcs.len(),
            plural(cloud.vpcs.len()),
            cloud.subnets.len(),
            plural(cloud.subnets.len()),
            cloud.instances.len(),
            plural(cloud.instances.len())
        ))
    );
    out.push_str("\nnetworks:\n");
    for line in &w.networks {
        let _ = writeln!(out, "  {line}");
    }
    if !w.routers.is_empty() {
        out.push_str("\nrouters:\n");
        for r in &w.routers {
            let _ = writeln!(out, "  {}:  # {}", key(&r.name), comment_text(&r.comment));
            out.push_str("    interfaces:\n");
            for (network, iface) in &r.interfaces {
                let _ = writeln!(out, "      {}: {}", key(network), iface.yaml());
            }
            if !r.routes.is_empty() {
                out.push_str("    routes:\n");
                for line in &r.routes {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    out.push_str("\nhosts:");
    if w.hosts.is_empty() {
        out.push_str(" {}\n");
    } else {
        out.push('\n');
        for h in &w.hosts {
            out.push_str(h);
        }
    }
    if !groups.is_empty() {
        out.push_str("\nsecurity_groups:\n");
        out.push_str(&groups);
    }
    if !nacls.is_empty() {
        out.push_str("\nnacls:\n");
        out.push_str(&nacls);
    }
    Ok(out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl Writer<'_> {
    fn warn(&mut self, place: &Place, message: impl Into<String>) {
        self.warnings.push(Warning::at(place, message));
    }

    /// Every subnet belongs to a known VPC, and no two subnets overlap
    /// (wirelab networks must not).
    fn check_subnets(&mut self) -> Result<(), ImportError> {
        for vpc in &self.cloud.vpcs {
            self.taken.extend(vpc.cidrs.iter().map(|n| IpNet::V4(*n)));
            self.taken.extend(vpc.ipv6.iter().map(|n| IpNet::V6(*n)));
        }
        let mut seen: Vec<(IpNet, &str)> = Vec::new();
        for s in &self.cloud.subnets {
            if !self.cloud.vpcs.iter().any(|v| v.id == s.vpc) {
                return Err(s
                    .place
                    .at("VpcId")
                    .error(format!("{} is not among the VPCs (describe-vpcs)", s.vpc)));
            }
            let nets = [s.cidr.map(IpNet::V4), s.ipv6.map(IpNet::V6)];
            for n in nets.into_iter().flatten() {
                if let Some((other, id)) =
                    seen.iter().find(|(o, _)| o.contains(&n) || n.contains(o))
                {
                    return Err(s.place.error(format!(
                        "{n} overlaps {other} of {id}: wirelab networks must not overlap (import overlapping VPCs one at a time)"
                    )));
                }
                seen.push((n, &s.id));
                self.taken.push(n);
            }
        }
        Ok(())
    }

    /// A free prefix for an invented network: the first of `candidates`
    /// (then the next ones of the same size) that overlaps nothing.
    fn free_v4(&mut self, start: Ipv4Net) -> Ipv4Net {
        let size = 1u32 << (32 - start.prefix_len());
        let mut base = u32::from(start.network());
        loop {
            let n = Ipv4Net::new(Ipv4Addr::from(base), start.prefix_len()).expect("valid");
            let as_net = IpNet::V4(n);
            if !self
                .taken
                .iter()
                .any(|t| t.contains(&as_net) || as_net.contains(t))
            {
                self.taken.push(as_net);
                return n;
            }
            base = base.wrapping_add(size);
        }
    }

    fn free_v6(&mut self, start: Ipv6Net) -> Ipv6Net {
        let size = 1u128 << (128 - start.prefix_len());
        let mut base = u128::from(start.network());
        loop {
            let n = Ipv6Net::new(Ipv6Addr::from(base), start.prefix_len()).expect("valid");
            let as_net = IpNet::V6(n);
            if !self
                .taken
                .iter()
                .any(|t| t.contains(&as_net) || as_net.contains(t))
            {
                self.taken.push(as_net);
                return n;
            }
            base = base.wrapping_add(size);
        }
    }

    fn name_filters(&mut self) {
        let mut groups = Namer::default();
        for g in &self.cloud.groups {
            let preferred = g.name.as_deref().or(g.group_name.as_deref());
            let name = groups.take(preferred, &g.id);
            self.group_names.insert(g.id.clone(), name);
        }
        let mut nacls = Namer::default();
        for n in &self.cloud.nacls {
            let fallback = if n.is_default {
                "default-nacl".to_string()
            } else {
                n.id.clone()
            };
            let name = nacls.take(n.name.as_deref(), &fallback);
            self.nacl_names.insert(n.id.clone(), name);
        }
    }

    /// The NACL of each subnet: its association, else its VPC's default.
    fn nacl_of_subnets(&mut self) -> Result<BTreeMap<String, String>, ImportError> {
        let mut of = BTreeMap::new();
        for n in &self.cloud.nacls {
            for (i, s) in n.subnets.iter().enumerate() {
                if !self.cloud.subnets.iter().any(|x| &x.id == s) {
                    self.warnings.push(Warning::at(
                        &n.place.at(&format!("Associations[{i}].SubnetId")),
                        format!("{s} is not among the subnets; the association is not imported"),
                    ));
                    continue;
                }
                of.insert(s.clone(), self.nacl_names[&n.id].clone());
            }
        }
        for s in &self.cloud.subnets {
            if of.contains_key(&s.id) {
                continue;
            }
            let default = self
                .cloud
                .nacls
                .iter()
                .find(|n| n.is_default && n.vpc.as_deref() == Some(&s.vpc));
            if let Some(d) = default {
                of.insert(s.id.clone(), self.nacl_names[&d.id].clone());
            }
        }
        Ok(of)
    }

    /// The route table of a subnet: its association, else the main table
    /// of its VPC. `None`: no table known (local routes only).
    fn table_of(&self, subnet: &Subnet) -> Option<usize> {
        let tables = self.cloud.route_tables.as_ref()?;
        tables
            .iter()
            .position(|t| t.subnets.contains(&subnet.id))
            .or_else(|| {
                tables
                    .iter()
                    .position(|t| t.main && t.vpc.as_deref() == Some(&subnet.vpc))
            })
    }

    fn vpc(&mut self, vpc: &Vpc, nacl_of: &BTreeMap<String, String>) -> Result<(), ImportError> {
        let cloud = self.cloud;
        let vpc_name = vpc.name.clone().unwrap_or_else(|| vpc.id.clone());
        let subnets: Vec<&Subnet> = cloud.subnets.iter().filter(|s| s.vpc == vpc.id).collect();
        // Route tables in use, in the order of their first subnet.
        let mut tables: Vec<Option<usize>> = Vec::new();
        for s in &subnets {
            let t = self.table_of(s);
            if t.is_none() && cloud.route_tables.is_some() {
                self.warn(
                    &s.place,
                    "no route table is associated and the VPC has no main table: the subnet gets the local route only",
                );
            }
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
        let table = |t: Option<usize>| t.map(|i| &cloud.route_tables.as_ref().expect("tables")[i]);
        // The VPC's gateways: attached ones, and any its tables route to.
        let mut gateways: Vec<(String, GatewayKind, Option<&Gateway>)> = cloud
            .gateways
            .iter()
            .filter(|g| g.vpcs.contains(&vpc.id))
            .map(|g| (g.id.clone(), g.kind, Some(g)))
            .collect();
        for t in tables.iter().filter_map(|t| table(*t)) {
            for r in &t.routes {
                if let Target::Gateway(id) = &r.target {
                    if !gateways.iter().any(|(g, _, _)| g == id) && !r.blackhole {
                        let known = cloud.gateways.iter().find(|g| &g.id == id);
                        let kind = if id.starts_with("eigw-") {
                            GatewayKind::EgressOnly
                        } else {
                            GatewayKind::Internet
                        };
                        if known.is_none() {
                            self.warn(
                                &r.place,
                                format!("{id} is not in describe-internet-gateways; it is imported from this route, as attached to {}", vpc.id),
                            );
                        }
                        gateways.push((id.clone(), kind, known));
                    }
                }
            }
        }
        let nats: Vec<&NatGateway> = cloud
            .nats
            .iter()
            .filter(|n| subnets.iter().any(|s| s.id == n.subnet))
            .collect();
        let has_v6 = !vpc.ipv6.is_empty() || subnets.iter().any(|s| s.ipv6.is_some());

        // Routers, one per table, and the subnets' networks.
        let first_router = self.routers.len();
        for (i, t) in tables.iter().enumerate() {
            let t = table(*t);
            let (name, comment) = if tables.len() == 1 {
                let mut c = vpc.id.clone();
                if let Some(n) = &vpc.name {
                    let _ = write!(c, " {n}");
                }
                match t {
                    Some(t) => {
                        let _ = write!(c, ", route table {}", t.id);
                    }
                    None => c.push_str(", no route table: local routes only"),
                }
                (self.nodes.take(Some(&vpc_name), &vpc.id), c)
            } else {
                let (preferred, id) = match t {
                    Some(t) => (t.name.clone(), t.id.clone()),
                    None => (None, format!("{vpc_name}-local-{i}")),
                };
                let c = match t {
                    Some(t) => format!(
                        "route table {} of {} {}",
                        t.id,
                        vpc.id,
                        vpc.name.as_deref().unwrap_or("")
                    ),
                    None => format!(
                        "{}: subnets without a route table (local routes only)",
                        vpc.id
                    ),
                };
                (self.nodes.take(preferred.as_deref(), &id), c)
            };
            let comment = if t.is_some_and(|t| t.main) {
                format!("{} (main)", comment.trim_end())
            } else {
                comment.trim_end().to_string()
            };
            self.routers.push(RouterOut::new(name, comment));
        }
        for s in &subnets {
            let router = first_router
                + tables
                    .iter()
                    .position(|t| *t == self.table_of(s))
                    .expect("listed");
            let network = self.networks_names.take(s.name.as_deref(), &s.id);
            let first_v4 = s.cidr.map(|c| nth_v4(&c, 1));
            let first_v6 = s.ipv6.map(|c| nth_v6(&c, 1));
            let mut line = format!("{}: {{ ", key(&network));
            let mut parts = Vec::new();
            if let Some(c) = s.cidr {
                parts.push(format!("cidr: {c}"));
            }
            if let Some(c) = s.ipv6 {
                parts.push(format!("ipv6: \"{c}\""));
            }
            if let Some(n) = nacl_of.get(&s.id) {
                parts.push(format!("nacl: {}", key(n)));
            }
            line.push_str(&parts.join(", "));
            line.push_str(" }");
            let mut c = format!("{} in {}", s.id, vpc.id);
            if let Some(t) = table(self.table_of(s)) {
                let _ = write!(c, ", route table {}", t.id);
            }
            self.networks.push(format!("{line:<60}  # {c}"));
            self.routers[router].interfaces.push((
                network.clone(),
                Iface {
                    v4: first_v4,
                    v6: first_v6,
                },
            ));
            self.subnets.insert(
                s.id.clone(),
                SubnetOut {
                    network,
                    router,
                    first_v4,
                },
            );
        }

        // The core network, when more than one router serves the VPC.
        let members = tables.len() + gateways.len() + nats.len();
        let mut core_addr: Vec<Iface> = Vec::new();
        let mut core_name = String::new();
        if members > 1 && !subnets.is_empty() {
            core_name = self
                .networks_names
                .take(Some(&format!("{vpc_name}-core")), "core");
            let v4 = self.free_v4("100.64.0.0/24".parse().expect("prefix"));
            let v6 = has_v6.then(|| self.free_v6("fd00::/64".parse().expect("prefix")));
            let mut line = format!("{}: {{ cidr: {v4}", key(&core_name));
            if let Some(v6) = v6 {
                let _ = write!(line, ", ipv6: \"{v6}\"");
            }
            line.push_str(" }");
            self.networks.push(format!(
                "{line:<60}  # not in AWS: joins the routers of {} (route tables, gateways)",
                vpc.id
            ));
            for i in 0..members {
                core_addr.push(Iface {
                    v4: Some(nth_v4(&v4, i as u32 + 1)),
                    v6: v6.map(|n| nth_v6(&n, i as u128 + 1)),
                });
            }
            for (i, _) in tables.iter().enumerate() {
                self.routers[first_router + i]
                    .interfaces
                    .push((core_name.clone(), core_addr[i]));
            }
        }
        // Where each subnet is reached from the core.
        let via_core = |w: &Writer, s: &Subnet, v6: bool| -> Option<IpAddr> {
            let r = w.subnets[&s.id].router - first_router;
            core_addr.get(r).and_then(|a| a.of(v6))
        };

        // Gateways.
        let mut gateway_core: BTreeMap<String, Iface> = BTreeMap::new();
        for (gi, (id, kind, known)) in gateways.iter().enumerate() {
            let preferred = known.and_then(|g| g.name.clone());
            let name = self.nodes.take(preferred.as_deref(), id);
            let what = match kind {
                GatewayKind::Internet => "internet gateway",
                GatewayKind::EgressOnly => "egress-only internet gateway",
            };
            let mut r = RouterOut::new(name, format!("{id}: the {what} of {}", vpc.id));
            let core = core_addr
                .get(tables.len() + gi)
                .copied()
                .unwrap_or_default();
            if core.v4.is_some() {
                r.interfaces.push((core_name.clone(), core));
            }
            gateway_core.insert(id.clone(), core);
            let inet = self.internet(has_v6);
            let iface = Iface {
                v4: (*kind == GatewayKind::Internet).then(|| nth_v4(&inet.v4, inet.members + 1)),
                v6: inet.v6.map(|n| nth_v6(&n, u128::from(inet.members) + 1)),
            };
            inet.members += 1;
            if *kind == GatewayKind::Internet && inet.gateway.is_none() {
                inet.gateway = Some(iface);
            } else if *kind == GatewayKind::Internet {
                let place = known.map(|g| g.place.clone()).unwrap_or_default();
                self.warn(
                    &place,
                    "the internet host's gateway is the first internet gateway: what comes in through this one is not represented",
                );
            }
            let inet_name = self.internet.as_ref().expect("made").name.clone();
            if iface.v4.is_some() || iface.v6.is_some() {
                r.interfaces.push((inet_name, iface));
            }
            if *kind == GatewayKind::Internet {
                // Inbound: instances with a public IPv4 address (by their
                // private one: the 1:1 NAT is not simulated), and every
                // IPv6 subnet.
                for i in cloud.instances.iter() {
                    let Some(s) = subnets.iter().find(|s| s.id == i.subnet) else {
                        continue;
                    };
                    if let (Some(public), Some(ip)) = (&i.public_ip, i.ip) {
                        let via = via_core(self, s, false);
                        r.route(
                            IpNet::V4(Ipv4Net::new(ip, 32).expect("/32")),
                            via,
                            Some(format!("{} has the public IP {public}: the IGW's 1:1 NAT to it is not simulated", i.id)),
                        );
                    }
                }
                for s in &subnets {
                    if let Some(p) = s.ipv6 {
                        let via = via_core(self, s, true);
                        if via.is_some() {
                            r.route(IpNet::V6(p), via, Some(s.id.clone()));
                        }
                    }
                }
            } else {
                r.note("egress-only: nothing comes in, and replies have no way back either (its state is not simulated)");
            }
            self.routers.push(r);
        }

        // NAT gateways: on their subnet and on the core.
        let mut nat_core: BTreeMap<String, Iface> = BTreeMap::new();
        for (ni, nat) in nats.iter().enumerate() {
            let name = self.nodes.take(nat.name.as_deref(), &nat.id);
            let mut r = RouterOut::new(
                name,
                format!(
                    "{}: a NAT gateway{} (its address translation is not simulated)",
                    nat.id,
                    nat.public_ip
                        .map(|p| format!(", public IP {p}"))
                        .unwrap_or_default()
                ),
            );
            let s = subnets
                .iter()
                .find(|s| s.id == nat.subnet)
                .expect("filtered");
            let out = &self.subnets[&s.id];
            let Some(ip) = nat.private_ip else {
                self.warn(
                    &nat.place,
                    "no private IP in NatGatewayAddresses; not imported",
                );
                continue;
            };
            if s.cidr.is_none_or(|c| !c.contains(&ip)) {
                return Err(nat.place.error(format!(
                    "its private IP {ip} is not inside its subnet {}",
                    s.id
                )));
            }
            r.interfaces.push((
                out.network.clone(),
                Iface {
                    v4: Some(ip),
                    v6: None,
                },
            ));
            let core = core_addr
                .get(tables.len() + gateways.len() + ni)
                .copied()
                .unwrap_or_default();
            if let Some(v4) = core.v4 {
                r.interfaces.push((
                    core_name.clone(),
                    Iface {
                        v4: Some(v4),
                        v6: None,
                    },
                ));
            }
            nat_core.insert(nat.id.clone(), core);
            let gateway = out.first_v4.map(IpAddr::V4);
            r.route(
                "0.0.0.0/0".parse().expect("prefix"),
                gateway,
                Some(format!("out through the route table of {}", s.id)),
            );
            for other in &subnets {
                if other.id == s.id {
                    continue;
                }
                if let Some(c) = other.cidr {
                    let via = via_core(self, other, false);
                    r.route(IpNet::V4(c), via, None);
                }
            }
            self.routers.push(r);
        }

        // The tables' routes.
        for (ti, t) in tables.iter().enumerate() {
            let router = first_router + ti;
            if let Some(t) = table(*t) {
                for route in &t.routes {
                    self.table_route(router, t, route, vpc, &gateway_core, &nat_core);
                }
            }
            // The local route: the subnets behind the VPC's other routers.
            let mut noted = false;
            for s in &subnets {
                if self.subnets[&s.id].router == router {
                    continue;
                }
                for (net6, p) in [
                    (false, s.cidr.map(IpNet::V4)),
                    (true, s.ipv6.map(IpNet::V6)),
                ] {
                    let Some(p) = p else { continue };
                    let via = via_core(self, s, net6);
                    if !noted {
                        self.routers[router].note(&format!(
                            "local ({}): the VPC's subnets of other route tables",
                            vpc.cidrs
                                .iter()
                                .map(|c| c.to_string())
                                .chain(vpc.ipv6.iter().map(|c| c.to_string()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        noted = true;
                    }
                    self.routers[router].route(p, via, Some(s.id.clone()));
                }
            }
        }
        Ok(())
    }

    /// The internet network, made on first use.
    fn internet(&mut self, v6: bool) -> &mut Internet {
        if self.internet.is_none() {
            let name = if self.networks_names.used.contains("internet") {
                "internet".to_string()
            } else {
                self.networks_names.take(Some("internet"), "internet")
            };
            let v4 = self.free_v4("203.0.113.0/24".parse().expect("prefix"));
            self.internet = Some(Internet {
                name,
                v4,
                v6: None,
                members: 0,
                gateway: None,
            });
        }
        if v6 && self.internet.as_ref().is_some_and(|i| i.v6.is_none()) {
            let p = self.free_v6("2001:db8:ffff:ffff::/64".parse().expect("prefix"));
            self.internet.as_mut().expect("made").v6 = Some(p);
        }
        self.internet.as_mut().expect("made")
    }

    fn table_route(
        &mut self,
        router: usize,
        table: &RouteTable,
        route: &Route,
        vpc: &Vpc,
        gateways: &BTreeMap<String, Iface>,
        nats: &BTreeMap<String, Iface>,
    ) {
        if route.target == Target::Local && !route.blackhole {
            return; // the local route is written per subnet
        }
        let dests: Vec<IpNet> = match &route.dest {
            Dest::Net(n) => vec![*n],
            Dest::PrefixList(id) => match self
                .cloud
                .prefix_lists
                .get(id)
                .and_then(|p| p.cidrs.clone())
            {
                Some(cidrs) => {
                    let name = self.cloud.prefix_lists[id].name.clone().unwrap_or_default();
                    self.routers[router]
                        .note(&format!("prefix list {id} {name}: {} entries", cidrs.len()));
                    cidrs
                }
                None => {
                    self.warn(
                        &route.place,
                        format!("prefix list {id}: its entries are not in the input (get-managed-prefix-list-entries); the route is not imported"),
                    );
                    self.routers[router].note(&format!(
                        "not imported: the route to prefix list {id} (no entries)"
                    ));
                    return;
                }
            },
        };
        let target_text = match &route.target {
            Target::Local => "local".to_string(),
            Target::Gateway(id) | Target::Nat(id) => id.clone(),
            Target::Other(_, id) => id.clone(),
        };
        for dest in dests {
            let v6 = matches!(dest, IpNet::V6(_));
            let via = if route.blackhole {
                None
            } else {
                let found = match &route.target {
                    Target::Gateway(id) => gateways.get(id).and_then(|a| a.of(v6)),
                    Target::Nat(id) => match nats.get(id) {
                        Some(a) => a.of(v6),
                        None => {
                            self.warn(&route.place, format!("{id} is not in describe-nat-gateways (or not in a subnet of {}); the route is not imported", vpc.id));
                            self.routers[router].note(&format!(
                                "not imported: {dest} → {id} (NAT gateway not in the input)"
                            ));
                            continue;
                        }
                    },
                    Target::Other(what, id) => {
                        self.warn(&route.place, format!("the route to {dest} through {what} {id} is not imported: wirelab does not simulate it"));
                        self.routers[router].note(&format!("not imported: {dest} → {id} ({what})"));
                        continue;
                    }
                    Target::Local => None,
                };
                match found {
                    Some(a) => Some(a),
                    None => {
                        self.warn(&route.place, format!("the route to {dest} through {target_text} is not imported: the gateway has no address of that family here"));
                        continue;
                    }
                }
            };
            let comment = if route.blackhole {
                format!("{target_text} (State: blackhole)")
            } else {
                target_text.clone()
            };
            if !self.routers[router].route(dest, via, Some(comment)) {
                self.warn(
                    &route.place,
                    format!(
                        "a second route to {dest} in {} is not imported (the first one wins)",
                        table.id
                    ),
                );
            }
        }
    }

    fn instances(&mut self) -> Result<(), ImportError> {
        let cloud = self.cloud;
        if let Some(inet) = &self.internet {
            let mut h = String::from("  internet:  # not in AWS: any address on the internet\n");
            let _ = writeln!(h, "    network: {}", key(&inet.name));
            let _ = writeln!(h, "    ip: {}", nth_v4(&inet.v4, 254));
            if let Some(v6) = inet.v6 {
                let _ = writeln!(h, "    ipv6: \"{}\"", nth_v6(&v6, 0x100));
            }
            if let Some(g) = inet.gateway {
                let list: Vec<String> = [g.v4.map(IpAddr::V4), g.v6.map(IpAddr::V6)]
                    .into_iter()
                    .flatten()
                    .map(|a| addr(&a))
                    .collect();
                let _ = writeln!(h, "    gateway: [{}]", list.join(", "));
            }
            self.hosts.push(h);
        }
        for i in &cloud.instances {
            let Some(s) = cloud.subnets.iter().find(|s| s.id == i.subnet) else {
                return Err(i.place.at("SubnetId").error(format!(
                    "{} is not among the subnets (describe-subnets)",
                    i.subnet
                )));
            };
            let out = &self.subnets[&s.id];
            let network = out.network.clone();
            let gateway = out.first_v4;
            let name = self.nodes.take(i.name.as_deref(), &i.id);
            let mut comment = i.id.clone();
            if let Some(p) = &i.public_ip {
                let _ = write!(comment, ", public IP {p}");
            }
            if let Some(n) = &i.ip_note {
                let _ = write!(comment, "; {n}");
            }
            let mut h = format!("  {}:  # {comment}\n", key(&name));
            let _ = writeln!(h, "    network: {}", key(&network));
            if let Some(ip) = i.ip {
                if s.cidr.is_none_or(|c| !c.contains(&ip)) {
                    return Err(i
                        .place
                        .at("PrivateIpAddress")
                        .error(format!("{ip} is not inside its subnet {}", s.id)));
                }
                let _ = writeln!(h, "    ip: {ip}");
            }
            if let Some(ip) = i.ipv6 {
                if s.ipv6.is_some_and(|c| c.contains(&ip)) {
                    let _ = writeln!(h, "    ipv6: \"{ip}\"");
                } else {
                    self.warn(&i.place, format!("its IPv6 address {ip} is not inside its subnet's IPv6 prefix; not imported"));
                }
            }
            if self.nat_subnets.contains(&s.id) {
                if let Some(g) = gateway {
                    let _ = writeln!(h, "    gateway: {g}  # the VPC router, not the NAT gateway");
                }
            }
            if !i.groups.is_empty() {
                let mut names = Vec::new();
                for g in &i.groups {
                    match self.group_names.get(g) {
                        Some(n) => names.push(key(n)),
                        None => {
                            return Err(i.place.at("SecurityGroups").error(format!(
                                "{g} is not among the security groups (describe-security-groups)"
                            )))
                        }
                    }
                }
                let _ = writeln!(h, "    security_groups: [{}]", names.join(", "));
            }
            self.hosts.push(h);
        }
        Ok(())
    }

    fn groups(&mut self) -> Result<String, ImportError> {
        let mut out = String::new();
        for g in &self.cloud.groups {
            let name = &self.group_names[&g.id];
            let mut comment = g.id.clone();
            if let Some(n) = &g.group_name {
                let _ = write!(comment, " ({n})");
            }
            if let Some(d) = &g.description {
                let _ = write!(comment, ": {d}");
            }
            let _ = writeln!(out, "  {}:  # {}", key(name), comment_text(&comment));
            for (label, rules, dir) in [
                ("inbound", &g.inbound, "from"),
                ("outbound", &g.outbound, "to"),
            ] {
                if rules.is_empty() {
                    let _ = writeln!(out, "    {label}: []");
                    continue;
                }
                let _ = writeln!(out, "    {label}:");
                for r in rules {
                    self.sg_rule(&mut out, r, dir)?;
                }
            }
        }
        Ok(out)
    }

    fn sg_rule(&mut self, out: &mut String, r: &SgRule, dir: &str) -> Result<(), ImportError> {
        let peers: Vec<String> = match &r.peer {
            Peer::Net(n) => vec![net(n)],
            Peer::Group(id) => match self.group_names.get(id) {
                Some(n) => vec![key(n)],
                None => {
                    let place = if r.place.field.ends_with(']') {
                        r.place.at("GroupId")
                    } else {
                        r.place.clone()
                    };
                    return Err(place.error(format!(
                        "{id} is not among the security groups (describe-security-groups)"
                    )));
                }
            },
            Peer::PrefixList(id) => match self.cloud.prefix_lists.get(id) {
                Some(PrefixList {
                    cidrs: Some(c),
                    name,
                    ..
                }) => {
                    let _ = writeln!(
                        out,
                        "      # prefix list {id}{}: {}",
                        name.as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        comment_text(
                            &c.iter()
                                .map(|n| n.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    );
                    c.iter().map(net).collect()
                }
                _ => {
                    self.warn(&r.place, format!("prefix list {id}: its entries are not in the input (describe-managed-prefix-lists and get-managed-prefix-list-entries); the rule is not imported"));
                    let _ = writeln!(out, "      # not imported: a rule {dir} prefix list {id} (no entries in the input)");
                    return Ok(());
                }
            },
        };
        for peer in peers {
            let mut parts = vec![format!("proto: {}", proto(r.proto))];
            parts.extend(ports(r.ports));
            parts.push(format!("{dir}: {peer}"));
            if let Some(d) = &r.description {
                parts.push(format!("description: {}", quote(d)));
            }
            let _ = writeln!(out, "      - {{ {} }}", parts.join(", "));
        }
        Ok(())
    }

    fn nacls(&mut self) -> String {
        let mut out = String::new();
        for n in &self.cloud.nacls {
            let name = &self.nacl_names[&n.id];
            let mut comment = n.id.clone();
            if n.is_default {
                comment.push_str(" (the VPC's default NACL)");
            }
            let _ = writeln!(out, "  {}:  # {}", key(name), comment);
            for (label, egress) in [("inbound", false), ("outbound", true)] {
                let mut rules: Vec<&NaclEntry> =
                    n.entries.iter().filter(|e| e.egress == egress).collect();
                rules.sort_by_key(|e| e.number);
                if rules.is_empty() {
                    let _ = writeln!(out, "    {label}: []  # only the * rule: deny all");
                    continue;
                }
                let _ = writeln!(out, "    {label}:");
                for e in rules {
                    let mut parts = vec![
                        format!("rule: {}", e.number),
                        format!("action: {}", if e.allow { "allow" } else { "deny" }),
                        format!("proto: {}", proto(e.proto)),
                    ];
                    parts.extend(ports(e.ports));
                    parts.push(format!("cidr: {}", net(&e.cidr)));
                    let _ = writeln!(out, "      - {{ {} }}", parts.join(", "));
                }
            }
        }
        out
    }
}

fn proto(p: Proto) -> String {
    match p {
        Proto::All => "all".into(),
        Proto::Tcp => "tcp".into(),
        Proto::Udp => "udp".into(),
        Proto::Icmp => "icmp".into(),
        Proto::Icmpv6 => "icmpv6".into(),
        Proto::Number(n) => n.to_string(),
    }
}

fn ports(p: Ports) -> Vec<String> {
    match p {
        Ports::All => Vec::new(),
        Ports::Range(a, b) if a == b => vec![format!("port: {a}")],
        Ports::Range(a, b) => vec![format!("ports: {a}-{b}")],
        Ports::Icmp { kind, code } => {
            let mut v = Vec::new();
            if let Some(k) = kind {
                v.push(format!("icmp_type: {k}"));
            }
            if let Some(c) = code {
                v.push(format!("icmp_code: {c}"));
            }
            v
        }
    }
}
