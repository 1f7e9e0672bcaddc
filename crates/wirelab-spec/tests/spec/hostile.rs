//! Inputs that must give a clean diagnostic, never a panic.

use std::path::{Path, PathBuf};

use wirelab_spec::{load, parse_str};

/// A file in a fresh per-test folder under the system temp dir.
fn temp_file(test: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-spec-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lab.yaml");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load_error(path: &Path) -> String {
    match load(path) {
        Ok(_) => panic!("{} must be rejected", path.display()),
        Err(diagnostics) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            diagnostics[0].to_string()
        }
    }
}

fn text_error(text: &str) -> String {
    match parse_str("lab.yaml", text) {
        Ok(_) => panic!("must be rejected"),
        Err(diagnostics) => super::render(&diagnostics),
    }
}

#[test]
fn missing_file() {
    let error = load_error(Path::new("tests/fixtures/no-such-lab.yaml"));
    assert_eq!(
        error,
        "tests/fixtures/no-such-lab.yaml: error: no such file"
    );
}

#[test]
fn directory() {
    let error = load_error(Path::new("tests/fixtures"));
    assert!(error.contains("is a directory"), "{error}");
}

#[test]
fn empty_and_comment_only_files() {
    for text in ["", "\n\n", "# just a comment\n"] {
        let path = temp_file("empty", text.as_bytes());
        let error = load_error(&path);
        assert!(error.contains("the file is empty"), "{error}");
    }
}

#[test]
fn binary_junk() {
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let path = temp_file("binary", &junk);
    assert!(load_error(&path).contains("not UTF-8"));
    junk.retain(|b| b.is_ascii());
    let path = temp_file("nul", &junk);
    let error = load_error(&path);
    assert!(
        error.contains("NUL bytes") && error.contains(":1:1:"),
        "{error}"
    );
    let error = text_error("lab: t\nnetworks: {}\0\n");
    assert!(
        error.contains("lab.yaml:2:13: error") && error.contains("NUL"),
        "{error}"
    );
}

#[test]
fn invalid_utf8_gives_its_position() {
    let path = temp_file("utf8", b"lab: t\nhosts: \xff\xfe\n");
    let error = load_error(&path);
    assert!(error.contains("line 2, column 8"), "{error}");
}

#[test]
fn printable_garbage() {
    for text in [
        "{{{{",
        "]]]",
        ": : :",
        "- - -\n  ]",
        "&a *a",
        "!!binary xyz",
        "\"unterminated",
        "lab: t\n  x: y\n z",
    ] {
        let _ = parse_str("lab.yaml", text);
    }
    assert!(text_error("[1, 2, 3]").contains("must be a map of keys"));
    assert!(text_error("just a string").contains("found the string `just a string`"));
}

#[test]
fn too_large_file() {
    let mut text = String::from("lab: t\ndescription: \"");
    text.push_str(&"x".repeat(9 * 1024 * 1024));
    text.push_str("\"\n");
    let path = temp_file("large", text.as_bytes());
    let error = load_error(&path);
    assert!(error.contains("limited to 8 MiB"), "{error}");
    assert!(text_error(&text).contains("limited to 8 MiB"));
}

#[test]
fn deep_nesting() {
    let text = format!(
        "lab: t\nnetworks: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let error = text_error(&text);
    assert!(error.contains("nested too deeply"), "{error}");
    let mut block = String::from("lab: t\nnetworks:\n");
    for level in 0..10_000 {
        block.push_str(&" ".repeat(level + 1));
        block.push_str("- \n");
    }
    let _ = parse_str("lab.yaml", &block);
}

#[test]
fn billion_laughs() {
    let mut text = String::from("lab: t\na: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for level in 1..10u8 {
        let (me, prev) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{prev}"); 10].join(",");
        text.push_str(&format!("{me}: &{me} [{refs}]\n"));
    }
    let started = std::time::Instant::now();
    let error = text_error(&text);
    assert!(error.contains("alias"), "{error}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn multiple_documents() {
    let error = text_error("lab: t\n---\nlab: u\n");
    assert!(
        error.contains("lab.yaml:2:1: error") && error.contains("one YAML document"),
        "{error}"
    );
}

#[test]
fn tabs_in_indentation() {
    let error = text_error("lab: t\nnetworks:\n\tlan: { cidr: 10.0.0.0/24 }\n");
    assert!(error.starts_with("lab.yaml:3:"), "{error}");
    assert!(error.contains("tab"), "{error}");
}

#[test]
fn huge_numbers_and_odd_keys() {
    let error = text_error(&format!("{}seed: 99999999999999999999999\n", super::BASE));
    assert!(error.contains("`seed`"), "{error}");
    let error = text_error(&format!("{}1: x\nnull: y\n", super::BASE));
    assert!(
        error.contains("unknown key `1`") && error.contains("unknown key `null`"),
        "{error}"
    );
    let error = text_error("lab: t\nnetworks: {}\nhosts: {}\n? [a]\n: b\n");
    assert!(error.contains("lab.yaml:4:"), "{error}");
}
