//! The resolver's cache: positive RRsets (RFC 1034 §5.3.3, RFC 2181 §5),
//! negative answers (RFC 2308) and the delegations learned from referrals.
//!
//! Read RFC 1034 §4.3.4 and §5.3.3, RFC 2181 §5.2 and §5.4.1, RFC 2308 §3
//! and §5.
//!
//! Time is passed in as nanoseconds; an entry expires at the instant its TTL
//! runs out, and the TTL handed back counts down with it (whole seconds,
//! rounded up).
//!
//! Limits: the number of entries is bounded by `capacity`; when it is
//! reached the expired entries go first, then the entry closest to expiry
//! (ties broken by name and type order), so eviction never depends on hash
//! order or on the wall clock. TTLs are clamped to `ttl_max_s` (Unbound's
//! `cache-max-ttl`, one day by default) and negative TTLs to
//! `negative_ttl_max_s` (Unbound's `cache-max-negative-ttl`, one hour).

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Nanoseconds in one second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Default number of cached entries (an entry is one RRset or one negative
/// answer).
pub const CAPACITY_DEFAULT: usize = 10_000;

/// Default clamp on positive TTLs: one day, as Unbound's `cache-max-ttl`.
pub const TTL_MAX_S_DEFAULT: u32 = 86_400;

/// Default clamp on negative TTLs: one hour, as Unbound's
/// `cache-max-negative-ttl`. RFC 2308 §5: "Values of one to three hours have
/// been found to work well and would make sensible a default."
pub const NEGATIVE_TTL_MAX_S_DEFAULT: u32 = 3_600;

/// How far cached data may be trusted, after RFC 2181 §5.4.1 ("Ranking
/// data"), collapsed into the three grades a resolver acts on.
///
/// A cached RRset is only replaced, before it expires, by data of at least
/// the same trust; and only [`Trust::Answer`] data is handed to clients as
/// an answer: "Unauthenticated RRs received and cached from the least
/// trustworthy of those groupings [...] should not be cached in such a way
/// that they would ever be returned as answers to a received query."
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Glue from the additional section of a referral.
    Additional,
    /// An NS set from the authority section of a referral.
    Authority,
    /// The answer section of an authoritative answer.
    Answer,
}

/// What the cache holds for a name and type, with TTLs counted down to what
/// remains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheAnswer {
    /// The RRset, each record carrying the remaining TTL.
    Records {
        /// The records of the RRset.
        records: Vec<Record>,
        /// How the RRset was learned.
        trust: Trust,
    },
    /// RFC 2308 §5: the name exists but has no data of this type (NODATA).
    NoData {
        /// The SOA that came with the answer, TTL set to what remains of
        /// the negative TTL.
        soa: Option<Record>,
    },
    /// RFC 2308 §5: the name does not exist (NXDOMAIN), whatever the type.
    NxDomain {
        /// The SOA that came with the answer, TTL set to what remains of
        /// the negative TTL.
        soa: Option<Record>,
    },
}

impl CacheAnswer {
    /// The remaining TTL in seconds of the entry.
    pub fn ttl_s(&self) -> u32 {
        match self {
            CacheAnswer::Records { records, .. } => {
                records.iter().map(|r| r.ttl).min().unwrap_or(0)
            }
            CacheAnswer::NoData { soa } | CacheAnswer::NxDomain { soa } => {
                soa.as_ref().map_or(0, |r| r.ttl)
            }
        }
    }
}

/// Which slot of a name an entry fills: one per type, plus one for "the
/// name does not exist", which answers for every type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Type(u16),
    NameError,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    name: Name,
    slot: Slot,
}

#[derive(Debug, Clone)]
enum Data {
    RRset(Vec<Record>),
    Negative { soa: Option<Box<Record>> },
}

#[derive(Debug, Clone)]
struct Entry {
    data: Data,
    trust: Trust,
    expires_at_ns: u64,
}

