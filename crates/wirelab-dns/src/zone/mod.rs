//! Zones: the authoritative data of one cut of the name space (RFC 1034
//! §4.2), read from RFC 1035 master files ([`parse_master_file`]) or from
//! records written inline in a lab ([`parse_record`]), checked as a whole
//! ([`Zone::build`]) and completed with an SOA and NS when the lab leaves
//! them out ([`complete_apex`]).
//!
//! RFC 1034 §4.2:
//!
//! > The database is partitioned into sections called zones [...] Each zone
//! > begins at a node and extends down to the leaf nodes or to nodes where
//! > other zones start.
//!
//! # ALIAS
//!
//! Route 53's ALIAS record is not a DNS type. A zone keeps it beside its
//! records, at the apex only, as an ANAME record (the type hickory gives the
//! same idea); an authoritative server never puts it on the wire. Instead it
//! answers A and AAAA queries at the apex with the A or AAAA records of the
//! target, looked up in the zones the same server serves (see
//! [`crate::authority`]).

mod apex;
mod master_file;

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

pub use apex::{
    complete_apex, SYNTHESIZED_SOA_EXPIRE, SYNTHESIZED_SOA_MINIMUM, SYNTHESIZED_SOA_REFRESH,
    SYNTHESIZED_SOA_RETRY, SYNTHESIZED_SOA_SERIAL, SYNTHESIZED_TTL,
};
pub use master_file::{
    parse_master_file, ZoneFileError, ZONE_FILE_ERRORS_MAX, ZONE_FILE_RECORDS_MAX,
};

pub(crate) use master_file::{parse_owner, parse_type, split_entries, Token};

#[cfg(test)]
mod tests;

/// One record of a zone and where it was written: the line of a master file
/// or of the lab file (0 when wirelab synthesized it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecord {
    /// The record. An `ALIAS` is an ANAME record here.
    pub record: Record,
    /// 1-based line where the record was written; 0 for synthesized ones.
    pub line: u32,
}

/// A reason a set of records is not a valid zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ZoneProblem {
    /// Index of the offending record in the `Vec` given to [`Zone::build`];
    /// `None` when the problem is about the zone as a whole.
    pub record: Option<usize>,
    /// The offending record's line (see [`ZoneRecord::line`]); 0 when
    /// `record` is `None`.
    pub line: u32,
    /// What is wrong, as a sentence fragment without a trailing period.
    pub message: String,
}

/// A CNAME chain is followed at most this many steps, when checking a zone
/// for loops and when answering.
pub const CNAME_CHAIN_MAX: usize = 16;

/// The record types [`parse_record`] accepts (`ALIAS` is read as ANAME).
pub const INLINE_RECORD_TYPES: &[&str] = &[
    "SOA", "NS", "A", "AAAA", "CNAME", "MX", "TXT", "PTR", "SRV", "CAA", "ALIAS",
];

/// The records at one name, by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    /// RRsets by type code; records in the order they were given.
    pub(crate) rrsets: BTreeMap<u16, Vec<Record>>,
}

/// A checked zone: records by owner name, every name that exists in the
/// zone (empty non-terminals included), and the apex ALIAS if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    origin: Name,
    /// Keyed by lowercased owner name.
    nodes: BTreeMap<Name, Node>,
    /// Every owner name and each of its ancestors down to the origin: the
    /// names that exist (RFC 4592 §2.2.2), so that an empty non-terminal
    /// answers NODATA and not NXDOMAIN.
    names: BTreeSet<Name>,
    /// The apex ALIAS (an ANAME record), answered as A/AAAA.
    alias: Option<Record>,
}

impl Zone {
    /// Checks `records` as one zone at `origin` and builds it.
    ///
    /// Every problem is returned at once, each naming the record by its
    /// index in `records` and its line:
    /// - a record whose owner is outside the zone, or whose class is not IN;
    /// - no SOA, more than one SOA, or an SOA not at the apex;
    /// - no NS at the apex;
    /// - a CNAME beside other data at the same name (RFC 1034 §3.6.2), or
    ///   two CNAMEs at one name;
    /// - a CNAME loop inside the zone (reported once, at the loop's first
    ///   name in canonical order);
    /// - a delegation (NS below the apex) naming a name server inside this
    ///   zone for which the zone has no A or AAAA record ("missing glue":
    ///   a resolver could not reach that server);
    /// - an ALIAS not at the apex, a second ALIAS, or an ALIAS beside A or
    ///   AAAA records at the apex.
    ///
    /// Identical records are kept once (RFC 2181 §5: an RRset is a set).
    pub fn build(origin: Name, records: Vec<ZoneRecord>) -> Result<Zone, Vec<ZoneProblem>> {
        let mut origin = origin.to_lowercase();
        origin.set_fqdn(true);
        let mut builder = Builder {
            zone: Zone {
                origin,
                nodes: BTreeMap::new(),
                names: BTreeSet::new(),
                alias: None,
            },
            first_index: BTreeMap::new(),
            problems: Vec::new(),
        };
        for (index, zone_record) in records.into_iter().enumerate() {
            builder.insert(index, zone_record);
        }
        builder.check_apex();
        builder.check_cnames();
        builder.check_delegations();
        builder.check_alias();
        let Builder {
            mut zone, problems, ..
        } = builder;
        if !problems.is_empty() {
            return Err(problems);
        }
        zone.names = zone.names_existing();
        Ok(zone)
    }

