//! What a run prints: one line per step (✓, ✗ or skipped, with its duration), the failing
//! step's expected-versus-actual lines under it, and a summary; and the same as JUnit XML for
//! CI, one `<testsuite>` per file and one `<testcase>` per scenario.

use std::fmt::Write as _;
use std::time::Duration;

use super::runner::{Outcome, ScenarioReport, Status, StepReport};

/// Width of the step-title column in the human report.
const TITLE_WIDTH: usize = 58;

/// The human report of one scenario.
pub fn scenario_text(report: &ScenarioReport) -> String {
    let mut out = format!("● {} ({})\n", report.name, report.path.display());
    for step in &report.steps {
        out.push_str(&step_line(step));
    }
    if let Some(error) = &report.error {
        for (i, line) in error.lines().enumerate() {
            let lead = if i == 0 {
                "  ✗ setup: "
            } else {
                "           "
            };
            let _ = writeln!(out, "{lead}{line}");
        }
    }
    if report.not_run > 0 {
        let _ = writeln!(
            out,
            "  … {} more step{} not run",
            report.not_run,
            plural(report.not_run)
        );
    }
    let verdict = match report.outcome() {
        Outcome::Passed => "passed".to_owned(),
        Outcome::Failed => "FAILED".to_owned(),
        Outcome::Skipped => format!(
            "skipped ({})",
            report.skipped.as_deref().unwrap_or("not run")
        ),
    };
    let _ = writeln!(out, "  {verdict} in {}\n", millis(report.duration));
    out
}

fn step_line(step: &StepReport) -> String {
    let number = step
        .number
        .map_or_else(|| "  ".to_owned(), |n| format!("{n:>2}"));
    let (mark, tail) = match &step.status {
        Status::Passed => ("✓", millis(step.duration)),
        Status::Failed(_) => ("✗", millis(step.duration)),
        Status::Skipped(why) => ("-", format!("skipped: {why}")),
    };
    let title = fit(&step.title, TITLE_WIDTH);
    let mut line = format!("  {mark} {number} {title:<TITLE_WIDTH$} {tail}");
    line = line.trim_end().to_owned();
    line.push('\n');
    if let Status::Failed(why) = &step.status {
        for detail in why.lines() {
            let _ = writeln!(line, "       {detail}");
        }
    }
    line
}

/// `text` cut to `width` characters with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn millis(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms >= 10_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{ms} ms")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Counts for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub steps_passed: usize,
    pub steps_failed: usize,
    pub steps_skipped: usize,
}

impl Totals {
    pub fn of(reports: &[ScenarioReport]) -> Totals {
        let mut totals = Totals::default();
        for report in reports {
            match report.outcome() {
                Outcome::Passed => totals.passed += 1,
                Outcome::Failed => totals.failed += 1,
                Outcome::Skipped => totals.skipped += 1,
            }
            for step in &report.steps {
                match step.status {
                    Status::Passed => totals.steps_passed += 1,
                    Status::Failed(_) => totals.steps_failed += 1,
                    Status::Skipped(_) => totals.steps_skipped += 1,
                }
            }
        }
        totals
    }
}

/// `12 scenarios: 11 passed, 1 failed, 0 skipped (143 steps: 140 passed, 1 failed, 2 skipped) in 2.4 s`
pub fn summary(reports: &[ScenarioReport], elapsed: Duration) -> String {
    let t = Totals::of(reports);
    let steps = t.steps_passed + t.steps_failed + t.steps_skipped;
    format!(
        "{} scenario{}: {} passed, {} failed, {} skipped ({steps} step{}: {} passed, {} failed, \
         {} skipped) in {:.1} s\n",
        reports.len(),
        plural(reports.len()),
        t.passed,
        t.failed,
        t.skipped,
        plural(steps),
        t.steps_passed,
        t.steps_failed,
        t.steps_skipped,
        elapsed.as_secs_f64()
    )
}

// ---- JUnit XML ---------------------------------------------------------------------------

