//! `zulip-calls-mock scenario run` as a process: the shipped scenarios pass (in-process and
//! against a separately started server), a wrong expectation fails naming the step with
//! expected and actual, a malformed file is a usage error naming the key, and the JUnit report
//! is well-formed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_zulip-calls-mock");

/// Every shipped scenario file, in name order.
fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    files
}

fn scenario_run(files: &[PathBuf], extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["scenario", "run"])
        .args(files)
        .args(extra)
        .env_remove("MOCK_ADMIN_TOKEN")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Checks that `xml` is well-formed enough for a JUnit consumer: one declaration, balanced
/// elements, quoted attributes, no raw `<` or stray `&` in text. Returns the element names in
/// document order.
fn well_formed(xml: &str) -> Vec<String> {
    let rest = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut i = 0;
    let bytes = rest.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let end = rest[i..].find('>').map(|e| i + e).expect("unclosed tag");
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "a `<` inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().unwrap().to_owned();
                assert_eq!(
                    body.matches('"').count() % 2,
                    0,
                    "unbalanced quotes in <{body}>"
                );
                seen.push(name.clone());
                if !self_closing {
                    open.push(name);
                }
            }
            i = end + 1;
        } else {
            if bytes[i] == b'&' {
                let entity = &rest[i..rest[i..].find(';').map_or(rest.len(), |e| i + e + 1)];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
                        || entity.starts_with("&#"),
                    "stray & in text: {entity}"
                );
            }
            i += 1;
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert!(rest.trim_end().ends_with("</testsuites>"));
    seen
}