    /// The zone's apex name, lowercase and fully qualified.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA record at the apex.
    pub fn soa(&self) -> &Record {
        let soa = self.rrset(&self.origin, RecordType::SOA);
        soa.and_then(|s| s.first())
            .expect("Zone::build requires an SOA")
    }

    /// The target of the apex ALIAS, if the zone has one.
    pub fn alias_target(&self) -> Option<&Name> {
        match &self.alias.as_ref()?.data {
            RData::ANAME(target) => Some(&target.0),
            _ => unreachable!("the alias is kept as ANAME"),
        }
    }

    /// The apex ALIAS as an ANAME record, if the zone has one.
    pub fn alias(&self) -> Option<&Record> {
        self.alias.as_ref()
    }

    /// Every record, by owner name (canonical order) then type code; the
    /// ALIAS is not among them (see [`Zone::alias`]).
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.nodes
            .values()
            .flat_map(|n| n.rrsets.values())
            .flatten()
    }

    /// The RRset of `rtype` at `name`, if any.
    pub fn rrset(&self, name: &Name, rtype: RecordType) -> Option<&[Record]> {
        let node = self.nodes.get(&name.to_lowercase())?;
        node.rrsets.get(&u16::from(rtype)).map(Vec::as_slice)
    }

    /// The records at `name`, by type, if there are any.
    pub(crate) fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(&name.to_lowercase())
    }

    /// Whether `name` exists in the zone: it owns records or is an empty
    /// non-terminal above names that do.
    pub fn name_exists(&self, name: &Name) -> bool {
        self.names.contains(&name.to_lowercase())
    }

    fn names_existing(&self) -> BTreeSet<Name> {
        let origin_labels = label_count(&self.origin);
        let mut names = BTreeSet::new();
        names.insert(self.origin.clone());
        for name in self.nodes.keys() {
            for labels in origin_labels..=label_count(name) {
                names.insert(name.trim_to(labels));
            }
        }
        names
    }
}

/// The number of labels of `name`, a leading `*` included (hickory's
/// `num_labels` leaves it out, as RRSIG's label count does).
pub(crate) fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The state of [`Zone::build`]: the zone so far, and where each RRset was
/// first written, for problems that point at it.
struct Builder {
    zone: Zone,
    /// (lowercased owner, type code) → (index, line) of its first record.
    first_index: BTreeMap<(Name, u16), (usize, u32)>,
    problems: Vec<ZoneProblem>,
}

impl Builder {
    fn problem(&mut self, record: Option<(usize, u32)>, message: String) {
        let (record, line) = match record {
            Some((index, line)) => (Some(index), line),
            None => (None, 0),
        };
        self.problems.push(ZoneProblem {
            record,
            line,
            message,
        });
    }

    fn insert(&mut self, index: usize, zone_record: ZoneRecord) {
        let ZoneRecord { mut record, line } = zone_record;
        let at = Some((index, line));
        record.name = record.name.to_lowercase();
        record.name.set_fqdn(true);
        let origin = &self.zone.origin;
        let (name, rtype) = (record.name.clone(), record.record_type());
        if !origin.zone_of(&name) {
            let message = format!("{name} is outside the zone {origin}");
            return self.problem(at, message);
        }
        if record.dns_class != DNSClass::IN {
            let message = format!("class {} is not supported; only IN", record.dns_class);
            return self.problem(at, message);
        }
        if rtype == RecordType::ANAME {
            return self.insert_alias(at, record);
        }
        if rtype == RecordType::SOA {
            if name != *origin {
                let message =
                    format!("SOA at {name}, but an SOA belongs only at the zone apex {origin}");
                return self.problem(at, message);
            }
            if self.zone.rrset(origin, RecordType::SOA).is_some() {
                return self.problem(at, format!("a second SOA record for {origin}"));
            }
        }
        self.first_index
            .entry((name.clone(), u16::from(rtype)))
            .or_insert((index, line));
        let rrset = self
            .zone
            .nodes
            .entry(name)
            .or_default()
            .rrsets
            .entry(u16::from(rtype))
            .or_default();
        if !rrset.iter().any(|r| r.data == record.data) {
            rrset.push(record);
        }
    }

