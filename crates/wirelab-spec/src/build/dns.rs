//! `dns:` (extension): zones written inline or in RFC 1035 master files,
//! the hosts that serve them, private (split-horizon) zones, root hints,
//! and each host's `resolver:`.
//!
//! The records themselves are parsed and checked by `wirelab-dns`; this
//! module turns its findings into diagnostics at the record's place (the
//! YAML value, or the zone file's own line), and asks it for the root and
//! TLD zones above the declared ones.

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use wirelab_dns::hierarchy;
use wirelab_dns::proto::rr::{Name, RData, RecordType};
use wirelab_dns::zone::{self, Zone, ZoneRecord};

use super::Names;
use crate::model::{Dns, DnsZone, Host, HostId, NetworkId, Sp, Span};
use crate::read::{self, Diags};
use crate::yaml::{Node, Value};

pub(crate) const DNS_KEYS: [&str; 2] = ["zones", "root_hints"];
pub(crate) const ZONE_KEYS: [&str; 6] = ["name", "servers", "file", "records", "ttl", "private"];
pub(crate) const RECORD_KEYS: [&str; 4] = ["name", "type", "value", "ttl"];
/// Most zones in one lab.
const ZONES_MAX: usize = 10_000;
/// Most records written inline in one zone.
const RECORDS_MAX: usize = 100_000;
/// Largest zone file.
const ZONE_FILE_BYTES_MAX: u64 = 8 * 1024 * 1024;
/// TTL of a record that gives none, when the zone sets no `ttl:`.
pub const TTL_DEFAULT: u32 = 300;
/// The apps that make a service speak DNS.
pub const APP_DNS: &str = "dns";
pub const APP_RESOLVER: &str = "resolver";
/// The one port DNS services listen on in a lab (NS records carry no port).
const DNS_PORT: u16 = 53;