/// A capacity-bounded DNS cache with deterministic eviction.
#[derive(Debug, Clone)]
pub struct Cache {
    entries: BTreeMap<Key, Entry>,
    /// The same entries ordered by expiry, for purging and eviction.
    by_expiry: BTreeSet<(u64, Key)>,
    capacity: usize,
    ttl_max_s: u32,
    negative_ttl_max_s: u32,
    /// Latest time seen; time never goes backwards.
    now_ns_max: u64,
}

fn key_name(name: &Name) -> Name {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name
}

/// Remaining seconds from `now_ns` to `expires_at_ns`, rounded up: a record
/// cached a few milliseconds ago still shows the TTL it came with, as on a
/// resolver whose clock ticks in seconds, and a live entry never shows 0.
fn remaining_s(now_ns: u64, expires_at_ns: u64) -> u32 {
    debug_assert!(now_ns < expires_at_ns);
    u32::try_from((expires_at_ns - now_ns).div_ceil(NS_PER_S)).unwrap_or(u32::MAX)
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new(CAPACITY_DEFAULT)
    }
}

impl Cache {
    /// An empty cache holding at most `capacity` entries (at least one),
    /// with the default TTL clamps.
    pub fn new(capacity: usize) -> Self {
        Cache::with_ttl_limits(capacity, TTL_MAX_S_DEFAULT, NEGATIVE_TTL_MAX_S_DEFAULT)
    }

    /// An empty cache with explicit TTL clamps.
    pub fn with_ttl_limits(capacity: usize, ttl_max_s: u32, negative_ttl_max_s: u32) -> Self {
        Cache {
            entries: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            capacity: capacity.max(1),
            ttl_max_s,
            negative_ttl_max_s,
            now_ns_max: 0,
        }
    }

