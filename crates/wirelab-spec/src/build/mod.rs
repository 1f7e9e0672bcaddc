//! From the YAML tree to the validated [`Lab`]: every key checked, every
//! reference resolved, every address assigned, every problem reported.
//!
//! The sections are read in dependency order (names first, then NACLs,
//! networks, links, routers, security groups, TCP settings, hosts, DNS,
//! SSH, traffic, events, checks) whatever their order in the file;
//! diagnostics are sorted by position at the end.

mod addr;
mod checks;
mod dns;
mod events;
mod filters;
mod hosts;
pub(crate) mod http;
mod nat;
pub(crate) mod routing;
mod ssh;
mod tcp;
mod topology;
mod traffic;
pub(crate) mod vpc;

use std::collections::HashMap;

use crate::model::{Lab, Sp, Span, TcpSettings};
use crate::read::{self, did_you_mean, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const TOP_KEYS: [&str; 23] = [
    "lab",
    "title",
    "description",
    "seed",
    "defaults",
    "networks",
    "routers",
    "links",
    "hosts",
    "security_groups",
    "nacls",
    "dns",
    "tls",
    "ssh",
    "traffic",
    "events",
    "tcp",
    "checks",
    "grading",
    "stages",
    "variables",
    "vpcs",
    "vpc_peerings",
];
/// The key lists of every map the reader reads, for the test that holds
/// the JSON Schema (`crate::schema`) to them.
#[cfg(test)]
pub(crate) mod key_lists {
    pub(crate) use super::checks::{
        CHECK_KEYS, CONVERGENCE_EXPECT_KEYS, DNS_EXPECT_KEYS, DNS_OUTCOMES, DNS_TYPES,
        EXHAUSTIVE_EXPECT_KEYS, FLOW_EXPECT_KEYS, STAGE_KEYS,
    };
    pub(crate) use super::dns::{DNS_KEYS, RECORD_KEYS, ZONE_KEYS};
    pub(crate) use super::events::EVENT_KEYS;
    pub(crate) use super::filters::{DIRECTION_KEYS, NACL_RULE_KEYS, SG_RULE_KEYS};
    pub(crate) use super::hosts::{HOST_KEYS, SERVICE_KEYS};
    pub(crate) use super::http::{
        CERTIFICATE_KEYS, HTTP_EXPECT_KEYS, RESPONSE_KEYS, ROUTE_KEYS as HTTP_ROUTE_KEYS,
        SERVICE_TLS_KEYS, TLS_KEYS,
    };
    pub(crate) use super::nat::{FORWARD_KEYS, NAT_KEYS, SOURCE_KEYS, STATIC_KEYS};
    pub(crate) use super::routing::{OSPF_KEYS, RIP_KEYS, SPLIT_HORIZON};
    pub(crate) use super::ssh::{GATEWAY_KEYS, HOST_KEYS as SSH_HOST_KEYS, SSH_KEYS, USER_KEYS};
    pub(crate) use super::tcp::{
        CONGESTION_NAMES, CUBIC_NAMES, INCREASE_NAMES, RECOVERY_NAMES, TCP_KEYS,
    };
    pub(crate) use super::topology::{
        INTERFACE_KEYS, LINK_KEYS, NETWORK_KEYS, PROPS_KEYS, ROUTER_KEYS, ROUTE_KEYS, SET_KEYS,
    };
    pub(crate) use super::traffic::{ONOFF_KEYS, PING_KEYS, REQUESTS_KEYS, TRAFFIC_KEYS};
    pub(crate) use super::vpc::{
        IGW_KEYS, IGW_STATES, NAT_GATEWAY_KEYS, NAT_GATEWAY_STATES, PEERING_KEYS, PEERING_STATES,
        SUBNET_KEYS, VPC_KEYS, VPC_ROUTE_KEYS,
    };
    pub(crate) use super::TOP_KEYS;
    pub(crate) use crate::variant::VARIABLE_KEYS;
}
/// Longest lab identifier.
const LAB_ID_LEN_MAX: usize = 63;

/// Names of one kind, in file order, with a fast lookup.
#[derive(Default)]
pub(crate) struct NameTable {
    index: HashMap<String, usize>,
    pub names: Vec<Sp<String>>,
}

impl NameTable {
    fn from_map(entries: Option<&[(Sp<String>, Node)]>) -> NameTable {
        let mut table = NameTable::default();
        for (key, _) in entries.unwrap_or(&[]) {
            table.add(key.clone());
        }
        table
    }

    /// Adds a name; `false` if it was already there.
    pub fn add(&mut self, name: Sp<String>) -> bool {
        if self.index.contains_key(&name.value) {
            return false;
        }
        self.index.insert(name.value.clone(), self.names.len());
        self.names.push(name);
        true
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn suggest(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.names.iter().map(|n| n.value.as_str()))
    }
}

/// Every name of the lab, collected before the sections are read so that
/// references may point forward.
#[derive(Default)]
pub(crate) struct Names {
    pub networks: NameTable,
    pub routers: NameTable,
    pub hosts: NameTable,
    pub security_groups: NameTable,
    pub nacls: NameTable,
}

/// Builds the lab. Problems go to `d`; the lab is only meaningful when `d`
/// holds no error.
pub fn build(root: &Node, file: &str, d: &mut Diags) -> Option<Lab> {
    // `vpcs:` is sugar: the rest reads its expansion, never the sugar.
    let expanded = vpc::expand(root, d);
    let root = expanded.as_ref().unwrap_or(root);
    let top = match &root.value {
        Value::Map(_) => read::fields(root, &TOP_KEYS, "the lab", Span { line: 1, column: 1 }, d)?,
        Value::Null => {
            d.error(
                Span::default(),
                "the file is empty: a lab needs at least `lab:`, `networks:` and `hosts:`",
            );
            return None;
        }
        other => {
            d.error(
                root.span,
                format!(
                    "a lab file must be a map of keys (`lab:`, `networks:`, `hosts:`, ...), found {}",
                    read::describe(other)
                ),
            );
            return None;
        }
    };

    let lab_id = read_lab_id(&top, d);
    let title = top
        .get("title")
        .and_then(|n| read::string(n, "`title`", d))
        .map(str::to_string);
    let description = top
        .get("description")
        .and_then(|n| read::string(n, "`description`", d))
        .map(str::to_string);
    let seed = match top.get("seed") {
        Some(node) => read::int_in(node, "`seed`", 0, u64::MAX.into(), d).map_or(1, |s| s as u64),
        None => 1,
    };

    let sections = Sections::read(&top, d);
    let mut names = Names {
        networks: NameTable::from_map(sections.networks),
        routers: NameTable::from_map(sections.routers),
        hosts: NameTable::from_map(sections.hosts),
        security_groups: NameTable::from_map(sections.security_groups),
        nacls: NameTable::from_map(sections.nacls),
    };
    for host in &names.hosts.names {
        if let Some(router) = names.routers.get(&host.value) {
            let router_span = names.routers.names[router].span;
            d.error(
                host.span,
                format!(
                    "`{}` is both a host and a router (declared at line {}); hosts and routers share one namespace",
                    host.value, router_span.line
                ),
            );
        }
    }

    let nacls = filters::read_nacls(sections.nacls, d);
    let defaults = topology::read_defaults(top.get("defaults"), d);
    let mut topo = topology::read_networks(sections.networks, &defaults, &names, d);
    topology::read_links(top.get("links"), &defaults, &mut names, &mut topo, d);
    let routers = topology::read_routers(sections.routers, &names, &mut topo, d);
    topology::check_overlaps(&topo, d);

    let security_groups = filters::read_security_groups(sections.security_groups, &names, d);
    let lab_tcp = top
        .get("tcp")
        .map(|n| tcp::read_tcp(n, "the lab", d).apply_over(TcpSettings::default()))
        .unwrap_or_default();
    let tls_names = http::TlsNames::read(top.get("tls"));
    let tls = http::read_tls(top.get("tls"), &tls_names, d);
    let mut hosts = hosts::read_hosts(
        sections.hosts,
        &names,
        &topo,
        &routers,
        lab_tcp,
        &tls_names,
        d,
    );
    topology::check_ppp_networks(&topo, &routers, &hosts, d);
    let mut routers = routers;
    nat::read_nat(sections.routers, &mut routers, &hosts, &topo.networks, d);
    routing::read_routing(sections.routers, &mut routers, &topo.networks, d);
    let dns = dns::read_dns(top.get("dns"), sections.hosts, &names, &mut hosts, file, d);
    let ssh = ssh::read_ssh(top.get("ssh"), &names, &hosts, d);
    let traffic = traffic::read_traffic(top.get("traffic"), &names, &hosts, d);
    let events = events::read_events(
        top.get("events"),
        &names,
        &topo.networks,
        &security_groups,
        &nacls,
        d,
    );
    // Read by `wirelab grade` (submission.rs); validated here so that
    // every command reports a mistake in it.
    crate::submission::read_grading(top.get("grading"), d);
    let stages = checks::read_stages(top.get("stages"), d);
    let checks = checks::read_checks(
        top.get("checks"),
        &names,
        &hosts,
        &traffic,
        &ssh,
        &stages,
        d,
    );

    Some(Lab {
        file: file.to_string(),
        lab: lab_id?,
        title,
        description,
        seed,
        networks: topo.networks,
        routers,
        hosts,
        security_groups,
        nacls,
        stages,
        checks,
        tcp: lab_tcp,
        traffic: traffic.entries.into_iter().flatten().collect(),
        events,
        dns,
        tls,
        ssh,
    })
}

/// The named sections (maps of name → definition), each `None` when absent
/// or not a map.
struct Sections<'a> {
    networks: Option<&'a [(Sp<String>, Node)]>,
    routers: Option<&'a [(Sp<String>, Node)]>,
    hosts: Option<&'a [(Sp<String>, Node)]>,
    security_groups: Option<&'a [(Sp<String>, Node)]>,
    nacls: Option<&'a [(Sp<String>, Node)]>,
}

