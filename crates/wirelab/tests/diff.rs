//! `wirelab diff OLD NEW`: the flows, ports and attributed lines on pairs
//! of small labs (crates/wirelab/tests/diff/), exit statuses, and a
//! property test that the differential answer is the set difference of
//! two independent reachability analyses of randomly mutated copies of
//! labs/03-vpc-security.yaml.

mod common;
use common::{root, wirelab};

use std::collections::BTreeMap;

use proptest::prelude::*;
use wirelab_analyze::diff::{group_pairs, Change, LabDiff, OUTSIDE};
use wirelab_analyze::{Analyzer, Origin, PortSet, Proto};
use wirelab_net::Network;

const DIR: &str = "crates/wirelab/tests/diff";

/// `wirelab diff base.yaml VARIANT.yaml` with extra arguments.
fn diff_of(variant: &str, extra: &[&str]) -> (i32, String, String) {
    let old = format!("{DIR}/base.yaml");
    let new = format!("{DIR}/{variant}.yaml");
    let mut args = vec!["diff", old.as_str(), new.as_str()];
    args.extend_from_slice(extra);
    wirelab(&args)
}

fn header(variant: &str) -> String {
    format!("OLD: {DIR}/base.yaml\nNEW: {DIR}/{variant}.yaml\n")
}

#[test]
fn a_rule_added_allows_one_flow_and_names_the_new_line() {
    let (code, out, err) = diff_of("rule-added", &[]);
    assert_eq!(code, 1, "{out}{err}");
    let want = header("rule-added")
        + "
web1 → db1
  newly allowed tcp 5432
    was blocked by: sg-inbound: db1's groups (db-sg) admit no tcp 5432
    ← db-sg: inbound rule `tcp 5432 from web-sg` added (NEW:34)

1 configuration change, 0 without effect; 1 flow change in 1 group
";
    assert_eq!(out, want);
}

#[test]
fn a_rule_removed_denies_one_flow_and_names_the_old_line() {
    let (code, out, _) = diff_of("rule-removed", &[]);
    assert_eq!(code, 1, "{out}");
    let want = header("rule-removed")
        + "
app1 → db1
  newly denied tcp 5432
    blocked by: sg-inbound: db1's groups (db-sg) admit no tcp 5432
    ← db-sg: inbound rule `tcp 5432 from app-sg` removed (OLD:33)

1 configuration change, 0 without effect; 1 flow change in 1 group
";
    assert_eq!(out, want);
}

#[test]
fn a_nacl_rule_changed_is_matched_by_number() {
    let (code, out, _) = diff_of("nacl-changed", &[]);
    assert_eq!(code, 1, "{out}");
    let want = header("nacl-changed")
        + "
app1 → db1
  newly denied tcp 5432
    blocked by: nacl-inbound: data-nacl on data, inbound rule * (no rule matched), denies tcp 5432
    ← data-nacl: inbound rule 100 `allow tcp 5432 10.0.0.0/16` changed to `allow tcp 5432 10.0.1.0/24` (OLD:38, NEW:38)

1 configuration change, 0 without effect; 1 flow change in 1 group
";
    assert_eq!(out, want);
}

#[test]
fn a_route_changed_to_a_blackhole_denies_both_ways() {
    let (code, out, _) = diff_of("blackhole", &[]);
    assert_eq!(code, 1, "{out}");
    let cause = "    ← r1: route 192.0.2.0/24 via 10.0.9.2 → blackhole (OLD:13, NEW:13)\n";
    // The reply of the office's requests to web1 is thrown away...
    assert!(
        out.contains(&format!(
            "\noffice-pc → web1\n  newly denied tcp 80, 443\n    blocked by: blackhole (reply): r1 routes 192.0.2.0/24 into a blackhole (NEW:13)\n{cause}"
        )),
        "{out}"
    );
    // ...and the requests of web1 and app1 (merged: the same change) to the office.
    for proto in ["tcp 0-65535", "udp 0-65535", "icmp echo"] {
        assert!(
            out.contains(&format!("  newly denied {proto}\n    blocked by: blackhole (request): r1 routes 192.0.2.0/24 into a blackhole (NEW:13)\n{cause}")),
            "{proto}: {out}"
        );
    }
    assert!(out.contains("\nweb1, app1 → office-pc\n"), "{out}");
    // db1 reached the office with nothing before (its outbound list is
    // empty), so nothing changes for it.
    assert!(!out.contains("db1 → office-pc"), "{out}");
    assert!(out.ends_with("1 configuration change, 0 without effect; 4 flow changes in 2 groups\n"));
}

