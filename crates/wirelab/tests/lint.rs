//! `wirelab lint`: one small lab per finding (tests/lint/*.yaml), the
//! example labs, exit statuses, the JSON shape and the text format.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn test_lab(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint")
        .join(name)
        .display()
        .to_string()
}

fn example_lab(name: &str) -> String {
    root().join("labs").join(name).display().to_string()
}

/// `wirelab lint ARGS...`: exit status, stdout, stderr.
fn lint(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .arg("lint")
        .args(args)
        .output()
        .expect("wirelab runs");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// The findings of a lab, from `--format json`.
fn findings(lab: &str) -> Vec<Value> {
    let (_, stdout, stderr) = lint(&[lab, "--format", "json"]);
    let doc: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    doc["findings"].as_array().expect("findings").clone()
}

/// The one finding with this code at this line, checked for its column
/// and severity.
fn at<'f>(fs: &'f [Value], code: &str, line: u64, column: u64, severity: &str) -> &'f Value {
    let hits: Vec<&Value> = fs
        .iter()
        .filter(|f| f["code"] == code && f["line"] == line)
        .collect();
    assert_eq!(hits.len(), 1, "one {code} at line {line} in {fs:#?}");
    let f = hits[0];
    assert_eq!(f["column"], column, "{f:#?}");
    assert_eq!(f["severity"], severity, "{f:#?}");
    f
}

fn related_lines(f: &Value) -> Vec<u64> {
    f["related"]
        .as_array()
        .expect("related")
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect()
}

