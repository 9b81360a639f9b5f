//! Runs the [`Command`]s the UI core asks for that talk to the server, and turns each result
//! into the [`Msg`] the core expects back. Local effects (browser, ringer, notifications,
//! quitting) belong to the terminal runner; [`is_request`] tells them apart. Call requests go
//! through [`Calls`], so they work in either dialect of the calls API.

mod group;

use zulip_calls_protocol::ErrorCode;
use zulip_calls_protocol::calls::HistoryRequest;
use zulip_calls_protocol::zulip::{
    GetUsers, GetUsersRequest, UpdatePresence, UpdatePresenceRequest,
};

use crate::app::presence::ReportError;
use crate::app::{AnswerError, Command, Msg, model::Teammate};
use crate::backend::api::ClientError;
use crate::backend::calls::Calls;

/// Whether `command` is a server request (run by [`request`]).
pub fn is_request(command: &Command) -> bool {
    matches!(
        command,
        Command::Start { .. }
            | Command::Acknowledge(_)
            | Command::Respond { .. }
            | Command::SendStatus { .. }
            | Command::End(_)
            | Command::EndAll
            | Command::LoadUsers
            | Command::LoadHistory { .. }
            | Command::LoadActive
            | Command::LoadRecent { .. }
            | Command::Group(_)
            | Command::ReportPresence { .. }
    )
}

/// The pauses after failed tries of an acknowledgement (one try per entry; the last pause is
/// never taken).
const ACK_RETRY_PAUSES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(250),
    std::time::Duration::from_secs(1),
    std::time::Duration::ZERO,
];

/// Whether a failed idempotent request may succeed if sent again: a network failure, or an
/// error answer that is not one of the contract's (a 5xx from a proxy or an overloaded server
/// carries no contract code, and [`ClientError::is_transient`] cannot see its HTTP status).
fn worth_retrying(err: &ClientError) -> bool {
    err.is_transient() || matches!(err.code(), Some(ErrorCode::Other(_)))
}

/// Sends the request `command` stands for; `None` when the core needs no answer (an
/// acknowledgement) or the command is not a request.
pub async fn request(calls: &Calls, command: Command) -> Option<Msg> {
    let text = |err: ClientError| err.to_string();
    match command {
        Command::Start { user_id, call_type } => match calls.place(user_id, call_type).await {
            Err(err) if err.calling_you().is_some() => {
                let call_id = err.calling_you()?;
                Some(Msg::CallingEachOther { user_id, call_id })
            }
            result => Some(Msg::Started {
                user_id,
                result: result.map_err(text),
            }),
        },
        Command::Acknowledge(call_id) => {
            // Nothing for this side to show either way, but without the acknowledgement the
            // call stays "calling": the caller never sees it ring and it times out as if no
            // device had received it. So transient failures are retried a few times (an
            // acknowledgement of a ringing call changes nothing).
            for (attempt, pause) in ACK_RETRY_PAUSES.iter().enumerate() {
                match calls.acknowledge(call_id).await {
                    Ok(_) => break,
                    Err(err) if worth_retrying(&err) && attempt + 1 < ACK_RETRY_PAUSES.len() => {
                        tracing::info!(%call_id, error = %err, "acknowledge failed; retrying");
                        tokio::time::sleep(*pause).await;
                    }
                    Err(err) => {
                        tracing::warn!(%call_id, error = %err, "acknowledge failed");
                        break;
                    }
                }
            }
            None
        }
        Command::Respond { call_id, action } => {
            let result = calls.respond(call_id, action).await.map_err(|err| {
                // The server's refusals about the call itself are final; anything else
                // (a 5xx, a lost connection) may be tried again.
                let over = matches!(
                    err.code(),
                    Some(
                        ErrorCode::InvalidCallState
                            | ErrorCode::CallNotFound
                            | ErrorCode::NotAParticipant
                            | ErrorCode::UnauthorizedPrincipal
                    )
                );
                if over {
                    AnswerError::CallOver(text(err))
                } else {
                    AnswerError::NotSent(text(err))
                }
            });
            Some(Msg::Responded {
                call_id,
                action,
                result,
            })
        }
        Command::SendStatus { call_id, status } => {
            let result = calls
                .media_status(call_id, status)
                .await
                .map(|_| ())
                .map_err(text);
            Some(Msg::StatusSent {
                call_id,
                status,
                result,
            })
        }
        Command::End(call_id) => {
            let result = calls.cancel_or_end(call_id).await.map_err(text);
            Some(Msg::Ended { call_id, result })
        }
        Command::EndAll => {
            let result = calls.end_all().await.map(|r| r.calls_ended).map_err(text);
            Some(Msg::EndedAll(result))
        }
        Command::LoadUsers => {
            let result = calls
                .api()
                .request::<GetUsers>(&(), &GetUsersRequest::default())
                .await
                .map(|r| {
                    r.members
                        .iter()
                        .filter(|u| u.is_active)
                        .map(Teammate::from)
                        .collect()
                })
                .map_err(text);
            Some(Msg::Users(result))
        }
        Command::LoadHistory {
            offset,
            limit,
            call_type,
            state,
        } => {
            let query = HistoryRequest {
                limit,
                offset,
                call_type,
                state,
            };
            let result = calls.history(&query).await.map_err(text);
            Some(Msg::History { offset, result })
        }
        Command::LoadActive => {
            let result = calls.active().await.map_err(text);
            Some(Msg::ActiveLoaded(result))
        }
        Command::LoadRecent { since } => {
            let result = crate::backend::recent::history_since(calls, since)
                .await
                .map_err(text);
            Some(Msg::Recent(result))
        }
        Command::Group(command) => Some(Msg::Group(group::request(calls, command).await)),
        Command::ReportPresence {
            status,
            new_user_input,
            last_update_id,
        } => {
            let request = UpdatePresenceRequest {
                new_user_input: Some(new_user_input),
                ..UpdatePresenceRequest::modern(status, last_update_id)
            };
            let result = calls
                .api()
                .request::<UpdatePresence>(&(), &request)
                .await
                .map_err(|err| match err {
                    ClientError::NoEndpoint { .. } => ReportError::Unsupported,
                    err => ReportError::Failed(err.to_string()),
                });
            Some(Msg::PresenceReported(result))
        }
        Command::OpenUrl(_)
        | Command::CopyToClipboard(_)
        | Command::StartRinging
        | Command::StopRinging
        | Command::Notify { .. }
        | Command::SaveSeen(_)
        | Command::Quit => None,
    }
}