/// Reads `dns:` and the hosts' `resolver:` keys; fills `hosts[..].resolvers`.
pub(crate) fn read_dns(
    node: Option<&Node>,
    host_entries: Option<&[(Sp<String>, Node)]>,
    names: &Names,
    hosts: &mut [Host],
    lab_file: &str,
    d: &mut Diags,
) -> Dns {
    check_dns_services(hosts, d);
    read_host_resolvers(host_entries, names, hosts, d);
    let mut dns = Dns::default();
    let Some(node) = node else { return dns };
    if let Value::Null = node.value {
        return dns;
    }
    let Some(fields) = read::fields(node, &DNS_KEYS, "`dns`", node.span, d) else {
        return dns;
    };
    let lab_dir = Path::new(lab_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if let Some(zones) = fields.get("zones") {
        if let Some(items) = read::seq(zones, "`zones`", d) {
            if items.len() > ZONES_MAX {
                d.error(
                    zones.span,
                    format!("too many zones ({}; the limit is {ZONES_MAX})", items.len()),
                );
            } else {
                for item in items {
                    if let Some(zone) = read_zone(item, names, hosts, &lab_dir, d) {
                        dns.zones.push(zone);
                    }
                }
            }
        }
    }
    check_duplicate_zones(&dns.zones, d);
    synthesize_hierarchy(&mut dns, hosts, d);
    dns.root_hints = match fields.get("root_hints") {
        Some(node) => read_root_hints(node, d),
        None => root_servers(&dns, hosts),
    };
    let has_resolver = hosts.iter().any(|h| {
        h.services
            .iter()
            .any(|s| s.app.as_deref() == Some(APP_RESOLVER))
    });
    if has_resolver && dns.root_hints.is_empty() {
        d.warning(
            node.span,
            "the lab has resolvers but no root zone and no `root_hints`: every lookup will fail",
        );
    }
    dns
}

/// `app: dns` and `app: resolver` services listen on port 53 (both UDP
/// and TCP, whichever `proto` names).
fn check_dns_services(hosts: &[Host], d: &mut Diags) {
    for host in hosts {
        for service in &host.services {
            let app = service.app.as_deref();
            if (app == Some(APP_DNS) || app == Some(APP_RESOLVER)) && service.port != DNS_PORT {
                d.error(
                    service.span,
                    format!(
                        "a `{}` service listens on port 53 (NS records and resolvers carry no port); found port {}",
                        app.unwrap_or_default(),
                        service.port
                    ),
                );
            }
        }
    }
}

fn serves(host: &Host, app: &str) -> bool {
    host.services.iter().any(|s| s.app.as_deref() == Some(app))
}

/// `resolver: ADDRESS | HOST | [ ... ]` of each host.
fn read_host_resolvers(
    host_entries: Option<&[(Sp<String>, Node)]>,
    names: &Names,
    hosts: &mut [Host],
    d: &mut Diags,
) {
    for (name, node) in host_entries.unwrap_or(&[]) {
        let Value::Map(entries) = &node.value else {
            continue;
        };
        let Some((_, value)) = entries.iter().find(|(k, _)| k.value == "resolver") else {
            continue;
        };
        let Some(id) = names.hosts.get(&name.value) else {
            continue;
        };
        let items: Vec<&Node> = match &value.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut resolvers = Vec::new();
        for item in items {
            let Some(text) = read::string(item, "`resolver`", d) else {
                continue;
            };
            let address = match text.parse::<IpAddr>() {
                Ok(address) => Some(address),
                Err(_) => match names.hosts.get(text) {
                    Some(target) => {
                        let host = &hosts[target];
                        let address = host.ipv4.map(IpAddr::V4).or(host.ipv6.map(IpAddr::V6));
                        if address.is_none() {
                            d.error(item.span, format!("host `{text}` has no address"));
                        }
                        address
                    }
                    None => {
                        d.error_help(
                            item.span,
                            format!("`{text}` is neither an address nor a host"),
                            names.hosts.suggest(text),
                        );
                        None
                    }
                },
            };
            let Some(address) = address else { continue };
            let owner = hosts.iter().find(|h| {
                h.ipv4.map(IpAddr::V4) == Some(address) || h.ipv6.map(IpAddr::V6) == Some(address)
            });
            match owner {
                Some(owner) if serves(owner, APP_RESOLVER) => resolvers.push(address),
                Some(owner) => d.error_help(
                    item.span,
                    format!(
                        "`{}` ({address}) is not a resolver: it has no `app: resolver` service",
                        owner.name.value
                    ),
                    Some(
                        "add `services: [{ port: 53, proto: udp, app: resolver }]` to it"
                            .to_string(),
                    ),
                ),
                None => d.error(
                    item.span,
                    format!("no host of the lab has the address {address}"),
                ),
            }
        }
        hosts[id].resolvers = resolvers;
        hosts[id].resolver_written = true;
    }
}

fn read_root_hints(node: &Node, d: &mut Diags) -> Vec<IpAddr> {
    let mut hints = Vec::new();
    for item in read::seq(node, "`root_hints`", d).unwrap_or(&[]) {
        let Some(text) = read::string(item, "a root hint", d) else {
            continue;
        };
        match text.parse::<IpAddr>() {
            Ok(address) => hints.push(address),
            Err(_) => d.error(item.span, format!("root hint `{text}` is not an address")),
        }
    }
    hints
}

/// An absolute, lowercase domain name from the file.
fn read_name(node: &Node, what: &str, d: &mut Diags) -> Option<Name> {
    let text = read::string(node, what, d)?;
    let absolute = if text.ends_with('.') {
        text.to_ascii_lowercase()
    } else {
        format!("{}.", text.to_ascii_lowercase())
    };
    match Name::from_ascii(&absolute) {
        Ok(name) => Some(name),
        Err(e) => {
            d.error(node.span, format!("`{text}` is not a domain name: {e}"));
            None
        }
    }
}

/// Where each record of a zone was written, to place its problems.
enum Place {
    File(u32),
    Yaml(Span),
}

fn read_zone(
    node: &Node,
    names: &Names,
    hosts: &[Host],
    lab_dir: &Path,
    d: &mut Diags,
) -> Option<DnsZone> {
    let fields = read::fields(node, &ZONE_KEYS, "a zone", node.span, d)?;
    let origin = fields
        .require("name", "a zone", d)
        .and_then(|n| read_name(n, "`name`", d));
    let servers_written = fields
        .get("servers")
        .and_then(|n| match &n.value {
            Value::Seq(items) => Some(items.len()),
            _ => None,
        })
        .unwrap_or(0);
    let servers = read_servers(fields.get("servers"), names, hosts, d);
    // A server already reported as wrong would make the zone look as if it
    // had no name servers: say nothing more about the zone as a whole.
    let servers_broken = servers.len() < servers_written;
    let private_to = read_private(fields.get("private"), names, d);
    let ttl = match fields.get("ttl") {
        Some(n) => read::int_in(n, "`ttl`", 0, i128::from(i32::MAX), d).map(|t| t as u32),
        None => Some(TTL_DEFAULT),
    }
    .unwrap_or(TTL_DEFAULT);
    let origin = origin?;
    let mut records: Vec<ZoneRecord> = Vec::new();
    let mut places: Vec<Place> = Vec::new();
    let mut zone_file: Option<String> = None;
    if let Some(file) = fields.get("file") {
        if let Some((path, shown)) = zone_path(file, lab_dir, d) {
            if let Some(text) = read_zone_file(&path, &shown, file.span, d) {
                match zone::parse_master_file(&text, &origin, ttl) {
                    Ok(parsed) => {
                        places.extend(parsed.iter().map(|r| Place::File(r.line)));
                        records.extend(parsed);
                    }
                    Err(errors) => {
                        for e in errors {
                            d.error_in(
                                &shown,
                                Span {
                                    line: e.line,
                                    column: e.column.max(1),
                                },
                                e.message,
                            );
                        }
                    }
                }
                zone_file = Some(shown);
            }
        }
    }
    if let Some(list) = fields.get("records") {
        read_records(list, &origin, ttl, &mut records, &mut places, d);
    }
    if fields.get("file").is_none() && fields.get("records").is_none() && servers.is_empty() {
        d.error(
            node.span,
            "a zone needs `records:`, a `file:` or at least `servers:`",
        );
        return None;
    }
    let ns: Vec<(Name, Vec<IpAddr>)> = servers
        .iter()
        .map(|&h| (server_name(&hosts[h], &origin), addresses(&hosts[h])))
        .collect();
    let written = records.len();
    zone::complete_apex(&origin, &mut records, &ns);
    match Zone::build(origin.clone(), records) {
        Ok(zone) => Some(DnsZone {
            origin: origin.to_ascii(),
            zone: Arc::new(zone),
            servers,
            private_to,
            synthesized: false,
            span: node.span,
        }),
        Err(problems) => {
            for p in problems {
                match p.record.filter(|&i| i < written).map(|i| &places[i]) {
                    Some(Place::Yaml(span)) => d.error(*span, p.message),
                    Some(Place::File(line)) => {
                        let file = zone_file.clone().unwrap_or_default();
                        d.error_in(
                            &file,
                            Span {
                                line: *line,
                                column: 1,
                            },
                            p.message,
                        )
                    }
                    None if servers_broken => {}
                    None => d.error(node.span, format!("zone {}: {}", origin, p.message)),
                }
            }
            None
        }
    }
}

/// The name a server host gets in the NS records wirelab adds to a zone
/// that has none: `HOST.ORIGIN`.
fn server_name(host: &Host, origin: &Name) -> Name {
    Name::from_ascii(&host.name.value)
        .ok()
        .and_then(|n| n.append_domain(origin).ok())
        .unwrap_or_else(|| origin.clone())
}

fn addresses(host: &Host) -> Vec<IpAddr> {
    host.ipv4
        .map(IpAddr::V4)
        .into_iter()
        .chain(host.ipv6.map(IpAddr::V6))
        .collect()
}

fn read_servers(node: Option<&Node>, names: &Names, hosts: &[Host], d: &mut Diags) -> Vec<HostId> {
    let mut servers = Vec::new();
    let Some(node) = node else { return servers };
    for item in read::seq(node, "`servers`", d).unwrap_or(&[]) {
        let Some(name) = read::string(item, "a server", d) else {
            continue;
        };
        match names.hosts.get(name) {
            Some(id) if servers.contains(&id) => {
                d.warning(item.span, format!("server `{name}` is listed twice"))
            }
            Some(id) if !serves(&hosts[id], APP_DNS) => d.error_help(
                item.span,
                format!("`{name}` serves this zone but has no DNS service"),
                Some("add `services: [{ port: 53, proto: udp, app: dns }]` to it".to_string()),
            ),
            Some(id) => servers.push(id),
            None => d.error_help(
                item.span,
                format!("unknown host `{name}`"),
                names.hosts.suggest(name),
            ),
        }
    }
    servers
}

fn read_private(node: Option<&Node>, names: &Names, d: &mut Diags) -> Vec<NetworkId> {
    let mut networks = Vec::new();
    let Some(node) = node else { return networks };
    let items = read::seq(node, "`private`", d).unwrap_or(&[]);
    if items.is_empty() {
        d.error(
            node.span,
            "`private` lists the networks that may see the zone: give at least one",
        );
    }
    for item in items {
        let Some(name) = read::string(item, "a network", d) else {
            continue;
        };
        match names.networks.get(name) {
            Some(id) if !networks.contains(&id) => networks.push(id),
            Some(_) => d.warning(item.span, format!("network `{name}` is listed twice")),
            None => d.error_help(
                item.span,
                format!("unknown network `{name}`"),
                names.networks.suggest(name),
            ),
        }
    }
    networks
}

/// A zone file path: relative to the lab's folder and inside it.
fn zone_path(node: &Node, lab_dir: &Path, d: &mut Diags) -> Option<(PathBuf, String)> {
    let text = read::string(node, "`file`", d)?;
    // In a submission merged into a teacher's lab, the teacher's zones
    // are read from the teacher's folder (see submission.rs).
    let teacher_dir = d
        .teacher_from
        .as_ref()
        .filter(|(line, _)| node.span.line >= *line)
        .map(|(_, dir)| dir.clone());
    let lab_dir = teacher_dir.as_deref().unwrap_or(lab_dir);
    if !d.files_allowed {
        d.error(
            node.span,
            format!("zone file `{text}`: a lab sent to the server cannot read files; write the zone's records inline (`records:`)"),
        );
        return None;
    }
    let relative = Path::new(text);
    let leaves = relative.is_absolute()
        || relative.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        });
    if leaves {
        d.error(
            node.span,
            format!("zone file `{text}` leaves the lab's folder: give a path inside it, relative to the lab file"),
        );
        return None;
    }
    let path = lab_dir.join(relative);
    // A symbolic link may still point outside: compare the real paths.
    if let (Ok(real), Ok(dir)) = (
        path.canonicalize(),
        lab_dir
            .canonicalize()
            .or_else(|_| Path::new(".").canonicalize()),
    ) {
        if !real.starts_with(&dir) {
            d.error(
                node.span,
                format!(
                    "zone file `{text}` leaves the lab's folder (it links to {})",
                    real.display()
                ),
            );
            return None;
        }
    }
    let shown = path.display().to_string();
    Some((path, shown))
}

