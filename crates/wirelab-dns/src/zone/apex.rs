//! The apex records a lab may leave out: the SOA and the NS RRset.
//!
//! A Route 53 hosted zone is created with both; a lab that only lists its
//! A and MX records should get the same.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::ZoneRecord;

/// TTL of every synthesized record (SOA, NS, glue), in seconds.
pub const SYNTHESIZED_TTL: u32 = 3600;
/// Serial of a synthesized SOA.
pub const SYNTHESIZED_SOA_SERIAL: u32 = 1;
/// REFRESH of a synthesized SOA, in seconds (2 hours).
pub const SYNTHESIZED_SOA_REFRESH: i32 = 7200;
/// RETRY of a synthesized SOA, in seconds (15 minutes).
pub const SYNTHESIZED_SOA_RETRY: i32 = 900;
/// EXPIRE of a synthesized SOA, in seconds (2 weeks).
pub const SYNTHESIZED_SOA_EXPIRE: i32 = 1_209_600;
/// MINIMUM of a synthesized SOA, in seconds: the negative-caching TTL of
/// RFC 2308 §4 (5 minutes).
pub const SYNTHESIZED_SOA_MINIMUM: u32 = 300;

/// Adds to `records` what the apex of the zone at `origin` lacks.
///
/// `servers` are the zone's name servers: each host name with its
/// addresses. A relative host name (not ending in `.`, e.g. `ns1`) means
/// `<host>.<origin>`.
///
/// Exactly this is appended, after the given records (so their indexes do
/// not change), each with line 0 and TTL [`SYNTHESIZED_TTL`]:
/// - when no record is an NS at the apex: one NS record per server, in the
///   given order, and for each server whose name is inside the zone and
///   which has no A/AAAA record in `records`, one A or AAAA record per
///   given address (its glue);
/// - when no record is an SOA: one SOA at the apex with MNAME = the first
///   apex NS target (after the step above; `ns1.<origin>` if there is
///   none), RNAME = `hostmaster.<origin>`, SERIAL
///   [`SYNTHESIZED_SOA_SERIAL`] (1), REFRESH [`SYNTHESIZED_SOA_REFRESH`]
///   (7200), RETRY [`SYNTHESIZED_SOA_RETRY`] (900), EXPIRE
///   [`SYNTHESIZED_SOA_EXPIRE`] (1209600) and MINIMUM
///   [`SYNTHESIZED_SOA_MINIMUM`] (300).
///
/// Nothing else is changed: a zone that has an apex NS RRset keeps exactly
/// it, and one with a misplaced SOA keeps it (for [`super::Zone::build`] to
/// report).
pub fn complete_apex(
    origin: &Name,
    records: &mut Vec<ZoneRecord>,
    servers: &[(Name, Vec<IpAddr>)],
) {
    let mut origin = origin.to_lowercase();
    origin.set_fqdn(true);
    let is_apex = |r: &ZoneRecord, rtype| {
        r.record.record_type() == rtype && r.record.name.to_lowercase() == origin
    };
    if !records.iter().any(|r| is_apex(r, RecordType::NS)) {
        for (host, addresses) in servers {
            let host = server_name(host, &origin);
            records.push(synthesized(origin.clone(), RData::NS(NS(host.clone()))));
            let has_address = records.iter().any(|r| {
                matches!(r.record.record_type(), RecordType::A | RecordType::AAAA)
                    && r.record.name.to_lowercase() == host
            });
            if origin.zone_of(&host) && !has_address {
                for address in addresses {
                    let rdata = match address {
                        IpAddr::V4(v4) => RData::A(A(*v4)),
                        IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
                    };
                    records.push(synthesized(host.clone(), rdata));
                }
            }
        }
    }
    if !records
        .iter()
        .any(|r| r.record.record_type() == RecordType::SOA)
    {
        let mname = records
            .iter()
            .filter(|r| is_apex(r, RecordType::NS))
            .find_map(|r| match &r.record.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .unwrap_or_else(|| {
                server_name(&Name::from_ascii("ns1").expect("a valid label"), &origin)
            });
        let rname = server_name(
            &Name::from_ascii("hostmaster").expect("a valid label"),
            &origin,
        );
        let soa = SOA::new(
            mname,
            rname,
            SYNTHESIZED_SOA_SERIAL,
            SYNTHESIZED_SOA_REFRESH,
            SYNTHESIZED_SOA_RETRY,
            SYNTHESIZED_SOA_EXPIRE,
            SYNTHESIZED_SOA_MINIMUM,
        );
        records.push(synthesized(origin.clone(), RData::SOA(soa)));
    }
}

/// `host` made absolute: as is when it ends in `.`, else under `origin`.
fn server_name(host: &Name, origin: &Name) -> Name {
    if host.is_fqdn() {
        return host.to_lowercase();
    }
    match host.clone().append_domain(origin) {
        Ok(name) => name.to_lowercase(),
        // Too long to append: keep the name as given, made absolute, for
        // Zone::build to judge.
        Err(_) => {
            let mut name = host.to_lowercase();
            name.set_fqdn(true);
            name
        }
    }
}

fn synthesized(name: Name, rdata: RData) -> ZoneRecord {
    ZoneRecord {
        record: Record::from_rdata(name, SYNTHESIZED_TTL, rdata),
        line: 0,
    }
}