    fn insert_alias(&mut self, at: Option<(usize, u32)>, record: Record) {
        let origin = &self.zone.origin;
        if record.name != *origin {
            let message = format!(
                "ALIAS at {}, but an ALIAS is allowed only at the zone apex {origin} (use a CNAME below the apex)",
                record.name
            );
            return self.problem(at, message);
        }
        if self.zone.alias.is_some() {
            return self.problem(at, format!("a second ALIAS at {origin}"));
        }
        self.first_index.insert(
            (record.name.clone(), u16::from(RecordType::ANAME)),
            at.expect("records have indexes"),
        );
        self.zone.alias = Some(record);
    }

    fn at(&self, name: &Name, rtype: RecordType) -> Option<(usize, u32)> {
        self.first_index
            .get(&(name.clone(), u16::from(rtype)))
            .copied()
    }

    fn check_apex(&mut self) {
        let origin = self.zone.origin.clone();
        if self.zone.rrset(&origin, RecordType::SOA).is_none() {
            self.problem(
                None,
                format!("the zone {origin} has no SOA record at its apex"),
            );
        }
        if self.zone.rrset(&origin, RecordType::NS).is_none() {
            self.problem(
                None,
                format!("the zone {origin} has no NS records at its apex"),
            );
        }
    }

    /// RFC 1034 §3.6.2: "If a CNAME RR is present at a node, no other data
    /// should be present; this ensures that the data for a canonical name
    /// and its aliases cannot be different."
    fn check_cnames(&mut self) {
        let cname = u16::from(RecordType::CNAME);
        let mut owners = Vec::new();
        for (name, node) in &self.zone.nodes {
            if let Some(cnames) = node.rrsets.get(&cname) {
                let others: Vec<String> = node
                    .rrsets
                    .iter()
                    .filter(|(code, _)| **code != cname)
                    .map(|(code, _)| RecordType::from(*code).to_string())
                    .collect();
                owners.push((name.clone(), cnames.len(), others));
            }
        }
        for (name, count, others) in owners {
            let at = self.at(&name, RecordType::CNAME);
            if count > 1 {
                self.problem(
                    at,
                    format!(
                        "{name} has {count} CNAME records; a name can be an alias of only one name"
                    ),
                );
            }
            if !others.is_empty() {
                let others = others.join(", ");
                self.problem(at, format!("CNAME at {name} beside other data ({others}); a CNAME must be alone at its name"));
            }
            if let Some(cycle) = self.cname_cycle_from(&name) {
                self.problem(at, format!("CNAME loop: {cycle}"));
            }
        }
    }

    /// The loop starting at `start`, written `a → b → a`, when `start` is
    /// on a loop and is the loop's first name in canonical order (so each
    /// loop is reported once).
    fn cname_cycle_from(&self, start: &Name) -> Option<String> {
        let mut chain = vec![start.clone()];
        let mut name = start.clone();
        for _ in 0..CNAME_CHAIN_MAX {
            let target = self
                .zone
                .rrset(&name, RecordType::CNAME)?
                .first()
                .and_then(|r| match &r.data {
                    RData::CNAME(target) => Some(target.0.to_lowercase()),
                    _ => None,
                })?;
            if target == *start {
                if chain.iter().any(|n| n < start) {
                    return None;
                }
                chain.push(target);
                let names: Vec<String> = chain.iter().map(Name::to_string).collect();
                return Some(names.join(" → "));
            }
            if chain.contains(&target) {
                // A loop further down that `start` only leads into.
                return None;
            }
            chain.push(target.clone());
            name = target;
        }
        None
    }

