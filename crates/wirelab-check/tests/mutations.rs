//! Random edits of valid labs, as a careless or hostile author would make
//! them: the whole pipeline either rejects the file with positioned
//! diagnostics or loads, compiles, runs and grades it — never a panic.

use proptest::prelude::*;
use wirelab_net::Network;
use wirelab_spec::Severity;

const LABS: [&str; 3] = [
    include_str!("../../wirelab-spec/tests/fixtures/valid/three-tier.yaml"),
    include_str!("../../wirelab-spec/tests/fixtures/valid/routing.yaml"),
    include_str!("../../wirelab-spec/tests/fixtures/valid/exercise.yaml"),
];

/// Fragments that are meaningful somewhere in a lab.
const FRAGMENTS: [&str; 24] = [
    ": ",
    "- ",
    "{ ",
    " }",
    "[",
    "]",
    ",",
    "\n",
    "  ",
    "\t",
    "#",
    "&a ",
    "*a",
    "0",
    "65536",
    "/33",
    "::",
    "10.0.0.1",
    "2001:db8::1",
    "tcp",
    "icmpv6",
    "allow",
    "via: [",
    "-1",
];

#[derive(Clone, Debug)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, fragment: usize },
    SwapLines { a: usize, b: usize },
    DuplicateLine { line: usize },
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    match *edit {
        Edit::Delete { at, len } => {
            let at = at % chars.len().max(1);
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Edit::Insert { at, fragment } => {
            let at = at % (chars.len() + 1);
            let mut s: String = chars[..at].iter().collect();
            s.push_str(FRAGMENTS[fragment]);
            s.extend(&chars[at..]);
            s
        }
        Edit::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.lines().collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
        Edit::DuplicateLine { line } => {
            let mut lines: Vec<&str> = text.lines().collect();
            let i = line % lines.len();
            lines.insert(i, lines[i]);
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn edited_labs_are_rejected_with_positions_or_run(
        lab in 0..LABS.len(),
        edits in prop::collection::vec(arb_edit(), 1..4),
    ) {
        let text = edits.iter().fold(LABS[lab].to_string(), |t, e| apply(&t, e));
        match wirelab_spec::parse_str("edited.yaml", &text) {
            Err(diags) => {
                prop_assert!(diags.iter().any(|d| d.severity == Severity::Error));
                let lines = text.lines().count() as u32 + 1;
                for d in &diags {
                    prop_assert!(d.span.line <= lines, "{d} is past the end of the file");
                    prop_assert!(d.to_string().starts_with("edited.yaml:"), "{d}");
                }
            }
            Ok(loaded) => {
                let net = Network::compile(&loaded.lab);
                let report = wirelab_check::run_checks(&net, 1);
                prop_assert_eq!(report.checks.len(), loaded.lab.checks.len());
                prop_assert!(report.score <= report.max_score);
            }
        }
    }
}