#[test]
fn the_shipped_scenarios_pass_on_an_in_process_mock() {
    let files = shipped_scenarios();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let output = scenario_run(&files, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(!stdout.contains('✗'), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!(
            "{n} scenarios: {n} passed, 0 failed, 0 skipped (",
            n = files.len()
        )),
        "{summary}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let elements = well_formed(&xml);
    let count = |name: &str| elements.iter().filter(|e| *e == name).count();
    assert_eq!(count("testsuites"), 1);
    assert_eq!(count("testsuite"), files.len());
    assert_eq!(count("testcase"), files.len());
    assert_eq!(count("failure") + count("skipped"), 0, "{xml}");
    assert!(
        xml.contains(&format!(
            "tests=\"{}\" failures=\"0\" errors=\"0\" skipped=\"0\"",
            files.len()
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"Full call: initiate, acknowledge, accept, status, end\""),
        "{xml}"
    );
}

const BROKEN: &str = r#"
name = "Calling oneself"

[actors]
hamlet = "hamlet@zulip.com"

[[step]]
request = "calls/active"
actor = "hamlet"

[[step]]
name = "Hamlet calls himself"
request = "calls/initiate"
actor = "hamlet"
params = { recipient_email = "${hamlet.email}" }
expect = { status = 200 }

[[step]]
request = "calls/active"
actor = "hamlet"
"#;

#[test]
fn a_wrong_expectation_fails_naming_the_step_with_expected_and_actual() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, BROKEN).unwrap();
    let junit = dir.path().join("report.xml");
    let output = scenario_run(
        std::slice::from_ref(&file),
        &["--junit", junit.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let failed = lines
        .iter()
        .position(|l| l.starts_with("  ✗  2 Hamlet calls himself"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        lines[failed + 1].trim(),
        "expected status 200, got 400 CANNOT_CALL_SELF: \"You cannot call yourself\""
    );
    assert_eq!(lines[failed + 2], "  … 1 more step not run");
    assert!(stdout.contains("  FAILED in "), "{stdout}");
    assert!(
        stdout.contains("1 scenario: 0 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    well_formed(&xml);
    assert!(
        xml.contains(
            "<failure message=\"step 2 (Hamlet calls himself): expected status 200, got 400 \
             CANNOT_CALL_SELF: &quot;You cannot call yourself&quot;\""
        ),
        "{xml}"
    );
}

#[test]
fn a_malformed_file_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("malformed.toml");
    std::fs::write(
        &file,
        BROKEN.replace("expect = { status = 200 }", "expect = { stauts = 200 }"),
    )
    .unwrap();
    let output = scenario_run(std::slice::from_ref(&file), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(output.stdout.is_empty(), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: step 2 (line 11): key expect.stauts: unknown field `stauts`, expected one of",
            file.display()
        )),
        "{stderr}"
    );

    // A variable used before any step saves it is caught before anything runs.
    std::fs::write(&file, BROKEN.replace("${hamlet.email}", "${callee}")).unwrap();
    let output = scenario_run(std::slice::from_ref(&file), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(
        text(&output.stderr).contains("step 2 (line 11): unknown variable ${callee}"),
        "{}",
        show(&output)
    );
}

/// A `serve` process on a free port.
struct ServeProcess {
    child: Child,
    url: String,
    _output: [JoinHandle<String>; 2],
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

impl ServeProcess {
    fn start(args: &[&str]) -> ServeProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--db", ":memory:"])
            .args(args)
            .env_remove("MOCK_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = drain(child.stderr.take().unwrap());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let Some(url) = first
            .strip_prefix("zulip-calls-mock serving ")
            .and_then(|rest| rest.split_whitespace().next())
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not start: {first:?}\n{}", stderr.join().unwrap());
        };
        ServeProcess {
            url: url.to_owned(),
            _output: [drain(out), stderr],
            child,
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_shipped_scenarios_run_against_a_separate_server() {
    let server = ServeProcess::start(&["--virtual-clock", "--admin-token", "s3cret"]);
    let files = shipped_scenarios();

    // First as against a real Zulip server (the server is fresh, so no reset is needed): what
    // needs the control API is skipped, the rest passes.
    let output = scenario_run(
        &files,
        &[
            "--server",
            &server.url,
            "--no-control",
            "--password",
            "opensesame",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(
        stdout.contains("skipped: the server has no control API"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped (from step 3: the server has no control API)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped: step 3 was skipped and this one depends on it"),
        "{stdout}"
    );

    // The control API needs the server's token.
    let output = scenario_run(&files[..1], &["--server", &server.url]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    assert!(
        text(&output.stdout).contains("--token"),
        "{}",
        show(&output)
    );

    // With it, everything runs except the scenario needing other settings than the server's.
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let output = scenario_run(
        &files,
        &[
            "--server",
            &server.url,
            "--token",
            "s3cret",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    // The scenarios with settings of their own (disabled audio calls; a 1.1-only server) or
    // a realm of their own (the race for the last seat of a full group call).
    let own_settings = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("\n[settings]\n") || text.contains("\nrealm = ")
        })
        .count();
    assert_eq!(own_settings, 8, "{files:?}");
    assert!(
        stdout.contains(&format!(
            "{} scenarios: {} passed, 0 failed, {own_settings} skipped",
            files.len(),
            files.len() - own_settings
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped (needs ENABLE_AUDIO_CALLS = false"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped (needs CALLS_API = 1.1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped (needs the realm file "),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let elements = well_formed(&xml);
    assert_eq!(
        elements.iter().filter(|e| *e == "testcase").count(),
        files.len()
    );
    assert_eq!(
        elements.iter().filter(|e| *e == "skipped").count(),
        own_settings
    );
}

#[test]
fn a_race_must_have_exactly_the_winners_it_expects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    // Both requests succeed, but the step says only one may.
    std::fs::write(
        &file,
        r#"
name = "Everyone wins"
[actors]
hamlet = "hamlet@zulip.com"
othello = "othello@zulip.com"

[[step]]
race = [
  { request = "users/me", actor = "hamlet" },
  { request = "users/me", actor = "othello" },
]
"#,
    )
    .unwrap();
    let output = scenario_run(&[file], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(
            "expected 1 of the 2 requests to succeed, 2 did; answers: hamlet 200, othello 200"
        ),
        "{stdout}"
    );
}