    /// The number of entries held, expired or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn observe(&mut self, now_ns: u64) {
        assert!(
            now_ns >= self.now_ns_max,
            "time went backwards in the DNS cache"
        );
        self.now_ns_max = now_ns;
    }

    /// Caches an RRset: records of one owner name and type (RFC 2181 §5).
    /// The RRset's TTL is the least of its records' TTLs (RFC 2181 §5.2:
    /// "the TTLs of all RRs in an RRSet must be the same"), clamped to the
    /// maximum. Nothing is cached for a TTL of zero, or when an unexpired
    /// RRset of higher trust is already there. Returns whether it was
    /// stored.
    pub fn insert_rrset(&mut self, now_ns: u64, records: &[Record], trust: Trust) -> bool {
        self.observe(now_ns);
        let Some(first) = records.first() else {
            return false;
        };
        let rtype = first.record_type();
        debug_assert!(records
            .iter()
            .all(|r| r.record_type() == rtype && r.name == first.name));
        let ttl_s = records
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
            .min(self.ttl_max_s);
        if ttl_s == 0 {
            return false;
        }
        let key = Key {
            name: key_name(&first.name),
            slot: Slot::Type(u16::from(rtype)),
        };
        let mut stored: Vec<Record> = Vec::with_capacity(records.len());
        for record in records {
            // RFC 2181 §5: an RRset holds no duplicate records.
            if !stored.iter().any(|r| r.data == record.data) {
                let mut record = record.clone();
                record.ttl = ttl_s;
                stored.push(record);
            }
        }
        let entry = Entry {
            data: Data::RRset(stored),
            trust,
            expires_at_ns: now_ns.saturating_add(u64::from(ttl_s) * NS_PER_S),
        };
        self.put(now_ns, key, entry)
    }

    /// Caches a negative answer (RFC 2308 §5): NXDOMAIN for `name` whatever
    /// the type when `qtype` is `None`, NODATA for `name`/`qtype` otherwise.
    ///
    /// RFC 2308 §5: "the TTL of this record is set from the minimum of the
    /// MINIMUM field of the SOA record and the TTL of the SOA itself". Without
    /// an SOA nothing is cached (§5: "Negative responses without SOA records
    /// SHOULD NOT be cached").
    pub fn insert_negative(
        &mut self,
        now_ns: u64,
        name: &Name,
        qtype: Option<RecordType>,
        soa: &Record,
    ) -> bool {
        self.observe(now_ns);
        let RData::SOA(soa_data) = &soa.data else {
            return false;
        };
        let ttl_s = soa.ttl.min(soa_data.minimum).min(self.negative_ttl_max_s);
        if ttl_s == 0 {
            return false;
        }
        let slot = match qtype {
            Some(t) => Slot::Type(u16::from(t)),
            None => Slot::NameError,
        };
        let key = Key {
            name: key_name(name),
            slot,
        };
        let mut soa = soa.clone();
        soa.ttl = ttl_s;
        let entry = Entry {
            data: Data::Negative {
                soa: Some(Box::new(soa)),
            },
            trust: Trust::Answer,
            expires_at_ns: now_ns.saturating_add(u64::from(ttl_s) * NS_PER_S),
        };
        self.put(now_ns, key, entry)
    }

    fn put(&mut self, now_ns: u64, key: Key, entry: Entry) -> bool {
        if let Some(old) = self.entries.get(&key) {
            if old.expires_at_ns > now_ns && old.trust > entry.trust {
                return false;
            }
            let old_expiry = old.expires_at_ns;
            self.entries.remove(&key);
            self.by_expiry.remove(&(old_expiry, key.clone()));
        }
        if self.entries.len() >= self.capacity {
            self.purge_expired(now_ns);
        }
        if self.entries.len() >= self.capacity {
            // Evict the entry closest to expiry: it is worth least.
            let victim = self
                .by_expiry
                .pop_first()
                .expect("a full cache has entries");
            self.entries.remove(&victim.1);
        }
        self.by_expiry.insert((entry.expires_at_ns, key.clone()));
        self.entries.insert(key, entry);
        assert!(self.entries.len() <= self.capacity);
        debug_assert_eq!(self.entries.len(), self.by_expiry.len());
        true
    }

    /// Drops every entry whose TTL has run out. Returns how many went.
    pub fn purge_expired(&mut self, now_ns: u64) -> usize {
        self.observe(now_ns);
        let mut purged = 0;
        while let Some((expires_at_ns, _)) = self.by_expiry.first() {
            if *expires_at_ns > now_ns {
                break;
            }
            let (_, key) = self.by_expiry.pop_first().expect("first exists");
            self.entries.remove(&key);
            purged += 1;
        }
        purged
    }

    fn live(&self, now_ns: u64, key: &Key) -> Option<&Entry> {
        self.entries.get(key).filter(|e| e.expires_at_ns > now_ns)
    }

    /// What the cache holds for `name`/`qtype` at `now_ns`, TTLs counted
    /// down. A cached NXDOMAIN for the name answers for every type.
    pub fn lookup(&self, now_ns: u64, name: &Name, qtype: RecordType) -> Option<CacheAnswer> {
        let name = key_name(name);
        let nx_key = Key {
            name: name.clone(),
            slot: Slot::NameError,
        };
        if let Some(entry) = self.live(now_ns, &nx_key) {
            let Data::Negative { soa } = &entry.data else {
                unreachable!("the name-error slot holds negative entries only")
            };
            return Some(CacheAnswer::NxDomain {
                soa: with_ttl(soa.as_deref(), remaining_s(now_ns, entry.expires_at_ns)),
            });
        }
        let key = Key {
            name,
            slot: Slot::Type(u16::from(qtype)),
        };
        let entry = self.live(now_ns, &key)?;
        let ttl_s = remaining_s(now_ns, entry.expires_at_ns);
        Some(match &entry.data {
            Data::RRset(records) => CacheAnswer::Records {
                records: records
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r.ttl = ttl_s;
                        r
                    })
                    .collect(),
                trust: entry.trust,
            },
            Data::Negative { soa } => CacheAnswer::NoData {
                soa: with_ttl(soa.as_deref(), ttl_s),
            },
        })
    }

    /// The remaining TTL of whatever is cached for `name`/`qtype` (an RRset
    /// or a negative answer), or `None` when nothing live is cached: what a
    /// check asks to see whether a resolution left its trace.
    pub fn remaining_ttl_s(&self, now_ns: u64, name: &Name, qtype: RecordType) -> Option<u32> {
        self.lookup(now_ns, name, qtype).map(|a| a.ttl_s())
    }

    /// Every live entry at `now_ns` as presentation-format lines
    /// (`name ttl IN type rdata`, or `name ttl IN type ; NODATA|NXDOMAIN`),
    /// in name order: a deterministic dump for reports.
    pub fn dump(&self, now_ns: u64) -> Vec<String> {
        let mut lines = Vec::new();
        for (key, entry) in &self.entries {
            if entry.expires_at_ns <= now_ns {
                continue;
            }
            let ttl_s = remaining_s(now_ns, entry.expires_at_ns);
            match (&entry.data, &key.slot) {
                (Data::RRset(records), _) => {
                    for r in records {
                        lines.push(format!(
                            "{} {} IN {} {}",
                            r.name,
                            ttl_s,
                            r.record_type(),
                            r.data
                        ));
                    }
                }
                (Data::Negative { .. }, Slot::Type(t)) => lines.push(format!(
                    "{} {} IN {} ; NODATA",
                    key.name,
                    ttl_s,
                    RecordType::from(*t)
                )),
                (Data::Negative { .. }, Slot::NameError) => {
                    lines.push(format!("{} {} IN ANY ; NXDOMAIN", key.name, ttl_s))
                }
            }
        }
        lines
    }
}

