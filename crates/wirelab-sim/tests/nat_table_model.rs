//! The NAT table against a plain model: random flows from a few inside
//! hosts to a few destinations, through a small pool, over time. The
//! model is a list of live mappings, scanned; the table must agree with it
//! on every lookup, never hand out a pair in use, and run out exactly when
//! every pair towards a destination is taken.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use wirelab_sim::conntrack::idle_timeout;
use wirelab_sim::nat::{Dir, NatRule, NatTable, Refused, Tuple};
use wirelab_sim::SimTime;
use wirelab_spec::PortRange;

const POOL: (Ipv4Addr, Ipv4Addr) = (Ipv4Addr::new(203, 0, 113, 1), Ipv4Addr::new(203, 0, 113, 2));
const PORTS: PortRange = PortRange {
    first: 2000,
    last: 2002,
};
/// Pairs in the pool: 2 addresses × 3 ports.
const PAIRS: usize = 6;

#[derive(Clone, Debug)]
struct Op {
    /// Seconds since the previous operation.
    wait: u64,
    src: u8,
    sport: u16,
    dst: u8,
    udp: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (0u64..40, 0u8..4, 1u16..4, 0u8..2, any::<bool>()).prop_map(|(wait, src, sport, dst, udp)| Op {
        wait,
        src,
        sport,
        dst,
        udp,
    })
}

struct Live {
    original: Tuple,
    reply: Tuple,
    last: SimTime,
}

proptest! {
    #[test]
    fn the_table_agrees_with_a_list_of_live_mappings(ops in prop::collection::vec(op(), 1..80)) {
        let mut table = NatTable::default();
        let mut cursor = 0u64;
        let mut model: Vec<Live> = Vec::new();
        let mut now = SimTime::ZERO;
        for o in ops {
            now = now + SimTime::from_secs(o.wait);
            // One way only: UDP 30 s, TCP five days.
            model.retain(|l| now - l.last <= idle_timeout(l.original.proto, false));
            let original = Tuple {
                proto: if o.udp { 17 } else { 6 },
                src: Ipv4Addr::new(10, 0, 1, 10 + o.src),
                src_port: o.sport,
                dst: Ipv4Addr::new(198, 51, 100, 80 + o.dst),
                dst_port: 443,
            };
            let known = model.iter().position(|l| l.original == original);
            match (table.find(&original, now), known) {
                (Some((slot, Dir::Original)), Some(i)) => {
                    prop_assert_eq!(table.entry(slot).reply, model[i].reply);
                    table.pass(slot, Dir::Original, now);
                    model[i].last = now;
                    continue;
                }
                (None, None) => {}
                (got, want) => prop_assert!(false, "table {:?}, model {:?}", got, want.is_some()),
            }
            let in_use = model
                .iter()
                .filter(|l| l.reply.src == original.dst && l.reply.proto == original.proto)
                .count();
            match table.allocate(original, POOL, PORTS, &mut cursor, NatRule::Source(0), now) {
                Ok(slot) => {
                    let reply = table.entry(slot).reply;
                    prop_assert!(in_use < PAIRS);
                    prop_assert!(PORTS.contains(reply.dst_port));
                    prop_assert!(reply.dst >= POOL.0 && reply.dst <= POOL.1);
                    prop_assert_eq!((reply.src, reply.src_port), (original.dst, original.dst_port));
                    prop_assert!(
                        !model.iter().any(|l| l.reply == reply),
                        "pair handed out twice: {:?}", reply
                    );
                    model.push(Live { original, reply, last: now });
                }
                Err(e) => {
                    prop_assert_eq!(e, Refused::Exhausted);
                    prop_assert_eq!(in_use, PAIRS, "ran out with pairs left");
                }
            }
            let live = table.entries().filter(|e| !e.expired(now)).count();
            prop_assert_eq!(live, model.len());
            prop_assert!(table.len() >= live);
        }
    }
}
