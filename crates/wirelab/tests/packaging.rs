//! `wirelab completions` and `wirelab man`: the bash script completes
//! subcommands and options in a real bash; every subcommand gets a man
//! page that groff renders without a warning.

mod common;
use common::wirelab;

use std::path::Path;
use std::process::Command;

/// The subcommands `wirelab --help` lists.
fn subcommands() -> Vec<String> {
    let (_, help, _) = wirelab(&["--help"]);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A long description wraps onto lines indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&c| c != "help")
        .map(str::to_string)
        .collect()
}

/// What bash's completion function offers for `words` (the last one is
/// being completed).
fn complete(script: &Path, words: &[&str]) -> Vec<String> {
    let array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let cword = words.len() - 1;
    let prev = words[cword.saturating_sub(1)];
    let cur = words[cword];
    let program = format!(
        "source '{}'; COMP_WORDS=({array}); COMP_CWORD={cword}; _wirelab wirelab '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_options() {
    let (code, script, _) = wirelab(&["completions", "bash"]);
    assert_eq!(code, 0);
    let dir = std::env::temp_dir().join(format!("wirelab-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let path = dir.join("wirelab.bash");
    std::fs::write(&path, script).expect("written");
    assert_eq!(complete(&path, &["wirelab", "rea"]), ["reach"]);
    let all = complete(&path, &["wirelab", ""]);
    for sub in subcommands() {
        assert!(all.contains(&sub), "{sub} not offered: {all:?}");
    }
    assert_eq!(complete(&path, &["wirelab", "reach", "--fr"]), ["--from"]);
    let formats = complete(&path, &["wirelab", "graph", "lab.yaml", "--format", ""]);
    assert_eq!(formats, ["dot", "mermaid", "d2", "svg"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_shell_gets_a_script_and_a_wrong_one_is_a_usage_error() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, script, _) = wirelab(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            script.contains("reach") && script.contains("grade"),
            "{shell}"
        );
    }
    let (code, _, err) = wirelab(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn every_subcommand_has_a_man_page_groff_renders_cleanly() {
    let dir = std::env::temp_dir().join(format!("wirelab-man-{}", std::process::id()));
    let (code, _, err) = wirelab(&["man", "-o", dir.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    let mut pages = vec!["wirelab".to_string()];
    pages.extend(subcommands().iter().map(|s| format!("wirelab-{s}")));
    let have_groff = Command::new("groff").arg("--version").output().is_ok();
    if !have_groff && std::env::var_os("WIRELAB_REQUIRE_GROFF").is_some() {
        panic!("groff is missing and WIRELAB_REQUIRE_GROFF is set");
    }
    for page in &pages {
        let path = dir.join(format!("{page}.1"));
        let roff = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{page}.1 missing"));
        assert!(roff.contains(".TH"), "{page}");
        if !have_groff {
            continue;
        }
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&path)
            .output()
            .expect("groff runs");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{page}: {warnings}"
        );
        let text = plain(&String::from_utf8_lossy(&out.stdout));
        if page == "wirelab-reach" {
            assert!(
                text.contains("--from") && text.contains("SYNOPSIS"),
                "{text}"
            );
            assert!(text.contains("wirelab reach"), "{text}");
        }
    }
    // A folder that cannot be made: exit 2 and why.
    let (code, _, err) = wirelab(&["man", "-o", "/proc/wirelab-man"]);
    assert_eq!(code, 2);
    assert!(err.contains("/proc/wirelab-man: error:"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Terminal text without the overstrikes grotty writes for bold and
/// underline (`X\x08X`, `_\x08X`).
fn plain(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// check-jsonschema as tests/schema.rs finds it; `None` skips unless
/// required.
fn check_jsonschema() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("WIRELAB_CHECK_JSONSCHEMA")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|d| d.join("check-jsonschema"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var("WIRELAB_REQUIRE_CHECK_JSONSCHEMA").as_deref() != Ok("1"),
            "check-jsonschema is not installed, and WIRELAB_REQUIRE_CHECK_JSONSCHEMA=1 requires it"
        );
        eprintln!("note: check-jsonschema not found: test skipped");
    }
    found
}

#[test]
fn the_example_workflows_are_valid_github_actions() {
    let Some(validator) = check_jsonschema() else {
        return;
    };
    let dir = root().join("examples/github-actions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/github-actions")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let validate = |paths: &[std::path::PathBuf]| {
        Command::new(&validator)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(paths)
            .output()
            .expect("check-jsonschema runs")
    };
    let out = validate(&files);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        assert!(text.contains("upload-artifact"), "{}", f.display());
        assert!(text.contains("wirelab "), "{}", f.display());
    }
    // The validator is not a rubber stamp: a step with a misspelt key fails.
    let broken = std::env::temp_dir().join(format!("wirelab-broken-{}.yml", std::process::id()));
    let text = std::fs::read_to_string(&files[1]).expect("readable");
    std::fs::write(&broken, text.replacen("runs-on:", "run-on:", 1)).expect("written");
    assert!(!validate(std::slice::from_ref(&broken)).status.success());
    std::fs::remove_file(&broken).ok();
}

#[test]
fn the_dockerfile_builds_in_rust_and_runs_unprivileged_in_a_slim_image() {
    // No Docker engine here or in CI: the image's shape is checked, and
    // the binary must link nothing the runtime image lacks.
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("a Dockerfile");
    let instructions: Vec<(&str, &str)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let froms: Vec<&str> = instructions
        .iter()
        .filter(|(k, _)| *k == "FROM")
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(
        froms[0].starts_with("rust:") && froms[0].ends_with(" AS build"),
        "{froms:?}"
    );
    assert_eq!(froms[1], "debian:bookworm-slim");
    let last = instructions
        .iter()
        .rposition(|(k, _)| *k == "FROM")
        .expect("a final stage");
    let runtime = &instructions[last..];
    let user = runtime
        .iter()
        .find(|(k, _)| *k == "USER")
        .map(|(_, v)| *v)
        .expect("a USER in the final stage");
    assert!(
        !user.starts_with("0") && !user.starts_with("root"),
        "{user}"
    );
    assert!(
        runtime.contains(&("ENTRYPOINT", "[\"wirelab\"]")),
        "{runtime:?}"
    );
    assert!(runtime
        .iter()
        .any(|(k, v)| *k == "COPY" && v.ends_with("labs /labs")));
    assert!(
        text.contains("--profile dist --locked"),
        "the release profile"
    );
    // The binary links only glibc's libc and libm and libgcc_s, which the
    // slim image has.
    if let Ok(out) = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_wirelab"))
        .output()
    {
        let libs = String::from_utf8_lossy(&out.stdout);
        for line in libs.lines().filter(|l| l.contains("=>")) {
            let name = line.split_whitespace().next().unwrap_or_default();
            assert!(
                ["libc.so.6", "libm.so.6", "libgcc_s.so.1"].contains(&name),
                "{name}: a library debian:bookworm-slim may lack ({libs})"
            );
        }
    }
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target"), "{ignore}");
}