fn read_zone_file(path: &Path, shown: &str, span: Span, d: &mut Diags) -> Option<String> {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            d.error(
                span,
                format!("cannot read zone file `{shown}`: {}", io_message(&e)),
            );
            return None;
        }
    };
    if metadata.is_dir() {
        d.error(span, format!("zone file `{shown}` is a directory"));
        return None;
    }
    // A named pipe or a device would block or never end the read: an
    // untrusted lab may only name regular files.
    if d.untrusted && !metadata.is_file() {
        d.error(
            span,
            format!("zone file `{shown}` is not a regular file (a pipe or a device?)"),
        );
        return None;
    }
    if metadata.len() > ZONE_FILE_BYTES_MAX {
        d.error(
            span,
            format!("zone file `{shown}` is larger than {ZONE_FILE_BYTES_MAX} bytes"),
        );
        return None;
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u32;
                d.error_in(
                    shown,
                    Span { line, column: 1 },
                    "the zone file is not UTF-8 text",
                );
                None
            }
        },
        Err(e) => {
            d.error(
                span,
                format!("cannot read zone file `{shown}`: {}", io_message(&e)),
            );
            None
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// `records:`: maps `{ name, type, value, ttl }` or master-file lines.
fn read_records(
    node: &Node,
    origin: &Name,
    ttl: u32,
    records: &mut Vec<ZoneRecord>,
    places: &mut Vec<Place>,
    d: &mut Diags,
) {
    let Some(items) = read::seq(node, "`records`", d) else {
        return;
    };
    if items.len() > RECORDS_MAX {
        d.error(
            node.span,
            format!(
                "too many records ({}; the limit is {RECORDS_MAX})",
                items.len()
            ),
        );
        return;
    }
    for item in items {
        let parsed = match &item.value {
            Value::Str(line) => match zone::parse_master_file(line, origin, ttl) {
                Ok(mut list) if list.len() == 1 => Ok(list.remove(0)),
                Ok(list) => Err(format!(
                    "a record line must hold one record, found {}",
                    list.len()
                )),
                Err(errors) => Err(errors
                    .into_iter()
                    .map(|e| e.message)
                    .collect::<Vec<_>>()
                    .join("; ")),
            },
            _ => {
                let Some(fields) = read::fields(item, &RECORD_KEYS, "a record", item.span, d)
                else {
                    continue;
                };
                let owner = fields
                    .get("name")
                    .map_or(Some("@".to_string()), |n| read::scalar_text(n, "`name`", d));
                let rtype = fields
                    .require("type", "a record", d)
                    .and_then(|n| read::string(n, "`type`", d));
                let value = fields
                    .require("value", "a record", d)
                    .and_then(|n| read::scalar_text(n, "`value`", d));
                let record_ttl = match fields.get("ttl") {
                    Some(n) => {
                        read::int_in(n, "`ttl`", 0, i128::from(i32::MAX), d).map(|t| t as u32)
                    }
                    None => Some(ttl),
                };
                let (Some(owner), Some(rtype), Some(value), Some(record_ttl)) =
                    (owner, rtype, value, record_ttl)
                else {
                    continue;
                };
                zone::parse_record(&owner, rtype, &value, record_ttl, origin).map(|record| {
                    ZoneRecord {
                        record,
                        line: item.span.line,
                    }
                })
            }
        };
        match parsed {
            Ok(record) => {
                records.push(record);
                places.push(Place::Yaml(item.span));
            }
            Err(message) => d.error(item.span, message),
        }
    }
}

/// The same origin twice is only split horizon: at most one public zone.
fn check_duplicate_zones(zones: &[DnsZone], d: &mut Diags) {
    for (i, zone) in zones.iter().enumerate() {
        let earlier = zones[..i].iter().find(|z| {
            z.origin == zone.origin && z.private_to.is_empty() && zone.private_to.is_empty()
        });
        if let Some(earlier) = earlier {
            d.error(
                zone.span,
                format!(
                    "zone {} is already declared (line {}); the same name twice is only for a private zone beside a public one",
                    zone.origin, earlier.span.line
                ),
            );
        }
    }
}

/// The hosts that serve the synthesized root and TLD zones: every server
/// of a declared public zone, in file order.
fn hierarchy_servers(dns: &Dns) -> Vec<HostId> {
    let mut servers = Vec::new();
    for zone in dns.zones.iter().filter(|z| z.private_to.is_empty()) {
        for &h in &zone.servers {
            if !servers.contains(&h) {
                servers.push(h);
            }
        }
    }
    servers
}

/// Adds the root zone and the TLD zones the declared public zones need,
/// unless the author declared them; reports declared parents that lack a
/// delegation to a declared child.
fn synthesize_hierarchy(dns: &mut Dns, hosts: &[Host], d: &mut Diags) {
    let public: Vec<&DnsZone> = dns
        .zones
        .iter()
        .filter(|z| z.private_to.is_empty())
        .collect();
    let zones: Vec<&Zone> = public.iter().map(|z| &*z.zone).collect();
    for missing in hierarchy::missing_delegations(&zones) {
        let span = public
            .iter()
            .find(|z| *z.zone.origin() == missing.parent)
            .map_or(Span::default(), |z| z.span);
        d.error(span, missing.to_string());
    }
    let servers = hierarchy_servers(dns);
    if servers.is_empty() {
        return;
    }
    let declared: Vec<(Name, hierarchy::NameServers)> = public
        .iter()
        .map(|z| (z.zone.origin().clone(), apex_name_servers(&z.zone, &zones)))
        .collect();
    // At most 13 root servers, as on the Internet: a.root-servers.net. to
    // m.root-servers.net.
    let root_servers: Vec<(Name, Vec<IpAddr>)> = servers
        .iter()
        .enumerate()
        .filter_map(|(i, &h)| Some((hierarchy::root_server_name(i)?, addresses(&hosts[h]))))
        .collect();
    let served_by: Vec<HostId> = servers.iter().copied().take(root_servers.len()).collect();
    match hierarchy::synthesize(&declared, &root_servers) {
        Ok(zones) => {
            for zone in zones {
                dns.zones.push(DnsZone {
                    origin: zone.origin().to_ascii(),
                    zone: Arc::new(zone),
                    servers: served_by.clone(),
                    private_to: Vec::new(),
                    synthesized: true,
                    span: Span::default(),
                });
            }
        }
        Err(e) => {
            let span = match &e {
                hierarchy::HierarchyError::NoNameServers(origin) => public
                    .iter()
                    .find(|z| z.zone.origin() == origin)
                    .map_or(Span::default(), |z| z.span),
                _ => Span::default(),
            };
            d.error(span, e.to_string());
        }
    }
}

/// A zone's apex NS names, each with the addresses the lab's zones give it.
fn apex_name_servers(zone: &Zone, zones: &[&Zone]) -> hierarchy::NameServers {
    let origin = zone.origin();
    let names = zone
        .rrset(origin, RecordType::NS)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.clone()),
            _ => None,
        });
    names
        .map(|name| {
            let mut found = Vec::new();
            for z in zones {
                for rtype in [RecordType::A, RecordType::AAAA] {
                    for r in z.rrset(&name, rtype).unwrap_or(&[]) {
                        let address = match &r.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        };
                        if let Some(a) = address.filter(|a| !found.contains(a)) {
                            found.push(a);
                        }
                    }
                }
            }
            (name, found)
        })
        .collect()
}

/// The addresses of the root zone's servers (declared or synthesized).
fn root_servers(dns: &Dns, hosts: &[Host]) -> Vec<IpAddr> {
    let mut hints = Vec::new();
    for zone in dns
        .zones
        .iter()
        .filter(|z| z.origin == "." && z.private_to.is_empty())
    {
        for &h in &zone.servers {
            for a in addresses(&hosts[h]) {
                if !hints.contains(&a) {
                    hints.push(a);
                }
            }
        }
    }
    hints
}