fn with_ttl(record: Option<&Record>, ttl_s: u32) -> Option<Record> {
    record.map(|r| {
        let mut r = r.clone();
        r.ttl = ttl_s;
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, SOA};
    use std::net::Ipv4Addr;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn a(owner: &str, ttl: u32, last: u8) -> Record {
        Record::from_rdata(
            name(owner),
            ttl,
            RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
        )
    }

    fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
        Record::from_rdata(
            name(zone),
            ttl,
            RData::SOA(SOA::new(
                name("ns1.example."),
                name("hostmaster.example."),
                1,
                3600,
                600,
                86400,
                minimum,
            )),
        )
    }

    const S: u64 = NS_PER_S;

    #[test]
    fn ttl_counts_down_and_expires() {
        let mut cache = Cache::new(10);
        assert!(cache.insert_rrset(0, &[a("www.example.", 300, 1)], Trust::Answer));
        assert_eq!(
            cache.remaining_ttl_s(0, &name("WWW.example."), RecordType::A),
            Some(300)
        );
        assert_eq!(
            cache.remaining_ttl_s(100 * S, &name("www.example."), RecordType::A),
            Some(200)
        );
        // Rounded up: 0.5 s in, 299.5 s remain, reported as 300.
        assert_eq!(
            cache.remaining_ttl_s(S / 2, &name("www.example."), RecordType::A),
            Some(300)
        );
        assert_eq!(
            cache.remaining_ttl_s(300 * S - 1, &name("www.example."), RecordType::A),
            Some(1)
        );
        assert_eq!(
            cache.remaining_ttl_s(300 * S, &name("www.example."), RecordType::A),
            None
        );
        assert_eq!(
            cache.remaining_ttl_s(0, &name("www.example."), RecordType::AAAA),
            None
        );
    }

    #[test]
    fn rrset_ttl_is_the_least_and_clamped() {
        let mut cache = Cache::with_ttl_limits(10, 1000, 100);
        cache.insert_rrset(
            0,
            &[a("a.example.", 500, 1), a("a.example.", 50, 2)],
            Trust::Answer,
        );
        cache.insert_rrset(0, &[a("b.example.", 5000, 1)], Trust::Answer);
        assert_eq!(
            cache.remaining_ttl_s(0, &name("a.example."), RecordType::A),
            Some(50)
        );
        assert_eq!(
            cache.remaining_ttl_s(0, &name("b.example."), RecordType::A),
            Some(1000)
        );
        assert!(!cache.insert_rrset(0, &[a("c.example.", 0, 1)], Trust::Answer));
    }

    #[test]
    fn negative_ttl_is_min_of_soa_ttl_and_minimum() {
        let mut cache = Cache::new(10);
        // SOA TTL 3600, MINIMUM 60: the negative TTL is 60.
        cache.insert_negative(0, &name("nope.example."), None, &soa("example.", 3600, 60));
        // SOA TTL 30, MINIMUM 600: 30.
        cache.insert_negative(
            0,
            &name("www.example."),
            Some(RecordType::AAAA),
            &soa("example.", 30, 600),
        );
        match cache.lookup(10 * S, &name("nope.example."), RecordType::MX) {
            Some(CacheAnswer::NxDomain { soa: Some(soa) }) => assert_eq!(soa.ttl, 50),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            cache.lookup(0, &name("www.example."), RecordType::AAAA),
            Some(CacheAnswer::NoData { .. })
        ));
        assert_eq!(
            cache.remaining_ttl_s(0, &name("www.example."), RecordType::AAAA),
            Some(30)
        );
        assert_eq!(
            cache.remaining_ttl_s(0, &name("www.example."), RecordType::A),
            None
        );
        assert_eq!(
            cache.remaining_ttl_s(60 * S, &name("nope.example."), RecordType::A),
            None
        );
    }

    #[test]
    fn lower_trust_does_not_replace_higher() {
        let mut cache = Cache::new(10);
        cache.insert_rrset(0, &[a("ns1.example.", 300, 1)], Trust::Answer);
        assert!(!cache.insert_rrset(S, &[a("ns1.example.", 300, 9)], Trust::Additional));
        match cache.lookup(S, &name("ns1.example."), RecordType::A) {
            Some(CacheAnswer::Records { records, trust }) => {
                assert_eq!(trust, Trust::Answer);
                assert_eq!(records[0].data, RData::A(A(Ipv4Addr::new(192, 0, 2, 1))));
            }
            other => panic!("{other:?}"),
        }
        assert!(cache.insert_rrset(S, &[a("ns1.example.", 300, 9)], Trust::Answer));
    }

    #[test]
    fn eviction_is_deterministic_soonest_expiry_first() {
        let run = || {
            let mut cache = Cache::new(3);
            cache.insert_rrset(0, &[a("a.example.", 300, 1)], Trust::Answer);
            cache.insert_rrset(0, &[a("b.example.", 100, 1)], Trust::Answer);
            cache.insert_rrset(0, &[a("c.example.", 200, 1)], Trust::Answer);
            cache.insert_rrset(0, &[a("d.example.", 400, 1)], Trust::Answer);
            assert_eq!(cache.len(), 3);
            cache.dump(0)
        };
        let dump = run();
        assert_eq!(
            dump,
            vec![
                "a.example. 300 IN A 192.0.2.1",
                "c.example. 200 IN A 192.0.2.1",
                "d.example. 400 IN A 192.0.2.1",
            ]
        );
        assert_eq!(dump, run());
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let mut cache = Cache::new(2);
        cache.insert_rrset(0, &[a("short.example.", 1, 1)], Trust::Answer);
        cache.insert_rrset(0, &[a("long.example.", 1000, 1)], Trust::Answer);
        cache.insert_rrset(2 * S, &[a("new.example.", 10, 1)], Trust::Answer);
        assert_eq!(
            cache.remaining_ttl_s(2 * S, &name("long.example."), RecordType::A),
            Some(998)
        );
        assert_eq!(
            cache.remaining_ttl_s(2 * S, &name("new.example."), RecordType::A),
            Some(10)
        );
    }
}
