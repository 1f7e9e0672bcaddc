//! An authoritative name server's answers: RFC 1034 §4.3.2 over the zones
//! it serves, negative answers as RFC 2308 says, EDNS(0) as RFC 6891 says,
//! and truncation to what the transport carries.
//!
//! RFC 1034 §4.3.2 ("Algorithm"), step 1 and 2:
//!
//! > 1. Set or clear the value of recursion available in the response
//! >    depending on whether the name server is willing to provide
//! >    recursive service. [...]
//! >
//! > 2. Search the available zones for the zone which is the nearest
//! >    ancestor to QNAME.  If such a zone is found, go to step 3,
//! >    otherwise step 4.
//!
//! An authoritative-only server never offers recursion, so RA is always
//! off, and a name in no zone it serves is REFUSED (what Knot DNS and
//! modern BIND answer), not answered from a cache it does not have.
//!
//! Choices where the RFCs leave room, each what Knot DNS 3.2 does (the
//! test `tests/knot.rs` compares) unless said otherwise:
//! - ANY gets one RRset, the one of the lowest type code (RFC 8482 §4.2),
//!   over UDP and TCP alike, as Knot DNS 3.2 does.
//! - A CNAME chain is followed through every zone this server serves
//!   (visible to the source), at most [`CNAME_CHAIN_MAX`] steps and never
//!   twice through one name. Knot stops at the edge of the first zone;
//!   wirelab goes on because a lab's zones are usually served together and
//!   a student expects the whole chain.
//! - The RCODE after a CNAME chain is the last name's (RFC 6604 §3); AA is
//!   the first name's zone's.
//! - Additional-section processing (RFC 1034 §3.6: NS, MX and SRV
//!   targets) adds the A then AAAA RRsets of targets in the same zone.
//! - No zone transfers: AXFR over UDP is NOTIMP, AXFR over TCP and IXFR
//!   are NOTAUTH. A query of class other than IN is REFUSED.
//! - The apex ALIAS: an A or AAAA query at an apex with an ALIAS is
//!   answered with the target's A or AAAA records (owned by the apex, with
//!   the target's TTL), found in the zones this server serves (following
//!   CNAMEs there). When the target is in no such zone, or has no records
//!   of the type, the answer is NODATA: an authoritative server resolves
//!   nothing itself, and a NODATA is what a resolver caches harmlessly.
//! - A message with QR set (a response) is dropped, not answered, so that
//!   two servers cannot answer each other's errors forever.
//! - Unlike Knot DNS, which drops them silently, a query whose body does
//!   not parse or that has more than one question is answered FORMERR
//!   (RFC 1035 §4.1.1: "The name server was unable to interpret the
//!   query"), so that a lab shows the client why it got no answer.

mod lookup;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use ipnet::IpNet;

pub use crate::zone::CNAME_CHAIN_MAX;
use crate::zone::{label_count, Zone};
use lookup::{additional_names, addresses, find, Found};

/// The EDNS(0) UDP payload size this server advertises and accepts at most
/// (the DNS Flag Day 2020 value, which avoids IP fragmentation).
pub const EDNS_PAYLOAD_MAX: u16 = 1232;

/// The UDP message size without EDNS (RFC 1035 §4.2.1), and the least
/// EDNS payload honoured (RFC 6891 §6.2.5: values below 512 are read as
/// 512).
pub const UDP_PAYLOAD_CLASSIC: u16 = 512;

/// The largest message over TCP: the two-octet length prefix
/// (RFC 1035 §4.2.2).
pub const TCP_MESSAGE_MAX: usize = 65_535;

/// How the query arrived, which bounds the size of the answer: over UDP
/// at most 512 octets, or the EDNS payload size (see [`EDNS_PAYLOAD_MAX`]),
/// larger answers being truncated with TC set; over TCP at most
/// [`TCP_MESSAGE_MAX`] octets.
pub use crate::transport::Transport;

/// A zone as one server serves it: to everyone, or (a Route 53 private
/// hosted zone, split-horizon DNS) only to sources inside some networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedZone {
    /// The zone.
    pub zone: Arc<Zone>,
    /// Empty: a public zone. Otherwise the zone answers only queries whose
    /// source address is inside one of these networks, and for those
    /// sources it hides a public zone of the same origin.
    pub private_to: Vec<IpNet>,
}

impl ServedZone {
    fn visible_to(&self, src: IpAddr) -> bool {
        self.private_to.is_empty() || self.private_to.iter().any(|net| net.contains(&src))
    }

