//! What one zone says about one name and type: RFC 1034 §4.3.2 steps 3
//! and 4, with RFC 4592 wildcards.
//!
//! RFC 1034 §4.3.2, step 3:
//!
//! > Start matching down, label by label, in the zone.  The matching
//! > process can terminate several ways:
//! >
//! > a. If the whole of QNAME is matched, we have found the node. [...]
//! >
//! > b. If a match would take us out of the authoritative data, we have a
//! >    referral.  This happens when we encounter a node with NS RRs
//! >    marking cuts along the bottom of a zone. [...]
//! >
//! > c. If at some label, a match is impossible (i.e., the corresponding
//! >    label does not exist), look to see if a the "*" label exists.

use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::zone::{label_count, Zone};

/// The outcome of looking `qname`/`qtype` up in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// The RRsets that answer, owned by the query name (wildcard answers
    /// are renamed).
    Records(Vec<Vec<Record>>),
    /// The name is an alias (RFC 1034 §3.6.2): its CNAME record, owned by
    /// the query name.
    Cname(Record),
    /// The apex ALIAS, asked for `A` or `AAAA`: answer with the target's.
    Alias(Name),
    /// The name exists but has no data of the type (RFC 2308 §2.2).
    NoData,
    /// The name does not exist (RFC 2308 §2.1).
    NxDomain,
    /// The name is at or below a zone cut: the delegation's NS RRset.
    Referral(Vec<Record>),
}

/// Looks `qname`/`qtype` up in `zone`, which must enclose `qname`.
pub(crate) fn find(zone: &Zone, qname: &Name, qtype: RecordType) -> Found {
    let origin = zone.origin();
    assert!(origin.zone_of(qname), "{qname} is not in {origin}");
    // Step 3b first, top down: the highest cut on the way to QNAME wins.
    // DS is the one type the parent side of a cut answers (RFC 4035 §3.1.4.1).
    let labels_origin = label_count(origin);
    let labels_qname = label_count(qname);
    for labels in labels_origin + 1..=labels_qname {
        let ancestor = qname.trim_to(labels);
        if let Some(ns) = zone.rrset(&ancestor, RecordType::NS) {
            if !(labels == labels_qname && qtype == RecordType::DS) {
                return Found::Referral(ns.to_vec());
            }
        }
    }
    // Step 3a: the name exists (with data, or as an empty non-terminal).
    if zone.name_exists(qname) {
        return at_node(zone, qname, qname, qtype);
    }
    // Step 3c, RFC 4592 §3.3.1: the source of synthesis is the "*" child
    // of the closest encloser, the longest existing ancestor.
    let closest_encloser = (labels_origin..labels_qname)
        .rev()
        .map(|labels| qname.trim_to(labels))
        .find(|ancestor| zone.name_exists(ancestor))
        .expect("the origin exists");
    let Ok(wildcard) = closest_encloser.prepend_label("*") else {
        return Found::NxDomain;
    };
    if zone.name_exists(&wildcard) {
        return at_node(zone, &wildcard, qname, qtype);
    }
    Found::NxDomain
}

/// The data at `node_name`, answered for `owner` (the query name; it
/// differs from `node_name` for a wildcard).
fn at_node(zone: &Zone, node_name: &Name, owner: &Name, qtype: RecordType) -> Found {
    let renamed = |records: &[Record]| -> Vec<Record> {
        let mut records = records.to_vec();
        if node_name != owner {
            for record in &mut records {
                record.name = owner.clone();
            }
        }
        records
    };
    let Some(node) = zone.node(node_name) else {
        return Found::NoData;
    };
    if qtype == RecordType::ANY {
        // RFC 8482 §4.2: "A DNS responder can choose to select one or a
        // larger subset of the available RRsets at the QNAME." One: the
        // RRset of the lowest type code, which is also Knot DNS's choice.
        let first = node.rrsets.values().next().map(|set| renamed(set));
        return first.map_or(Found::NoData, |set| Found::Records(vec![set]));
    }
    if let Some(set) = node.rrsets.get(&u16::from(qtype)) {
        return Found::Records(vec![renamed(set)]);
    }
    if let Some(cname) = node.rrsets.get(&u16::from(RecordType::CNAME)) {
        return Found::Cname(renamed(cname).swap_remove(0));
    }
    if node_name == zone.origin() && matches!(qtype, RecordType::A | RecordType::AAAA) {
        if let Some(target) = zone.alias_target() {
            return Found::Alias(target.clone());
        }
    }
    Found::NoData
}

/// The names whose addresses RFC 1034 §3.6 says belong in the additional
/// section: NS, MX and SRV targets.
pub(crate) fn additional_names(records: &[Record]) -> Vec<Name> {
    records
        .iter()
        .filter_map(|record| match &record.data {
            RData::NS(ns) => Some(ns.0.clone()),
            RData::MX(mx) => Some(mx.exchange.clone()),
            RData::SRV(srv) => Some(srv.target.clone()),
            _ => None,
        })
        .collect()
}

/// The A and AAAA RRsets of `name` in `zone`, authoritative data or glue
/// below a cut alike, A first.
pub(crate) fn addresses(zone: &Zone, name: &Name) -> Vec<Vec<Record>> {
    if !zone.origin().zone_of(name) {
        return Vec::new();
    }
    [RecordType::A, RecordType::AAAA]
        .into_iter()
        .filter_map(|rtype| zone.rrset(name, rtype).map(<[Record]>::to_vec))
        .collect()
}
