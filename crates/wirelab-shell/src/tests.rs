//! The interpreter without a terminal or a process: [`Shell::run`] on a
//! lab of the repository. End-to-end tests are in tests/shell.rs.

use super::*;

fn lab_01() -> Network {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs/01-one-router.yaml");
    Network::compile(&wirelab_spec::load(&path).expect("lab 01 is valid").lab)
}

#[test]
fn one_simulation_lives_across_commands() {
    let net = lab_01();
    let client = net.lab.host_by_name("client").unwrap();
    let mut sh = Shell::new(&net, client, 1);
    assert_eq!(sh.prompt(), "client:~$ ");
    assert_eq!(sh.run("ip neigh"), "");
    let out = sh.run("ping -c 2 server");
    assert!(out.contains("2 received"), "{out}");
    assert_eq!(sh.status(), 0);
    // Two echoes a second apart: the clock is past 1 s, below 2 s.
    assert!(sh.now() > SimTime::from_secs(1) && sh.now() < SimTime::from_secs(2));
    assert!(sh.run("ip neigh").contains("10.0.1.1 dev eth0 lladdr"));
    // The gateway is known now: no ARP, so the first echo is as quick as
    // the second.
    let out = sh.run("ping -c 2 server");
    let times: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .collect();
    assert_eq!(times.len(), 2, "{out}");
    assert_eq!(times[0], times[1], "{out}");
}

#[test]
fn blank_lines_and_comments_print_nothing_and_exit_ends() {
    let net = lab_01();
    let mut sh = Shell::new(&net, 0, 1);
    assert_eq!(sh.run("   "), "");
    assert_eq!(sh.run("# a comment"), "");
    assert_eq!(sh.exited(), None);
    assert_eq!(sh.run("exit 300"), "");
    assert_eq!(sh.exited(), Some(44));
}