    fn is_private(&self) -> bool {
        !self.private_to.is_empty()
    }
}

/// An authoritative name server's data: the zones it serves.
#[derive(Debug, Clone, Default)]
pub struct Authority {
    zones: Vec<ServedZone>,
}

/// An answer before it is written into a message: RRsets by section.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolution {
    response_code: ResponseCode,
    authoritative: bool,
    answers: Vec<Vec<Record>>,
    authorities: Vec<Vec<Record>>,
    additionals: Vec<Vec<Record>>,
}

impl Resolution {
    fn new(response_code: ResponseCode, authoritative: bool) -> Self {
        Self {
            response_code,
            authoritative,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// RFC 2308 §3: "Name servers authoritative for a zone MUST include
    /// the SOA record of the zone in the authority section of the response
    /// when reporting an NXDOMAIN or indicating that no data of the
    /// requested type exists", with §3's TTL: "the minimum of the MINIMUM
    /// field of the SOA record and the TTL of the SOA itself".
    fn add_negative_soa(&mut self, zone: &Zone) {
        let mut soa = zone.soa().clone();
        if let RData::SOA(data) = &soa.data {
            soa.ttl = soa.ttl.min(data.minimum);
        }
        self.authorities.push(vec![soa]);
    }

    /// Adds the A/AAAA RRsets of the NS, MX and SRV targets in `records`
    /// from `zone`, each RRset once.
    fn add_additionals(&mut self, zone: &Zone, records: &[Record]) {
        for target in additional_names(records) {
            for set in addresses(zone, &target) {
                let known = |sets: &Vec<Vec<Record>>| sets.iter().any(|s| same_rrset(s, &set));
                if !known(&self.additionals) && !known(&self.answers) {
                    self.additionals.push(set);
                }
            }
        }
    }
}

fn same_rrset(a: &[Record], b: &[Record]) -> bool {
    match (a.first(), b.first()) {
        (Some(a), Some(b)) => a.name == b.name && a.record_type() == b.record_type(),
        _ => false,
    }
}

impl Authority {
    /// A server for `zones`. When two visible zones have the same origin,
    /// a private one wins over a public one, and otherwise the first given.
    pub fn new(zones: Vec<ServedZone>) -> Self {
        Self { zones }
    }

    /// The zones served, as given.
    pub fn zones(&self) -> &[ServedZone] {
        &self.zones
    }

    /// RFC 1034 §4.3.2 step 2: the zone nearest to `qname` among those
    /// visible to `src`; a private zone hides a public one with the same
    /// origin.
    fn zone_for(&self, qname: &Name, src: IpAddr) -> Option<&Zone> {
        let mut best: Option<&ServedZone> = None;
        for served in &self.zones {
            if !served.visible_to(src) || !served.zone.origin().zone_of(qname) {
                continue;
            }
            let better = match best {
                None => true,
                Some(best) => {
                    let labels = label_count(served.zone.origin());
                    let labels_best = label_count(best.zone.origin());
                    labels > labels_best
                        || (labels == labels_best && served.is_private() && !best.is_private())
                }
            };
            if better {
                best = Some(served);
            }
        }
        best.map(|served| served.zone.as_ref())
    }

    /// Answers one query message from `src`.
    ///
    /// The response copies ID, opcode, RD and CD and the question; RA is
    /// off. Errors: a response message → FORMERR (see
    /// [`Authority::answer_bytes`], which drops them instead); opcode other
    /// than QUERY → NOTIMP; an OPT of version > 0 → BADVERS (RFC 6891
    /// §6.1.3); not exactly one question → FORMERR; AXFR over UDP →
    /// NOTIMP; AXFR over TCP, IXFR → NOTAUTH; class other than IN, or a
    /// name in no zone served → REFUSED. With an OPT in the
    /// query the response has one, advertising [`EDNS_PAYLOAD_MAX`] and
    /// copying DO. Over UDP the response fits the client's limit (see
    /// [`Transport`]): RRsets of the answer and authority sections that do
    /// not fit are left out with TC set, as Knot DNS does; RRsets of the
    /// additional section that do not fit are left out without TC
    /// (RFC 2181 §9).
    pub fn answer(&self, query: &Message, src: IpAddr, transport: Transport) -> Message {
        let mut response = Message::response(query.id, query.op_code);
        response.metadata.recursion_desired = query.recursion_desired;
        response.metadata.checking_disabled = query.checking_disabled;
        if let [question] = query.queries.as_slice() {
            response.add_query(question.clone());
        }
        if query.message_type != MessageType::Query {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        }
        if query.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
        if let Some(edns) = &query.edns {
            let mut ours = Edns::new();
            ours.set_max_payload(EDNS_PAYLOAD_MAX);
            ours.set_version(0);
            ours.set_dnssec_ok(edns.flags().dnssec_ok);
            response.set_edns(ours);
            if edns.version() > 0 {
                response.metadata.response_code = ResponseCode::BADVERS;
                return response;
            }
        }
        let [question] = query.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        // Zone transfers are not offered (RFC 5936 §2.2: AXFR runs over
        // TCP): Knot DNS's answers when no ACL allows them.
        match (question.query_type(), transport) {
            (RecordType::AXFR, Transport::Udp) => {
                response.metadata.response_code = ResponseCode::NotImp;
                return response;
            }
            (RecordType::AXFR | RecordType::IXFR, _) => {
                response.metadata.response_code = ResponseCode::NotAuth;
                return response;
            }
            _ => {}
        }
        let resolution = self.resolve(question, src);
        let size_max = match transport {
            Transport::Tcp => TCP_MESSAGE_MAX,
            Transport::Udp => {
                let asked = query
                    .edns
                    .as_ref()
                    .map_or(UDP_PAYLOAD_CLASSIC, Edns::max_payload);
                usize::from(asked.clamp(UDP_PAYLOAD_CLASSIC, EDNS_PAYLOAD_MAX))
            }
        };
        write_resolution(&mut response, resolution, size_max);
        response
    }

    /// Answers one query in wire format, returning the response in wire
    /// format.
    ///
    /// `None` (drop, as Knot DNS does) when not even the 12-octet header
    /// can be read, or when the message is a response (QR set): answering
    /// responses lets two servers bounce errors at each other forever. A
    /// message whose header reads but whose body does not is answered
    /// FORMERR with an empty question section; anything else as
    /// [`Authority::answer`] does.
    pub fn answer_bytes(&self, query: &[u8], src: IpAddr, transport: Transport) -> Option<Vec<u8>> {
        let header = Header::read(&mut BinDecoder::new(query)).ok()?;
        if header.metadata.message_type == MessageType::Response {
            return None;
        }
        let response = match Message::from_vec(query) {
            Ok(message) => self.answer(&message, src, transport),
            Err(_) => {
                let mut response = Message::error_msg(
                    header.metadata.id,
                    header.metadata.op_code,
                    ResponseCode::FormErr,
                );
                response.metadata.recursion_desired = header.metadata.recursion_desired;
                response
            }
        };
        match response.to_vec() {
            Ok(bytes) => Some(bytes),
            // Every record came from a zone that encodes; should a message
            // still not encode, SERVFAIL says so without data.
            Err(_) => {
                let mut failure =
                    Message::error_msg(response.id, response.op_code, ResponseCode::ServFail);
                failure.metadata.recursion_desired = response.recursion_desired;
                failure.to_vec().ok()
            }
        }
    }

    /// RFC 1034 §4.3.2 steps 2 to 6 for one question.
    fn resolve(&self, question: &Query, src: IpAddr) -> Resolution {
        let qtype = question.query_type();
        if question.query_class() != DNSClass::IN
            || matches!(qtype, RecordType::AXFR | RecordType::IXFR)
        {
            return Resolution::new(ResponseCode::Refused, false);
        }
        if matches!(qtype, RecordType::OPT) {
            return Resolution::new(ResponseCode::FormErr, false);
        }
        let Some(mut zone) = self.zone_for(question.name(), src) else {
            return Resolution::new(ResponseCode::Refused, false);
        };
        let mut resolution = Resolution::new(ResponseCode::NoError, true);
        let mut name = question.name().clone();
        let mut names_seen = vec![name.to_lowercase()];
        for step in 0..=CNAME_CHAIN_MAX {
            match find(zone, &name, qtype) {
                Found::Records(sets) => {
                    for set in sets {
                        resolution.add_additionals(zone, &set);
                        resolution.answers.push(set);
                    }
                    break;
                }
                Found::Cname(cname) => {
                    // RFC 1034 §4.3.2 step 3a: "copy the CNAME RR into the
                    // answer section of the response, change QNAME to the
                    // canonical name in the CNAME RR, and go back to step 1."
                    let RData::CNAME(target) = &cname.data else {
                        unreachable!("a CNAME")
                    };
                    let target = target.0.clone();
                    resolution.answers.push(vec![cname]);
                    if step == CNAME_CHAIN_MAX || names_seen.contains(&target.to_lowercase()) {
                        break;
                    }
                    let Some(next) = self.zone_for(&target, src) else {
                        break;
                    };
                    names_seen.push(target.to_lowercase());
                    (zone, name) = (next, target);
                }
                Found::Alias(target) => {
                    let records = self.alias_records(&target, qtype, &name, src);
                    if records.is_empty() {
                        resolution.add_negative_soa(zone);
                    } else {
                        resolution.answers.push(records);
                    }
                    break;
                }
                Found::NoData => {
                    resolution.add_negative_soa(zone);
                    break;
                }
                Found::NxDomain => {
                    resolution.response_code = ResponseCode::NXDomain;
                    resolution.add_negative_soa(zone);
                    break;
                }
                Found::Referral(ns) => {
                    // RFC 1034 §4.3.2 step 3b: "Copy the NS RRs for the
                    // subzone into the authority section of the reply. Put
                    // whatever addresses are available into the additional
                    // section". The answer is not authoritative unless a
                    // CNAME from our own data led here.
                    resolution.authoritative = !resolution.answers.is_empty();
                    resolution.add_additionals(zone, &ns);
                    resolution.authorities.push(ns);
                    break;
                }
            }
        }
        resolution
    }

    /// The `qtype` (A or AAAA) records of an ALIAS's `target`, renamed to
    /// `owner`, found in the zones served (following CNAMEs there); empty
    /// when there are none.
    fn alias_records(
        &self,
        target: &Name,
        qtype: RecordType,
        owner: &Name,
        src: IpAddr,
    ) -> Vec<Record> {
        let mut name = target.clone();
        for _ in 0..CNAME_CHAIN_MAX {
            let Some(zone) = self.zone_for(&name, src) else {
                break;
            };
            match find(zone, &name, qtype) {
                Found::Records(mut sets) => {
                    let mut records = sets.swap_remove(0);
                    for record in &mut records {
                        record.name = owner.clone();
                    }
                    return records;
                }
                Found::Cname(cname) => match cname.data {
                    RData::CNAME(next) => name = next.0,
                    _ => unreachable!("a CNAME"),
                },
                Found::Alias(next) => name = next,
                Found::NoData | Found::NxDomain | Found::Referral(_) => break,
            }
        }
        Vec::new()
    }
}

/// Writes `resolution` into `response`, RRset by RRset, keeping the
/// encoded message within `size_max` octets.
///
/// An answer or authority RRset that does not fit sets TC and ends the
/// message there (what Knot DNS does: the client retries over TCP). An
/// additional RRset that does not fit is left out and the next one tried:
/// RFC 2181 §9, "the TC bit should not be set merely because some extra
/// information could have been included if there were room".
fn write_resolution(response: &mut Message, resolution: Resolution, size_max: usize) {
    response.metadata.response_code = resolution.response_code;
    response.metadata.authoritative = resolution.authoritative;
    for set in resolution.answers {
        if !add_if_fits(response, Section::Answer, set, size_max) {
            response.metadata.truncation = true;
            return;
        }
    }
    for set in resolution.authorities {
        if !add_if_fits(response, Section::Authority, set, size_max) {
            response.metadata.truncation = true;
            return;
        }
    }
    for set in resolution.additionals {
        add_if_fits(response, Section::Additional, set, size_max);
    }
}

#[derive(Clone, Copy)]
enum Section {
    Answer,
    Authority,
    Additional,
}

fn add_if_fits(
    response: &mut Message,
    section: Section,
    set: Vec<Record>,
    size_max: usize,
) -> bool {
    let records = match section {
        Section::Answer => &mut response.answers,
        Section::Authority => &mut response.authorities,
        Section::Additional => &mut response.additionals,
    };
    let len_before = records.len();
    records.extend(set);
    if encoded_len(response) <= size_max {
        return true;
    }
    let records = match section {
        Section::Answer => &mut response.answers,
        Section::Authority => &mut response.authorities,
        Section::Additional => &mut response.additionals,
    };
    records.truncate(len_before);
    false
}

/// The size of `message` on the wire, name compression included.
fn encoded_len(message: &Message) -> usize {
    message.to_vec().map_or(usize::MAX, |bytes| bytes.len())
}
