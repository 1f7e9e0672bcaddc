//! `PortSet` against a reference model: one bit per port, 0..=65535.

use proptest::prelude::*;
use wirelab_analyze::PortSet;

const N: usize = 65536;

fn bits(s: &PortSet) -> Vec<bool> {
    let mut v = vec![false; N];
    for &(a, b) in s.ranges() {
        for p in a..=b {
            v[usize::from(p)] = true;
        }
    }
    v
}

fn model(ranges: &[(u16, u16)]) -> Vec<bool> {
    let mut v = vec![false; N];
    for &(a, b) in ranges {
        if a <= b {
            for p in a..=b {
                v[usize::from(p)] = true;
            }
        }
    }
    v
}

/// Ranges clustered near the edges and a few interesting ports, so that
/// touching and overlapping ranges happen often.
fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        0u16..40,
        65500u16..=65535,
        any::<u16>(),
        Just(49152u16),
        Just(1024u16)
    ]
}

fn ranges() -> impl Strategy<Value = Vec<(u16, u16)>> {
    prop::collection::vec((port(), port()), 0..6)
}

fn well_formed(s: &PortSet) -> bool {
    s.ranges().iter().all(|(a, b)| a <= b)
        && s.ranges()
            .windows(2)
            .all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn operations_agree_with_the_bitset(a in ranges(), b in ranges(), probe in any::<u16>()) {
        let (sa, sb) = (PortSet::from_ranges(a.clone()), PortSet::from_ranges(b.clone()));
        let (ma, mb) = (model(&a), model(&b));
        prop_assert!(well_formed(&sa) && well_formed(&sb));
        prop_assert_eq!(bits(&sa), ma.clone());

        let u = sa.union(&sb);
        let i = sa.intersect(&sb);
        let d = sa.difference(&sb);
        let c = sa.complement();
        for s in [&u, &i, &d, &c] {
            prop_assert!(well_formed(s));
        }
        let (bu, bi, bd, bc) = (bits(&u), bits(&i), bits(&d), bits(&c));
        for p in 0..N {
            prop_assert_eq!(bu[p], ma[p] || mb[p]);
            prop_assert_eq!(bi[p], ma[p] && mb[p]);
            prop_assert_eq!(bd[p], ma[p] && !mb[p]);
            prop_assert_eq!(bc[p], !ma[p]);
        }
        prop_assert_eq!(sa.contains(probe), ma[usize::from(probe)]);
        prop_assert_eq!(sa.len() as usize, ma.iter().filter(|&&x| x).count());
        prop_assert_eq!(sa.is_superset(&sb), (0..N).all(|p| !mb[p] || ma[p]));
    }
}
