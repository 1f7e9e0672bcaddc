//! The zones above a lab's own: the root and the top-level domains,
//! synthesized so that a lab that declares only `example.com` resolves
//! iteratively, root → `com.` → `example.com.`, as on the Internet.
//!
//! RFC 1034 §4.2.1:
//!
//! > The RRs that describe cuts [...] are NS RRs that name the servers for
//! > the subzone, [and] address RRs for the servers that are in the
//! > subzone [...] must be included to allow access to the subzone.
//!
//! What is synthesized, exactly:
//! - the root zone, unless the lab declares `.`;
//! - the zone of each top-level domain with a declared zone below it,
//!   unless the lab declares that TLD. No other level is synthesized: a
//!   declared `example.co.uk.` is delegated directly from `uk.`, which is
//!   what a resolver needs and all a lab can observe.
//!
//! Every synthesized zone is served by the root servers (the lab's root
//! hosts serve the TLDs too): its apex NS RRset names them, it carries the
//! SOA of [`crate::zone::complete_apex`], and it holds a delegation (NS and,
//! for name servers inside the zone, glue A/AAAA) for each zone, declared
//! or synthesized, whose nearest enclosing zone it is. The root servers'
//! own addresses are in the synthesized zone nearest to their names
//! (`net.` for `a.root-servers.net.` when `net.` is synthesized, else the
//! root). All these records have TTL [`HIERARCHY_TTL`].
//!
//! A declared zone is never changed or replaced. When a declared zone is
//! the nearest parent of another zone, it must hold the delegation itself;
//! [`missing_delegations`] lists those that do not, for the lab loader to
//! report.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::zone::{complete_apex, label_count, Zone, ZoneProblem, ZoneRecord};

/// TTL of every synthesized NS, glue and address record, in seconds (one
/// day, as real root and TLD delegations are of that order): a lab's
/// resolver keeps the upper levels cached across a run while the lab's own
/// records expire at the TTLs the author chose.
pub const HIERARCHY_TTL: u32 = 86_400;

/// The letters of the 13 root server names, `a.root-servers.net.` to
/// `m.root-servers.net.`.
const ROOT_SERVER_LETTERS: &str = "abcdefghijklm";

/// The name wirelab suggests for the `index`th root server (0-based, at
/// most 12): `a.root-servers.net.` and so on, as on the Internet, so that
/// a `dig +trace` in a lab reads like a real one.
pub fn root_server_name(index: usize) -> Option<Name> {
    let letter = ROOT_SERVER_LETTERS.chars().nth(index)?;
    Some(Name::from_ascii(format!("{letter}.root-servers.net.")).expect("a valid name"))
}

/// Why the hierarchy could not be synthesized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// The root must be synthesized but no root server was given.
    #[error("no root servers: the root zone needs at least one name server")]
    NoRootServers,
    /// A declared zone has no name servers, so it cannot be delegated.
    #[error("the zone {0} has no name servers, so no parent can delegate it")]
    NoNameServers(Name),
    /// A synthesized zone did not build (a name server name or address
    /// given that no zone can hold).
    #[error("the synthesized zone {origin} is not valid: {}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Zone {
        /// The synthesized zone's origin.
        origin: Name,
        /// What [`Zone::build`] reported.
        problems: Vec<ZoneProblem>,
    },
}

/// A zone's name servers: each host name with its addresses.
pub type NameServers = Vec<(Name, Vec<IpAddr>)>;