fn codes(fs: &[Value]) -> Vec<String> {
    fs.iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

mod security_groups {
    use super::*;

    #[test]
    fn redundant_rules_name_the_rules_that_cover_them() {
        let fs = findings(&test_lab("sg-redundant.yaml"));
        // tcp 8080 from 10.0.1.0/24 ⊆ tcp 8000-8099 from 10.0.0.0/16.
        let f = at(&fs, "sg-rule-redundant", 24, 9, "warning");
        assert_eq!(related_lines(f), [22]);
        // 8050-8150 is covered by two rules together, neither alone.
        let f = at(&fs, "sg-rule-redundant", 25, 9, "warning");
        assert_eq!(related_lines(f), [22, 23]);
        assert!(
            f["message"].as_str().unwrap().contains("(line 22) and"),
            "{f}"
        );
        // A group peer covered by a prefix: said to hold in this lab.
        let f = at(&fs, "sg-rule-redundant", 26, 9, "warning");
        assert_eq!(related_lines(f), [27]);
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("in this lab: bastion-sg is 10.0.1.5"), "{m}");
        // The second of two equal rules is the duplicate, not the first.
        let f = at(&fs, "sg-rule-duplicate", 28, 9, "warning");
        assert_eq!(related_lines(f), [27]);
        assert!(fs.iter().all(|f| f["line"] != 27), "{fs:#?}");
        // Covered by another group every host of app-sg also has.
        let f = at(&fs, "sg-rule-redundant-across-groups", 29, 9, "info");
        assert_eq!(related_lines(f), [19]);
        assert!(f["message"].as_str().unwrap().contains("also has base-sg"));
        // The covering rules themselves are not reported.
        assert_eq!(fs.len(), 5, "{fs:#?}");
    }

    #[test]
    fn rules_that_match_nothing_and_unused_filters() {
        let fs = findings(&test_lab("dead-rules.yaml"));
        let f = at(&fs, "sg-peer-group-empty", 19, 9, "warning");
        assert!(f["message"]
            .as_str()
            .unwrap()
            .contains("no host has ops-sg"));
        let f = at(&fs, "sg-peer-outside-lab", 20, 9, "warning");
        assert!(f["message"].as_str().unwrap().contains("10.9.0.0/16"));
        at(&fs, "sg-rule-family-unused", 21, 9, "warning");
        at(&fs, "sg-unused", 23, 3, "info");
        at(&fs, "nacl-rule-family-unused", 30, 9, "warning");
        at(&fs, "nacl-unused", 33, 3, "info");
        // A rule of a used group on a live prefix is not reported.
        assert!(
            fs.iter().all(|f| f["line"] != 18 && f["line"] != 22),
            "{fs:#?}"
        );
        assert_eq!(fs.len(), 6, "{fs:#?}");
    }

    #[test]
    fn ipv4_openings_without_their_ipv6_twin_and_icmp_of_the_wrong_family() {
        let fs = findings(&test_lab("counterpart.yaml"));
        let f = at(&fs, "sg-counterpart-missing", 19, 9, "warning");
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("web1") && m.contains("tcp 80 from ::/0"), "{m}");
        assert!(f["fix"]
            .as_str()
            .unwrap()
            .contains(r#"{ proto: tcp, port: 80, from: "::/0" }"#));
        // The reverse: an IPv6 opening without its IPv4 twin.
        let f = at(&fs, "sg-counterpart-missing", 20, 9, "warning");
        assert!(f["message"]
            .as_str()
            .unwrap()
            .contains("udp 443 from 0.0.0.0/0"));
        at(&fs, "sg-icmp-family-mismatch", 21, 9, "warning");
        // tcp 443 has both twins: nothing to say about it.
        assert!(
            fs.iter().all(|f| f["line"] != 17 && f["line"] != 18),
            "{fs:#?}"
        );
        // The dual-stack network's NACL: 80 is allowed over IPv4 only.
        let f = at(&fs, "nacl-counterpart-missing", 27, 9, "warning");
        assert!(f["message"].as_str().unwrap().contains("tcp 80 from ::/0"));
        assert_eq!(fs.len(), 4, "{fs:#?}");
    }
}

mod nacls {
    use super::*;

    #[test]
    fn shadowed_redundant_and_partly_shadowed_rules() {
        let fs = findings(&test_lab("nacl-shadow.yaml"));
        // allow tcp 22 after deny tcp 0-1023 of a wider prefix: an error.
        let f = at(&fs, "nacl-rule-shadowed", 17, 9, "error");
        assert_eq!(related_lines(f), [15]);
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("rule 120")
                && m.contains("allows tcp 22")
                && m.contains("rule 100 (line 15) denies"),
            "{m}"
        );
        // Same action, fully covered by rule 110: redundant.
        let f = at(&fs, "nacl-rule-redundant", 18, 9, "info");
        assert_eq!(related_lines(f), [16]);
        // Ports 1-1023 of rule 140 are denied first; 1024-2000 still match.
        let f = at(&fs, "nacl-rule-partly-shadowed", 19, 9, "info");
        assert_eq!(related_lines(f), [15]);
        assert!(f["message"].as_str().unwrap().contains("denies tcp 1-1023"));
        assert_eq!(fs.len(), 3, "{fs:#?}");
    }

    #[test]
    fn a_request_allowed_whose_reply_is_denied_names_the_ports_and_the_rule() {
        let fs = findings(&test_lab("nacl-reply.yaml"));
        let f = at(&fs, "nacl-reply-blocked", 15, 9, "error");
        assert_eq!(related_lines(f), [18]);
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("rule 100 (line 18) denies tcp 60000-65535"),
            "{m}"
        );
        let fix = f["fix"].as_str().unwrap();
        assert!(
            fix.contains("numbered below 100")
                && fix.contains("{ rule: 90, action: allow, proto: tcp, ports: 49152-65535, cidr: 10.0.2.0/24 }"),
            "{fix}"
        );
        // udp 53's replies pass rule 120 (1024-65535): no finding there.
        assert!(fs.iter().all(|f| f["line"] != 16), "{fs:#?}");
    }
}

mod exposure {
    use super::*;

    #[test]
    fn an_admin_port_open_through_the_whole_path_is_an_error_at_the_rule() {
        let fs = findings(&test_lab("admin-port.yaml"));
        let f = at(&fs, "public-admin-port", 18, 9, "error");
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("tcp 22 (ssh) of web1") && m.contains("203.0.113.0/24"),
            "{m}"
        );
        // db-sg opens 5432 to 0.0.0.0/0 too, but the data NACL admits only
        // the public subnet: not exposed, so not reported.
        assert!(fs.iter().all(|f| f["line"] != 21), "{fs:#?}");
        assert_eq!(codes(&fs), ["public-admin-port"]);
    }
}

