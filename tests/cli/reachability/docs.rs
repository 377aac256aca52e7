//! docs/reachability.md shows real output: every ```console block that starts with
//! `$ kubectl debatemesh ...` holds what that command prints, and every ```mermaid block
//! after an `<!-- output of: kubectl debatemesh ... -->` line is that command's output.
//! `DEBATEMESH_BLESS=1` rewrites the blocks instead, and draws docs/reachability.svg from
//! the `-o dot` output when Graphviz is installed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::harness::Env;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/reachability.md")
}

/// The drawing the page shows, made with `dot -Tsvg` from this command's output.
const PICTURE: &[&str] = &["can", "--matrix", "-f", "tests/reachability/mesh.yaml", "-o", "dot"];

/// Runs a documented command line (`[NAME=VALUE ]kubectl debatemesh ARGS...`) and returns
/// its stdout; the command must succeed.
fn output_of(env: &Env, line: &str) -> String {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let mut vars = Vec::new();
    while let Some((name, value)) = words.first().and_then(|w| w.split_once('=')) {
        vars.push((name, value));
        words.remove(0);
    }
    assert_eq!(words[..2], ["kubectl", "debatemesh"], "a documented command: {line}");
    let run = env.run_with(&words[2..], &vars);
    assert_eq!(run.code, 0, "{line}: {}", run.stderr);
    run.stdout
}

/// The page with every block replaced by the real output.
fn regenerated(env: &Env, text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').peekable();
    let mut blocks = 0;
    let mut output_of_next: Option<String> = None;
    while let Some(line) = lines.next() {
        out.push_str(line);
        let trimmed = line.trim_end();
        if let Some(cmd) =
            trimmed.strip_prefix("<!-- output of: ").and_then(|r| r.strip_suffix(" -->"))
        {
            output_of_next = Some(cmd.to_string());
            continue;
        }
        let command = match trimmed {
            "```mermaid" => output_of_next.take().expect("a mermaid block names its command"),
            "```console" => {
                let first = lines.next().expect("a console block has a command");
                out.push_str(first);
                first.trim_end().strip_prefix("$ ").expect("it starts with $").to_string()
            }
            _ => continue,
        };
        // Skip the old output up to the closing fence, and write the real one.
        for old in lines.by_ref() {
            if old.trim_end() == "```" {
                break;
            }
        }
        out.push_str(&output_of(env, &command));
        out.push_str("```\n");
        blocks += 1;
    }
    (out, blocks)
}

fn draw(dot: &str) -> Option<Vec<u8>> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(dot.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn the_page_shows_what_the_binary_prints() {
    let env = Env::new();
    let path = doc_path();
    let text = std::fs::read_to_string(&path).expect("docs/reachability.md");
    let (fresh, blocks) = regenerated(&env, &text);
    assert!(blocks >= 5, "{blocks} blocks of output");
    assert!(text.contains("```mermaid\n"), "a Mermaid block renders on GitHub");
    assert!(text.contains("(reachability.svg)"), "the page shows the DOT output drawn");
    if std::env::var_os("DEBATEMESH_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write the page");
        let dot = env.run(PICTURE).ok().stdout;
        if let Some(svg) = draw(&dot) {
            std::fs::write(path.with_file_name("reachability.svg"), svg).expect("write the svg");
        }
        return;
    }
    assert!(
        fresh == text,
        "docs/reachability.md is not what the binary prints (DEBATEMESH_BLESS=1 rewrites it)\n\
         --- page\n{text}\n+++ binary\n{fresh}"
    );
    assert!(path.with_file_name("reachability.svg").exists(), "docs/reachability.svg");
}