#[test]
fn a_host_moved_to_another_group_gains_and_loses_flows() {
    let (code, out, _) = diff_of("moved-group", &[]);
    assert_eq!(code, 1, "{out}");
    let want = header("moved-group")
        + "
office-pc, app1 → web1
  newly denied tcp 80, 443
    blocked by: sg-inbound: web1's groups (app-sg) admit no tcp 80, 443
    ← web1: left security group web-sg (OLD:20)

web1 → app1
  newly denied tcp 8000
    blocked by: sg-inbound: app1's groups (app-sg) admit no tcp 8000
    ← web1: left security group web-sg (OLD:20)

web1 → db1
  newly allowed tcp 5432
    was blocked by: sg-inbound: db1's groups (db-sg) admit no tcp 5432
    ← web1: joined security group app-sg (NEW:20)

2 configuration changes, 0 without effect; 3 flow changes in 3 groups
";
    assert_eq!(out, want);
}

#[test]
fn a_host_added_is_summarised() {
    let (code, out, _) = diff_of("host-added", &[]);
    assert_eq!(code, 1, "{out}");
    let want = header("host-added")
        + "
hosts added:
  web2 (NEW:21)
    reaches: office-pc (tcp 0-65535; udp 0-65535; icmp echo), web1 (tcp 80, 443), app1 (tcp 8000)
    reached by: office-pc (tcp 80, 443), web1 (tcp 80, 443), app1 (tcp 80, 443)

1 configuration change, 0 without effect; 0 flow changes in 0 groups
";
    assert_eq!(out, want);
    // The other way round it is a host removed, with OLD's line.
    let (code, out, _) = wirelab(&[
        "diff",
        &format!("{DIR}/host-added.yaml"),
        &format!("{DIR}/base.yaml"),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hosts removed:\n  web2 (OLD:21)\n"), "{out}");
}

#[test]
fn identical_labs_exit_0() {
    for variant in ["base", "reordered"] {
        let (code, out, _) = diff_of(variant, &[]);
        assert_eq!(code, 0, "{variant}: {out}");
        assert_eq!(
            out,
            header(variant)
                + "\nno reachability difference\n\n0 configuration changes, 0 without effect; 0 flow changes in 0 groups\n"
        );
    }
}

#[test]
fn changes_that_cancel_out_exit_0_and_are_listed_without_effect() {
    let (code, out, _) = diff_of("cancel", &[]);
    assert_eq!(code, 0, "{out}");
    let want = header("cancel")
        + "
no reachability difference

no effect on reachability:
  db-sg: inbound rule `tcp 5432 from app-sg` removed (OLD:33)
  db-sg: inbound rule `tcp 5432 from 10.0.2.0/24` added (NEW:33)
  data-nacl: inbound rule 200 `deny tcp 5432 10.0.1.0/24` added (NEW:39)

3 configuration changes, 3 without effect; 0 flow changes in 0 groups
";
    assert_eq!(out, want);
}

#[test]
fn only_the_edits_that_explain_a_flow_are_named() {
    // Three edits: a rule that admits web1, a rule of the same port whose
    // peer group has no other member, a route to where no host lives.
    let (code, out, _) = diff_of("mixed", &[]);
    assert_eq!(code, 1, "{out}");
    let want = header("mixed")
        + "
web1 → db1
  newly allowed tcp 5432
    was blocked by: sg-inbound: db1's groups (db-sg) admit no tcp 5432
    ← db-sg: inbound rule `tcp 5432 from web-sg` added (NEW:35)

no effect on reachability:
  r2: route 198.51.100.0/24 blackhole added (NEW:18)
  db-sg: inbound rule `tcp 5432 from db-sg` added (NEW:36)

3 configuration changes, 2 without effect; 1 flow change in 1 group
";
    assert_eq!(out, want);
}

#[test]
fn dual_stack_labs_say_the_family() {
    // labs/04 with db-sg admitting IPv4 ping: a change of one family.
    let text = std::fs::read_to_string(root().join("labs/04-dual-stack.yaml")).expect("labs/04");
    let needle = "      - { proto: tcp, port: 5432, from: web-sg }\n";
    assert!(text.contains(needle));
    let dir = std::env::temp_dir().join(format!("wirelab-diff-v6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let new = dir.join("04.yaml");
    std::fs::write(
        &new,
        text.replace(
            needle,
            &format!("{needle}      - {{ proto: icmp, from: 0.0.0.0/0 }}\n"),
        ),
    )
    .expect("write");
    let (code, out, _) = wirelab(&[
        "diff",
        "labs/04-dual-stack.yaml",
        &new.display().to_string(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("\nlaptop, old-laptop, web1 → legacy-db\n  newly allowed icmp echo (ipv4)\n"),
        "{out}"
    );
}

#[test]
fn json_mirrors_the_text() {
    let (code, out, _) = diff_of("moved-group", &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["differs"], true);
    assert_eq!(v["old"], format!("{DIR}/base.yaml"));
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 3);
    assert_eq!(flows[0]["from"], serde_json::json!(["office-pc", "app1"]));
    assert_eq!(flows[0]["to"], serde_json::json!(["web1"]));
    let last = &flows[2]["changes"][0];
    assert_eq!(last["change"], "allowed");
    assert_eq!(last["proto"], "tcp");
    assert_eq!(
        last["ports"],
        serde_json::json!([{ "first": 5432, "last": 5432 }])
    );
    assert_eq!(last["blocked_by"][0]["side"], "OLD");
    assert_eq!(last["blocked_by"][0]["reason"], "sg-inbound");
    let cause = last["causes"][0].as_u64().expect("a cause") as usize;
    let change = &v["changes"][cause];
    assert_eq!(change["text"], "web1: joined security group app-sg");
    assert_eq!(change["new_line"], 20);
    assert_eq!(change["old_line"], serde_json::Value::Null);
    assert_eq!(change["effect"], true);
}

#[test]
fn filters_narrow_the_answer_and_the_exit_status() {
    let (code, out, _) = diff_of(
        "moved-group",
        &["--to", "db1", "--proto", "tcp", "--port", "5432"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("\nweb1 → db1\n  newly allowed tcp 5432\n"),
        "{out}"
    );
    assert!(!out.contains("→ web1"), "{out}");
    // Nothing about port 22 changed.
    let (code, out, _) = diff_of("moved-group", &["--port", "22"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no reachability difference"), "{out}");
    let (code, _, _) = diff_of("moved-group", &["--from", "web1", "--proto", "icmp"]);
    assert_eq!(code, 0);
}

#[test]
fn usage_errors_and_invalid_labs_exit_2() {
    let (code, _, err) = diff_of("moved-group", &["--from", "web"]);
    assert_eq!(code, 2);
    assert!(err.contains("`web` is a host of neither lab"), "{err}");
    assert!(err.contains("did you mean `web1`"), "{err}");
    let (code, _, err) = diff_of("moved-group", &["--proto", "icmp", "--port", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--port goes with"), "{err}");

    let dir = std::env::temp_dir().join(format!("wirelab-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(root().join(DIR).join("base.yaml")).expect("base");
    std::fs::write(&bad, text.replace("from: app-sg", "from: nope-sg")).expect("write");
    let bad = bad.display().to_string();
    let (code, out, err) = wirelab(&["diff", &format!("{DIR}/base.yaml"), &bad]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(&format!("{bad}:33:")), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_exercise_and_its_solution() {
    let (code, out, _) = wirelab(&[
        "diff",
        "labs/05-exercise-fix-the-vpc.yaml",
        "labs/solutions/05-exercise-fix-the-vpc.yaml",
    ]);
    assert_eq!(code, 1, "{out}");
    // Each of the three fixes explains what it opens.
    for fix in [
        "← app-sg: inbound rule `tcp 8080 from web-sg` changed to `tcp 8000 from web-sg` (OLD:85, NEW:90)",
        "← data-nacl: outbound rule 100 `allow tcp 5432 10.0.2.0/24` changed to `allow tcp 49152-65535 10.0.2.0/24` (OLD:98, NEW:104)",
        "← vpc: route 192.0.2.0/24 via 10.255.0.2 added (NEW:51)",
    ] {
        assert!(out.contains(fix), "{fix}\n{out}");
    }
    assert!(
        out.contains("\napp1 → db1\n  newly allowed tcp 5432\n    was blocked by: nacl-outbound: data-nacl on data, outbound rule * (no rule matched), denies the reply to ephemeral ports 49152-65535\n"),
        "{out}"
    );
    assert!(
        out.contains("\nweb1 → app1\n  newly allowed tcp 8000\n"),
        "{out}"
    );
    assert!(out.contains("  newly denied tcp 8080\n"), "{out}");
    assert!(
        out.ends_with("3 configuration changes, 0 without effect; 8 flow changes in 5 groups\n")
    );
}

// ---------------------------------------------------------------------
// The differential answer against two independent analyses.

const VPC: &str = "labs/03-vpc-security.yaml";
/// labs/03 with a route out: the outside comes in.
const WAY_OUT: &str = "crates/wirelab/tests/reach/way-out.yaml";

/// One edit of labs/03: a rule line removed, or a rule line added under a
/// list header (`inbound:` / `outbound:`).
#[derive(Clone, Debug)]
enum Mutation {
    Remove(usize),
    Add { after: usize, rule: String },
}

/// Rule lines that may go (their list keeps at least one rule), and list
/// headers with whether they are a NACL's and inbound.
fn rule_lines(text: &str) -> (Vec<usize>, Vec<(usize, bool, bool)>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut removable = Vec::new();
    let mut headers = Vec::new();
    let mut section = "";
    let mut list: Vec<usize> = Vec::new();
    let flush = |list: &mut Vec<usize>, removable: &mut Vec<usize>| {
        if list.len() >= 2 {
            removable.extend(list.iter().copied());
        }
        list.clear();
    };
    for (i, l) in lines.iter().enumerate() {
        if !l.starts_with(' ') && l.ends_with(':') {
            section = l.trim_end_matches(':');
            flush(&mut list, &mut removable);
            continue;
        }
        if section != "security_groups" && section != "nacls" {
            continue;
        }
        let t = l.trim();
        if t == "inbound:" || t == "outbound:" {
            flush(&mut list, &mut removable);
            headers.push((i, section == "nacls", t == "inbound:"));
        } else if t.starts_with("- {") {
            list.push(i);
        } else if !t.starts_with('#') {
            flush(&mut list, &mut removable);
        }
    }
    flush(&mut list, &mut removable);
    (removable, headers)
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    match m {
        Mutation::Remove(i) => {
            lines.remove(*i);
        }
        Mutation::Add { after, rule } => lines.insert(after + 1, format!("      - {rule}")),
    }
    lines.join("\n") + "\n"
}

fn mutation(base: &str) -> impl Strategy<Value = Mutation> {
    let text = std::fs::read_to_string(root().join(base)).expect("the base lab");
    let (removable, headers) = rule_lines(&text);
    let proto = prop_oneof![Just("tcp"), Just("udp"), Just("icmp"), Just("all")];
    let ports = prop_oneof![
        Just("22"),
        Just("80"),
        Just("443"),
        Just("5432"),
        Just("6379"),
        Just("8000"),
        Just("1000-2000"),
        Just("49152-65535"),
    ];
    let cidr = prop_oneof![
        Just("0.0.0.0/0"),
        Just("10.0.0.0/16"),
        Just("10.0.1.0/24"),
        Just("10.0.2.0/24"),
        Just("10.0.2.66/32"),
        Just("203.0.113.0/24"),
    ];
    let group = prop_oneof![
        Just("web-sg"),
        Just("app-sg"),
        Just("db-sg"),
        Just("bastion-sg"),
        Just("cache-sg"),
    ];
    let peer = prop_oneof![cidr.clone(), group];
    let add = (
        prop::sample::select(headers),
        proto,
        ports,
        peer,
        cidr,
        any::<bool>(),
        1u16..=89,
    )
        .prop_map(
            |((after, nacl, inbound), proto, ports, peer, cidr, allow, number)| {
                let port = if matches!(proto, "tcp" | "udp") {
                    format!(", ports: {ports}")
                } else {
                    String::new()
                };
                let rule = if nacl {
                    let action = if allow { "allow" } else { "deny" };
                    format!("{{ rule: {number}, action: {action}, proto: {proto}{port}, cidr: {cidr} }}")
                } else {
                    let key = if inbound { "from" } else { "to" };
                    format!("{{ proto: {proto}{port}, {key}: {peer} }}")
                };
                Mutation::Add { after, rule }
            },
        );
    prop_oneof![
        prop::sample::select(removable).prop_map(Mutation::Remove),
        add,
    ]
}

type Flows = BTreeMap<(String, String, &'static str, Proto, Change), PortSet>;

/// The expected flow changes, from `Analyzer::reach` on each lab.
fn expected(old: &Network, new: &Network) -> Flows {
    let (ao, an) = (Analyzer::new(old), Analyzer::new(new));
    let mut out = Flows::new();
    let hosts = &new.lab.hosts;
    for a in 0..hosts.len() {
        for b in 0..hosts.len() {
            if a == b {
                continue;
            }
            let (ro, rn) = (ao.reach(a, b), an.reach(a, b));
            for (fo, fnew) in ro.families.iter().zip(&rn.families) {
                assert_eq!(fo.family, fnew.family);
                for (po, pn) in fo.protos.iter().zip(&fnew.protos) {
                    for (change, set) in [
                        (Change::Allowed, pn.reachable.difference(&po.reachable)),
                        (Change::Denied, po.reachable.difference(&pn.reachable)),
                    ] {
                        if set.is_empty() {
                            continue;
                        }
                        let set = if po.proto == Proto::Icmp {
                            PortSet::single(0)
                        } else {
                            set
                        };
                        let key = (
                            hosts[a].name.value.clone(),
                            hosts[b].name.value.clone(),
                            fo.family.code(),
                            po.proto,
                            change,
                        );
                        out.insert(key, set);
                    }
                }
            }
        }
    }
    out
}

/// What `diff` says, its merged groups expanded back to pairs.
fn answered(d: &LabDiff) -> Flows {
    let mut out = Flows::new();
    for g in group_pairs(&d.pairs) {
        // Changes from outside the lab: see `outside_agrees`.
        if g.from == [OUTSIDE] {
            continue;
        }
        for from in &g.from {
            for to in &g.to {
                for c in &g.changes {
                    for f in &c.families {
                        let key = (from.clone(), to.clone(), f.code(), c.proto, c.change);
                        let old = out.insert(key, c.ports.clone());
                        assert!(old.is_none(), "a flow listed twice");
                    }
                }
            }
        }
    }
    out
}

/// The changes from outside the lab agree, address by address, with the
/// difference of the two labs' answers for that single address: at the
/// first and last address of every source block the diff names, at both
/// ends of and just past every prefix either lab names, and at a few
/// fixed addresses; for every host both labs have, every family and
/// protocol. Returns the number of addresses compared.
fn outside_agrees(old: &Network, new: &Network, d: &LabDiff) -> Result<usize, String> {
    use std::net::IpAddr;
    let (ao, an) = (Analyzer::new(old), Analyzer::new(new));
    let mut samples: Vec<IpAddr> = [
        "8.8.8.8",
        "198.51.100.7",
        "1.1.1.1",
        "2001:db8:ffff::1",
        "2600::1",
    ]
    .iter()
    .map(|a| a.parse().expect("an address"))
    .collect();
    let prefixes = d
        .pairs
        .iter()
        .flat_map(|p| p.changes.iter().flat_map(|c| c.sources.iter().copied()))
        .chain(wirelab_analyze::named_prefixes(old))
        .chain(wirelab_analyze::named_prefixes(new));
    for n in prefixes {
        samples.extend([n.network(), n.broadcast()]);
        match n.broadcast() {
            IpAddr::V4(b) => {
                samples.extend(u32::from(b).checked_add(1).map(|x| IpAddr::V4(x.into())))
            }
            IpAddr::V6(b) => {
                samples.extend(u128::from(b).checked_add(1).map(|x| IpAddr::V6(x.into())))
            }
        }
    }
    samples.sort();
    samples.dedup();
    let inside = |net: &Network, a: IpAddr| {
        net.lab.networks.iter().any(|n| {
            n.ipv4
                .as_ref()
                .is_some_and(|p| ipnet::IpNet::V4(p.value).contains(&a))
                || n.ipv6
                    .as_ref()
                    .is_some_and(|p| ipnet::IpNet::V6(p.value).contains(&a))
        })
    };
    let mut compared = 0;
    for a in samples {
        if inside(old, a) || inside(new, a) {
            continue;
        }
        let family = if a.is_ipv4() { "ipv4" } else { "ipv6" };
        let single = ipnet::IpNet::from(a);
        for b in &new.lab.hosts {
            let name = &b.name.value;
            let Some(bo) = old.lab.host_by_name(name) else {
                continue;
            };
            let bn = new.lab.host_by_name(name).expect("a host of NEW");
            let answer = |an: &Analyzer, h| {
                an.reach_from(Origin::Outside, Some(single), h)
                    .into_iter()
                    .next()
                    .map(|r| r.reach.protos)
                    .unwrap_or_default()
            };
            let (ro, rn) = (answer(&ao, bo), answer(&an, bn));
            for proto in Proto::ALL {
                let of = |r: &[wirelab_analyze::ProtoReach]| {
                    r.iter()
                        .find(|p| p.proto == proto)
                        .map_or(PortSet::empty(), |p| p.reachable.clone())
                };
                let (po, pn) = (of(&ro), of(&rn));
                for (change, want) in [
                    (Change::Allowed, pn.difference(&po)),
                    (Change::Denied, po.difference(&pn)),
                ] {
                    let want = if proto == Proto::Icmp && !want.is_empty() {
                        PortSet::single(0)
                    } else {
                        want
                    };
                    let got = d
                        .pairs
                        .iter()
                        .filter(|p| p.from == OUTSIDE && p.to == *name)
                        .flat_map(|p| &p.changes)
                        .filter(|c| {
                            c.proto == proto
                                && c.change == change
                                && c.families.iter().any(|f| f.code() == family)
                                && c.sources.iter().any(|n| n.contains(&a))
                        })
                        .fold(PortSet::empty(), |acc, c| acc.union(&c.ports));
                    if got != want {
                        return Err(format!(
                            "from {a} to {name} {} {}: diff says {got}, reach says {want}",
                            proto.code(),
                            change.code()
                        ));
                    }
                }
            }
            compared += 1;
        }
    }
    Ok(compared)
}

/// Checks one mutation of labs/03: the newly allowed and newly denied
/// sets are exactly the differences of the two labs' `reach` answers, and
/// every flow change is attributed to the one edit (or the edit is listed
/// without effect).
fn check_mutation(base: &str, m: &Mutation) -> Result<(), String> {
    let text = std::fs::read_to_string(root().join(base)).expect("the base lab");
    let mutated = apply(&text, m);
    let old = wirelab_spec::parse_str(base, &text)
        .expect("labs/03 is valid")
        .lab;
    let new = match wirelab_spec::parse_str("mutated.yaml", &mutated) {
        Ok(l) => l.lab,
        Err(d) => return Err(format!("{m:?} makes an invalid lab: {d:?}")),
    };
    let (old, new) = (Network::compile(&old), Network::compile(&new));
    let d = LabDiff::compute(&old, &new);
    let (got, want) = (answered(&d), expected(&old, &new));
    if got != want {
        return Err(format!("{m:?}: diff says {got:?}, reach says {want:?}"));
    }
    outside_agrees(&old, &new, &d).map_err(|e| format!("{m:?}: {e}"))?;
    if d.changes.len() != 1 {
        return Err(format!("{m:?}: {:?}", d.changes));
    }
    if d.pairs.is_empty() != (d.no_effect == [0]) {
        return Err(format!(
            "{m:?}: no effect {:?} with {} pairs",
            d.no_effect,
            d.pairs.len()
        ));
    }
    for p in &d.pairs {
        for c in &p.changes {
            if c.causes != [0] {
                return Err(format!(
                    "{m:?}: {} → {} {c:?} not attributed to {}",
                    p.from, p.to, d.changes[0]
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same with a route out of the lab: the changes from outside are
    /// checked address by address too.
    #[test]
    fn diff_from_outside_is_the_difference_of_two_analyses(m in mutation(WAY_OUT)) {
        if let Err(e) = check_mutation(WAY_OUT, &m) {
            prop_assert!(false, "{}", e);
        }
    }

    /// One random rule added to or removed from labs/03.
    #[test]
    fn diff_is_the_difference_of_two_analyses(m in mutation(VPC)) {
        if let Err(e) = check_mutation(VPC, &m) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Hand-picked edits of labs/03 that the random ones reach rarely: the
/// reply leg (the data NACL's outbound list), a deny rule's removal, a
/// rule that only lets the echo through one way.
#[test]
fn diff_is_the_difference_of_two_analyses_on_chosen_edits() {
    let text = std::fs::read_to_string(root().join(VPC)).expect("labs/03");
    let line = |needle: &str, nth: usize| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("{needle} in labs/03"))
    };
    let nacl_in = line("    inbound:", 5);
    let nacl_out = line("    outbound:", 2);
    let add = |after: usize, rule: &str| Mutation::Add {
        after,
        rule: rule.to_string(),
    };
    let table = [
        add(
            nacl_out,
            "{ rule: 50, action: deny, proto: tcp, ports: 49152-65535, cidr: 10.0.2.0/24 }",
        ),
        add(
            nacl_out,
            "{ rule: 50, action: allow, proto: icmp, cidr: 10.0.0.0/16 }",
        ),
        add(
            nacl_in,
            "{ rule: 50, action: allow, proto: all, cidr: 10.0.2.66/32 }",
        ),
        add(
            nacl_in,
            "{ rule: 50, action: allow, proto: icmp, cidr: 10.0.0.0/16 }",
        ),
        Mutation::Remove(line("rule: 90, action: deny", 0)),
        Mutation::Remove(line("rule: 100, action: allow, proto: tcp, port: 5432", 0)),
        Mutation::Remove(line("proto: tcp, port: 8000, from: web-sg", 0)),
        Mutation::Remove(line("proto: tcp, port: 5432, to: db-sg", 0)),
        add(
            line("    outbound:", 0),
            "{ proto: tcp, ports: 1000-2000, to: 0.0.0.0/0 }",
        ),
        add(
            line("    inbound:", 4),
            "{ proto: tcp, port: 5432, from: web-sg }",
        ),
    ];
    let failures: Vec<String> = table
        .iter()
        .filter_map(|m| check_mutation(VPC, m).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn changes_from_outside_the_lab_name_their_sources() {
    let new = format!("{DIR}/way-out-new.yaml");
    let (code, out, err) = wirelab(&["diff", WAY_OUT, &new]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "\ninternet → bastion\n  newly allowed tcp 22\n    from: every address outside the lab's networks\n    was blocked by: sg-inbound: bastion's groups (bastion-sg) admit no tcp 22\n    ← bastion-sg: inbound rule `tcp 22 from 0.0.0.0/0` added (NEW:"
        ),
        "{out}"
    );
    // 443 narrowed to one /24: denied from everything else outside.
    let (_, json, _) = wirelab(&[
        "diff", WAY_OUT, &new, "--from", "internet", "--to", "web1", "--port", "443", "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 1, "{json}");
    assert_eq!(flows[0]["from"], serde_json::json!(["internet"]));
    let c = &flows[0]["changes"][0];
    assert_eq!(c["change"], "denied", "{json}");
    assert_eq!(c["sources_all_outside"], false, "{json}");
    let sources: Vec<&str> = c["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(sources.contains(&"8.0.0.0/7"), "{sources:?}");
    assert!(
        !sources.iter().any(|s| s.starts_with("198.51.100.")),
        "{sources:?}"
    );
    let old = wirelab_spec::load(&root().join(WAY_OUT))
        .expect("valid")
        .lab;
    let newer = wirelab_spec::load(&root().join(&new)).expect("valid").lab;
    let (old, newer) = (Network::compile(&old), Network::compile(&newer));
    let d = LabDiff::compute(&old, &newer);
    let n = outside_agrees(&old, &newer, &d).expect("agrees");
    assert!(n > 100, "{n}");
}