mod command {
    use super::*;

    #[test]
    fn a_clean_lab_has_no_findings_and_exits_0_at_every_level() {
        let lab = test_lab("clean.yaml");
        for deny in ["error", "warning", "info"] {
            let (code, stdout, _) = lint(&[&lab, "--deny", deny]);
            assert_eq!(code, 0, "--deny {deny}: {stdout}");
            assert_eq!(stdout, format!("{lab}: no findings\n"));
        }
        assert_eq!(findings(&lab), Vec::<Value>::new());
    }

    #[test]
    fn deny_sets_the_severity_that_fails() {
        // Warnings and one info, no error.
        let lab = test_lab("sg-redundant.yaml");
        assert_eq!(lint(&[&lab]).0, 0);
        assert_eq!(lint(&[&lab, "--deny", "error"]).0, 0);
        assert_eq!(lint(&[&lab, "--deny", "warning"]).0, 1);
        assert_eq!(lint(&[&lab, "--deny", "info"]).0, 1);
        // Errors fail by default.
        assert_eq!(lint(&[&test_lab("nacl-shadow.yaml")]).0, 1);
        // Only infos: only --deny info fails.
        let lab = example_lab("03-vpc-security.yaml");
        assert_eq!(lint(&[&lab, "--deny", "warning"]).0, 0);
        assert_eq!(lint(&[&lab, "--deny", "info"]).0, 1);
    }

    #[test]
    fn text_lines_say_file_line_column_severity_code_then_the_fix() {
        let lab = test_lab("nacl-shadow.yaml");
        let (code, stdout, _) = lint(&[&lab]);
        assert_eq!(code, 1);
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(
            lines[0].starts_with(&format!(
                "{lab}:17:9: error[nacl-rule-shadowed]: inbound rule 120 of NACL data-nacl allows tcp 22"
            )),
            "{stdout}"
        );
        assert!(
            lines[1].starts_with("    fix: give rule 120 a number below 100"),
            "{stdout}"
        );
        assert!(lines[2].starts_with(&format!("{lab}:18:9: info[nacl-rule-redundant]")));
        assert!(lines[4].starts_with(&format!("{lab}:19:9: info[nacl-rule-partly-shadowed]")));
        assert_eq!(
            lines.last().unwrap(),
            &format!("{lab}: 1 error, 0 warnings, 2 info")
        );
    }

    #[test]
    fn json_has_every_field_of_every_finding() {
        let lab = test_lab("sg-redundant.yaml");
        let fs = findings(&lab);
        assert!(!fs.is_empty());
        for f in &fs {
            let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["code", "column", "file", "fix", "line", "message", "related", "severity"],
                "{f}"
            );
            assert_eq!(f["file"], lab.as_str());
            for r in f["related"].as_array().unwrap() {
                assert!(
                    r["line"].is_u64() && r["column"].is_u64() && r["text"].is_string(),
                    "{r}"
                );
            }
        }
        // Sorted by line, then column, then code.
        let keys: Vec<(u64, u64, String)> = fs
            .iter()
            .map(|f| {
                (
                    f["line"].as_u64().unwrap(),
                    f["column"].as_u64().unwrap(),
                    f["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn an_invalid_lab_exits_2_with_its_diagnostics() {
        let lab = test_lab("invalid.yaml");
        let (code, stdout, stderr) = lint(&[&lab]);
        assert_eq!(code, 2);
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!(
                "{lab}:6:55: error: unknown security group `nope-sg`"
            )),
            "{stderr}"
        );
        // A usage error is 2 as well.
        assert_eq!(lint(&[&lab, "--deny", "fatal"]).0, 2);
    }

    #[test]
    fn the_output_is_the_same_every_time() {
        let lab = example_lab("04-dual-stack.yaml");
        let first = lint(&[&lab, "--deny", "info"]);
        for _ in 0..3 {
            assert_eq!(lint(&[&lab, "--deny", "info"]), first);
        }
    }
}

mod example_labs {
    use super::*;