/// `text` safe inside an XML attribute value or element: markup characters escaped, characters
/// XML 1.0 cannot hold replaced by U+FFFD, and (in attributes) line breaks kept as references.
pub fn xml_escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// The JUnit XML report: one `<testsuite>` per scenario file, one `<testcase>` per scenario,
/// with `<failure>` (the failing step's message) or `<skipped>` (why), and the step lines as
/// `<system-out>`.
pub fn junit(reports: &[ScenarioReport]) -> String {
    let t = Totals::of(reports);
    let total: Duration = reports.iter().map(|r| r.duration).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"zulip-calls scenarios\" tests=\"{}\" failures=\"{}\" errors=\"0\" \
         skipped=\"{}\" time=\"{}\">",
        reports.len(),
        t.failed,
        t.skipped,
        seconds(total)
    );
    for report in reports {
        let file = report.path.display().to_string();
        let stem = report
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());
        let outcome = report.outcome();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"{}\" \
             time=\"{}\" file=\"{}\">",
            xml_escape(&stem, true),
            u8::from(outcome == Outcome::Failed),
            u8::from(outcome == Outcome::Skipped),
            seconds(report.duration),
            xml_escape(&file, true),
        );
        let _ = writeln!(
            out,
            "    <testcase name=\"{}\" classname=\"scenarios.{}\" file=\"{}\" time=\"{}\">",
            xml_escape(&report.name, true),
            xml_escape(&stem, true),
            xml_escape(&file, true),
            seconds(report.duration),
        );
        let log = scenario_text(report);
        match outcome {
            Outcome::Failed => {
                let message = report.failure().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"ScenarioFailure\">{}</failure>",
                    xml_escape(&message, true),
                    xml_escape(&log, false)
                );
            }
            Outcome::Skipped => {
                let _ = writeln!(
                    out,
                    "      <skipped message=\"{}\"/>",
                    xml_escape(report.skipped.as_deref().unwrap_or("skipped"), true)
                );
            }
            Outcome::Passed => {}
        }
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            xml_escape(&log, false)
        );
        out.push_str("    </testcase>\n  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn step(number: usize, title: &str, status: Status) -> StepReport {
        StepReport {
            number: Some(number),
            title: title.into(),
            status,
            duration: Duration::from_millis(3),
        }
    }

    fn report(name: &str, steps: Vec<StepReport>) -> ScenarioReport {
        ScenarioReport {
            path: PathBuf::from(format!("tests/scenarios/{name}.toml")),
            name: name.into(),
            steps,
            not_run: 0,
            skipped: None,
            error: None,
            duration: Duration::from_millis(25),
        }
    }

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c\" 'd'\n\u{1}", true),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;&#10;\u{FFFD}"
        );
        assert_eq!(xml_escape("x < y\n\"q\"", false), "x &lt; y\n\"q\"");
        assert_eq!(xml_escape("]]>", false), "]]&gt;");
    }

    #[test]
    fn a_failing_step_shows_expected_and_actual_under_it() {
        let mut failed = report(
            "busy",
            vec![
                step(1, "hamlet: POST calls/initiate", Status::Passed),
                step(
                    2,
                    "cordelia: POST calls/initiate",
                    Status::Failed(
                        "expected status 200, got 409 USER_BUSY: \"Othello is currently in another call\""
                            .into(),
                    ),
                ),
            ],
        );
        failed.not_run = 3;
        let text = scenario_text(&failed);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "● busy (tests/scenarios/busy.toml)");
        assert!(
            lines[1].starts_with("  ✓  1 hamlet: POST calls/initiate  "),
            "{text}"
        );
        assert!(lines[1].ends_with(" 3 ms"), "{text}");
        assert!(
            lines[2].starts_with("  ✗  2 cordelia: POST calls/initiate"),
            "{text}"
        );
        assert_eq!(
            lines[3],
            "       expected status 200, got 409 USER_BUSY: \"Othello is currently in another call\""
        );
        assert_eq!(lines[4], "  … 3 more steps not run");
        assert_eq!(lines[5], "  FAILED in 25 ms");
    }

    #[test]
    fn skipped_steps_say_why() {
        let mut skipped = report(
            "missed",
            vec![step(
                1,
                "advance the clock 120 s",
                Status::Skipped("the server has no control API".into()),
            )],
        );
        skipped.skipped = Some("from step 1: the server has no control API".into());
        let text = scenario_text(&skipped);
        assert!(text.contains("  -  1 advance the clock 120 s"), "{text}");
        assert!(
            text.contains(" skipped: the server has no control API\n"),
            "{text}"
        );
        assert!(
            text.contains("  skipped (from step 1: the server has no control API) in 25 ms"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_counts_scenarios_and_steps() {
        let passed = report("a", vec![step(1, "x", Status::Passed)]);
        let failed = report("b", vec![step(1, "x", Status::Failed("no".into()))]);
        assert_eq!(
            summary(&[passed, failed], Duration::from_millis(1500)),
            "2 scenarios: 1 passed, 1 failed, 0 skipped (2 steps: 1 passed, 1 failed, 0 skipped) in 1.5 s\n"
        );
    }

    #[test]
    fn junit_has_a_suite_per_file_and_a_case_per_scenario() {
        let passed = report("full <sequence>", vec![step(1, "x", Status::Passed)]);
        let failed = report(
            "busy",
            vec![step(
                2,
                "a & b",
                Status::Failed("expected \"x\", got <y>".into()),
            )],
        );
        let mut skipped = report("missed", vec![]);
        skipped.skipped = Some("needs CALL_RING_TIMEOUT = 10".into());
        let xml = junit(&[passed, failed, skipped]);
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
            "{xml}"
        );
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert_eq!(xml.matches("<testsuite ").count(), 3);
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert!(
            xml.contains("<testcase name=\"full &lt;sequence&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"step 2 (a &amp; b): expected &quot;x&quot;, got &lt;y&gt;\" type=\"ScenarioFailure\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"needs CALL_RING_TIMEOUT = 10\"/>"),
            "{xml}"
        );
        assert!(xml.trim_end().ends_with("</testsuites>"));
    }
}