impl<'a> Sections<'a> {
    fn read(top: &Fields<'a>, d: &mut Diags) -> Sections<'a> {
        let mut section = |key: &str, required: bool| match top.get(key) {
            Some(node) => read::map_or_empty(node, &format!("`{key}`"), d),
            None => {
                if required {
                    d.error(top.at, format!("the lab has no `{key}:` section"));
                }
                None
            }
        };
        Sections {
            networks: section("networks", true),
            routers: section("routers", false),
            hosts: section("hosts", true),
            security_groups: section("security_groups", false),
            nacls: section("nacls", false),
        }
    }
}

fn read_lab_id(top: &Fields, d: &mut Diags) -> Option<Sp<String>> {
    let node = top.require("lab", "the lab", d)?;
    let id = read::string(node, "`lab`", d)?;
    let mut chars = id.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_start || !valid_rest {
        d.error(
            node.span,
            format!("lab id `{id}` must be lowercase letters, digits and `-`, starting with a letter or digit"),
        );
        return None;
    }
    if id.len() > LAB_ID_LEN_MAX {
        d.error(
            node.span,
            format!("lab id `{id}` is longer than {LAB_ID_LEN_MAX} characters"),
        );
        return None;
    }
    Some(Sp::new(id.to_string(), node.span))
}