    #[test]
    fn the_broken_exercise_shows_its_nacl_ticket() {
        // Ticket 2 of labs/05: the data NACL lets the app's SYN in but
        // sends the SYN-ACK (to an ephemeral port) nowhere.
        let fs = findings(&example_lab("05-exercise-fix-the-vpc.yaml"));
        let f = at(&fs, "nacl-reply-blocked", 95, 9, "error");
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("allows tcp 5432 from 10.0.2.0/24") && m.contains("rule *"),
            "{m}"
        );
        assert_eq!(lint(&[&example_lab("05-exercise-fix-the-vpc.yaml")]).0, 1);
    }

    #[test]
    fn the_dual_stack_lab_shows_its_forgotten_twins() {
        let fs = findings(&example_lab("04-dual-stack.yaml"));
        // `tcp 80 from 0.0.0.0/0, description: forgot the IPv6 twin`.
        at(&fs, "sg-counterpart-missing", 79, 9, "warning");
        // `icmp from 0.0.0.0/0, description: IPv4 ping only`.
        let f = at(&fs, "sg-counterpart-missing", 80, 9, "warning");
        assert!(f["message"].as_str().unwrap().contains("icmpv6 from ::/0"));
        // The IPv4 ssh rule in the IPv6-only network's NACL.
        at(&fs, "nacl-rule-family-unused", 95, 9, "warning");
    }

    #[test]
    fn the_vpc_lab_has_only_its_intended_exception() {
        // Rule 90 denies the quarantined app server before rules 100 and
        // 110 allow its subnet: an info each, nothing worse.
        let fs = findings(&example_lab("03-vpc-security.yaml"));
        assert_eq!(
            codes(&fs),
            ["nacl-rule-partly-shadowed", "nacl-rule-partly-shadowed"]
        );
        at(&fs, "nacl-rule-partly-shadowed", 128, 9, "info");
        at(&fs, "nacl-rule-partly-shadowed", 129, 9, "info");
    }

    #[test]
    fn the_three_tier_lab_opens_elasticsearch_by_a_wide_range() {
        let fs = findings(&example_lab("10-https-three-tier.yaml"));
        let f = at(&fs, "public-admin-port", 86, 9, "error");
        assert!(f["message"]
            .as_str()
            .unwrap()
            .contains("tcp 9200 (elasticsearch)"));
    }

    #[test]
    fn an_unguarded_internal_database_is_reported_at_the_host() {
        // labs/08's db has no security group, a private address, and
        // postgres listening; the internet network reaches it. The
        // laptops on the internet network (no groups, public addresses)
        // are not reported.
        let fs = findings(&example_lab("08-split-horizon-vpc.yaml"));
        let f = at(&fs, "public-admin-port", 65, 3, "error");
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("tcp 5432 (postgres) of db") && m.contains("no security group"),
            "{m}"
        );
        assert_eq!(codes(&fs), ["public-admin-port"]);
    }

    #[test]
    fn every_example_lab_lints_without_a_crash() {
        let mut labs: Vec<PathBuf> = std::fs::read_dir(root().join("labs"))
            .expect("labs/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        labs.sort();
        assert!(labs.len() >= 10);
        for lab in labs {
            let (code, stdout, stderr) = lint(&[&lab.display().to_string()]);
            assert!(code == 0 || code == 1, "{}: {code} {stderr}", lab.display());
            assert!(stdout.ends_with('\n'), "{stdout}");
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = std::fs::read_to_string(root().join("docs/analysis.md")).expect("docs");
        let section = doc.split("\n## lint").nth(1).expect("a ## lint section");
        for c in wirelab_analyze::lint::Code::ALL {
            assert!(
                section.contains(&format!("`{}`", c.code())),
                "{} is not in docs/analysis.md's ## lint",
                c.code()
            );
        }
    }
}