/// Synthesizes the root and TLD zones above the `declared` zones (each an
/// origin with its name servers; a relative server name is taken under its
/// zone's origin), served by `root_servers`. Returns only the synthesized
/// zones, root first, then in canonical order. See the module doc for
/// exactly what they hold.
pub fn synthesize(
    declared: &[(Name, NameServers)],
    root_servers: &[(Name, Vec<IpAddr>)],
) -> Result<Vec<Zone>, HierarchyError> {
    let mut servers: BTreeMap<Name, NameServers> = BTreeMap::new();
    for (origin, name_servers) in declared {
        let origin = absolute(origin, &Name::root());
        if name_servers.is_empty() {
            return Err(HierarchyError::NoNameServers(origin));
        }
        let name_servers = name_servers
            .iter()
            .map(|(host, addresses)| (absolute(host, &origin), addresses.clone()))
            .collect();
        servers.insert(origin, name_servers);
    }
    let mut synthesized = BTreeSet::new();
    if !servers.contains_key(&Name::root()) {
        synthesized.insert(Name::root());
    }
    for origin in servers.keys() {
        let tld = origin.trim_to(1);
        if label_count(origin) > 1 && !servers.contains_key(&tld) {
            synthesized.insert(tld);
        }
    }
    if synthesized.is_empty() {
        return Ok(Vec::new());
    }
    if root_servers.is_empty() {
        return Err(HierarchyError::NoRootServers);
    }
    let root_servers: NameServers = root_servers
        .iter()
        .map(|(host, addresses)| (absolute(host, &Name::root()), addresses.clone()))
        .collect();
    for origin in &synthesized {
        servers.insert(origin.clone(), root_servers.clone());
    }
    let origins: Vec<Name> = servers.keys().cloned().collect();
    synthesized
        .iter()
        .map(|origin| synthesize_zone(origin, &origins, &servers, &root_servers))
        .collect()
}

fn synthesize_zone(
    origin: &Name,
    origins: &[Name],
    servers: &BTreeMap<Name, NameServers>,
    root_servers: &NameServers,
) -> Result<Zone, HierarchyError> {
    let mut records: Vec<Record> = Vec::new();
    for (host, _) in root_servers {
        records.push(Record::from_rdata(
            origin.clone(),
            HIERARCHY_TTL,
            RData::NS(NS(host.clone())),
        ));
    }
    for (host, addresses) in root_servers {
        if nearest_zone(host, origins).as_ref() == Some(origin) {
            records.extend(address_records(host, addresses));
        }
    }
    for child in origins
        .iter()
        .filter(|child| parent_zone(child, origins).as_ref() == Some(origin))
    {
        for (host, addresses) in &servers[child] {
            records.push(Record::from_rdata(
                child.clone(),
                HIERARCHY_TTL,
                RData::NS(NS(host.clone())),
            ));
            if origin.zone_of(host) {
                records.extend(address_records(host, addresses));
            }
        }
    }
    let mut zone_records: Vec<ZoneRecord> = records
        .into_iter()
        .map(|record| ZoneRecord { record, line: 0 })
        .collect();
    complete_apex(origin, &mut zone_records, &[]);
    Zone::build(origin.clone(), zone_records).map_err(|problems| HierarchyError::Zone {
        origin: origin.clone(),
        problems,
    })
}

fn address_records(host: &Name, addresses: &[IpAddr]) -> Vec<Record> {
    addresses
        .iter()
        .map(|address| {
            let rdata = match address {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            };
            Record::from_rdata(host.clone(), HIERARCHY_TTL, rdata)
        })
        .collect()
}

/// `name` made absolute and lowercase: as is when it ends in `.`, else
/// under `origin`.
fn absolute(name: &Name, origin: &Name) -> Name {
    let name = if name.is_fqdn() {
        name.clone()
    } else {
        name.clone()
            .append_domain(origin)
            .unwrap_or_else(|_| name.clone())
    };
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name
}

/// The deepest of `origins` that is `name` or an ancestor of it.
fn nearest_zone(name: &Name, origins: &[Name]) -> Option<Name> {
    origins
        .iter()
        .filter(|origin| origin.zone_of(name))
        .max_by_key(|origin| label_count(origin))
        .cloned()
}

/// The deepest of `origins` that is a proper ancestor of `child`.
fn parent_zone(child: &Name, origins: &[Name]) -> Option<Name> {
    if child.is_root() {
        return None;
    }
    nearest_zone(&child.base_name(), origins)
}

/// A parent zone that lacks the NS records delegating a child zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the zone {parent} has no NS records for {child}, so resolvers cannot find the zone {child} from {parent}")]
pub struct MissingDelegation {
    /// The nearest enclosing zone of `child` among those given.
    pub parent: Name,
    /// The zone not delegated.
    pub child: Name,
}