    /// RFC 1034 §4.2.1: a name server named inside the zone it serves needs
    /// glue, "address RRs for the servers that are in the subzone".
    fn check_delegations(&mut self) {
        let origin = self.zone.origin.clone();
        let mut missing = Vec::new();
        for (name, node) in &self.zone.nodes {
            if *name == origin {
                continue;
            }
            let Some(ns_records) = node.rrsets.get(&u16::from(RecordType::NS)) else {
                continue;
            };
            for record in ns_records {
                let RData::NS(target) = &record.data else {
                    continue;
                };
                let target = target.0.to_lowercase();
                let has_address = self.zone.rrset(&target, RecordType::A).is_some()
                    || self.zone.rrset(&target, RecordType::AAAA).is_some();
                if origin.zone_of(&target) && !has_address {
                    missing.push((name.clone(), target));
                }
            }
        }
        for (name, target) in missing {
            let at = self.at(&name, RecordType::NS);
            self.problem(at, format!(
                "missing glue: the delegation of {name} names the name server {target}, which is inside {origin}, but {origin} has no A or AAAA record for it"
            ));
        }
    }

    fn check_alias(&mut self) {
        let origin = self.zone.origin.clone();
        if self.zone.alias.is_none() {
            return;
        }
        let at = self.at(&origin, RecordType::ANAME);
        for rtype in [RecordType::A, RecordType::AAAA, RecordType::CNAME] {
            if self.zone.rrset(&origin, rtype).is_some() {
                self.problem(at, format!("ALIAS at {origin} beside {rtype} records; the ALIAS answers {rtype} queries there"));
            }
        }
    }
}

/// Builds one record from its parts as read from a master file or a lab:
/// the owner and TTL already resolved, the RDATA still as tokens, parsed
/// by hickory with `origin` for relative names.
pub(crate) fn record_from_parts(
    owner: Name,
    ttl: u32,
    rtype: RecordType,
    rdata: &[&Token],
    origin: &Name,
) -> Result<Record, String> {
    if rdata.is_empty() {
        return Err(format!("the {} record has no data", type_mnemonic(rtype)));
    }
    // hickory's lexer reads `@` only as an owner; RFC 1035 §5.1 lets it
    // stand for the origin anywhere.
    let mut text = format!("{} {ttl} IN {rtype}", owner.to_ascii());
    for token in rdata {
        text.push(' ');
        if !token.quoted && token.text == "@" {
            text.push_str(&origin.to_ascii());
        } else {
            text.push_str(&token.text);
        }
    }
    let parsed = Parser::new(text, None, Some(origin.clone())).parse();
    let (_, rrsets) = parsed.map_err(|e| format!("bad {} data: {e}", type_mnemonic(rtype)))?;
    let mut records = rrsets
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>());
    let record = records
        .next()
        .ok_or_else(|| format!("bad {} data", type_mnemonic(rtype)))?;
    debug_assert!(records.next().is_none(), "one entry makes one record");
    Ok(record)
}

/// The name a lab author writes for a type (`ALIAS` for our ANAME).
fn type_mnemonic(rtype: RecordType) -> String {
    if rtype == RecordType::ANAME {
        "ALIAS".to_owned()
    } else {
        rtype.to_string()
    }
}

/// Parses one record written inline in a lab file.
///
/// `owner` is `@` for the apex, a name relative to `origin`, or an absolute
/// name ending in `.`. `rtype` is one of [`INLINE_RECORD_TYPES`]. `value`
/// is the RDATA in master-file syntax (`10 mail.example.com.` for MX,
/// `ns1 hostmaster 1 7200 900 1209600 300` for SOA, relative names allowed)
/// with one convenience: a TXT value with no `"` in it is one string, so
/// `value: v=spf1 -all` means `"v=spf1 -all"`. An `ALIAS` value is the
/// target name; the record comes back as an ANAME record.
pub fn parse_record(
    owner: &str,
    rtype: &str,
    value: &str,
    ttl: u32,
    origin: &Name,
) -> Result<Record, String> {
    if !INLINE_RECORD_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(rtype))
    {
        let known = INLINE_RECORD_TYPES.join(", ");
        return Err(format!(
            "record type '{rtype}' is not supported here; use one of {known}"
        ));
    }
    let rtype = parse_type(rtype)?;
    let mut origin = origin.clone();
    origin.set_fqdn(true);
    let owner = parse_owner(owner.trim(), &origin)?;
    let tokens = if rtype == RecordType::TXT && !value.contains('"') {
        vec![Token {
            text: quote(value.trim()),
            quoted: true,
            line: 1,
            column: 1,
        }]
    } else {
        let (entries, errors) = split_entries(value);
        if let Some(error) = errors.first() {
            return Err(format!("column {}: {}", error.column, error.message));
        }
        entries.into_iter().flat_map(|e| e.tokens).collect()
    };
    let tokens: Vec<&Token> = tokens.iter().collect();
    record_from_parts(owner, ttl, rtype, &tokens, &origin)
}

/// `text` as one master-file quoted string.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}
