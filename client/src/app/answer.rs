//! How an answer to an invitation failed, for 1:1 and group calls alike.

/// Why an answer (`respond`) failed, which decides whether it can be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The call is over or not mine to answer (cancelled, timed out, answered elsewhere):
    /// nothing to try again.
    CallOver(String),
    /// The answer did not get through (server error, network): the call may still be ringing.
    NotSent(String),
}
