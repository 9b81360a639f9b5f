//! What a run reports: each step's status and the scenario's overall outcome. Kept apart from
//! the running so the report formats depend on these types alone.

use std::path::PathBuf;
use std::time::Duration;

use crate::scenario::model::Scenario;

/// How a step (or a whole scenario) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    /// One or two lines: expected versus actual.
    Failed(String),
    /// Why it did not run.
    Skipped(String),
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// `None` for the final check of `[expect_events]`.
    pub number: Option<usize>,
    pub title: String,
    pub status: Status,
    pub duration: Duration,
}

/// A scenario's overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// Everything about one scenario's run.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub path: PathBuf,
    pub name: String,
    pub steps: Vec<StepReport>,
    /// Steps not attempted after a failure.
    pub not_run: usize,
    /// Why the scenario (or its rest, from some step on) was skipped.
    pub skipped: Option<String>,
    /// A failure outside any step: the server would not start, an actor could not sign in.
    pub error: Option<String>,
    pub duration: Duration,
}

impl ScenarioReport {
    pub(super) fn new(scenario: &Scenario) -> Self {
        ScenarioReport {
            path: scenario.path.clone(),
            name: scenario.name.clone(),
            steps: Vec::new(),
            not_run: 0,
            skipped: None,
            error: None,
            duration: Duration::ZERO,
        }
    }

    pub fn outcome(&self) -> Outcome {
        if self.error.is_some()
            || self
                .steps
                .iter()
                .any(|s| matches!(s.status, Status::Failed(_)))
        {
            Outcome::Failed
        } else if self.skipped.is_some() {
            Outcome::Skipped
        } else {
            Outcome::Passed
        }
    }

    /// The first failing step and its message, or the setup error.
    pub fn failure(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        self.steps.iter().find_map(|s| match &s.status {
            Status::Failed(why) => Some(match s.number {
                Some(n) => format!("step {n} ({}): {why}", s.title),
                None => format!("{}: {why}", s.title),
            }),
            _ => None,
        })
    }
}

pub(super) type StepResult = Result<(), Status>;

pub(super) fn fail(message: impl Into<String>) -> Status {
    Status::Failed(message.into())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::model::parse;

    #[test]
    fn outcomes_follow_the_steps() {
        let scenario = parse(
            Path::new("t.toml"),
            "name = \"t\"\n[actors]\nh = \"h@z\"\n[[step]]\nreset = true\n",
        )
        .unwrap();
        let step = |status| StepReport {
            number: Some(1),
            title: "x".into(),
            status,
            duration: Duration::ZERO,
        };
        let mut report = ScenarioReport::new(&scenario);
        report.steps.push(step(Status::Passed));
        report
            .steps
            .push(step(Status::Skipped("no control API".into())));
        assert_eq!(report.outcome(), Outcome::Passed);
        report.skipped = Some("from step 2: no control API".into());
        assert_eq!(report.outcome(), Outcome::Skipped);
        report
            .steps
            .push(step(Status::Failed("expected a, got b".into())));
        assert_eq!(report.outcome(), Outcome::Failed);
        assert_eq!(report.failure().unwrap(), "step 1 (x): expected a, got b");
    }
}
