//! `wirelab import aws DIR` and `wirelab import terraform PLAN.json`,
//! driven through the binary: the labs they write are valid, stable
//! (snapshots, byte-identical on a second run) and give the answers AWS's
//! semantics give (`wirelab reach`); malformed input is exit 2 with the
//! file, object and field, never a panic.
//!
//! Fixtures live in tests/import/: `aws/NAME/` folders of `describe-*`
//! JSON in the AWS CLI's shape, `terraform/*.json` plans, and beside each
//! the expected lab (`NAME.expected.yaml`). `WIRELAB_BLESS=1` rewrites the
//! expected labs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in the crate's folder, so paths in messages are the
/// relative ones given.
fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .current_dir(manifest())
        .output()
        .expect("wirelab runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-import-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

const TWO_TIER: &str = "tests/import/aws/two-tier";

/// Imports, checks the snapshot and determinism, and returns the lab's
/// path (written with -o).
fn import_checked(kind: &str, input: &str, expected: &str, name: &str) -> PathBuf {
    let out = wirelab(&["import", kind, input]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(!text(&out.stderr).contains("panicked"));
    // Byte-identical on a second run.
    let again = wirelab(&["import", kind, input]);
    assert_eq!(out.stdout, again.stdout, "a second import differs");
    assert_eq!(
        out.stderr, again.stderr,
        "a second import warns differently"
    );
    // The snapshot.
    let expected_path = manifest().join(expected);
    if std::env::var_os("WIRELAB_BLESS").is_some() {
        std::fs::write(&expected_path, &yaml).expect("bless");
    }
    let want = std::fs::read_to_string(&expected_path)
        .expect("the expected lab (WIRELAB_BLESS=1 writes it)");
    assert_eq!(yaml, want, "the imported lab differs from {expected}");
    // Valid for wirelab, with no warnings of its own.
    let loaded = wirelab_spec::parse_str("imported.yaml", &yaml).unwrap_or_else(|d| {
        panic!(
            "invalid lab: {}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // -o writes the same text.
    let path = scratch(name).join("lab.yaml");
    let out = wirelab(&["import", kind, input, "-o", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&path).expect("written"), yaml);
    path
}

/// `wirelab reach LAB ARGS` → (exit status, stdout).
/// `wirelab reach LAB --from F --to T --proto P --port N` exits with the
/// status given, for each (F, T, P, N, status).
fn expect_exits(lab: &Path, cases: &[(&str, &str, &str, &str, i32)]) {
    for &(from, to, proto, port, want) in cases {
        let (code, out) = reach(
            lab,
            &["--from", from, "--to", to, "--proto", proto, "--port", port],
        );
        assert_eq!(code, want, "{from} → {to} {proto} {port}: {out}");
    }
}

fn reach(lab: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["reach", lab.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    let out = wirelab(&all);
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

#[test]
fn the_two_tier_vpc_imports_to_a_valid_stable_lab() {
    let lab = import_checked(
        "aws",
        TWO_TIER,
        "tests/import/aws/two-tier.expected.yaml",
        "snapshot",
    );
    let loaded = wirelab_spec::load(&lab).expect("valid");
    let l = &loaded.lab;
    // 5 instances + the internet host; 2 route tables + IGW + egress-only + NAT.
    assert_eq!(l.hosts.len(), 6);
    assert_eq!(l.routers.len(), 5);
    assert_eq!(l.security_groups.len(), 4);
    assert_eq!(l.nacls.len(), 2);
    let yaml = std::fs::read_to_string(&lab).expect("lab");
    // Names from Name tags, sanitized; ids in comments.
    assert!(yaml.contains("  web-server-1:  # i-0e0e0e0e0e0e0e001, public IP 54.210.0.30\n"));
    // The blackhole route and the prefix list, expanded with a comment.
    assert!(yaml.contains("- { to: 192.168.0.0/16, blackhole: true }"));
    assert!(yaml.contains(
        "# prefix list pl-0f0f0f0f0f0f00001 (corp-offices): 198.51.100.0/24, 192.0.2.64/26"
    ));
    // One rule per peer: the permission with two ranges is two rules.
    assert_eq!(yaml.matches("port: 8080").count(), 2);
    // The `*` rules (32767, 32768) are implicit.
    assert!(!yaml.contains("32767"));
}

#[test]
fn what_cannot_be_represented_is_a_warning_naming_file_object_and_field() {
    let out = wirelab(&["import", "aws", TWO_TIER]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "warning: tests/import/aws/two-tier/describe-route-tables.json:96:17: RouteTables[1] (rtb-0c0c0c0c0c0c00002): Routes[4]: \
         the route to 10.99.0.0/16 through a transit gateway tgw-0feedfeedfeedfee0 is not imported: wirelab does not simulate it\n"
    );
    assert!(text(&out.stdout)
        .contains("# not imported: 10.99.0.0/16 → tgw-0feedfeedfeedfee0 (a transit gateway)"));
}

#[test]
fn reach_on_the_imported_vpc_gives_the_aws_answers() {
    let out = wirelab(&["import", "aws", TWO_TIER, "-o"]);
    assert_eq!(out.status.code(), Some(2), "-o needs a value");
    let lab = scratch("reach").join("lab.yaml");
    let out = wirelab(&[
        "import",
        "aws",
        TWO_TIER,
        "-o",
        lab.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The bastion reaches the app servers on 22 (app-sg admits bastion-sg),
    // over both families, across the two route tables' routers.
    let (code, o) = reach(
        &lab,
        &[
            "--from", "bastion", "--to", "app-1", "--proto", "tcp", "--port", "22",
        ],
    );
    assert_eq!(code, 0, "{o}");
    assert!(
        o.contains("ipv4 10.0.1.10 → 10.0.2.10  path: public-rt → private-rt\n  tcp: 22\n"),
        "{o}"
    );
    assert!(
        o.contains("ipv6 2600:1f18:6f2:4a01::10 → 2600:1f18:6f2:4a02::10"),
        "{o}"
    );

    // The app reads the database; the bastion gets to it on 22.
    expect_exits(
        &lab,
        &[
            ("app-1", "db", "tcp", "5432", 0),
            ("bastion", "db", "tcp", "22", 0),
        ],
    );

    // The quarantined half of the app subnet is denied by db-nacl's rule 80,
    // though app-sg would let it in.
    let (code, o) = reach(
        &lab,
        &[
            "--from", "app-2", "--to", "db", "--proto", "tcp", "--port", "5432",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(
        o.contains("blocked: nacl-inbound: NACL db-nacl of network db-a, inbound rule 80"),
        "{o}"
    );

    // The internet does not reach the database: no public IP (no route at
    // the IGW), db-sg, and the NACL's outbound rules.
    let (code, o) = reach(
        &lab,
        &[
            "--from", "internet", "--to", "db", "--proto", "tcp", "--port", "5432",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(
        o.contains("blocked: no-route (request): shop-igw has no route to 10.0.3.10"),
        "{o}"
    );
    assert!(o.contains("blocked: sg-inbound"), "{o}");

    // The bastion admits SSH only from the prefix list's offices: the
    // internet host is not one of them.
    let (code, o) = reach(
        &lab,
        &[
            "--from", "internet", "--to", "bastion", "--proto", "tcp", "--port", "22",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(o.contains("from 198.51.100.0/24"), "{o}");
    // ICMPv6 from ::/0 comes in over IPv6 (public addresses, no NAT).
    let (code, o) = reach(
        &lab,
        &["--from", "internet", "--to", "bastion", "--proto", "icmp"],
    );
    assert_eq!(code, 0, "{o}");
    assert!(o.contains("ipv6 2001:db8:ffff:ffff::100 → 2600:1f18:6f2:4a01::10  path: shop-igw → public-rt\n  icmp: echo"), "{o}");

    // The default security group: its members reach each other on any port.
    assert_eq!(
        reach(
            &lab,
            &[
                "--from",
                "web-server-1",
                "--to",
                "app-1",
                "--proto",
                "tcp",
                "--port",
                "9999"
            ]
        )
        .0,
        0
    );
    // ... but app-2, not a member, does not reach web-server-1.
    assert_eq!(
        reach(
            &lab,
            &[
                "--from",
                "app-2",
                "--to",
                "web-server-1",
                "--proto",
                "tcp",
                "--port",
                "9999"
            ]
        )
        .0,
        1
    );

    // Out through the NAT gateway: delivered, but the reply has no way
    // back since NAT is not simulated (docs/import.md).
    let (code, o) = reach(
        &lab,
        &[
            "--from", "app-1", "--to", "internet", "--proto", "tcp", "--port", "443",
        ],
    );
    assert!(
        o.contains("path: private-rt → shop-nat → public-rt → shop-igw"),
        "{o}"
    );
    assert!(
        o.contains("blocked: no-route (reply): shop-igw has no route to 10.0.2.10"),
        "{o}"
    );
    // Over IPv6 it leaves through the egress-only gateway and is reachable.
    assert_eq!(code, 0, "{o}");

    // The simulator agrees (`wirelab trace`): the NACL rule stops app-2,
    // the bastion's SYN reaches app-1 (no service: a reset comes back).
    let lab_arg = lab.to_str().expect("utf-8");
    let trace = |args: &[&str]| {
        let mut all = vec!["trace", lab_arg];
        all.extend_from_slice(args);
        text(&wirelab(&all).stdout)
    };
    let t = trace(&["--from", "app-2", "--to", "db", "--port", "5432"]);
    assert!(
        t.contains("result: deny (nacl-inbound at private-rt)"),
        "{t}"
    );
    assert!(t.contains("NACL db-nacl: inbound rule 80"), "{t}");
    let t = trace(&["--from", "bastion", "--to", "app-1", "--port", "22"]);
    assert!(t.contains("result: refused (refused at app-1)"), "{t}");
}

/// Copies the two-tier fixture, lets `edit` change one file's JSON, and
/// imports the copy: (exit status, stderr with the scratch path replaced
/// by `DIR`).
fn import_edited(name: &str, file: &str, edit: impl FnOnce(&mut Value)) -> (i32, String) {
    let dir = scratch(name);
    let from = manifest().join(TWO_TIER);
    copy_dir(&from, &dir);
    let path = dir.join(file);
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    import_dir(&dir)
}

fn import_dir(dir: &Path) -> (i32, String) {
    let out = wirelab(&["import", "aws", dir.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr).replace(dir.to_str().expect("utf-8"), "DIR");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.code() == Some(2) {
        assert!(out.stdout.is_empty(), "nothing is written on an error");
    }
    (out.status.code().unwrap_or(-1), stderr)
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_value_of_the_wrong_type_names_file_object_and_field() {
    let (code, err) = import_edited("wrong-type", "describe-security-groups.json", |j| {
        j["SecurityGroups"][2]["IpPermissions"][0]["FromPort"] = Value::from("x");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-security-groups.json:105:23: SecurityGroups[2] (sg-0a0a0a0a0a0a00003): IpPermissions[0].FromPort: expected a number, found \"x\"\n"
    );
}

#[test]
fn a_missing_field_is_named() {
    let (code, err) = import_edited("missing", "describe-security-groups.json", |j| {
        j["SecurityGroups"][1]
            .as_object_mut()
            .expect("map")
            .remove("GroupId");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-security-groups.json:41:5: SecurityGroups[1]: GroupId: missing\n"
    );
    let (code, err) = import_edited("missing-proto", "describe-network-acls.json", |j| {
        j["NetworkAcls"][1]["Entries"][2]
            .as_object_mut()
            .expect("map")
            .remove("Protocol");
    });
    assert_eq!(code, 2);
    assert_eq!(err, "DIR/describe-network-acls.json:107:9: NetworkAcls[1] (acl-0e0e0e0e0e0e00002): Entries[2].Protocol: missing\n");
}

#[test]
fn an_unknown_protocol_is_an_error() {
    let (code, err) = import_edited("proto", "describe-security-groups.json", |j| {
        j["SecurityGroups"][3]["IpPermissions"][1]["IpProtocol"] = Value::from("sctpp");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-security-groups.json:209:25: SecurityGroups[3] (sg-0c0c0c0c0c0c00004): IpPermissions[1].IpProtocol: \
         unknown protocol \"sctpp\" (tcp, udp, icmp, icmpv6, -1 for all, or a number 0..=255)\n"
    );
}

#[test]
fn a_dangling_group_reference_is_an_error() {
    let (code, err) = import_edited("dangling", "describe-security-groups.json", |j| {
        j["SecurityGroups"][3]["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] =
            Value::from("sg-0000000000000dead");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-security-groups.json:202:26: SecurityGroups[3] (sg-0c0c0c0c0c0c00004): IpPermissions[0].UserIdGroupPairs[0].GroupId: \
         sg-0000000000000dead is not among the security groups (describe-security-groups)\n"
    );
    let (code, err) = import_edited("dangling-instance", "describe-instances.json", |j| {
        j["Reservations"][3]["Instances"][0]["SubnetId"] = Value::from("subnet-0nowhere");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-instances.json:408:23: Reservations[3].Instances[0] (i-0d0d0d0d0d0d0d001): SubnetId: subnet-0nowhere is not among the subnets (describe-subnets)\n"
    );
}

#[test]
fn broken_json_and_missing_files_are_errors() {
    let dir = scratch("broken");
    copy_dir(&manifest().join(TWO_TIER), &dir);
    let path = dir.join("describe-vpcs.json");
    let full = std::fs::read_to_string(&path).expect("fixture");
    std::fs::write(&path, &full[..200]).expect("truncate");
    let (code, err) = import_dir(&dir);
    assert_eq!(code, 2);
    assert!(err.starts_with("DIR/describe-vpcs.json:"), "{err}");
    assert!(err.contains(": invalid JSON: EOF while parsing"), "{err}");
    // A line and column.
    let pos: Vec<&str> = err.split(':').skip(1).take(2).collect();
    assert!(pos.iter().all(|p| p.parse::<usize>().is_ok()), "{err}");

    std::fs::write(&path, &full).expect("restore");
    std::fs::remove_file(dir.join("describe-subnets.json")).expect("rm");
    let (code, err) = import_dir(&dir);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-subnets.json: missing: the output of `aws ec2 describe-subnets` is required (as describe-subnets.json or subnets.json)\n"
    );

    let (code, err) = import_dir(&dir.join("nowhere"));
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
}

const PLAN: &str = "tests/import/terraform/three-tier.plan.json";

#[test]
fn a_terraform_plan_imports_with_references_resolved_through_the_configuration() {
    let lab = import_checked(
        "terraform",
        PLAN,
        "tests/import/terraform/three-tier.expected.yaml",
        "tf",
    );
    let yaml = std::fs::read_to_string(&lab).expect("lab");
    // Unknown ids resolved through `configuration`: the child module's
    // `var.app_sg_id`, `count.index` subnets, inline blocks' references.
    assert!(
        yaml.contains("- { proto: tcp, port: 5432, from: app-sg, description: \"app tier\" }"),
        "{yaml}"
    );
    assert!(
        yaml.contains("- { proto: tcp, port: 22, from: bastion }"),
        "{yaml}"
    );
    assert!(yaml.contains("  app-1:  # aws_instance.app[1]; private IP unknown in the plan: the first free one chosen\n    network: app-1\n    ip: 10.20.3.4\n"), "{yaml}");

    // What AWS would answer once applied.
    let (code, o) = reach(
        &lab,
        &[
            "--from", "internet", "--to", "web", "--proto", "tcp", "--port", "443",
        ],
    );
    assert_eq!(code, 0, "{o}");
    assert!(o.contains("path: tf-igw → public-rt"), "{o}");
    expect_exits(
        &lab,
        &[
            ("internet", "db", "tcp", "5432", 1),
            ("app-0", "db", "tcp", "5432", 0),
        ],
    );
    let (code, o) = reach(
        &lab,
        &[
            "--from", "app-1", "--to", "db", "--proto", "tcp", "--port", "5432",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(
        o.contains("blocked: nacl-inbound: NACL db-nacl of network db, inbound rule 50"),
        "{o}"
    );
    expect_exits(
        &lab,
        &[
            ("bastion", "app-0", "tcp", "22", 0),
            ("web", "app-1", "tcp", "8080", 0),
        ],
    );
    let (code, o) = reach(
        &lab,
        &[
            "--from", "internet", "--to", "bastion", "--proto", "tcp", "--port", "22",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(o.contains("blocked: sg-inbound"), "{o}");
}

/// Edits the plan fixture and imports it: (exit status, stderr with the
/// scratch path replaced by `PLAN`).
fn import_plan_edited(name: &str, edit: impl FnOnce(&mut Value)) -> (i32, String) {
    let path = scratch(name).join("plan.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest().join(PLAN)).expect("plan"))
            .expect("json");
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    let out = wirelab(&["import", "terraform", path.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr).replace(path.to_str().expect("utf-8"), "PLAN");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn malformed_terraform_plans_are_errors_naming_the_resource_and_attribute() {
    // A wrong type inside an inline block.
    let (code, err) = import_plan_edited("tf-type", |j| {
        j["planned_values"]["root_module"]["resources"][12]["values"]["ingress"][0]["from_port"] =
            Value::from("https");
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "PLAN:1081:30: aws_security_group.web: ingress[0].from_port: expected a number, found \"https\"\n"
    );
    // A reference that leads nowhere.
    let (code, err) = import_plan_edited("tf-ref", |j| {
        j["configuration"]["root_module"]["module_calls"]["data"]["expressions"]["app_sg_id"] = serde_json::json!({ "references": ["aws_security_group.gone.id", "aws_security_group.gone"] });
    });
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "PLAN:706:25: module.data.aws_security_group_rule.db_in: source_security_group_id: unknown in the plan, and its reference var.app_sg_id is no resource of the plan\n"
    );
    // An unknown protocol.
    let (code, err) = import_plan_edited("tf-proto", |j| {
        j["planned_values"]["root_module"]["resources"][16]["values"]["ip_protocol"] =
            Value::from("gre");
    });
    assert_eq!(code, 2);
    assert!(err.starts_with("PLAN:1179:28: aws_vpc_security_group_egress_rule.app_out: ip_protocol: unknown protocol \"gre\""), "{err}");
    // Not a plan at all.
    let (code, err) = import_plan_edited("tf-not", |j| {
        *j = serde_json::json!({ "format_version": "1.2" })
    });
    assert_eq!(code, 2);
    assert!(err.contains("neither planned_values nor values"), "{err}");
}

#[test]
fn a_default_vpc_with_one_table_and_flattened_rules_has_one_router() {
    // Short file names (vpcs.json), describe-security-group-rules instead
    // of IpPermissions, no route tables, no NACLs, a terminated instance.
    let lab = import_checked(
        "aws",
        "tests/import/aws/minimal",
        "tests/import/aws/minimal.expected.yaml",
        "minimal",
    );
    let loaded = wirelab_spec::load(&lab).expect("valid");
    assert_eq!(
        loaded.lab.routers.len(),
        1,
        "one router, named after the VPC"
    );
    assert_eq!(loaded.lab.routers[0].name.value, "vpc-0feed0000000000001");
    assert_eq!(
        loaded.lab.hosts.len(),
        2,
        "the terminated instance is left out"
    );
    let out = wirelab(&["import", "aws", "tests/import/aws/minimal"]);
    assert!(text(&out.stderr)
        .contains("(i-0feed00000000003): the instance is terminated; not imported"));
    // --lab names the lab, made an identifier.
    let out = wirelab(&[
        "import",
        "aws",
        "tests/import/aws/minimal",
        "--lab",
        "My VPC (prod)!",
    ]);
    assert!(text(&out.stdout).contains("\nlab: my-vpc-prod\n"));
    let (code, o) = reach(
        &lab,
        &[
            "--from",
            "web",
            "--to",
            "i-0feed00000000002",
            "--proto",
            "tcp",
            "--port",
            "6379",
        ],
    );
    assert_eq!(code, 0, "{o}");
    assert_eq!(
        reach(
            &lab,
            &[
                "--from",
                "web",
                "--to",
                "i-0feed00000000002",
                "--proto",
                "tcp",
                "--port",
                "22"
            ]
        )
        .0,
        1
    );
    // The reverse: the web group admits only tcp/80.
    assert_eq!(
        reach(
            &lab,
            &[
                "--from",
                "i-0feed00000000002",
                "--to",
                "web",
                "--proto",
                "tcp",
                "--port",
                "80"
            ]
        )
        .0,
        0
    );
    assert_eq!(
        reach(
            &lab,
            &[
                "--from",
                "i-0feed00000000002",
                "--to",
                "web",
                "--proto",
                "tcp",
                "--port",
                "6379"
            ]
        )
        .0,
        1
    );
}

#[test]
fn two_files_for_one_command_are_an_error() {
    let dir = scratch("both");
    copy_dir(&manifest().join("tests/import/aws/minimal"), &dir);
    std::fs::copy(dir.join("vpcs.json"), dir.join("describe-vpcs.json")).expect("copy");
    let (code, err) = import_dir(&dir);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "DIR/describe-vpcs.json: both describe-vpcs.json and vpcs.json are present: keep one\n"
    );
}

#[test]
fn a_terraform_state_with_the_default_resources_imports() {
    // `values` instead of `planned_values`; known ids; aws_default_route_table,
    // aws_default_network_acl and aws_default_security_group tied to their
    // VPC through its default_*_id; IPv6.
    let lab = import_checked(
        "terraform",
        "tests/import/terraform/state.json",
        "tests/import/terraform/state.expected.yaml",
        "state",
    );
    let yaml = std::fs::read_to_string(&lab).expect("lab");
    assert!(
        yaml.contains("a: { cidr: 10.30.1.0/24, ipv6: \"2600:1f14:abc:de01::/64\", nacl: this }"),
        "{yaml}"
    );
    assert!(yaml.contains("  default:  # sg-0aaaa00000000001 (default): default VPC security group\n    inbound:\n      - { proto: all, from: default }\n"), "{yaml}");
    // Members of the default group reach each other; the internet reaches
    // neither (the group admits only itself), over either family.
    expect_exits(&lab, &[("one", "two", "tcp", "5555", 0)]);
    let (code, o) = reach(
        &lab,
        &[
            "--from", "internet", "--to", "one", "--proto", "tcp", "--port", "22",
        ],
    );
    assert_eq!(code, 1, "{o}");
    assert!(
        o.contains("ipv6 2001:db8:ffff:ffff::100 → 2600:1f14:abc:de01::10  path: this → state-vpc"),
        "{o}"
    );
    // ... while the instance gets out (its reply comes back: a public IP).
    expect_exits(&lab, &[("one", "internet", "tcp", "443", 0)]);
}

/// Every third value of every file of the two-tier dump (every value takes
/// 70 s in a debug build), one at a time, replaced by a value of another
/// type (null, a string, a number, a list, a map):
/// the import never panics, and either fails with a message naming the file
/// or writes a lab. Labs that wirelab then rejects are counted and listed.
#[test]
fn no_single_change_to_the_dump_makes_the_import_panic() {
    let base = manifest().join(TWO_TIER);
    let dir = scratch("mutations");
    copy_dir(&base, &dir);
    let options = wirelab_import::Options {
        lab: "m".into(),
        source: "test".into(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let (mut runs, mut errors, mut invalid) = (0, 0, Vec::new());
    for file in files {
        let name = file.file_name().expect("name").to_owned();
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        let mut pointers = Vec::new();
        collect_pointers(&original, String::new(), &mut pointers);
        for (i, pointer) in pointers.iter().step_by(3).enumerate() {
            let replacement = match i % 5 {
                0 => Value::Null,
                1 => Value::from("x"),
                2 => Value::from(7),
                3 => serde_json::json!([]),
                _ => serde_json::json!({}),
            };
            let mut changed = original.clone();
            *changed.pointer_mut(pointer).expect("pointer") = replacement;
            std::fs::write(
                dir.join(&name),
                serde_json::to_string_pretty(&changed).expect("json"),
            )
            .expect("write");
            runs += 1;
            match wirelab_import::import_aws(&dir, &options) {
                Err(e) => {
                    errors += 1;
                    assert!(
                        e.to_string().starts_with(dir.to_str().expect("utf-8")),
                        "{e}"
                    );
                }
                Ok(imported) => {
                    if let Err(d) = wirelab_spec::parse_str("m.yaml", &imported.yaml) {
                        invalid.push(format!("{}{pointer}: {}", name.to_string_lossy(), d[0]));
                    }
                }
            }
        }
        std::fs::write(dir.join(&name), std::fs::read(&file).expect("read")).expect("restore");
    }
    eprintln!(
        "{runs} changed dumps: {errors} errors, {} invalid labs",
        invalid.len()
    );
    assert!(runs > 250, "{runs}");
    assert!(errors > 100, "most changes of type are errors: {errors}");
    assert!(
        invalid.is_empty(),
        "labs wirelab rejects:\n{}",
        invalid.join("\n")
    );
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    if !at.is_empty() {
        out.push(at.clone());
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                collect_pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A set of blocks with an unknown element is unknown as a whole, and a
/// plan may leave it out: the blocks then come from the configuration
/// (constants and references), and the lab is the same.
#[test]
fn blocks_left_out_of_a_plan_come_from_the_configuration() {
    let path = scratch("tf-unknown-set").join("three-tier.plan.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest().join(PLAN)).expect("plan"))
            .expect("json");
    let resources = json["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .expect("resources");
    for r in resources.iter_mut() {
        let address = r["address"].clone();
        let values = r["values"].as_object_mut().expect("values");
        if address == "aws_security_group.web" {
            values.remove("ingress");
            values.remove("egress");
        }
        if address == "aws_route_table.public" {
            values.remove("route");
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    let out = wirelab(&["import", "terraform", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = |yaml: &str| yaml.split_once("\nlab:").expect("lab").1.to_string();
    let want =
        std::fs::read_to_string(manifest().join("tests/import/terraform/three-tier.expected.yaml"))
            .expect("expected");
    assert_eq!(body(&text(&out.stdout)), body(&want));
}