/// Every zone among `zones` whose nearest enclosing zone (also among
/// `zones`) has no NS RRset at the child's origin. Zones from
/// [`synthesize`] always hold their delegations, so what is listed is a
/// declared parent that forgot one.
pub fn missing_delegations(zones: &[&Zone]) -> Vec<MissingDelegation> {
    let origins: Vec<Name> = zones.iter().map(|zone| zone.origin().clone()).collect();
    let mut missing = Vec::new();
    for child in &origins {
        let Some(parent) = parent_zone(child, &origins) else {
            continue;
        };
        let parent_zone = zones
            .iter()
            .find(|zone| *zone.origin() == parent)
            .expect("an origin of the given zones");
        if parent_zone.rrset(child, RecordType::NS).is_none() {
            missing.push(MissingDelegation {
                parent,
                child: child.clone(),
            });
        }
    }
    missing.sort_by(|a, b| (&a.parent, &a.child).cmp(&(&b.parent, &b.child)));
    missing.dedup();
    missing
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::Arc;

    use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};

    use super::*;
    use crate::authority::{Authority, ServedZone, Transport};
    use crate::zone::parse_master_file;

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn roots() -> NameServers {
        vec![
            (
                root_server_name(0).unwrap(),
                vec![ip("198.41.0.4"), ip("2001:503:ba3e::2:30")],
            ),
            (root_server_name(1).unwrap(), vec![ip("170.247.170.2")]),
        ]
    }

    fn example_com() -> (Name, NameServers) {
        (
            name("example.com."),
            vec![
                (name("ns1.example.com."), vec![ip("192.0.2.53")]),
                (name("ns.example.net."), vec![ip("198.51.100.53")]),
            ],
        )
    }

    fn summary(zone: &Zone) -> Vec<String> {
        zone.records()
            .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
            .collect()
    }

    #[test]
    fn root_server_names() {
        assert_eq!(root_server_name(0), Some(name("a.root-servers.net.")));
        assert_eq!(root_server_name(12), Some(name("m.root-servers.net.")));
        assert_eq!(root_server_name(13), None);
    }

    #[test]
    fn one_declared_zone_gets_a_root_and_its_tld() {
        let zones = synthesize(&[example_com()], &roots()).unwrap();
        let origins: Vec<String> = zones.iter().map(|z| z.origin().to_string()).collect();
        assert_eq!(origins, vec![".", "com."]);
        let root = summary(&zones[0]);
        for expected in [
            ". NS a.root-servers.net.",
            ". NS b.root-servers.net.",
            "a.root-servers.net. A 198.41.0.4",
            "a.root-servers.net. AAAA 2001:503:ba3e::2:30",
            "b.root-servers.net. A 170.247.170.2",
            "com. NS a.root-servers.net.",
        ] {
            assert!(
                root.contains(&expected.to_owned()),
                "{expected} not in {root:#?}"
            );
        }
        assert_eq!(zones[0].soa().record_type(), RecordType::SOA);
        let com = summary(&zones[1]);
        assert!(
            com.contains(&"example.com. NS ns1.example.com.".to_owned()),
            "{com:#?}"
        );
        assert!(com.contains(&"example.com. NS ns.example.net.".to_owned()));
        // Glue only for the in-bailiwick server.
        assert!(com.contains(&"ns1.example.com. A 192.0.2.53".to_owned()));
        assert!(!com.iter().any(|r| r.starts_with("ns.example.net.")));
        assert!(zones[1]
            .records()
            .all(|r| r.ttl == HIERARCHY_TTL || r.record_type() == RecordType::SOA));
    }

    #[test]
    fn deeper_zones_are_delegated_from_the_tld() {
        let declared = [(
            name("example.co.uk."),
            vec![(name("ns1"), vec![ip("192.0.2.1")])],
        )];
        let zones = synthesize(&declared, &roots()).unwrap();
        let origins: Vec<String> = zones.iter().map(|z| z.origin().to_string()).collect();
        assert_eq!(origins, vec![".", "uk."]);
        assert!(summary(&zones[1]).contains(&"example.co.uk. NS ns1.example.co.uk.".to_owned()));
        assert!(summary(&zones[1]).contains(&"ns1.example.co.uk. A 192.0.2.1".to_owned()));
    }

    #[test]
    fn declared_zones_are_never_synthesized() {
        let declared = [
            example_com(),
            (
                name("com."),
                vec![(name("ns.nic.com."), vec![ip("192.0.2.9")])],
            ),
        ];
        let zones = synthesize(&declared, &roots()).unwrap();
        assert_eq!(zones.len(), 1);
        let root = summary(&zones[0]);
        // The root delegates com. to the declared servers; example.com is
        // com.'s (declared) business.
        assert!(
            root.contains(&"com. NS ns.nic.com.".to_owned()),
            "{root:#?}"
        );
        assert!(root.contains(&"ns.nic.com. A 192.0.2.9".to_owned()));
        assert!(!root.iter().any(|r| r.starts_with("example.com.")));
        let declared_root = [(Name::root(), roots())];
        assert_eq!(synthesize(&declared_root, &[]).unwrap(), vec![]);
    }

    #[test]
    fn root_server_addresses_live_in_net_when_net_is_synthesized() {
        let declared = [(
            name("example.net."),
            vec![(name("ns1.example.net."), vec![ip("192.0.2.7")])],
        )];
        let zones = synthesize(&declared, &roots()).unwrap();
        let net = summary(&zones[1]);
        assert!(
            net.contains(&"a.root-servers.net. A 198.41.0.4".to_owned()),
            "{net:#?}"
        );
        // And the root keeps them as glue for its delegation of net.
        assert!(summary(&zones[0]).contains(&"a.root-servers.net. A 198.41.0.4".to_owned()));
    }

    #[test]
    fn errors() {
        assert_eq!(
            synthesize(&[example_com()], &[]),
            Err(HierarchyError::NoRootServers)
        );
        let no_servers = [(name("example.com."), vec![])];
        assert_eq!(
            synthesize(&no_servers, &roots()),
            Err(HierarchyError::NoNameServers(name("example.com.")))
        );
    }

    #[test]
    fn missing_delegations_of_declared_parents() {
        let com = parse_master_file(
            "@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
            &name("com."),
            60,
        )
        .unwrap();
        let com = Zone::build(name("com."), com).unwrap();
        let example = parse_master_file(
            "@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.2\n",
            &name("example.com."),
            60,
        )
        .unwrap();
        let example = Zone::build(name("example.com."), example).unwrap();
        let missing = missing_delegations(&[&com, &example]);
        assert_eq!(
            missing,
            vec![MissingDelegation {
                parent: name("com."),
                child: name("example.com.")
            }]
        );
        assert_eq!(missing_delegations(&[&example]), vec![]);
    }

    /// The walk a resolver makes: root, then com., then example.com.,
    /// each step a referral with glue until the answer.
    #[test]
    fn iterative_resolution_walks_down() {
        let declared_text = "@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\n@ NS ns.example.net.\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";
        let example = Zone::build(
            name("example.com."),
            parse_master_file(declared_text, &name("example.com."), 60).unwrap(),
        )
        .unwrap();
        let mut zones = synthesize(&[example_com()], &roots()).unwrap();
        zones.push(example);
        let all: Vec<&Zone> = zones.iter().collect();
        assert_eq!(missing_delegations(&all), vec![]);
        let server = |zone: &Zone| {
            Authority::new(vec![ServedZone {
                zone: Arc::new(zone.clone()),
                private_to: vec![],
            }])
        };
        let mut query = Message::new(7, MessageType::Query, OpCode::Query);
        query.add_query(Query::query(name("www.example.com."), RecordType::A));
        let src = ip("192.0.2.200");
        let root = server(&zones[0]).answer(&query, src, Transport::Udp);
        assert!(!root.authoritative && root.authorities.iter().all(|r| r.name == name("com.")));
        assert!(root
            .additionals
            .iter()
            .any(|r| r.name == name("a.root-servers.net.")));
        let com = server(&zones[1]).answer(&query, src, Transport::Udp);
        assert!(com
            .authorities
            .iter()
            .all(|r| r.name == name("example.com.")));
        assert_eq!(com.additionals.len(), 1);
        let answer = server(&zones[2]).answer(&query, src, Transport::Udp);
        assert_eq!(
            (
                answer.response_code,
                answer.authoritative,
                answer.answers.len()
            ),
            (ResponseCode::NoError, true, 1)
        );
    }
}
