//! Replays every committed corpus input and reproducer of every target
//! (fuzz/corpus/TARGET/, fuzz/artifacts/TARGET/) through the target's
//! function, without libFuzzer: none may panic.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            run(&std::fs::read(&p).expect("readable"));
            n += 1;
        }
    }
    n
}

#[test]
fn lab_inputs() {
    assert!(replay("lab", wirelab_fuzz::lab) > 0);
}

#[test]
fn zone_inputs() {
    assert!(replay("zone", wirelab_fuzz::zone) > 0);
}

#[test]
fn dns_query_inputs() {
    assert!(replay("dns_query", wirelab_fuzz::dns_query) > 0);
}

#[test]
fn import_inputs() {
    assert!(replay("import", wirelab_fuzz::import) > 0);
}

#[test]
fn routing_wire_inputs() {
    assert!(replay("routing_wire", wirelab_fuzz::routing_wire) > 0);
}
